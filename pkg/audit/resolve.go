package audit

import (
	"context"
	"fmt"
	"strings"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/ref"
)

// A resolver answers one subject's sub-questions ("does pam hold account:acme#partner_look?")
// at one revision and lays them out along the schema's expressions, so that paths and near
// misses can be read off. Every verdict comes from SpiceDB: first from the trace of a
// CheckPermission made WithTracing, then, for sub-questions the trace does not answer one
// by one (a result served from SpiceDB's cache carries no sub-problems, arrows to several
// objects are traced as one batch, and an intersection stops at its first missing side),
// from further traced checks at the same revision. The schema only says how the answers
// combine; relationship reads name the objects and grants behind them.
type resolver struct {
	ctx     context.Context
	session *session
	subject ref.Subject
	full    bool // also lay out branches that do not hold, to find near misses

	verdicts  map[string]bool
	nodes     map[string]*node
	asked     int
	truncated bool
	err       error
	expired   map[string][]string // expiry notes, by the relations they were looked up for
}

// session is what the resolvers of one answer share: the revision and relationship reads.
type session struct {
	a     *Auditor
	cons  *v1.Consistency
	token string
	m     *model
	reads map[string][]*v1.Relationship
}

func (a *Auditor) newSession(token string) (*session, error) {
	m, err := schemaModel()
	if err != nil {
		return nil, err
	}
	return &session{a: a, cons: exact(token), token: token, m: m, reads: map[string][]*v1.Relationship{}}, nil
}

func (s *session) resolver(ctx context.Context, subject ref.Subject, full bool) *resolver {
	return &resolver{ctx: ctx, session: s, subject: subject, full: full, verdicts: map[string]bool{}, nodes: map[string]*node{}}
}

// node is one object#name question for the resolver's subject.
type node struct {
	resource ref.Object
	name     string
	relation bool // a stored relation rather than a permission
	holds    bool

	direct []*v1.Relationship // relation: relationships naming the subject or its wildcard
	via    []hop              // relation: relationships naming a subject set, with that set
	expr   *evalTerm          // permission: its expression, evaluated
}

// hop is a relationship followed to the question it leads to.
type hop struct {
	rel  *v1.Relationship
	node *node
}

// evalTerm is one term of a permission expression, evaluated for the subject.
type evalTerm struct {
	t        *term
	resource ref.Object
	holds    bool
	children []*evalTerm // union, intersection, exclusion
	node     *node       // computed
	hops     []hop       // arrow
}

func (e *evalTerm) typ() string { return e.resource.Type }

// targets lists the objects an arrow reached.
func (e *evalTerm) targets() []ref.Object {
	out := make([]ref.Object, 0, len(e.hops))
	for _, h := range e.hops {
		out = append(out, h.node.resource)
	}
	return out
}

func (r *resolver) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// budgetLeft reports whether the resolver may still ask SpiceDB (checks and reads count).
func (r *resolver) budgetLeft() bool {
	if r.asked >= r.session.a.maxNodes {
		r.truncated = true
		return false
	}
	return true
}

// verdict asks SpiceDB whether the subject holds name on resource, using earlier traces
// where they already answered it.
func (r *resolver) verdict(resource ref.Object, name string) bool {
	key := resource.String() + "#" + name
	if v, ok := r.verdicts[key]; ok {
		return v
	}
	if r.err != nil || !r.budgetLeft() {
		return false
	}
	r.asked++
	resp, err := r.session.a.engine.Permissions().CheckPermission(r.ctx, &v1.CheckPermissionRequest{
		Consistency: r.session.cons,
		Resource:    objectRef(resource),
		Permission:  name,
		Subject:     subjectRef(r.subject),
		WithTracing: true,
	})
	if err != nil {
		r.fail(engineError(fmt.Sprintf("checking %s#%s for %s", resource, name, r.subject), err))
		return false
	}
	r.harvest(resp.GetDebugTrace().GetCheck())
	v := resp.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION
	r.verdicts[key] = v
	return v
}

// prefetch answers many sub-questions in one bulk check, without tracing (a trace costs
// SpiceDB a copy of the schema per request). Questions already answered are skipped.
func (r *resolver) prefetch(qs []question) {
	var items []*v1.CheckBulkPermissionsRequestItem
	var keys []string
	seen := map[string]bool{}
	for _, q := range qs {
		key := q.resource.String() + "#" + q.name
		if _, ok := r.verdicts[key]; ok || seen[key] {
			continue
		}
		seen[key] = true
		items = append(items, &v1.CheckBulkPermissionsRequestItem{Resource: objectRef(q.resource), Permission: q.name, Subject: subjectRef(r.subject)})
		keys = append(keys, key)
	}
	const chunk = 100
	for start := 0; start < len(items) && r.err == nil; start += chunk {
		if !r.budgetLeft() {
			return
		}
		end := min(start+chunk, len(items))
		r.asked++
		resp, err := r.session.a.engine.Permissions().CheckBulkPermissions(r.ctx, &v1.CheckBulkPermissionsRequest{
			Consistency: r.session.cons, Items: items[start:end],
		})
		if err != nil {
			r.fail(engineError(fmt.Sprintf("checking %d sub-questions for %s", end-start, r.subject), err))
			return
		}
		for i, pair := range resp.GetPairs() {
			if pair.GetError() != nil {
				continue // asked again one by one, which reports the error
			}
			r.verdicts[keys[start+i]] = pair.GetItem().GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION
		}
	}
}

// question is one object#name to answer for the resolver's subject.
type question struct {
	resource ref.Object
	name     string
}

