package audit

import (
	"slices"
	"strings"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/ref"
	"github.com/accessgraph/accessgraph/pkg/reltext"
)

// PathKind is the kind of path that gives a user a permission, in the portal's terms.
type PathKind string

// Kinds of path, in the order WhoCan and AccessReview list them.
const (
	KindAdmin             PathKind = "role:admin"           // Site Administrator of the account
	KindStandard          PathKind = "role:standard"        // standard member
	KindViewer            PathKind = "role:viewer"          // View Only member
	KindCustomerCare      PathKind = "customer care"        // the vendor's Customer Care
	KindPartnerOrg        PathKind = "partner organisation" // a grant to the user's partner organisation
	KindPartnerIndividual PathKind = "partner individual"   // an individual grant to the user
	KindVendorStaff       PathKind = "vendor staff"         // an individual grant to a platform staff user
	KindDataAccess        PathKind = "data access"          // a partner data-access agreement
	KindGroupRead         PathKind = "group read access"    // super customer over the reporter's group
	KindFunctionalRole    PathKind = "functional role"      // related party of a case, product or item
	KindCustomRole        PathKind = "custom role"          // a custom role binding
	KindReporter          PathKind = "reporter"             // opened the case
	KindEveryone          PathKind = "everyone"             // a wildcard: every user holds it
	KindOther             PathKind = "other"                // anything else (a rollout, a bare relation)
)

const (
	maxPathsPerNode     = 64  // bound on the paths enumerated below one question
	maxPathsPerQuestion = 256 // bound on the paths of one explanation
)

var kindOrder = []PathKind{
	KindAdmin, KindStandard, KindViewer, KindCustomerCare, KindPartnerOrg, KindPartnerIndividual,
	KindVendorStaff, KindDataAccess, KindGroupRead, KindFunctionalRole, KindCustomRole, KindReporter,
	KindEveryone, KindOther,
}

func sortKinds(kinds []PathKind) []PathKind {
	slices.SortFunc(kinds, func(a, b PathKind) int {
		return slices.Index(kindOrder, a) - slices.Index(kindOrder, b)
	})
	return slices.Compact(kinds)
}

// Path is one way a permission is granted: the stored facts from the user up to the
// resource, in domain words.
type Path struct {
	// Kind classifies the path (role, partner organisation, group read access, ...).
	Kind PathKind `json:"kind"`
	// Text is the path in words, e.g. "pam is a member of partner:integrator, which
	// account:acme granted look (organisation grant); case:42 belongs to account:acme".
	Text string `json:"text"`
	// Relationships are the stored relationships the path uses, from the user upwards,
	// as resource#relation@subject.
	Relationships []string `json:"relationships"`
	// Origins, when asked for (provenance), name the change that created each of
	// Relationships, in the same order.
	Origins []Origin `json:"origins,omitempty"`
}

// step is a stored fact or a condition (an excluded branch that did not apply).
type step struct {
	rel  *v1.Relationship
	text string
}

type pathSteps []step

func extend(p pathSteps, more ...step) pathSteps {
	out := make(pathSteps, 0, len(p)+len(more))
	return append(append(out, p...), more...)
}

// nodePaths lists the paths by which the subject holds n.
func (r *resolver) nodePaths(n *node, visiting map[*node]bool) []pathSteps {
	if n == nil || !n.holds || visiting[n] {
		return nil
	}
	visiting[n] = true
	defer delete(visiting, n)
	var out []pathSteps
	if n.relation {
		for _, rel := range n.direct {
			out = append(out, pathSteps{{rel: rel}})
		}
		for _, h := range n.via {
			for _, p := range r.nodePaths(h.node, visiting) {
				out = append(out, extend(p, step{rel: h.rel}))
			}
		}
	} else {
		out = r.termPaths(n.expr, visiting)
	}
	if len(out) > maxPathsPerNode {
		out, r.truncated = out[:maxPathsPerNode], true
	}
	return out
}

// termPaths lists the paths by which the subject satisfies a term.
func (r *resolver) termPaths(e *evalTerm, visiting map[*node]bool) []pathSteps {
	if e == nil || !e.holds {
		return nil
	}
	switch e.t.op {
	case opComputed:
		return r.nodePaths(e.node, visiting)
	case opArrow:
		var out []pathSteps
		for _, h := range e.hops {
			for _, p := range r.nodePaths(h.node, visiting) {
				out = append(out, extend(p, step{rel: h.rel}))
			}
		}
		return out
	case opUnion:
		var out []pathSteps
		for _, c := range e.children {
			out = append(out, r.termPaths(c, visiting)...)
		}
		return out
	case opIntersection:
		acc := []pathSteps{nil}
		for _, c := range e.children {
			var next []pathSteps
			for _, a := range acc {
				for _, b := range r.termPaths(c, visiting) {
					if len(next) < maxPathsPerNode {
						next = append(next, extend(a, b...))
					}
				}
			}
			acc = next
		}
		return acc
	case opExclusion:
		var conds []step
		for _, c := range e.children[1:] {
			conds = append(conds, step{text: conditionPhrase(e.typ(), e.resource, name(r.subject.Object), c.t)})
		}
		var out []pathSteps
		for _, p := range r.termPaths(e.children[0], visiting) {
			out = append(out, extend(p, conds...))
		}
		return out
	}
	return nil
}

