// Package client is the Go client of the access server's domain API: the same
// access.Service and audit.Service the domain layer serves in process, over the network.
// A Go backend switches from embedded to remote by changing one constructor:
//
//	var svc access.Service = access.New(eng)          // in process
//	svc, err := client.New("https://access.example:50052", key) // remote
//
// Results and errors are the same either way: errors.Is holds for pkg/access's sentinels,
// and a refusal by the access rules comes back as an *access.DeniedError.
package client

import (
	"context"
	"crypto/tls"
	"fmt"
	"iter"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/api"
	"github.com/accessgraph/accessgraph/pkg/api/gen/accessgraph/v1/apiv1connect"
	"github.com/accessgraph/accessgraph/pkg/audit"
)

// Client calls an access server's domain and audit API. It is safe for concurrent use;
// build it with New.
type Client struct {
	access apiv1connect.AccessServiceClient
	audit  apiv1connect.AuditServiceClient
	// at, when set, is the past moment questions are asked about (see At and AsOf).
	at audit.AsOf
	// historyPage is how many changes one History request asks for (0: the server's default).
	historyPage int32
}

// At returns a client whose questions (Check, LookupResources, LookupSubjects, Explain,
// Expand, WhoCan, AccessReview) are answered as the access graph stood at t, rebuilt by
// the server from its durable audit log; consistency is then ignored. Other calls are
// unchanged. A zero t is the present.
func (c *Client) At(t time.Time) *Client { return c.AsOf(audit.At(t)) }

// AsOf is At for any moment: a time, or the change with a revision token (the graph just
// after it). The zero moment is the present.
func (c *Client) AsOf(m audit.AsOf) *Client {
	past := *c
	past.at = m
	return &past
}

// atStamp is the request's `at` field: nil for the present or a revision.
func (c *Client) atStamp() *timestamppb.Timestamp {
	if c.at.Time.IsZero() {
		return nil
	}
	return timestamppb.New(c.at.Time)
}

var (
	_ access.Service = (*Client)(nil)
	_ audit.Service  = (*Client)(nil)
)

type config struct {
	httpClient  *http.Client
	grpc        bool
	plaintext   bool
	tlsConfig   *tls.Config
	historyPage int32
}

// Option configures a Client.
type Option func(*config)

// WithHTTPClient sets the HTTP client calls go through (timeouts, proxies, TLS roots).
// The default is a client of its own with HTTP/2 over TLS, and over plain HTTP on loopback.
func WithHTTPClient(c *http.Client) Option { return func(o *config) { o.httpClient = c } }

// WithTLSConfig sets the TLS configuration of the default HTTP client, for example a
// private CA's roots for a server started with --tls-cert.
func WithTLSConfig(c *tls.Config) Option { return func(o *config) { o.tlsConfig = c } }

// WithGRPC calls with the gRPC protocol instead of connect's (the default), which needs
// HTTP/2 end to end.
func WithGRPC() Option { return func(o *config) { o.grpc = true } }

// WithPlaintext allows an http:// URL to a host that is not loopback. Keys and data then
// cross the network unencrypted: for a trusted private network only. http:// to a loopback
// address (127.0.0.1, ::1, localhost) is allowed without it.
func WithPlaintext() Option { return func(o *config) { o.plaintext = true } }

// WithHistoryPage sets how many changes one History request asks for (the server's
// default, 1,000, when 0).
func WithHistoryPage(n int) Option { return func(o *config) { o.historyPage = int32(n) } }

// New returns a client of the access server at baseURL (https://HOST:PORT, or
// http://127.0.0.1:PORT for a server on this machine) that authenticates every call with
// key as "Authorization: Bearer KEY". What the calls may do is the key's principal's
// (docs/api.md): a user key acts as its user only, an auditor key only reads.
func New(baseURL, key string, opts ...Option) (*Client, error) {
	var o config
	for _, opt := range opts {
		opt(&o)
	}
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("%w: base URL %q: %v", access.ErrInvalidArgument, baseURL, err)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !o.plaintext && !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("%w: refusing plain http:// to %s, which is not loopback: use https:// (or WithPlaintext on a trusted network)", access.ErrInvalidArgument, u.Host)
		}
	default:
		return nil, fmt.Errorf("%w: base URL %q: use https://HOST:PORT (or http:// on loopback)", access.ErrInvalidArgument, baseURL)
	}
	if key == "" {
		return nil, fmt.Errorf("%w: no key: the access server authenticates every call", access.ErrInvalidArgument)
	}
	hc := o.httpClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = o.tlsConfig
		tr.Protocols = new(http.Protocols)
		tr.Protocols.SetHTTP1(!o.grpc)
		tr.Protocols.SetHTTP2(true)
		tr.Protocols.SetUnencryptedHTTP2(o.grpc && u.Scheme == "http")
		hc = &http.Client{Transport: tr}
	}
	copts := []connect.ClientOption{connect.WithInterceptors(bearerInterceptor(key))}
	if o.grpc {
		copts = append(copts, connect.WithGRPC())
	}
	base := strings.TrimSuffix(baseURL, "/")
	return &Client{
		access:      apiv1connect.NewAccessServiceClient(hc, base, copts...),
		audit:       apiv1connect.NewAuditServiceClient(hc, base, copts...),
		historyPage: o.historyPage,
	}, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func bearerInterceptor(key string) connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set("Authorization", "Bearer "+key)
			return next(ctx, req)
		}
	}
}

// call makes one call and returns its answer, or its error as the domain layer's.
func call[Req, Res any](ctx context.Context, rpc func(context.Context, *connect.Request[Req]) (*connect.Response[Res], error), req *Req) (*Res, error) {
	resp, err := rpc(ctx, connect.NewRequest(req))
	if err != nil {
		return nil, api.FromWire(err)
	}
	return resp.Msg, nil
}

// lazy makes the call when the listing is ranged over, as the domain layer's listings do.
func lazy[T any](fetch func() ([]T, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		items, err := fetch()
		if err != nil {
			var zero T
			yield(zero, err)
			return
		}
		for _, it := range items {
			if !yield(it, nil) {
				return
			}
		}
	}
}

// obj writes an id as TYPE:ID; empty stays empty.
func obj(typ, id string) string {
	if id == "" {
		return ""
	}
	return typ + ":" + id
}

// idOf reads back the ID of TYPE:ID (the server's answers are well formed).
func idOf(s string) string {
	_, id, ok := strings.Cut(s, ":")
	if !ok {
		return s
	}
	return id
}
