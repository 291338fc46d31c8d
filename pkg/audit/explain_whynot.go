package audit

import (
	"strings"
)

// This file lays out a denied permission: each way it could be granted, and the near
// misses below a way, grants that were present but did not count.

// ways lays out the branches of a denied permission.
func (r *resolver) ways(top *node) (string, []Way) {
	if top.relation {
		w := Way{Expression: top.name, Description: wayPhrase(top.resource.Type, top.resource, &term{op: opComputed, name: top.name}, nil)}
		w.Status, w.Details = r.missingOrNotCounted(nil, top)
		return "any", []Way{w}
	}
	e := top.expr
	switch e.t.op {
	case opUnion:
		var out []Way
		for _, c := range flattenUnion(e) {
			w := r.wayOf(c)
			w.Status, w.Details = r.missingOrNotCounted(c, nil)
			out = append(out, w)
		}
		return "any", out
	case opIntersection:
		var out []Way
		for _, c := range e.children {
			w := r.wayOf(c)
			if c.holds {
				w.Status, w.Details = WayGranted, r.pathTexts(c)
			} else {
				w.Status = WayMissing
				w.Details = []string{missingPhrase(c.typ(), c.resource, name(r.subject.Object), c.t, c.targets())}
				if _, more := r.missingOrNotCounted(c, nil); len(more) > 0 && more[0] != noActiveGrant {
					w.Details = append(w.Details, more...)
				}
			}
			out = append(out, w)
		}
		return "all", out
	case opExclusion:
		base := r.wayOf(e.children[0])
		if e.children[0].holds {
			base.Status, base.Details = WayGranted, r.pathTexts(e.children[0])
		} else {
			base.Status, base.Details = r.missingOrNotCounted(e.children[0], nil)
		}
		out := []Way{base}
		for _, c := range e.children[1:] {
			w := r.wayOf(c)
			if c.holds {
				w.Status = WayExcluded
				w.Details = []string{precedencePhrase(c.typ(), c.resource, name(r.subject.Object), c.t)}
			} else {
				w.Status = WayNotExcluded
			}
			out = append(out, w)
		}
		return "but not", out
	}
	w := r.wayOf(e)
	w.Status, w.Details = r.missingOrNotCounted(e, nil)
	return "any", []Way{w}
}

func flattenUnion(e *evalTerm) []*evalTerm {
	if e.t.op != opUnion {
		return []*evalTerm{e}
	}
	var out []*evalTerm
	for _, c := range e.children {
		out = append(out, flattenUnion(c)...)
	}
	return out
}

func (r *resolver) wayOf(e *evalTerm) Way {
	return Way{Expression: e.t.String(), Description: describe(e)}
}

// describe is wayPhrase for an evaluated term, so that arrows inside a compound term name
// the objects they reached.
func describe(e *evalTerm) string {
	switch e.t.op {
	case opUnion, opIntersection, opExclusion:
		parts := make([]string, len(e.children))
		for i, c := range e.children {
			parts[i] = describe(c)
		}
		sep := map[opKind]string{opUnion: ", or ", opIntersection: ", and ", opExclusion: ", but not "}[e.t.op]
		return strings.Join(parts, sep)
	}
	return wayPhrase(e.typ(), e.resource, e.t, e.targets())
}

// missingOrNotCounted classifies a branch that does not hold: near misses make it
// "present but did not count"; otherwise it is missing.
func (r *resolver) missingOrNotCounted(e *evalTerm, n *node) (WayStatus, []string) {
	seen := map[*node]bool{}
	var near []string
	if e != nil {
		near = r.termNearMisses(e, seen)
	} else {
		near = r.nodeNearMisses(n, seen)
	}
	if len(near) > 0 {
		return WayNotCounted, dedupe(near)
	}
	var expiring []*node
	r.expiringMisses(e, n, map[*node]bool{}, &expiring)
	if len(expiring) == 0 {
		return WayMissing, nil
	}
	if r.expired == nil {
		r.expired = map[string][]string{}
	}
	key := ""
	for _, x := range expiring {
		key += x.resource.String() + "#" + x.name + " "
	}
	notes, ok := r.expired[key]
	if !ok {
		notes = r.expiredNotes(expiring)
		r.expired[key] = notes
	}
	if len(notes) > 0 {
		return WayMissing, notes
	}
	return WayMissing, []string{noActiveGrant}
}

// nodeNearMisses finds, below a question that does not hold, grants that were present but
// did not count.
func (r *resolver) nodeNearMisses(n *node, seen map[*node]bool) []string {
	if n == nil || n.holds || seen[n] {
		return nil
	}
	seen[n] = true
	if n.relation {
		var out []string
		for _, h := range n.via {
			out = append(out, r.nodeNearMisses(h.node, seen)...)
		}
		return out
	}
	return r.termNearMisses(n.expr, seen)
}

func (r *resolver) termNearMisses(e *evalTerm, seen map[*node]bool) []string {
	if e == nil || e.holds {
		return nil
	}
	subj := name(r.subject.Object)
	var out []string
	switch e.t.op {
	case opComputed:
		return r.nodeNearMisses(e.node, seen)
	case opArrow:
		for _, h := range e.hops {
			out = append(out, r.nodeNearMisses(h.node, seen)...)
		}
	case opUnion:
		for _, c := range e.children {
			out = append(out, r.termNearMisses(c, seen)...)
		}
	case opIntersection:
		var held, missing []string
		for _, c := range e.children {
			if c.holds {
				if r.personal(c) {
					held = append(held, r.pathTexts(c)...)
				}
			} else {
				missing = append(missing, missingPhrase(c.typ(), c.resource, subj, c.t, c.targets()))
			}
		}
		if len(held) > 0 {
			out = append(out, strings.Join(held, "; and ")+", but "+strings.Join(missing, ", and "))
		}
		for _, c := range e.children {
			if !c.holds {
				out = append(out, r.termNearMisses(c, seen)...)
			}
		}
	case opExclusion:
		base := e.children[0]
		if !base.holds {
			return r.termNearMisses(base, seen)
		}
		for _, c := range e.children[1:] {
			if c.holds {
				out = append(out, strings.Join(r.pathTexts(base), "; or ")+", but "+
					precedencePhrase(c.typ(), c.resource, subj, c.t)+": "+strings.Join(r.pathTexts(c), "; or "))
			}
		}
	}
	return out
}

// personal reports whether a term holds through a fact about the subject, rather than only
// through a flag such as an open case or a role's privilege (which hold for everyone). A
// path starts at the subject, so its first fact says which.
func (r *resolver) personal(e *evalTerm) bool {
	for _, p := range r.termPaths(e, map[*node]bool{}) {
		for _, s := range p {
			if s.rel != nil {
				if s.rel.GetSubject().GetObject().GetObjectId() != "*" {
					return true
				}
				break
			}
		}
	}
	return false
}

// pathTexts renders the paths by which a term holds.
func (r *resolver) pathTexts(e *evalTerm) []string {
	var out []string
	for _, p := range r.termPaths(e, map[*node]bool{}) {
		out = append(out, renderSteps(p))
	}
	return dedupe(out)
}