// render turns steps into a Path.
func (r *resolver) render(steps pathSteps) Path {
	p := Path{Text: renderSteps(steps), Kind: r.classify(steps)}
	for _, s := range steps {
		if s.rel != nil {
			p.Relationships = append(p.Relationships, reltext.FormatKey(s.rel))
		}
	}
	return p
}

// renderSteps writes the facts in order, chaining a fact onto the previous one with its
// "which" form when the previous fact ended where this one starts, and dropping repeats.
func renderSteps(steps pathSteps) string {
	var b strings.Builder
	var head ref.Object
	chained, repeated := false, false
	seen := map[string]bool{}
	write := func(sep, text string) {
		if b.Len() > 0 {
			b.WriteString(sep)
		}
		b.WriteString(text)
	}
	for _, s := range steps {
		if s.rel == nil {
			write("; ", s.text)
			chained = false
			continue
		}
		key := reltext.FormatKey(s.rel)
		resource := fromObjectRef(s.rel.GetResource())
		if seen[key] {
			head, chained, repeated = resource, true, true
			continue
		}
		seen[key] = true
		full, which := factPhrase(s.rel)
		if full == "" {
			continue
		}
		subject := fromObjectRef(s.rel.GetSubject().GetObject())
		switch {
		case chained && which != "" && subject == head && repeated:
			write(" and ", strings.TrimPrefix(which, "which "))
		case chained && which != "" && subject == head:
			write(", ", which)
		default:
			write("; ", full)
		}
		head, chained, repeated = resource, true, false
	}
	return b.String()
}

// classify names the kind of a path from the facts it uses.
func (r *resolver) classify(steps pathSteps) PathKind {
	has := func(match func(typ, relation string, rel *v1.Relationship) bool) *v1.Relationship {
		for _, s := range steps {
			if s.rel != nil && match(s.rel.GetResource().GetObjectType(), s.rel.GetRelation(), s.rel) {
				return s.rel
			}
		}
		return nil
	}
	if has(func(t, rel string, _ *v1.Relationship) bool { return t == "platform" && rel == "customer_care" }) != nil {
		return KindCustomerCare
	}
	if has(func(t, rel string, _ *v1.Relationship) bool { return t == "group" && rel == "reader" }) != nil {
		return KindGroupRead
	}
	if has(func(t, rel string, _ *v1.Relationship) bool { return t == "partner_link" }) != nil {
		return KindDataAccess
	}
	if has(func(t, rel string, _ *v1.Relationship) bool {
		_, kind, ok := levelOf(rel)
		return t == "account" && ok && kind == "organisation"
	}) != nil {
		return KindPartnerOrg
	}
	if g := has(func(t, rel string, _ *v1.Relationship) bool {
		_, kind, ok := levelOf(rel)
		return t == "account" && ok && kind == "individual"
	}); g != nil {
		if r.verdict(ref.Object{Type: "platform", ID: "main"}, "staff") {
			return KindVendorStaff
		}
		return KindPartnerIndividual
	}
	if has(func(t, _ string, _ *v1.Relationship) bool { return t == "role_binding" }) != nil {
		return KindCustomRole
	}
	if has(func(t, rel string, _ *v1.Relationship) bool {
		_, functional := functionalRoleNames[rel]
		return (t == "case" || t == "sold_product" || t == "install_base") &&
			(functional || rel == "service_organization" || rel == "authorized_account")
	}) != nil {
		return KindFunctionalRole
	}
	if rel := has(func(t, rel string, _ *v1.Relationship) bool {
		return t == "account" && (rel == "admin" || rel == "standard" || rel == "viewer")
	}); rel != nil {
		return PathKind("role:" + rel.GetRelation())
	}
	if has(func(t, rel string, _ *v1.Relationship) bool { return t == "case" && rel == "reporter" }) != nil {
		return KindReporter
	}
	return KindOther
}

// allPaths lists the distinct paths by which the subject holds the top question.
func (r *resolver) allPaths(top *node) []Path {
	var out []Path
	seen := map[string]bool{}
	for _, steps := range r.nodePaths(top, map[*node]bool{}) {
		p := r.render(steps)
		if seen[p.Text] {
			continue
		}
		seen[p.Text] = true
		out = append(out, p)
		if len(out) >= maxPathsPerQuestion {
			r.truncated = true
			break
		}
	}
	return out
}
