package engine

import (
	"context"
	"fmt"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/spice"
)

// Consistency says how fresh a read must be. The zero value is Fresh. pkg/access offers
// the same choices under the same names.
type Consistency struct {
	kind  consistencyKind
	token string
}

type consistencyKind int

const (
	consistencyFresh consistencyKind = iota
	consistencyAtLeast
	consistencyFull
	consistencyFastest
)

// Fresh reads at least as fresh as every change made through this engine: the caller sees
// its own writes and expiry clean-up. An embedded engine also sees every write any client
// made through its server once that write was acknowledged.
func Fresh() Consistency { return Consistency{} }

// AtLeast reads at least as fresh as the revision token (and this engine's own later
// writes). Use it to read after a change made elsewhere.
func AtLeast(token string) Consistency { return Consistency{kind: consistencyAtLeast, token: token} }

// Full reads the newest data: on an embedded engine, everything committed before the
// call. A remote SpiceDB's fully consistent read does not guarantee seeing a write that
// committed concurrently: prefer AtLeast with the write's token there.
func Full() Consistency { return Consistency{kind: consistencyFull} }

// Fastest reads from cache where possible: results may be a few seconds stale.
func Fastest() Consistency { return Consistency{kind: consistencyFastest} }

// ParseConsistency reads "fresh" (or "", which with a token means at-least), "at-least"
// (which needs a token), "full" or "fastest". Errors wrap spice.ErrInvalidArgument.
func ParseConsistency(name, token string) (Consistency, error) {
	switch name {
	case "", "fresh":
		if token != "" {
			return AtLeast(token), nil
		}
		return Fresh(), nil
	case "at-least":
		if token == "" {
			return Consistency{}, fmt.Errorf("%w: consistency at-least needs a token", spice.ErrInvalidArgument)
		}
		return AtLeast(token), nil
	case "full":
		return Full(), nil
	case "fastest":
		return Fastest(), nil
	}
	return Consistency{}, fmt.Errorf("%w: unknown consistency %q (fresh, at-least, full, fastest)", spice.ErrInvalidArgument, name)
}

// Consistency is c as SpiceDB's API takes it, computed now: Fresh and AtLeast fold in the
// newest revision this engine has written or observed. Compute it once per paged listing,
// as every page must repeat the first page's arguments.
func (e *Engine) Consistency(c Consistency) *v1.Consistency {
	switch c.kind {
	case consistencyFull:
		// SpiceDB's fully consistent read takes a head lookup that concurrent requests
		// share, which can predate a write already acknowledged: an embedded engine reads
		// the datastore's own head and asks for at least that.
		if head, err := e.HeadToken(context.Background()); err == nil {
			return spice.AtLeastAsFresh(head)
		}
		return spice.FullyConsistent()
	case consistencyFastest:
		return spice.MinimizeLatency()
	case consistencyAtLeast:
		return e.Fresh(&v1.ZedToken{Token: c.token})
	}
	return e.Fresh(nil)
}

// Name is the consistency as ParseConsistency reads it: "fresh", "at-least", "full" or
// "fastest".
func (c Consistency) Name() string {
	switch c.kind {
	case consistencyAtLeast:
		return "at-least"
	case consistencyFull:
		return "full"
	case consistencyFastest:
		return "fastest"
	}
	return "fresh"
}

// Token is the revision token of an at-least consistency; empty for the others.
func (c Consistency) Token() string { return c.token }
