package engine_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/engine"
)

// An unknown query plan operation is refused at start, naming the ones there are.
func TestQueryPlanUnknownOperationIsRefused(t *testing.T) {
	t.Parallel()
	e, err := engine.StartEmbedded(context.Background(), engine.EmbeddedConfig{QueryPlan: []string{"check", "lookup"}})
	if err == nil {
		_ = e.Close()
		t.Fatal("query plan operation lookup was accepted")
	}
	if !strings.Contains(err.Error(), `"lookup"`) || !strings.Contains(err.Error(), "use check, lr") {
		t.Fatalf("error %q does not name the operation and the choices", err)
	}
}

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

// Every dispatch concurrency, and the third LookupResources, answers as SpiceDB's defaults
// do: generated cases (open and closed, reporters, related parties, account roles) checked
// and listed for permissions built from unions, intersections and exclusions.
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
	answers := func(cfg engine.EmbeddedConfig) []string {
		e, err := engine.StartEmbedded(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		tok, err := e.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: updates})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		perms := []string{"view", "view_open", "view_closed", "update", "manage_related_parties"}
		for c := range cases {
			for _, u := range users {
				for _, p := range perms {
					out = append(out, fmt.Sprintf("check %s c%d %s: %v", u, c, p, check(t, e, tok, "case", fmt.Sprintf("c%d", c), p, u)))
				}
			}
		}
		for _, u := range users {
			for _, p := range perms {
				var ids []string
				stream, err := e.Permissions().LookupResources(ctx, &v1.LookupResourcesRequest{
					Consistency:        &v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: tok}},
					ResourceObjectType: "case", Permission: p,
					Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: u}},
				})
				if err != nil {
					t.Fatal(err)
				}
				for {
					r, err := stream.Recv()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					ids = append(ids, r.GetResourceObjectId())
				}
				slices.Sort(ids)
				out = append(out, fmt.Sprintf("lookup %s %s: %v", u, p, ids))
			}
		}
		return out
	}
	want := answers(engine.EmbeddedConfig{})
	allowed := 0
	for _, a := range want {
		if strings.HasSuffix(a, ": true") {
			allowed++
		}
	}
	if allowed == 0 || allowed == len(want) {
		t.Fatalf("%d of %d checks allowed: the generated graph does not tell answers apart", allowed, len(want))
	}
	for _, cfg := range []engine.EmbeddedConfig{{DispatchConcurrency: 2}, {DispatchConcurrency: 3}, {DispatchConcurrency: 8}, {LookupResourcesV3: true}} {
		got := answers(cfg)
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("dispatch concurrency %d, lookup resources v3 %v: %s; the default: %s", cfg.DispatchConcurrency, cfg.LookupResourcesV3, got[i], want[i])
			}
		}
	}
}
