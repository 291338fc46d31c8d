package spice_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/spice"
)

// Paged reads return every result exactly once around each page boundary, and a lookup
// (one stream, no pages) and an export (one stream of batches of 100 here) every result, on
// the real engine.
func TestPagedCallsReturnEverythingOnce(t *testing.T) {
	ctx := context.Background()
	e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{MaxExportLimit: 100})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	full := &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}}
	written := 0
	for _, n := range []int{0, 1, spice.PageSize - 1, spice.PageSize, spice.PageSize + 1, 2*spice.PageSize + 37} {
		for written < n {
			var updates []*v1.RelationshipUpdate
			for ; written < n && len(updates) < 500; written++ {
				updates = append(updates, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: &v1.Relationship{
					Resource: &v1.ObjectReference{ObjectType: "account", ObjectId: fmt.Sprintf("a%05d", written)},
					Relation: "admin",
					Subject:  &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "admin"}},
				}})
			}
			if _, err := e.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: updates}); err != nil {
				t.Fatal(err)
			}
		}
		seen := map[string]bool{}
		filter := &v1.RelationshipFilter{ResourceType: "account", OptionalRelation: "admin"}
		for rel, err := range spice.ReadRelationships(ctx, e.Permissions(), full, filter) {
			if err != nil {
				t.Fatal(err)
			}
			id := rel.GetResource().GetObjectId()
			if seen[id] {
				t.Fatalf("n=%d: %s read twice", n, id)
			}
			seen[id] = true
		}
		if len(seen) != n {
			t.Fatalf("n=%d: read %d relationships", n, len(seen))
		}
		exported := map[string]bool{}
		for rel, err := range spice.ExportRelationships(ctx, e.Permissions(), full, filter) {
			if err != nil {
				t.Fatal(err)
			}
			id := rel.GetResource().GetObjectId()
			if exported[id] || rel.GetRelation() != "admin" {
				t.Fatalf("n=%d: exported %s#%s twice or outside the filter", n, id, rel.GetRelation())
			}
			exported[id] = true
		}
		if len(exported) != n {
			t.Fatalf("n=%d: exported %d relationships", n, len(exported))
		}
		found := map[string]bool{}
		lookups := spice.LookupResources(ctx, e.Permissions(), &v1.LookupResourcesRequest{
			Consistency: full, ResourceObjectType: "account", Permission: "view_all_cases",
			Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "admin"}},
		})
		for resp, err := range lookups {
			if err != nil {
				t.Fatal(err)
			}
			found[resp.GetResourceObjectId()] = true
		}
		if len(found) != n {
			t.Fatalf("n=%d: looked up %d accounts", n, len(found))
		}
	}
	// An invalid request fails with a classified error naming what was being done.
	for _, err := range spice.ReadRelationships(ctx, e.Permissions(), full, &v1.RelationshipFilter{ResourceType: "nosuchtype"}) {
		if err == nil || !errorsIsInvalidOrNotFound(err) {
			t.Fatalf("unknown type: %v", err)
		}
		break
	}
}

func errorsIsInvalidOrNotFound(err error) bool {
	return errors.Is(err, spice.ErrInvalidArgument) || errors.Is(err, spice.ErrNotFound) || errors.Is(err, spice.ErrConflict)
}
