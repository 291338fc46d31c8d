package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/engine"
)

// A dispatch concurrency of 1 cannot run an exclusion (its base set and what it removes run
// side by side), so it is refused at start with the fix rather than hanging a check later.
func TestDispatchConcurrencyOneIsRefused(t *testing.T) {
	t.Parallel()
	e, err := engine.StartEmbedded(context.Background(), engine.EmbeddedConfig{DispatchConcurrency: 1})
	if err == nil {
		_ = e.Close()
		t.Fatal("dispatch concurrency 1 was accepted")
	}
	if !strings.Contains(err.Error(), "dispatch concurrency 1") || !strings.Contains(err.Error(), "use 2 or more") {
		t.Fatalf("error %q does not name the setting and the fix", err)
	}
}

// Every dispatch concurrency answers as SpiceDB's default does: generated cases (open and
// closed, reporters, related parties, account roles) checked for permissions built from
// unions, intersections and exclusions.
func TestDispatchConcurrencyKeepsTheAnswers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 21))
	users := []string{"u0", "u1", "u2", "u3", "u4", "u5"}
	var updates []*v1.RelationshipUpdate
	add := func(r *v1.Relationship) {
		updates = append(updates, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: r})
	}
	for a := range 3 {
		acct := fmt.Sprintf("a%d", a)
		add(rel("account", acct, "admin", "user", users[rng.IntN(len(users))], ""))
		add(rel("account", acct, "standard", "user", users[rng.IntN(len(users))], ""))
		add(rel("account", acct, "viewer", "user", users[rng.IntN(len(users))], ""))
	}
	const cases = 40
	for c := range cases {
		id := fmt.Sprintf("c%d", c)
		add(rel("case", id, "account", "account", fmt.Sprintf("a%d", rng.IntN(3)), ""))
		add(rel("case", id, "reporter", "user", users[rng.IntN(len(users))], ""))
		if rng.IntN(2) == 0 {
			add(&v1.Relationship{Resource: &v1.ObjectReference{ObjectType: "case", ObjectId: id}, Relation: "open",
				Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "*"}}})
		}
		if rng.IntN(3) == 0 {
			add(rel("case", id, "authorized_contact", "user", users[rng.IntN(len(users))], ""))
		}
	}
	answers := func(cfg engine.EmbeddedConfig) []bool {
		e, err := engine.StartEmbedded(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		tok, err := e.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: updates})
		if err != nil {
			t.Fatal(err)
		}
		var out []bool
		for c := range cases {
			for _, u := range users {
				for _, p := range []string{"view", "view_open", "view_closed", "update", "manage_related_parties"} {
					out = append(out, check(t, e, tok, "case", fmt.Sprintf("c%d", c), p, u))
				}
			}
		}
		return out
	}
	want := answers(engine.EmbeddedConfig{})
	allowed := 0
	for _, a := range want {
		if a {
			allowed++
		}
	}
	if allowed == 0 || allowed == len(want) {
		t.Fatalf("%d of %d checks allowed: the generated graph does not tell answers apart", allowed, len(want))
	}
	for _, n := range []uint16{2, 3, 8} {
		got := answers(engine.EmbeddedConfig{DispatchConcurrency: n})
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("dispatch concurrency %d: check %d answered %v, the default %v", n, i, got[i], want[i])
			}
		}
	}
}
