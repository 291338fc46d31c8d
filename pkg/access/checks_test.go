package access_test

import (
	"fmt"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/access"
)

func TestLookupsPageThroughEverythingOnce(t *testing.T) {
	t.Parallel()
	w := acme(t)
	// 2,500 cases of acme, written straight to the engine to keep the test fast.
	const n = 2500
	for start := 0; start < n; start += 500 {
		var updates []*v1.RelationshipUpdate
		for i := start; i < start+500; i++ {
			cs := &v1.ObjectReference{ObjectType: "case", ObjectId: fmt.Sprintf("bulk-%d", i)}
			updates = append(updates,
				&v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_CREATE, Relationship: &v1.Relationship{
					Resource: cs, Relation: "account",
					Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "account", ObjectId: "acme"}},
				}},
				// bill also reported every case: two paths to each, still listed once.
				&v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_CREATE, Relationship: &v1.Relationship{
					Resource: cs, Relation: "reporter",
					Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "bill"}},
				}},
			)
		}
		if _, err := w.e.WriteRelationships(w.ctx, &v1.WriteRelationshipsRequest{Updates: updates}); err != nil {
			t.Fatal(err)
		}
	}
	got := w.ids(w.c.LookupResources(w.ctx, userSubj("bill"), "view", "case", access.Fresh()))
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			t.Fatalf("%s listed twice", id)
		}
		seen[id] = true
	}
	if want := n + 3; len(got) != want {
		t.Fatalf("bill sees %d cases, want %d (no silent cap)", len(got), want)
	}
	subjects := w.ids(w.c.LookupSubjects(w.ctx, obj("case:bulk-7"), "view", "user", access.Fresh()))
	if len(subjects) != 1 || subjects[0] != "bill" {
		t.Fatalf("viewers of bulk-7 = %v", subjects)
	}
}
