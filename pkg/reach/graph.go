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

// graph holds the relationships case#group_view reads, each in the direction a listing
// walks it: from the super customer down to the cases.
type graph struct {
	readerOf map[string]set // user → groups they hold group read access over (group#reader)
	children map[string]set // group → groups it directly contains (group#parent, reversed)
	members  map[string]set // group → users who belong to it directly (user#member_of, reversed)
	reported map[string]set // user → cases they reported (case#reporter, reversed)
	open     set            // open cases (case#open@user:*)
	size     int            // relationships held
}

func newGraph() *graph {
	return &graph{
		readerOf: map[string]set{}, children: map[string]set{}, members: map[string]set{},
		reported: map[string]set{}, open: set{},
	}
}

// apply adds (add) or removes one relationship. A relationship the schema this index knows
// cannot hold (a caveat, an expiry, another subject type) is refused: the index then stops
// answering rather than answer for a model it does not follow.
func (g *graph) apply(rel *v1.Relationship, add bool) error {
	if rel.GetOptionalCaveat() != nil || rel.GetOptionalExpiresAt() != nil {
		return unsupportedError{why: "a relationship with a caveat or an expiry in " + describe(rel)}
	}
	res, sub := rel.GetResource(), rel.GetSubject()
	subType, subID := sub.GetObject().GetObjectType(), sub.GetObject().GetObjectId()
	if sub.GetOptionalRelation() != "" {
		return unsupportedError{why: "a subject relation in " + describe(rel)}
	}
	var edges map[string]set
	from, to := "", ""
	switch {
	case res.GetObjectType() == "user" && rel.GetRelation() == "member_of" && subType == "group":
		edges, from, to = g.members, subID, res.GetObjectId()
	case res.GetObjectType() == "group" && rel.GetRelation() == "parent" && subType == "group":
		edges, from, to = g.children, subID, res.GetObjectId()
	case res.GetObjectType() == "group" && rel.GetRelation() == "reader" && subType == "user":
		edges, from, to = g.readerOf, subID, res.GetObjectId()
	case res.GetObjectType() == "case" && rel.GetRelation() == "reporter" && subType == "user":
		edges, from, to = g.reported, subID, res.GetObjectId()
	case res.GetObjectType() == "case" && rel.GetRelation() == "open" && subType == "user" && subID == "*":
		_, had := g.open[res.GetObjectId()]
		switch {
		case add && !had:
			g.open[res.GetObjectId()] = struct{}{}
			g.size++
		case !add && had:
			delete(g.open, res.GetObjectId())
			g.size--
		}
		return nil
	default:
		return unsupportedError{why: "a relationship the index does not model: " + describe(rel)}
	}
	s := edges[from]
	_, had := s[to]
	switch {
	case add && !had:
		if s == nil {
			s = set{}
			edges[from] = s
		}
		s[to] = struct{}{}
		g.size++
	case !add && had:
		delete(s, to)
		if len(s) == 0 {
			delete(edges, from)
		}
		g.size--
	}
	return nil
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

// cases returns the cases user reads through groups, sorted, with the status asked for.
// cyclic is true when the groups below those user reads contain a cycle: SpiceDB's answer
// for a cycle is its own to give, so the index does not answer.
func (g *graph) cases(user string, status caseStatus) (ids []string, cyclic bool) {
	const (
		unseen = iota
		onPath
		done
	)
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
		for child := range g.children[group] {
			if !visit(child) {
				return false
			}
		}
		state[group] = done
		reached = append(reached, group)
		return true
	}
	for group := range g.readerOf[user] {
		if !visit(group) {
			return nil, true
		}
	}
	found := set{}
	for _, group := range reached {
		for member := range g.members[group] {
			for c := range g.reported[member] {
				_, open := g.open[c]
				if status == openOnly && !open || status == closedOnly && open {
					continue
				}
				found[c] = struct{}{}
			}
		}
	}
	return sortedKeys(found), false
}
