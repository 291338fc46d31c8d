package audit

import (
	"fmt"
	"io"
	"strings"
)

// nodeText is a node's one-line description in renderings.
func nodeText(n *Node) string {
	switch n.Kind {
	case NodeUnion, NodeIntersection, NodeExclusion:
		return n.Label() + " (" + string(n.Kind) + ")"
	case NodeWildcard:
		return n.Object.Type + ":* (every " + n.Object.Type + ")"
	case NodeSubjectSet:
		switch {
		case n.Cycle:
			return n.Label() + " (cycle: expanded above)"
		case n.Truncated:
			return n.Label() + " (depth limit: not expanded)"
		}
		return n.Label()
	case NodeRelation:
		if len(n.Children) == 0 {
			return n.Label() + " (empty)"
		}
	}
	return n.Label()
}

// shownChildren are the children a rendering draws under n: a subject set whose expansion
// is the stored relation of the same name shows that relation's subjects directly.
func shownChildren(n *Node) []*Node {
	if n.Kind == NodeSubjectSet && len(n.Children) == 1 && n.Children[0].Kind == NodeRelation && n.Children[0].Label() == n.Label() {
		return n.Children[0].Children
	}
	return n.Children
}

// excluded reports whether child i of n is subtracted (a later child of an exclusion).
func excluded(n *Node, i int) bool { return n.Kind == NodeExclusion && i > 0 }

