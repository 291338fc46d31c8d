package audit

import (
	"context"
	"fmt"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// NodeKind is the kind of one node of an expand tree.
type NodeKind string

// Kinds of expand tree nodes.
const (
	// NodeUnion holds everyone any child holds.
	NodeUnion NodeKind = "union"
	// NodeIntersection holds those every child holds.
	NodeIntersection NodeKind = "intersection"
	// NodeExclusion holds those the first child holds and no later child holds.
	NodeExclusion NodeKind = "exclusion"
	// NodeRelation is a stored relation of an object; its children are the subjects stored.
	NodeRelation NodeKind = "relation"
	// NodeSubjectSet is a stored subject set (partner:integrator#member); its one child is
	// that set's own expansion, unless Cycle or Truncated says it was not expanded.
	NodeSubjectSet NodeKind = "subject set"
	// NodeUser is one user: a leaf.
	NodeUser NodeKind = "user"
	// NodeWildcard is every user of a type (user:*): a leaf.
	NodeWildcard NodeKind = "wildcard"
)

// Node is one node of an expand tree.
type Node struct {
	Kind NodeKind
	// Object and Relation name what the node expands: account:acme and view_all_cases for
	// an operation or relation node, the set for a subject set, the user for a leaf.
	Object   ref.Object
	Relation string
	Children []*Node
	// Cycle marks a subject set already being expanded further up: it is not expanded
	// again (the data would otherwise loop).
	Cycle bool
	// Truncated marks a subject set left unexpanded at the depth limit.
	Truncated bool
}

// Label is the node's name in renderings: "account:acme#admin", "user:bill", "user:*".
func (n *Node) Label() string {
	if n.Relation == "" {
		return n.Object.String()
	}
	return n.Object.String() + "#" + n.Relation
}

// Tree is the complete expansion of one permission on one resource: SpiceDB's
// ExpandPermissionTree, with every subject set it leaves unexpanded expanded in turn, so
// that the leaves are users and wildcards.
type Tree struct {
	Resource   ref.Object
	Permission string
	// ExpandedAt is the revision every expansion in the tree was read at.
	ExpandedAt access.Token
	Root       *Node
}

// Expand returns the complete tree of who holds permission on resource, read fresh (at
// least as fresh as every change this process made). SpiceDB expands one level of subject
// sets per call; Expand calls it again for each subject set, at the same revision,
// skipping sets already being expanded (cycles) and stopping at the auditor's depth limit
// (WithExpandDepth).
func (a *Auditor) Expand(ctx context.Context, resource ref.Object, permission string) (Tree, error) {
	if err := validateQuestion(resource, permission); err != nil {
		return Tree{}, err
	}
	x := &expander{a: a, ctx: ctx, cons: a.fresh(), memo: map[string]*Node{}, active: map[string]bool{}}
	root, err := x.expand(resource, permission, 0)
	if err != nil {
		return Tree{}, err
	}
	return Tree{Resource: resource, Permission: permission, ExpandedAt: access.Token(x.token), Root: root}, nil
}

type expander struct {
	a      *Auditor
	ctx    context.Context
	cons   *v1.Consistency
	token  string
	memo   map[string]*Node
	active map[string]bool
}

func (x *expander) expand(o ref.Object, relation string, depth int) (*Node, error) {
	key := o.String() + "#" + relation
	if n, ok := x.memo[key]; ok {
		return n, nil
	}
	resp, err := x.a.engine.Permissions().ExpandPermissionTree(x.ctx, &v1.ExpandPermissionTreeRequest{
		Consistency: x.cons, Resource: objectRef(o), Permission: relation,
	})
	if err != nil {
		return nil, engineError(fmt.Sprintf("expanding %s", key), err)
	}
	if x.token == "" {
		x.token = resp.GetExpandedAt().GetToken()
		x.cons = exact(x.token)
	}
	x.active[key] = true
	defer delete(x.active, key)
	n, err := x.convert(resp.GetTreeRoot(), o, relation, depth)
	if err != nil {
		return nil, err
	}
	x.memo[key] = n
	return n, nil
}

func (x *expander) convert(t *v1.PermissionRelationshipTree, o ref.Object, relation string, depth int) (*Node, error) {
	if t.GetExpandedObject() != nil {
		o, relation = fromObjectRef(t.GetExpandedObject()), t.GetExpandedRelation()
	}
	n := &Node{Object: o, Relation: relation}
	if in := t.GetIntermediate(); in != nil {
		switch in.GetOperation() {
		case v1.AlgebraicSubjectSet_OPERATION_INTERSECTION:
			n.Kind = NodeIntersection
		case v1.AlgebraicSubjectSet_OPERATION_EXCLUSION:
			n.Kind = NodeExclusion
		default:
			n.Kind = NodeUnion
		}
		for _, c := range in.GetChildren() {
			child, err := x.convert(c, o, relation, depth)
			if err != nil {
				return nil, err
			}
			n.Children = append(n.Children, child)
		}
		return n, nil
	}
	n.Kind = NodeRelation
	for _, s := range t.GetLeaf().GetSubjects() {
		sub := fromSubjectRef(s)
		switch {
		case sub.ID == "*":
			n.Children = append(n.Children, &Node{Kind: NodeWildcard, Object: sub.Object})
		case sub.Relation == "" || sub.Relation == "...":
			n.Children = append(n.Children, &Node{Kind: NodeUser, Object: sub.Object})
		default:
			set := &Node{Kind: NodeSubjectSet, Object: sub.Object, Relation: sub.Relation}
			key := sub.String()
			switch {
			case x.active[key]:
				set.Cycle = true
			case depth+1 >= x.a.expandDepth:
				set.Truncated = true
			default:
				child, err := x.expand(sub.Object, sub.Relation, depth+1)
				if err != nil {
					return nil, err
				}
				set.Children = []*Node{child}
			}
			n.Children = append(n.Children, set)
		}
	}
	return n, nil
}
