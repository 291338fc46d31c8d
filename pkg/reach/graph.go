package reach

import (
	"slices"

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
	edges map[string]map[string]set // "type#relation" → subject id → resource ids
	cases map[string]*caseLinks     // case → the objects it names, forwards: where a check starts
	open  set                       // open cases (case#open@user:*)
	size  int                       // relationships held
	// nestingCyclic is whether group#parent holds a cycle anywhere, as of the last settle;
	// nestingChanged whether group#parent changed since.
	nestingCyclic, nestingChanged bool
}

// caseLinks are the objects a case names. Slices, not sets: a case names one or two of
// each, and a set per case would cost several times the memory.
type caseLinks struct {
	reporters, accounts, soldProducts, installBases []string
}

// forwardRelations are the case relations also held forwards, from the case.
var forwardRelations = map[string]func(*caseLinks) *[]string{
	"case#reporter":     func(l *caseLinks) *[]string { return &l.reporters },
	"case#account":      func(l *caseLinks) *[]string { return &l.accounts },
	"case#sold_product": func(l *caseLinks) *[]string { return &l.soldProducts },
	"case#install_base": func(l *caseLinks) *[]string { return &l.installBases },
}

func newGraph() *graph {
	g := &graph{edges: map[string]map[string]set{}, cases: map[string]*caseLinks{}, open: set{}}
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
	if key == "group#parent" && changed != 0 {
		g.nestingChanged = true
	}
	if field, ok := forwardRelations[key]; ok && changed != 0 {
		g.linkForward(res.GetObjectId(), field, subID, add)
	}
	g.size += changed
	return nil
}

// linkForward adds or removes id in the field of case c's links; only called when the
// edge itself changed, so the slice never holds an id twice.
func (g *graph) linkForward(c string, field func(*caseLinks) *[]string, id string, add bool) {
	l := g.cases[c]
	if l == nil {
		if !add {
			return
		}
		l = &caseLinks{}
		g.cases[c] = l
	}
	ids := field(l)
	if add {
		*ids = append(*ids, id)
	} else if i := slices.Index(*ids, id); i >= 0 {
		*ids = slices.Delete(*ids, i, i+1)
		if len(*ids) == 0 {
			*ids = nil
		}
	}
	if l.reporters == nil && l.accounts == nil && l.soldProducts == nil && l.installBases == nil {
		delete(g.cases, c)
	}
}

