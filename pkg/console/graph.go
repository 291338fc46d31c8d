package console

import (
	"strings"

	"github.com/accessgraph/accessgraph/pkg/audit"
)

// The layout of the why page's drawing, in SVG user units.
const (
	boxW, boxH = 190, 34
	colGap     = 70
	rowH       = 70
	margin     = 10
)

type svgBox struct {
	X, Y, W, H int
	TX, TY     int
	Label      string
	Class      string
}

type svgEdge struct {
	X1, Y1, X2, Y2 int
	LX, LY         int
	Label          string
	Class          string
}

// graph is a drawing of an explanation: boxes for objects, arrows for stored facts.
type graph struct {
	Width, Height int
	Boxes         []svgBox
	Edges         []svgEdge
}

func (g *graph) box(col, row int, label, class string) svgBox {
	x, y := margin+col*(boxW+colGap), margin+row*rowH
	b := svgBox{X: x, Y: y, W: boxW, H: boxH, TX: x + boxW/2, TY: y + boxH/2 + 5, Label: shorten(label), Class: class}
	g.Boxes = append(g.Boxes, b)
	g.Width = max(g.Width, x+boxW+margin)
	g.Height = max(g.Height, y+boxH+margin)
	return b
}

func (g *graph) edge(from, to svgBox, label, class string) {
	y := from.Y + from.H/2
	x1, x2 := from.X+from.W, to.X
	g.Edges = append(g.Edges, svgEdge{X1: x1, Y1: y, X2: x2 - 4, Y2: to.Y + to.H/2, LX: (x1 + x2) / 2, LY: y - 6, Label: shorten(label), Class: class})
}

// shorten keeps a label inside its box.
func shorten(s string) string {
	const most = 26
	if r := []rune(s); len(r) > most {
		return string(r[:most-1]) + "…"
	}
	return s
}

// splitRelationship reads resource#relation@subject (a caveat or expiry after it is dropped).
func splitRelationship(rel string) (resource, relation, subject string) {
	left, subject, _ := strings.Cut(rel, "@")
	if i := strings.IndexAny(subject, "[ "); i >= 0 {
		subject = subject[:i]
	}
	resource, relation, _ = strings.Cut(left, "#")
	return resource, relation, subject
}

// grantedGraph draws each granting path as a row, from the user up to the resource; every
// one of them satisfies the permission, so every one is highlighted.
func grantedGraph(paths []audit.Path) *graph {
	g := &graph{}
	for row, p := range paths {
		col := 0
		var prev svgBox
		prevLabel := ""
		for _, rel := range p.Relationships {
			resource, relation, subject := splitRelationship(rel)
			// A subject set (partner:integrator#member) is the box of its object.
			subject, _, _ = strings.Cut(subject, "#")
			if col == 0 || subject != prevLabel {
				b := g.box(col, row, subject, "node sat")
				if col > 0 {
					g.edge(prev, b, "", "edge sat")
				}
				prev, col = b, col+1
			}
			b := g.box(col, row, resource, "node sat")
			g.edge(prev, b, relation, "edge sat")
			prev, prevLabel, col = b, resource, col+1
		}
	}
	return g
}

// deniedGraph draws the subject and the resource with one arrow per way the permission
// could be granted, drawn by its status: a missing way dashed.
func deniedGraph(subject, resource string, ways []audit.Way) *graph {
	g := &graph{}
	for row, w := range ways {
		from := g.box(0, row, subject, "node")
		to := g.box(2, row, resource, "node")
		class := "edge missing"
		if w.Status == audit.WayGranted || w.Status == audit.WayNotExcluded {
			class = "edge sat"
		}
		g.edge(from, to, w.Expression+" ("+string(w.Status)+")", class)
	}
	return g
}
