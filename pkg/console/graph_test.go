package console

import (
	"slices"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/audit"
)

func TestGrantedGraphChainsEachPathFromTheUserUp(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rels  []string
		boxes []string
		edges []string
	}{
		{"a role", []string{"account:acme#standard@user:sally"}, []string{"user:sally", "account:acme"}, []string{"standard"}},
		{"a subject set", []string{"partner:integrator#member@user:pam", "account:acme#org_look@partner:integrator#member"},
			[]string{"user:pam", "partner:integrator", "account:acme"}, []string{"member", "org_look"}},
		{"an expiring grant", []string{"account:acme#individual_look@user:tara[expiration:2030-01-01T00:00:00Z]"}, []string{"user:tara", "account:acme"}, []string{"individual_look"}},
		{"facts that do not chain", []string{"group:a#direct_member@user:sue", "case:1#reporter@user:amy"},
			[]string{"user:sue", "group:a", "user:amy", "case:1"}, []string{"direct_member", "", "reporter"}},
	} {
		g := grantedGraph([]audit.Path{{Relationships: tc.rels}})
		var boxes, edges []string
		for _, b := range g.Boxes {
			boxes = append(boxes, b.Label)
			if b.Class != "node sat" {
				t.Errorf("%s: box %s is not highlighted", tc.name, b.Label)
			}
		}
		for _, e := range g.Edges {
			edges = append(edges, e.Label)
		}
		if !slices.Equal(boxes, tc.boxes) || !slices.Equal(edges, tc.edges) {
			t.Errorf("%s: boxes %v edges %v, want %v %v", tc.name, boxes, edges, tc.boxes, tc.edges)
		}
		if g.Width <= 0 || g.Height <= 0 {
			t.Errorf("%s: empty drawing %dx%d", tc.name, g.Width, g.Height)
		}
	}
}

func TestDeniedGraphDrawsAMissingWayDashed(t *testing.T) {
	g := deniedGraph("user:pete", "account:acme", []audit.Way{
		{Expression: "admin", Status: audit.WayMissing},
		{Expression: "partner_look", Status: audit.WayNotCounted},
		{Expression: "open", Status: audit.WayGranted},
	})
	want := []string{"edge missing", "edge missing", "edge sat"}
	var got []string
	for _, e := range g.Edges {
		got = append(got, e.Class)
	}
	if !slices.Equal(got, want) {
		t.Errorf("edge classes %v, want %v", got, want)
	}
}

func TestLocalPath(t *testing.T) {
	for next, want := range map[string]string{
		"/person/bill": "/person/bill", "/why?subject=user%3Abill": "/why?subject=user%3Abill", "/": "/",
		"": "/", "//evil.example": "/", "/\\evil.example": "/", "https://evil.example": "/", "javascript:alert(1)": "/",
		"evil.example": "/", "/%2F%2Fevil.example": "/", "/\t/evil.example": "/",
	} {
		if got := localPath(next); got != want {
			t.Errorf("localPath(%q) = %q, want %q", next, got, want)
		}
	}
}
