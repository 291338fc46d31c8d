package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/engine"
)

// TestSplitBulkChecksAnswerAsOne sends generated bulk checks (many sizes; repeated and
// distinct subjects; more than 100 items for one subject; items that are denied, allowed or
// on objects that do not exist) through the server, which answers those of more than one
// group in pieces: every answer must be in the item's place, read at the one revision the
// response reports, and equal to a single check of that item at that revision.
func TestSplitBulkChecksAnswerAsOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{MaxBulkCheckItems: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	var updates []*v1.RelationshipUpdate
	for a := range 4 {
		for u := range 8 {
			if (a+u)%3 != 0 {
				updates = append(updates, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_TOUCH,
					Relationship: rel("account", fmt.Sprintf("a%d", a), []string{"admin", "standard", "viewer"}[u%3], "user", fmt.Sprintf("u%d", u), "")})
			}
		}
	}
	if _, err := e.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: updates}); err != nil {
		t.Fatal(err)
	}
	p := e.Permissions()
	perms := []string{"view_all_cases", "manage_members"}
	for seed := range uint64(16) {
		rng := rand.New(rand.NewPCG(seed, 3))
		n := 1 + rng.IntN(300)
		subjects := 1 + rng.IntN(12)
		var items []*v1.CheckBulkPermissionsRequestItem
		for range n {
			items = append(items, &v1.CheckBulkPermissionsRequestItem{
				Resource:   &v1.ObjectReference{ObjectType: "account", ObjectId: fmt.Sprintf("a%d", rng.IntN(6))},
				Permission: perms[rng.IntN(2)],
				Subject:    &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: fmt.Sprintf("u%d", rng.IntN(subjects))}},
			})
		}
		before := engine.BulkPiecesSent(e)
		resp, err := p.CheckBulkPermissions(ctx, &v1.CheckBulkPermissionsRequest{Items: items,
			Consistency: &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}}})
		if err != nil {
			t.Fatalf("seed %d, %d items: %v", seed, n, err)
		}
		if len(resp.GetPairs()) != n || resp.GetCheckedAt().GetToken() == "" {
			t.Fatalf("seed %d: %d pairs for %d items, checked at %q", seed, len(resp.GetPairs()), n, resp.GetCheckedAt().GetToken())
		}
		groups := map[string]int{}
		for _, it := range items {
			groups[it.GetPermission()+"@"+it.GetSubject().GetObject().GetObjectId()]++
		}
		split := len(groups) > 1
		for _, size := range groups {
			split = split || size > 100
		}
		sent := engine.BulkPiecesSent(e) - before
		if split != (sent > 0) || int(sent) > n {
			t.Fatalf("seed %d: %d items in %d groups sent as %d pieces; want pieces exactly when there is more than one piece of one group and at most 100 items", seed, n, len(groups), sent)
		}
		at := &v1.Consistency{Requirement: &v1.Consistency_AtExactSnapshot{AtExactSnapshot: resp.GetCheckedAt()}}
		allowed := 0
		for i, pair := range resp.GetPairs() {
			it := items[i]
			if pair.GetRequest().GetResource().GetObjectId() != it.GetResource().GetObjectId() || pair.GetRequest().GetPermission() != it.GetPermission() ||
				pair.GetRequest().GetSubject().GetObject().GetObjectId() != it.GetSubject().GetObject().GetObjectId() {
				t.Fatalf("seed %d: pair %d answers %v, asked %v", seed, i, pair.GetRequest(), it)
			}
			one, err := p.CheckPermission(ctx, &v1.CheckPermissionRequest{Consistency: at, Resource: it.GetResource(), Permission: it.GetPermission(), Subject: it.GetSubject()})
			if err != nil {
				t.Fatal(err)
			}
			if got := pair.GetItem().GetPermissionship(); got != one.GetPermissionship() {
				t.Fatalf("seed %d: item %d (%v) answered %v in the bulk, %v alone", seed, i, it, got, one.GetPermissionship())
			}
			if got := pair.GetItem().GetPermissionship(); got == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION {
				allowed++
			}
		}
		if n > 20 && (allowed == 0 || allowed == n) {
			t.Fatalf("seed %d: %d of %d allowed; the data should give both answers", seed, allowed, n)
		}
	}
}
