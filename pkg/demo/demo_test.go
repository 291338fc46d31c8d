package demo_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/demo"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// TestLoadTellsTheStories loads the demo into a fresh in-process engine and checks one
// answer per story, so the README's claims stay true.
func TestLoadTellsTheStories(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	c := access.New(e.Engine)
	start := time.Now()
	sum, err := demo.Load(ctx, c, demo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded %d stories, %d changes in %s", sum.Stories, sum.Changes, time.Since(start))
	if sum.Last == "" {
		t.Error("the summary names no revision for the demo's last change")
	}

	tests := []struct {
		user, perm, object string
		want               bool
	}{
		{"bill", "view_all_cases", "account:acme", true},
		{"joan", "view_all_cases", "account:acme", false},
		{"sally", "download_software", "account:acme", true},
		{"joan", "download_software", "account:acme", false},
		{"dave", "create_case", "account:acme", false},
		{"pam", "view", "case:101", true},
		{"pam", "update", "case:101", false},
		{"pete", "view", "case:101", false},
		{"pete", "view", "case:102", true},
		{"tara", "update", "case:103", false}, // closed
		{"tara", "update", "case:102", true},
		{"rita", "view_dashboard", "account:acme", true},
		{"rita", "manage_service", "account:acme", false},
		{"max", "manage_service", "account:acme", true},
		{"sue", "view", "case:201", true},
		{"sue", "view", "case:203", true},
		{"sue", "view", "case:204", false},
		{"sue", "update", "case:202", false},
		{"sally", "view", "sold_product:router_x200", true},
		{"joan", "create_case", "install_base:router_x200_hq", true},
		{"nina", "create_case", "install_base:router_x200_hq", false},
		{"olga", "create_case", "install_base:router_x200_hq", true},
		{"finn", "view", "install_base:router_x200_hq", true},
		{"finn", "create_case", "install_base:router_x200_hq", false},
		{"leo", "view", "case:101", true},
		{"leo", "update", "case:102", true},
		{"carol", "remove_members", "account:acme", true},
	}
	for _, tt := range tests {
		o, err := ref.Parse(tt.object)
		if err != nil {
			t.Fatal(err)
		}
		d, err := c.Check(ctx, ref.Subject{Object: ref.Object{Type: "user", ID: tt.user}}, tt.perm, o, access.Fresh())
		if err != nil {
			t.Fatalf("%s %s %s: %v", tt.user, tt.perm, tt.object, err)
		}
		if d.Allowed != tt.want {
			t.Errorf("%s %s %s = %v, want %v", tt.user, tt.perm, tt.object, d.Allowed, tt.want)
		}
	}

	if _, err := demo.Load(ctx, c, demo.Options{}); !errors.Is(err, demo.ErrNotEmpty) {
		t.Errorf("second load: err = %v, want ErrNotEmpty", err)
	}
}
