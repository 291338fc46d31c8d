package audit

import (
	"context"
	"fmt"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// Explanation says why a subject can or cannot do something.
type Explanation struct {
	Subject    ref.Subject
	Permission string
	Resource   ref.Object
	// Allowed is SpiceDB's answer.
	Allowed bool
	// CheckedAt is the revision every part of the explanation was read at.
	CheckedAt access.Token
	// Paths, when allowed, are every path that grants the permission.
	Paths []Path
	// Combine, when denied, says how Ways combine: "any" (one is enough), "all" (each is
	// needed) or "but not" (the first, unless the second applies).
	Combine string
	// Ways, when denied, are the ways the permission could be granted on this resource,
	// each with its status and, where something was present but did not count, why.
	Ways []Way
	// Truncated reports an explanation cut short by the auditor's bounds (WithMaxNodes).
	Truncated bool
}

// WayStatus is how one way to a permission stands for the subject.
type WayStatus string

// Statuses of a way.
const (
	// WayGranted: this way holds (only for ways combined with "all" or "but not").
	WayGranted WayStatus = "granted"
	// WayMissing: nothing of this way is in place.
	WayMissing WayStatus = "missing"
	// WayNotCounted: part of this way is in place but did not count; Details say why.
	WayNotCounted WayStatus = "present but did not count"
	// WayExcluded: an excluding branch applies ("but not" ways only).
	WayExcluded WayStatus = "applies"
	// WayNotExcluded: an excluding branch does not apply ("but not" ways only).
	WayNotExcluded WayStatus = "does not apply"
)

// Way is one branch of the permission's expression, in words.
type Way struct {
	// Expression is the branch in schema notation, e.g. "account->view_all_cases".
	Expression string
	// Description is the branch in words, e.g. "view every case of account:acme".
	Description string
	Status      WayStatus
	// Details explain the status: the path for a granted way, the reason for one that did
	// not count, a note for a missing one.
	Details []string
}

// noActiveGrant is said of a missing way that partner grants could have given: SpiceDB
// returns no expired relationship, so an expired grant looks like no grant at all.
const noActiveGrant = "no active grant; grants with an expiry end at their expiry"

// Explain answers whether subject holds permission on resource and why: when allowed,
// every path that grants it; when denied, each way it could be granted and what is
// missing or did not count (an individual grant taking precedence over the organisation
// grant, a closed case, one side of a two-sided consent, the same-account rule).
//
// The answer is SpiceDB's: the verdict and every sub-verdict come from CheckPermission
// with tracing, all at the revision of the first check (CheckedAt). Unknown types and
// permissions and malformed ids are errors wrapping access.ErrInvalidArgument.
func (a *Auditor) Explain(ctx context.Context, subject ref.Subject, permission string, resource ref.Object, cons access.Consistency) (Explanation, error) {
	if err := validateQuestion(resource, permission); err != nil {
		return Explanation{}, err
	}
	d, err := a.client.Check(ctx, subject, permission, resource, cons)
	if err != nil {
		return Explanation{}, err
	}
	s, err := a.newSession(string(d.CheckedAt))
	if err != nil {
		return Explanation{}, err
	}
	r := s.resolver(ctx, subject, !d.Allowed)
	top := r.node(resource, permission)
	if r.err != nil {
		return Explanation{}, fmt.Errorf("explaining %s %s %s: %w", subject, permission, resource, r.err)
	}
	ex := Explanation{Subject: subject, Permission: permission, Resource: resource, Allowed: top.holds, CheckedAt: d.CheckedAt}
	if top.holds != d.Allowed {
		// Both answers are SpiceDB's at the same revision; a difference means the data
		// moved under an expiry between them. Report the first answer's verdict.
		ex.Allowed = d.Allowed
	}
	if ex.Allowed {
		ex.Paths = r.allPaths(top)
	} else {
		ex.Combine, ex.Ways = r.ways(top)
	}
	ex.Truncated = r.truncated
	if r.err != nil {
		return Explanation{}, fmt.Errorf("explaining %s %s %s: %w", subject, permission, resource, r.err)
	}
	return ex, nil
}

// Reasons lists, for a denied explanation, every grant that was present but did not count
// and every missing part of a way that needed all its parts.
func (e Explanation) Reasons() []string {
	var out []string
	for _, w := range e.Ways {
		if w.Status == WayNotCounted || (e.Combine != "any" && (w.Status == WayMissing || w.Status == WayExcluded)) {
			out = append(out, w.Details...)
		}
	}
	return out
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	out := in[:0:0]
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
