package audit

import (
	"slices"
	"strings"
	"time"

	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// SpiceDB never returns an expired relationship, so an expired grant looks like no grant.
// This file finds, for a missing way, the grants the engine's expiry sweep removed, in the
// change history.

// expiringMisses collects the relations that accept an expiry (partner grants) below a
// missing branch: the grants that could have given it.
func (r *resolver) expiringMisses(e *evalTerm, n *node, seen map[*node]bool, out *[]*node) {
	if n != nil {
		if seen[n] {
			return
		}
		seen[n] = true
		if n.relation {
			if r.session.m.expiring[n.resource.Type][n.name] && !strings.HasPrefix(n.name, "join_request_") && !strings.HasPrefix(n.name, "partner_request_") {
				*out = append(*out, n)
			}
			for _, h := range n.via {
				r.expiringMisses(nil, h.node, seen, out)
			}
			return
		}
		r.expiringMisses(n.expr, nil, seen, out)
		return
	}
	if e == nil {
		return
	}
	switch e.t.op {
	case opComputed:
		r.expiringMisses(nil, e.node, seen, out)
	case opArrow:
		for _, h := range e.hops {
			r.expiringMisses(nil, h.node, seen, out)
		}
	case opUnion, opIntersection:
		for _, c := range e.children {
			r.expiringMisses(c, nil, seen, out)
		}
	case opExclusion:
		r.expiringMisses(e.children[0], nil, seen, out)
	}
}

// expiredNotes looks in the change history for grants on these relations that the expiry
// sweep removed, for the subject or a subject set they belong to. It returns nil when
// there are none or the history cannot be read (only the memory datastore can replay
// history without a start token).
func (r *resolver) expiredNotes(misses []*node) []string {
	objects := map[ref.Object]bool{}
	for _, n := range misses {
		objects[n.resource] = true
	}
	var notes []string
	for o := range objects {
		for c, err := range r.session.a.History(r.ctx, HistoryFilter{Object: o, Actor: expiryActor}) {
			if err != nil {
				return nil
			}
			for _, u := range c.Updates {
				if u.Operation != "delete" || !r.missed(misses, u) {
					continue
				}
				if u.Subject.Relation != "" && !r.verdict(u.Subject.Object, u.Subject.Relation) {
					continue
				}
				if u.Subject.Relation == "" && u.Subject != r.subject {
					continue
				}
				notes = append(notes, expiredPhrase(u, c))
			}
		}
	}
	slices.Sort(notes)
	return dedupe(notes)
}

// expiryActor is the actor the engine's expiry sweep writes as.
const expiryActor = engine.ExpiryActor

func (r *resolver) missed(misses []*node, u Update) bool {
	for _, n := range misses {
		if n.resource == u.Resource && n.name == u.Relation {
			return true
		}
	}
	return false
}

// expiredPhrase says which grant expired and when.
func expiredPhrase(u Update, c Change) string {
	what := u.Resource.String() + "#" + u.Relation
	if level, kind, ok := levelOf(u.Relation); ok {
		what = "the " + kind + " grant " + level + " on " + name(u.Resource) + " to " + name(u.Subject.Object)
	}
	when := c.Time.Format(time.RFC3339)
	if !u.ExpiresAt.IsZero() {
		when = u.ExpiresAt.Format(time.RFC3339)
	}
	return what + " expired at " + when
}