// WriteTreeText writes the tree for a terminal, one node a line, with box-drawing
// branches. Subtracted branches of an exclusion are marked "minus".
func WriteTreeText(w io.Writer, t Tree) error {
	var b strings.Builder
	var walk func(n *Node, prefix string, last bool, root bool, minus bool)
	walk = func(n *Node, prefix string, last bool, root bool, minus bool) {
		text := nodeText(n)
		if minus {
			text = "minus " + text
		}
		childPrefix := prefix
		switch {
		case root:
			b.WriteString(text + "\n")
		case last:
			b.WriteString(prefix + "└── " + text + "\n")
			childPrefix = prefix + "    "
		default:
			b.WriteString(prefix + "├── " + text + "\n")
			childPrefix = prefix + "│   "
		}
		children := shownChildren(n)
		for i, c := range children {
			walk(c, childPrefix, i == len(children)-1, false, excluded(n, i))
		}
	}
	if t.Root != nil {
		walk(t.Root, "", true, true, false)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// treeJSON is the JSON form of a node.
type treeJSON struct {
	Kind      string      `json:"kind"`
	Object    string      `json:"object"`
	Relation  string      `json:"relation,omitempty"`
	Minus     bool        `json:"minus,omitempty"`
	Cycle     bool        `json:"cycle,omitempty"`
	Truncated bool        `json:"truncated,omitempty"`
	Children  []*treeJSON `json:"children,omitempty"`
}

func toTreeJSON(n *Node, minus bool) *treeJSON {
	if n == nil {
		return nil
	}
	out := &treeJSON{Kind: string(n.Kind), Object: n.Object.String(), Relation: n.Relation, Minus: minus, Cycle: n.Cycle, Truncated: n.Truncated}
	for i, c := range n.Children {
		out.Children = append(out.Children, toTreeJSON(c, excluded(n, i)))
	}
	return out
}

// MarshalJSON renders the tree with references in SpiceDB notation, together with the
// holders it grants.
func (t Tree) MarshalJSON() ([]byte, error) {
	return marshalJSON(struct {
		Resource   string    `json:"resource"`
		Permission string    `json:"permission"`
		ExpandedAt string    `json:"expanded_at"`
		Holders    Holders   `json:"holders"`
		Root       *treeJSON `json:"root"`
	}{t.Resource.String(), t.Permission, string(t.ExpandedAt), t.Holders(), toTreeJSON(t.Root, false)})
}

// MarshalJSON uses lower-case field names.
func (h Holders) MarshalJSON() ([]byte, error) {
	return marshalJSON(struct {
		Everyone   bool     `json:"everyone"`
		Users      []string `json:"users"`
		Except     []string `json:"except,omitempty"`
		Incomplete bool     `json:"incomplete,omitempty"`
	}{h.Everyone, nonNil(h.Users), h.Except, h.Incomplete})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// WriteTreeJSON writes the tree as indented JSON, with its holders.
func WriteTreeJSON(w io.Writer, t Tree) error { return writeJSON(w, t) }

// graph numbers the nodes of a tree for the graph renderers. A subject set reached twice
// is drawn once.
type graph struct {
	ids   map[*Node]string
	order []*Node
	edges []graphEdge
}

type graphEdge struct {
	from, to string
	minus    bool
}

func newGraph(t Tree) *graph {
	g := &graph{ids: map[*Node]string{}}
	number := func(n *Node) (string, bool) {
		if id, ok := g.ids[n]; ok {
			return id, false
		}
		id := fmt.Sprintf("n%d", len(g.order))
		g.ids[n] = id
		g.order = append(g.order, n)
		return id, true
	}
	var walk func(n *Node, id string)
	walk = func(n *Node, id string) {
		for i, c := range shownChildren(n) {
			cid, fresh := number(c)
			g.edges = append(g.edges, graphEdge{from: id, to: cid, minus: excluded(n, i)})
			if fresh {
				walk(c, cid)
			}
		}
	}
	if t.Root != nil {
		id, _ := number(t.Root)
		walk(t.Root, id)
	}
	return g
}

// WriteTreeDOT writes the tree as a Graphviz digraph (render with `dot -Tsvg`). Users are
// ellipses, operations diamonds, relations and subject sets boxes; subtracted branches of
// an exclusion are dashed edges labelled "minus".
func WriteTreeDOT(w io.Writer, t Tree) error {
	g := newGraph(t)
	var b strings.Builder
	b.WriteString("digraph expand {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n")
	for _, n := range g.order {
		shape := "box"
		switch n.Kind {
		case NodeUser, NodeWildcard:
			shape = "ellipse"
		case NodeUnion, NodeIntersection, NodeExclusion:
			shape = "diamond"
		}
		fmt.Fprintf(&b, "  %s [label=%s, shape=%s];\n", g.ids[n], dotQuote(nodeText(n)), shape)
	}
	for _, e := range g.edges {
		if e.minus {
			fmt.Fprintf(&b, "  %s -> %s [style=dashed, label=\"minus\"];\n", e.from, e.to)
		} else {
			fmt.Fprintf(&b, "  %s -> %s;\n", e.from, e.to)
		}
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func dotQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// WriteTreeMermaid writes the tree as a Mermaid flowchart (for Markdown that renders
// Mermaid). Subtracted branches of an exclusion are dotted edges labelled "minus".
func WriteTreeMermaid(w io.Writer, t Tree) error {
	g := newGraph(t)
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	for _, n := range g.order {
		open, close := "[", "]"
		switch n.Kind {
		case NodeUser, NodeWildcard:
			open, close = "([", "])"
		case NodeUnion, NodeIntersection, NodeExclusion:
			open, close = "{", "}"
		}
		fmt.Fprintf(&b, "  %s%s\"%s\"%s\n", g.ids[n], open, mermaidEscape(nodeText(n)), close)
	}
	for _, e := range g.edges {
		if e.minus {
			fmt.Fprintf(&b, "  %s -. minus .-> %s\n", e.from, e.to)
		} else {
			fmt.Fprintf(&b, "  %s --> %s\n", e.from, e.to)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mermaidEscape writes characters Mermaid would read as syntax as entity codes.
func mermaidEscape(s string) string {
	return strings.NewReplacer(`"`, "#quot;", "#", "#35;", "<", "#lt;", ">", "#gt;").Replace(s)
}