// questionsOf lists the named questions a term asks directly (through anonymous nested
// operations), reading the relations its arrows follow.
func (r *resolver) questionsOf(resource ref.Object, t *term, out []question) []question {
	if t == nil {
		return out
	}
	switch t.op {
	case opComputed:
		out = append(out, question{resource, t.name})
	case opArrow:
		for _, rel := range r.read(relFilter(resource, t.tupleset, nil)) {
			target := fromObjectRef(rel.GetSubject().GetObject())
			if r.session.m.has(target.Type, t.name) {
				out = append(out, question{target, t.name})
			}
		}
	case opUnion, opIntersection, opExclusion:
		for _, c := range t.children {
			out = r.questionsOf(resource, c, out)
		}
	}
	return out
}

// harvest records every sub-problem of a trace that answers one question for one object.
// Batched sub-problems (several objects in one trace node) are skipped: their result is
// not per object.
func (r *resolver) harvest(t *v1.CheckDebugTrace) {
	if t == nil {
		return
	}
	id := t.GetResource().GetObjectId()
	if !strings.Contains(id, ",") && fromSubjectRef(t.GetSubject()) == r.subject {
		key := t.GetResource().GetObjectType() + ":" + id + "#" + t.GetPermission()
		switch t.GetResult() {
		case v1.CheckDebugTrace_PERMISSIONSHIP_HAS_PERMISSION:
			r.verdicts[key] = true
		case v1.CheckDebugTrace_PERMISSIONSHIP_NO_PERMISSION:
			r.verdicts[key] = false
		}
	}
	for _, sub := range t.GetSubProblems().GetTraces() {
		r.harvest(sub)
	}
}

// read returns the relationships matching filter, once per session.
func (r *resolver) read(filter *v1.RelationshipFilter) []*v1.Relationship {
	key := filter.String()
	if rels, ok := r.session.reads[key]; ok {
		return rels
	}
	if r.err != nil || !r.budgetLeft() {
		return nil
	}
	r.asked++
	rels, err := r.session.a.collect(r.ctx, r.session.cons, filter)
	if err != nil {
		r.fail(err)
		return nil
	}
	r.session.reads[key] = rels
	return rels
}

// node answers resource#name and, when it holds (or in full mode always), lays out why.
func (r *resolver) node(resource ref.Object, name string) *node {
	key := resource.String() + "#" + name
	if n, ok := r.nodes[key]; ok {
		return n
	}
	n := &node{resource: resource, name: name, relation: !r.session.m.isPermission(resource.Type, name)}
	r.nodes[key] = n // before expanding: a cycle in the data finds the node, not a loop
	n.holds = r.verdict(resource, name)
	if r.err == nil && (n.holds || r.full) && r.budgetLeft() {
		if n.relation {
			r.expandRelation(n)
		} else {
			expr := r.session.m.expression(resource.Type, name)
			r.prefetch(r.questionsOf(resource, expr, nil))
			n.expr = r.evalTerm(resource, expr)
		}
	}
	return n
}

func (r *resolver) expandRelation(n *node) {
	m := r.session.m
	allowed := m.relations[n.resource.Type][n.name]
	n.direct = append(n.direct, r.read(relFilter(n.resource, n.name, &r.subject))...)
	var qs []question
	for _, a := range allowed {
		if typ, rel, isSet := strings.Cut(a, "#"); isSet {
			set := ref.Subject{Object: ref.Object{Type: typ}, Relation: rel}
			for _, rl := range r.read(relFilter(n.resource, n.name, &set)) {
				qs = append(qs, question{fromObjectRef(rl.GetSubject().GetObject()), rel})
			}
		}
	}
	r.prefetch(qs)
	for _, a := range allowed {
		typ, rel, isSet := strings.Cut(a, "#")
		switch {
		case a == r.subject.Type+":*" && r.subject.Relation == "":
			wild := ref.Subject{Object: ref.Object{Type: r.subject.Type, ID: "*"}}
			n.direct = append(n.direct, r.read(relFilter(n.resource, n.name, &wild))...)
		case isSet:
			set := ref.Subject{Object: ref.Object{Type: typ}, Relation: rel}
			for _, rl := range r.read(relFilter(n.resource, n.name, &set)) {
				target := fromObjectRef(rl.GetSubject().GetObject())
				n.via = append(n.via, hop{rel: rl, node: r.node(target, rel)})
			}
		}
	}
}

func (r *resolver) evalTerm(resource ref.Object, t *term) *evalTerm {
	e := &evalTerm{t: t, resource: resource}
	if t == nil {
		return e
	}
	switch t.op {
	case opComputed:
		e.node = r.node(resource, t.name)
		e.holds = e.node.holds
	case opArrow:
		all := len(r.read(relFilter(resource, t.tupleset, nil))) > 0
		for _, rel := range r.read(relFilter(resource, t.tupleset, nil)) {
			target := fromObjectRef(rel.GetSubject().GetObject())
			if !r.session.m.has(target.Type, t.name) {
				continue
			}
			h := hop{rel: rel, node: r.node(target, t.name)}
			e.hops = append(e.hops, h)
			e.holds = e.holds || h.node.holds
			all = all && h.node.holds
		}
		if t.all {
			e.holds = all
		}
	case opNil:
	case opUnion, opIntersection, opExclusion:
		for _, c := range t.children {
			e.children = append(e.children, r.evalTerm(resource, c))
		}
		e.holds = combine(t.op, e.children)
	}
	return e
}

func combine(op opKind, children []*evalTerm) bool {
	switch op {
	case opUnion:
		for _, c := range children {
			if c.holds {
				return true
			}
		}
		return false
	case opIntersection:
		for _, c := range children {
			if !c.holds {
				return false
			}
		}
		return len(children) > 0
	case opExclusion:
		if len(children) == 0 || !children[0].holds {
			return false
		}
		for _, c := range children[1:] {
			if c.holds {
				return false
			}
		}
		return true
	}
	return false
}
