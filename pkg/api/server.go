package api

import (
	_ "embed"
	"errors"
	"net/http"

	"connectrpc.com/connect"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/api/gen/accessgraph/v1/apiv1connect"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/principal"
)

// Options are what Handler serves and how.
type Options struct {
	// Access and Audit are the domain and audit layers the API serves: usually an
	// *access.Client and an *audit.Auditor on the server's own engine. Both are required.
	Access access.Service
	Audit  audit.Service
	// Resolver authenticates each call's bearer key. Required.
	Resolver principal.Resolver
	// OnAuthFailure, when set, is told of each call refused for a missing or wrong key
	// (rate-limit it before logging: every refused call reaches it).
	OnAuthFailure func(AuthFailure)
	// MaxListItems bounds the items of one listing response (members, lookups, who-can,
	// history, ...); a longer listing fails with an error wrapping access.ErrLimit. Zero
	// means DefaultMaxListItems.
	MaxListItems int
	// MaxRequestBytes bounds a request message; a larger one is refused (ResourceExhausted).
	// Zero means DefaultMaxRequestBytes.
	MaxRequestBytes int
	// Past, when set, answers requests that carry a past time ("as of": Check,
	// LookupResources, LookupSubjects, Explain, Expand, WhoCan, AccessReview); without it
	// such requests fail with ErrNoPast.
	Past PastGraphs
	// HandlerOptions are more connect handler options (compression, read limits).
	HandlerOptions []connect.HandlerOption
}

// DefaultMaxRequestBytes is the default bound on a request message: 4 MiB.
const DefaultMaxRequestBytes = 4 << 20

// OpenAPIPath is where Handler serves the OpenAPI document of the HTTP/JSON form.
const OpenAPIPath = "/openapi.json"

//go:embed openapi.json
var openAPIDocument []byte

// Handler serves AccessService and AuditService, each RPC at POST /accessgraph.v1.SERVICE/METHOD
// in the gRPC, gRPC-Web and connect (HTTP/JSON) protocols, and the OpenAPI document at
// OpenAPIPath. gRPC needs HTTP/2: serve it with TLS, or with unencrypted HTTP/2 enabled
// (http.Server.Protocols) on loopback.
func Handler(o Options) (http.Handler, error) {
	if o.Access == nil || o.Audit == nil || o.Resolver == nil {
		return nil, errors.New("api: Access, Audit and Resolver are required")
	}
	max := o.MaxListItems
	if max <= 0 {
		max = DefaultMaxListItems
	}
	maxBytes := o.MaxRequestBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxRequestBytes
	}
	opts := append([]connect.HandlerOption{
		connect.WithInterceptors(authInterceptor(o.Resolver, o.OnAuthFailure)),
		connect.WithReadMaxBytes(maxBytes),
	}, o.HandlerOptions...)
	mux := http.NewServeMux()
	mux.Handle(apiv1connect.NewAccessServiceHandler(&accessServer{svc: o.Access, maxList: max, graphs: graphs{o.Access, o.Audit, o.Past}}, opts...))
	mux.Handle(apiv1connect.NewAuditServiceHandler(&auditServer{svc: o.Audit, maxList: max, graphs: graphs{o.Access, o.Audit, o.Past}}, opts...))
	mux.HandleFunc("GET "+OpenAPIPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openAPIDocument)
	})
	return mux, nil
}
