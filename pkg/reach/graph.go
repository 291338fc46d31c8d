package reach

import (
	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
)

type caseStatus int

const (
	anyStatus caseStatus = iota
	openOnly
	closedOnly
)

type set = map[string]struct{}

// edgeRelations are the relationships the index holds as edges, by "type#relation", with
// the one subject type each allows (case#open, a wildcard, is held apart).
var edgeRelations = map[string]string{
	"user#member_of":               "group",
	"group#parent":                 "group",
	"group#reader":                 "user",
	"case#reporter":                "user",
	"case#account":                 "account",
	"case#sold_product":            "sold_product",
	"case#install_base":            "install_base",
	"case#authorized_contact":      "user",
	"case#authorized_consumer":     "user",
	"case#authorized_contributor":  "user",
	"case#partner_contact":         "user",
	"case#primary_partner_contact": "user",
}

// graph holds the relationships case#view and case#group_view read at the case's level,
// each from its subject to its resource: the direction a listing walks, from the person
// (or the account, product or group) down to the cases.
type graph struct {
	edges        map[string]map[string]set // "type#relation" → subject id → resource ids
	caseAccounts map[string]set            // case → accounts (case#account, forwards)
	open         set                       // open cases (case#open@user:*)
	size         int                       // relationships held
}

func newGraph() *graph {
	g := &graph{edges: map[string]map[string]set{}, caseAccounts: map[string]set{}, open: set{}}
	for key := range edgeRelations {
		g.edges[key] = map[string]set{}
	}
	return g
}

// apply adds (add) or removes one relationship. A relationship the schema this index knows
// cannot hold (a caveat, an expiry, another subject type, a subject relation or wildcard) is
// refused: the index then stops answering rather than answer for a model it does not follow.
func (g *graph) apply(rel *v1.Relationship, add bool) error {
	if rel.GetOptionalCaveat() != nil || rel.GetOptionalExpiresAt() != nil {
		return unsupportedError{why: "a relationship with a caveat or an expiry in " + describe(rel)}
	}
	res, sub := rel.GetResource(), rel.GetSubject()
	subType, subID := sub.GetObject().GetObjectType(), sub.GetObject().GetObjectId()
	if sub.GetOptionalRelation() != "" {
		return unsupportedError{why: "a subject relation in " + describe(rel)}
	}
	key := res.GetObjectType() + "#" + rel.GetRelation()
	if key == "case#open" && subType == "user" && subID == "*" {
		g.size += toggle(g.open, res.GetObjectId(), add)
		return nil
	}
	if want, ok := edgeRelations[key]; !ok || want != subType || subID == "*" {
		return unsupportedError{why: "a relationship the index does not model: " + describe(rel)}
	}
	changed := link(g.edges[key], subID, res.GetObjectId(), add)
	if changed != 0 && key == "case#account" {
		link(g.caseAccounts, res.GetObjectId(), subID, add)
	}
	g.size += changed
	return nil
}

// toggle adds or removes id, returning the change in size.
func toggle(s set, id string, add bool) int {
	_, had := s[id]
	switch {
	case add && !had:
		s[id] = struct{}{}
		return 1
	case !add && had:
		delete(s, id)
		return -1
	}
	return 0
}

// link adds or removes the edge from → to, returning the change in size.
func link(edges map[string]set, from, to string, add bool) int {
	s := edges[from]
	if s == nil {
		if !add {
			return 0
		}
		s = set{}
		edges[from] = s
	}
	changed := toggle(s, to, add)
	if len(s) == 0 {
		delete(edges, from)
	}
	return changed
}

func describe(rel *v1.Relationship) string {
	s := rel.GetSubject()
	out := rel.GetResource().GetObjectType() + ":" + rel.GetResource().GetObjectId() + "#" + rel.GetRelation() +
		"@" + s.GetObject().GetObjectType() + ":" + s.GetObject().GetObjectId()
	if s.GetOptionalRelation() != "" {
		out += "#" + s.GetOptionalRelation()
	}
	return out
}

// keep reports whether case c has the status asked for.
func (g *graph) keep(c string, status caseStatus) bool {
	_, open := g.open[c]
	return status == anyStatus || status == openOnly && open || status == closedOnly && !open
}

// groupCases adds to found the cases user reads through groups (case#group_view) with the
// status asked for. cyclic is true when the groups below those user reads contain a cycle:
// SpiceDB's answer for a cycle is its own to give, so the index does not answer.
func (g *graph) groupCases(user string, status caseStatus, found set) (cyclic bool) {
	const (
		unseen = iota
		onPath
		done
	)
	children, members, reported := g.edges["group#parent"], g.edges["user#member_of"], g.edges["case#reporter"]
	state := map[string]int{}
	var reached []string
	var visit func(group string) bool
	visit = func(group string) bool {
		switch state[group] {
		case onPath:
			return false
		case done:
			return true
		}
		state[group] = onPath
		for child := range children[group] {
			if !visit(child) {
				return false
			}
		}
		state[group] = done
		reached = append(reached, group)
		return true
	}
	for group := range g.edges["group#reader"][user] {
		if !visit(group) {
			return true
		}
	}
	for _, group := range reached {
		for member := range members[group] {
			g.addCases(found, reported[member], status)
		}
	}
	return false
}

// addCases adds the cases of from with the status asked for to found.
func (g *graph) addCases(found, from set, status caseStatus) {
	for c := range from {
		if g.keep(c, status) {
			found[c] = struct{}{}
		}
	}
}

// viewAnchors are SpiceDB's answers case#view needs beyond the case's own relationships:
// the objects whose case_reader or view_all_cases the user holds, and the accounts granting
// the partner levels partner_party intersects with.
type viewAnchors struct {
	viewAllAccounts, partnerAnyAccounts, partnerUpdateAccounts, soldProducts, installBases set
}

// visibleCases adds to found the cases user holds case#view on with the status asked for,
// given anchors read at the index's revision:
//
//	view = reporter + related_party + partner_party + reporter->read_cases
//	     + account->view_all_cases + sold_product->case_reader + install_base->case_reader
func (g *graph) visibleCases(user string, a viewAnchors, status caseStatus, found set) (cyclic bool) {
	if g.groupCases(user, status, found) {
		return true
	}
	for _, key := range []string{"case#reporter", "case#authorized_contact", "case#authorized_consumer", "case#authorized_contributor"} {
		g.addCases(found, g.edges[key][user], status)
	}
	// partner_party = (partner_contact & account->partner_any) + (primary_partner_contact & account->partner_update)
	for key, accounts := range map[string]set{"case#partner_contact": a.partnerAnyAccounts, "case#primary_partner_contact": a.partnerUpdateAccounts} {
		for c := range g.edges[key][user] {
			if g.keep(c, status) && anyIn(g.caseAccounts[c], accounts) {
				found[c] = struct{}{}
			}
		}
	}
	for key, objects := range map[string]set{"case#account": a.viewAllAccounts, "case#sold_product": a.soldProducts, "case#install_base": a.installBases} {
		for o := range objects {
			g.addCases(found, g.edges[key][o], status)
		}
	}
	return false
}

func anyIn(s, in set) bool {
	for k := range s {
		if _, ok := in[k]; ok {
			return true
		}
	}
	return false
}
