// Package principal names the authenticated caller of the access server: its kind (operator,
// user, auditor, service), what each kind may do, and how a request carries it.
package principal

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Kind is what a principal is trusted with.
type Kind string

// The kinds of principal. The zero Kind is not a valid kind.
const (
	// Operator may do everything: the raw SpiceDB API, import and export, schema writes,
	// and managing credentials.
	Operator Kind = "operator"
	// User is bound to one user:ID and acts only as that user; every action is authorised
	// by the access rules.
	User Kind = "user"
	// Auditor reads: checks, lookups, explain, expand, who-can, access review and history.
	// It never writes, on any API.
	Auditor Kind = "auditor"
	// Service is a portal backend acting for its signed-in end users: the actor comes with
	// each request and is authorised by the access rules. It makes no raw writes.
	Service Kind = "service"
)

// Kinds lists every kind, in the order documentation shows them.
var Kinds = []Kind{Operator, User, Auditor, Service}

// ParseKind returns the kind named s, or an error listing the kinds.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown principal kind %q: use one of operator, user, auditor, service", s)
}

// Principal is an authenticated caller.
type Principal struct {
	// Name identifies the principal in the registry and in history, for example
	// "ops-alice" or "portal-backend". It is unique among principals.
	Name string
	// Kind is what the principal is trusted with.
	Kind Kind
	// User is the user id (without the "user:" prefix) a User principal acts as; empty for
	// other kinds.
	User string
	// CredentialID names the credential the request authenticated with (never the secret).
	CredentialID string
	// Expires is when the credential stops working; zero for never.
	Expires time.Time
}

// String is the principal as history records it: kind:name.
func (p Principal) String() string { return string(p.Kind) + ":" + p.Name }

// MayWriteRaw reports whether the principal may use the raw SpiceDB write API, import,
// schema writes and credential management.
func (p Principal) MayWriteRaw() bool { return p.Kind == Operator }

// MayChange reports whether the principal may make domain changes (as itself for a User,
// for its end users for a Service, as anyone for an Operator).
func (p Principal) MayChange() bool { return p.Kind != Auditor && p.Kind != "" }

// MayActAs reports whether the principal may act as the given user id in domain
// operations: a User only as itself; operators and services as anyone the access rules
// then authorise; auditors as no one (they read only).
func (p Principal) MayActAs(userID string) bool {
	switch p.Kind {
	case Operator, Service:
		return true
	case User:
		return userID == p.User
	default:
		return false
	}
}

// Errors a Resolver returns.
var (
	// ErrUnauthenticated: no credential, an unknown one, or one that expired or was revoked.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrPermissionDenied: the principal's kind does not allow the operation.
	ErrPermissionDenied = errors.New("principal may not do this")
)

// Resolver authenticates a bearer credential. Implementations: the server's key registry;
// a verifier of signed tokens from an identity provider can be added beside it.
type Resolver interface {
	// Resolve returns the principal a credential proves, or an error wrapping
	// ErrUnauthenticated. It must take effect on the next request after a credential is
	// revoked.
	Resolve(ctx context.Context, credential string) (Principal, error)
}

type contextKey struct{}

// NewContext returns ctx carrying p.
func NewContext(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, contextKey{}, p)
}

// FromContext returns the principal ctx carries, if any.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(contextKey{}).(Principal)
	return p, ok
}
