package audit

import (
	"maps"
	"slices"
)

// Holders is who an expand tree grants: listed users, or every user but some.
type Holders struct {
	// Everyone is true when a wildcard reaches the top: every user holds it except Except.
	Everyone bool
	// Users are the holders when Everyone is false, sorted.
	Users []string
	// Except are the users excluded from a wildcard when Everyone is true, sorted.
	Except []string
	// Incomplete reports subject sets left unexpanded at the depth limit.
	Incomplete bool
}

// userSet is a set of user ids, or, with all set, every user except ids.
type userSet struct {
	all bool
	ids map[string]bool
}

func none() userSet { return userSet{ids: map[string]bool{}} }

func union(a, b userSet) userSet {
	switch {
	case a.all && b.all: // everyone but (A∩B)
		return userSet{all: true, ids: keep(a.ids, func(id string) bool { return b.ids[id] })}
	case a.all: // everyone but (A−B)
		return userSet{all: true, ids: keep(a.ids, func(id string) bool { return !b.ids[id] })}
	case b.all:
		return union(b, a)
	}
	out := maps.Clone(a.ids)
	maps.Copy(out, b.ids)
	return userSet{ids: out}
}

func intersect(a, b userSet) userSet {
	switch {
	case a.all && b.all:
		out := maps.Clone(a.ids)
		maps.Copy(out, b.ids)
		return userSet{all: true, ids: out}
	case a.all: // B − A.except
		return userSet{ids: keep(b.ids, func(id string) bool { return !a.ids[id] })}
	case b.all:
		return intersect(b, a)
	}
	return userSet{ids: keep(a.ids, func(id string) bool { return b.ids[id] })}
}

func subtract(a, b userSet) userSet {
	switch {
	case a.all && b.all: // (U−A) − (U−B) = B − A
		return userSet{ids: keep(b.ids, func(id string) bool { return !a.ids[id] })}
	case a.all: // U − (A ∪ B)
		out := maps.Clone(a.ids)
		maps.Copy(out, b.ids)
		return userSet{all: true, ids: out}
	case b.all: // A ∩ B.except
		return userSet{ids: keep(a.ids, func(id string) bool { return b.ids[id] })}
	}
	return userSet{ids: keep(a.ids, func(id string) bool { return !b.ids[id] })}
}

func keep(ids map[string]bool, pred func(string) bool) map[string]bool {
	out := map[string]bool{}
	for id := range ids {
		if pred(id) {
			out[id] = true
		}
	}
	return out
}

// Holders computes, with set semantics, the users the tree grants: a union holds what any
// child holds, an intersection what every child holds, an exclusion what its first child
// holds and no other child holds. Users under an exclusion's subtracted branch are
// therefore not holders (unless another branch grants them).
func (t Tree) Holders() Holders {
	incomplete := false
	var eval func(n *Node) userSet
	eval = func(n *Node) userSet {
		if n == nil {
			return none()
		}
		switch n.Kind {
		case NodeUser:
			return userSet{ids: map[string]bool{n.Object.ID: true}}
		case NodeWildcard:
			return userSet{all: true, ids: map[string]bool{}}
		case NodeSubjectSet:
			if n.Truncated {
				incomplete = true
			}
			if len(n.Children) == 0 {
				return none()
			}
			return eval(n.Children[0])
		case NodeIntersection:
			if len(n.Children) == 0 {
				return none()
			}
			acc := eval(n.Children[0])
			for _, c := range n.Children[1:] {
				acc = intersect(acc, eval(c))
			}
			return acc
		case NodeExclusion:
			if len(n.Children) == 0 {
				return none()
			}
			acc := eval(n.Children[0])
			for _, c := range n.Children[1:] {
				acc = subtract(acc, eval(c))
			}
			return acc
		}
		acc := none()
		for _, c := range n.Children {
			acc = union(acc, eval(c))
		}
		return acc
	}
	set := eval(t.Root)
	ids := slices.Sorted(maps.Keys(set.ids))
	if set.all {
		return Holders{Everyone: true, Except: ids, Incomplete: incomplete}
	}
	return Holders{Users: ids, Incomplete: incomplete}
}

// Pruned returns a copy of the tree without branches that can grant nobody: empty
// relations, operations left without children, intersections with an empty side and
// exclusions with an empty base. Who the tree grants is unchanged.
func (t Tree) Pruned() Tree {
	var prune func(n *Node) *Node
	prune = func(n *Node) *Node {
		if n == nil {
			return nil
		}
		c := *n
		c.Children = nil
		switch n.Kind {
		case NodeUser, NodeWildcard:
			return &c
		case NodeSubjectSet:
			if n.Cycle || n.Truncated {
				return &c
			}
			if len(n.Children) == 0 {
				return nil
			}
			if p := prune(n.Children[0]); p != nil {
				c.Children = []*Node{p}
				return &c
			}
			return nil
		case NodeIntersection:
			for _, ch := range n.Children {
				p := prune(ch)
				if p == nil {
					return nil
				}
				c.Children = append(c.Children, p)
			}
			return &c
		case NodeExclusion:
			for i, ch := range n.Children {
				p := prune(ch)
				if p == nil && i == 0 {
					return nil
				}
				if p != nil {
					c.Children = append(c.Children, p)
				}
			}
			if len(c.Children) == 1 {
				return c.Children[0]
			}
			return &c
		}
		for _, ch := range n.Children {
			if p := prune(ch); p != nil {
				c.Children = append(c.Children, p)
			}
		}
		switch {
		case len(c.Children) == 0:
			return nil
		case len(c.Children) == 1 && c.Kind == NodeUnion && c.Children[0].Label() == c.Label():
			// SpiceDB nests a parenthesised union under its permission's own name.
			return c.Children[0]
		}
		return &c
	}
	out := t
	out.Root = prune(t.Root)
	if out.Root == nil {
		out.Root = &Node{Kind: NodeUnion, Object: t.Resource, Relation: t.Permission}
	}
	return out
}