// links returns case c's links (the zero value when it names nothing).
func (g *graph) links(c string) caseLinks {
	if l := g.cases[c]; l != nil {
		return *l
	}
	return caseLinks{}
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

// settle brings what is derived from the relationships up to date; called with the graph
// write-locked once a load or a revision is applied.
func (g *graph) settle() {
	if !g.nestingChanged {
		return
	}
	g.nestingChanged = false
	g.nestingCyclic = false
	w := g.nestingWalk(nil)
	for group := range w.children {
		if !w.visit(group) {
			g.nestingCyclic = true
			return
		}
	}
}

// readGroups returns the groups whose members' cases user reads (user#read_cases):
// those user reads and every group nested below them. cyclic is true when those groups
// contain a cycle: SpiceDB's answer for a cycle is its own to give, so the index does not
// answer.
func (g *graph) readGroups(user string) (reached []string, cyclic bool) {
	readable := g.edges["group#reader"][user]
	if len(readable) == 0 {
		return nil, false
	}
	w := g.nestingWalk(func(group string) { reached = append(reached, group) })
	for group := range readable {
		if !w.visit(group) {
			return nil, true
		}
	}
	return reached, false
}

// nestingWalk walks down group nesting (group#parent), each group once, telling reached
// about every group below and including those it is asked to visit.
func (g *graph) nestingWalk(reached func(group string)) *nestingWalk {
	return &nestingWalk{children: g.edges["group#parent"], state: map[string]walkState{}, reached: reached}
}

type walkState int

const (
	unseen walkState = iota
	onPath
	done
)

type nestingWalk struct {
	children map[string]set
	state    map[string]walkState
	reached  func(group string)
}

// visit walks group and the groups below it; false means a cycle was found.
func (w *nestingWalk) visit(group string) bool {
	switch w.state[group] {
	case onPath:
		return false
	case done:
		return true
	}
	w.state[group] = onPath
	for child := range w.children[group] {
		if !w.visit(child) {
			return false
		}
	}
	w.state[group] = done
	if w.reached != nil {
		w.reached(group)
	}
	return true
}

// groupCases adds to found the cases user reads through groups (case#group_view) with the
// status asked for; cyclic as for readGroups.
func (g *graph) groupCases(user string, status caseStatus, found set) (cyclic bool) {
	reached, cyclic := g.readGroups(user)
	if cyclic {
		return true
	}
	members, reported := g.edges["user#member_of"], g.edges["case#reporter"]
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
// Each is indexed by its anchor; a set not asked for is empty.
type viewAnchors [anchorCount]set

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
	for key, accounts := range map[string]set{"case#partner_contact": a[partnerAny], "case#primary_partner_contact": a[partnerUpdate]} {
		for c := range g.edges[key][user] {
			if g.keep(c, status) && anyIn(g.links(c).accounts, accounts) {
				found[c] = struct{}{}
			}
		}
	}
	for key, objects := range map[string]set{"case#account": a[viewAllCases], "case#sold_product": a[soldProductReader], "case#install_base": a[installBaseReader]} {
		for o := range objects {
			g.addCases(found, g.edges[key][o], status)
		}
	}
	return false
}

func anyIn(s []string, in set) bool {
	for _, k := range s {
		if _, ok := in[k]; ok {
			return true
		}
	}
	return false
}

// anchorAsk is one of SpiceDB's answers that can give a check what the case's own
// relationships do not: the anchor's permission on the object id of its type, for the user.
type anchorAsk struct {
	anchor anchor
	id     string
}

// caseCheck reports whether the case's own relationships give user permission l on case
// c; when they do not, asks are SpiceDB's questions any one of which gives it (none: the
// answer is no). cyclic is true while group nesting holds a cycle anywhere: SpiceDB's check
// walks up from the reporter's groups, where a cycle the user's own groups do not reach
// can still end it (in an error), so the index leaves every check to SpiceDB then.
func (g *graph) caseCheck(user, c string, l listing) (granted bool, asks []anchorAsk, cyclic bool) {
	if g.nestingCyclic {
		return false, nil, true
	}
	reached, cyclic := g.readGroups(user)
	if cyclic {
		return false, nil, true
	}
	if !g.keep(c, l.status) {
		return false, nil, false
	}
	links := g.links(c)
	members := g.edges["user#member_of"]
	for _, group := range reached {
		for _, r := range links.reporters {
			if _, ok := members[group][r]; ok {
				return true, nil, false
			}
		}
	}
	if !l.view {
		return false, nil, false
	}
	names := func(key string) bool {
		_, ok := g.edges[key][user][c]
		return ok
	}
	for _, key := range []string{"case#reporter", "case#authorized_contact", "case#authorized_consumer", "case#authorized_contributor"} {
		if names(key) {
			return true, nil, false
		}
	}
	ask := func(a anchor, ids []string) {
		for _, id := range ids {
			asks = append(asks, anchorAsk{anchor: a, id: id})
		}
	}
	// partner_party = (partner_contact & account->partner_any) + (primary_partner_contact & account->partner_update)
	if names("case#partner_contact") {
		ask(partnerAny, links.accounts)
	}
	if names("case#primary_partner_contact") {
		ask(partnerUpdate, links.accounts)
	}
	ask(viewAllCases, links.accounts)
	ask(soldProductReader, links.soldProducts)
	ask(installBaseReader, links.installBases)
	return false, asks, false
}
