package engine

import (
	"fmt"
	"math/rand/v2"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
)

// TestSplitBulkPieces checks the pieces of generated bulks: every item in exactly one piece,
// in request order within it, each piece one group of at most bulkChunkItems items.
func TestSplitBulkPieces(t *testing.T) {
	t.Parallel()
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 5))
		n := rng.IntN(1200)
		var items []*v1.CheckBulkPermissionsRequestItem
		for range n {
			items = append(items, &v1.CheckBulkPermissionsRequestItem{
				Resource:   &v1.ObjectReference{ObjectType: []string{"account", "case"}[rng.IntN(2)], ObjectId: fmt.Sprint(rng.IntN(50))},
				Permission: []string{"view", "edit"}[rng.IntN(2)],
				Subject:    &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: fmt.Sprint(rng.IntN(1 + int(seed%20)))}},
			})
		}
		seen := make([]int, n)
		for _, p := range splitBulk(items) {
			if len(p.items) == 0 || len(p.items) > bulkChunkItems || len(p.items) != len(p.index) {
				t.Fatalf("seed %d: piece of %d items (%d indexes)", seed, len(p.items), len(p.index))
			}
			for j, i := range p.index {
				seen[i]++
				if p.items[j] != items[i] || groupKey(items[i]) != groupKey(p.items[0]) || (j > 0 && i <= p.index[j-1]) {
					t.Fatalf("seed %d: piece holds item %d out of place or of another group", seed, i)
				}
			}
		}
		for i, c := range seen {
			if c != 1 {
				t.Fatalf("seed %d: item %d is in %d pieces", seed, i, c)
			}
		}
	}
}
