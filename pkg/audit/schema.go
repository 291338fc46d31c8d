package audit

import (
	"fmt"
	"strings"
	"sync"

	core "github.com/authzed/spicedb/pkg/proto/core/v1"
	"github.com/authzed/spicedb/pkg/schemadsl/compiler"
	"github.com/authzed/spicedb/pkg/schemadsl/input"

	"github.com/accessgraph/accessgraph/schema"
)

// opKind is the kind of one term of a permission expression.
type opKind int

const (
	opUnion        opKind = iota // a + b
	opIntersection               // a & b
	opExclusion                  // a - b
	opComputed                   // a name on the same object
	opArrow                      // tupleset->name
	opNil                        // nil: nobody
)

// term is one node of a compiled permission expression.
type term struct {
	op       opKind
	children []*term // union, intersection, exclusion
	name     string  // computed: the relation or permission; arrow: the permission on the target
	tupleset string  // arrow: the relation followed
	all      bool    // arrow: .all() instead of any
}

// String renders the term in schema notation.
func (t *term) String() string {
	switch t.op {
	case opComputed:
		return t.name
	case opArrow:
		if t.all {
			return t.tupleset + ".all(" + t.name + ")"
		}
		return t.tupleset + "->" + t.name
	case opNil:
		return "nil"
	}
	sep := map[opKind]string{opUnion: " + ", opIntersection: " & ", opExclusion: " - "}[t.op]
	parts := make([]string, len(t.children))
	for i, c := range t.children {
		parts[i] = c.String()
		if c.op == opUnion || c.op == opIntersection || c.op == opExclusion {
			parts[i] = "(" + parts[i] + ")"
		}
	}
	return strings.Join(parts, sep)
}

// model is the compiled schema: for each type, each permission's expression and each
// relation's allowed subject types.
type model struct {
	permissions map[string]map[string]*term    // type -> permission -> expression
	relations   map[string]map[string][]string // type -> relation -> allowed subjects ("user", "partner#member", "user:*")
	expiring    map[string]map[string]bool     // type -> relation -> accepts an expiry
}

var (
	modelOnce sync.Once
	modelVal  *model
	modelErr  error
)

// schemaModel compiles the embedded schema once.
func schemaModel() (*model, error) {
	modelOnce.Do(func() { modelVal, modelErr = compileModel(schema.Text) })
	return modelVal, modelErr
}

func compileModel(text string) (*model, error) {
	cs, err := compiler.Compile(compiler.InputSchema{Source: input.Source(schema.FileName), SchemaString: text}, compiler.AllowUnprefixedObjectType())
	if err != nil {
		return nil, fmt.Errorf("compiling the schema: %w", err)
	}
	m := &model{
		permissions: map[string]map[string]*term{},
		relations:   map[string]map[string][]string{},
		expiring:    map[string]map[string]bool{},
	}
	for _, nd := range cs.ObjectDefinitions {
		typ := nd.GetName()
		m.permissions[typ] = map[string]*term{}
		m.relations[typ] = map[string][]string{}
		m.expiring[typ] = map[string]bool{}
		for _, rel := range nd.GetRelation() {
			if rw := rel.GetUsersetRewrite(); rw != nil {
				t, err := convertRewrite(rw)
				if err != nil {
					return nil, fmt.Errorf("%s#%s: %w", typ, rel.GetName(), err)
				}
				m.permissions[typ][rel.GetName()] = t
				continue
			}
			for _, a := range rel.GetTypeInformation().GetAllowedDirectRelations() {
				s := a.GetNamespace()
				switch {
				case a.GetPublicWildcard() != nil:
					s += ":*"
				case a.GetRelation() != "" && a.GetRelation() != "...":
					s += "#" + a.GetRelation()
				}
				m.relations[typ][rel.GetName()] = appendUnique(m.relations[typ][rel.GetName()], s)
				if a.GetRequiredExpiration() != nil {
					m.expiring[typ][rel.GetName()] = true
				}
			}
		}
	}
	return m, nil
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func convertRewrite(rw *core.UsersetRewrite) (*term, error) {
	var op opKind
	var set *core.SetOperation
	switch {
	case rw.GetUnion() != nil:
		op, set = opUnion, rw.GetUnion()
	case rw.GetIntersection() != nil:
		op, set = opIntersection, rw.GetIntersection()
	case rw.GetExclusion() != nil:
		op, set = opExclusion, rw.GetExclusion()
	default:
		return nil, fmt.Errorf("unsupported rewrite %v", rw)
	}
	t := &term{op: op}
	for _, child := range set.GetChild() {
		c, err := convertChild(child)
		if err != nil {
			return nil, err
		}
		t.children = append(t.children, c)
	}
	// A single-operand union is the operand itself: "permission member = direct_member".
	if t.op == opUnion && len(t.children) == 1 {
		return t.children[0], nil
	}
	return t, nil
}

func convertChild(c *core.SetOperation_Child) (*term, error) {
	switch {
	case c.GetComputedUserset() != nil:
		return &term{op: opComputed, name: c.GetComputedUserset().GetRelation()}, nil
	case c.GetTupleToUserset() != nil:
		ttu := c.GetTupleToUserset()
		return &term{op: opArrow, tupleset: ttu.GetTupleset().GetRelation(), name: ttu.GetComputedUserset().GetRelation()}, nil
	case c.GetFunctionedTupleToUserset() != nil:
		f := c.GetFunctionedTupleToUserset()
		return &term{
			op: opArrow, tupleset: f.GetTupleset().GetRelation(), name: f.GetComputedUserset().GetRelation(),
			all: f.GetFunction() == core.FunctionedTupleToUserset_FUNCTION_ALL,
		}, nil
	case c.GetUsersetRewrite() != nil:
		return convertRewrite(c.GetUsersetRewrite())
	case c.GetXNil() != nil:
		return &term{op: opNil}, nil
	}
	return nil, fmt.Errorf("unsupported expression %v", c)
}

// isPermission reports whether name is a computed permission of typ.
func (m *model) isPermission(typ, name string) bool {
	_, ok := m.permissions[typ][name]
	return ok
}

// has reports whether typ has name as a relation or permission.
func (m *model) has(typ, name string) bool {
	if m.isPermission(typ, name) {
		return true
	}
	_, ok := m.relations[typ][name]
	return ok
}

// expression returns the expression of typ#permission, or nil for a relation.
func (m *model) expression(typ, name string) *term { return m.permissions[typ][name] }
