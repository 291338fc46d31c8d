package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/accessgraph/accessgraph/pkg/principal"
)

// StaticKeys is a fixed table of bearer keys and the principals they prove, for an embedder
// whose keys come from its own configuration (accessctl serve uses its key registry instead).
// The zero value knows no key.
type StaticKeys map[string]principal.Principal

// Resolve returns the principal of the key, comparing every key in constant time.
func (k StaticKeys) Resolve(_ context.Context, credential string) (principal.Principal, error) {
	var found principal.Principal
	ok := false
	for key, p := range k {
		if subtle.ConstantTimeCompare([]byte(key), []byte(credential)) == 1 {
			found, ok = p, true
		}
	}
	if !ok || credential == "" {
		return principal.Principal{}, fmt.Errorf("%w: unknown key", principal.ErrUnauthenticated)
	}
	return found, nil
}

// authInterceptor authenticates each call's "Authorization: Bearer KEY" with the
// resolver, authorises it by Rules, runs it with the principal in its context
// (principal.NewContext, which the domain layer's change metadata records), and turns its
// error into the wire form (toWire).
func authInterceptor(resolver principal.Resolver, onFailure func(AuthFailure)) connect.UnaryInterceptorFunc {
	refused := func(req connect.AnyRequest, reason string, err error) error {
		if onFailure != nil {
			onFailure(AuthFailure{Peer: req.Peer().Addr, Procedure: req.Spec().Procedure, Reason: reason})
		}
		return toWire(err)
	}
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if req.Spec().IsClient {
				return next(ctx, req)
			}
			key, ok := bearer(req.Header().Get("Authorization"))
			if !ok {
				return nil, refused(req, "no bearer key", fmt.Errorf("%w: send the key as Authorization: Bearer KEY", principal.ErrUnauthenticated))
			}
			p, err := resolver.Resolve(ctx, key)
			if err != nil {
				if !errors.Is(err, principal.ErrUnauthenticated) {
					// The registry could not be read: the key may be good, so say so
					// (unavailable) rather than refusing it.
					return nil, toWire(err)
				}
				return nil, refused(req, "wrong key", err)
			}
			msg, ok := req.Any().(proto.Message)
			if !ok {
				return nil, toWire(fmt.Errorf("%w: not a protobuf request", principal.ErrPermissionDenied))
			}
			if err := authorize(p, req.Spec().Procedure, msg); err != nil {
				return nil, toWire(err)
			}
			resp, err := next(principal.NewContext(ctx, p), req)
			return resp, toWire(err)
		}
	}
}

// AuthFailure describes a refused authentication for a log line: never the key presented,
// nor any part of it.
type AuthFailure struct {
	// Peer is the client's address (host:port).
	Peer string
	// Procedure is the RPC called, for example /accessgraph.v1.AccessService/Check.
	Procedure string
	// Reason is "no bearer key" (no Authorization header, another scheme or an empty key)
	// or "wrong key" (unknown, expired or revoked).
	Reason string
}

func bearer(header string) (string, bool) {
	scheme, key, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	key = strings.TrimSpace(key)
	return key, key != ""
}
