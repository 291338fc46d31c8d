package localstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/tuple"
)

// TestRecentChangesAreTheStoredOnes: the changes a watcher gets from memory for the newest
// revisions are exactly those it would read and decode from the changelog. Generated
// transactions of creates, touches and deletes (with caveats and expiries) and bulk loads;
// after each, every revision still held in memory is compared with its stored entry, and
// the oldest revisions must have left memory.
func TestRecentChangesAreTheStoredOnes(t *testing.T) {
	ctx := context.Background()
	ds := openTest(t, t.TempDir(), Options{})
	t.Cleanup(func() { _ = ds.Close() })
	rng := rand.New(rand.NewPCG(7, 11))
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	rel := func() string {
		s := fmt.Sprintf("document:d%d#viewer@user:u%d", rng.IntN(20), rng.IntN(20))
		switch rng.IntN(4) {
		case 0:
			s += "[expiration:" + future + "]"
		case 1:
			s += "[somecaveat:{\"n\":" + fmt.Sprint(rng.IntN(3)) + "}]"
		}
		return s
	}
	var revs []int64
	compared := 0
	for step := range 60 {
		var rev datastore.Revision
		var err error
		if step%10 == 9 {
			src := &sliceSource{rels: genRels(step*1000, 500+rng.IntN(1500), 3, 50)}
			rev, err = ds.ReadWriteTx(ctx, func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
				_, err := rwt.BulkLoad(ctx, src)
				return err
			})
		} else {
			rev, err = ds.ReadWriteTx(ctx, func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
				var updates []tuple.RelationshipUpdate
				seen := map[string]bool{}
				for range 1 + rng.IntN(6) {
					r := tuple.MustParse(rel())
					key := tuple.StringWithoutCaveatOrExpiration(r)
					if seen[key] {
						continue
					}
					seen[key] = true
					switch rng.IntN(3) {
					case 0:
						updates = append(updates, tuple.Delete(r))
					default:
						updates = append(updates, tuple.Touch(r))
					}
				}
				return rwt.WriteRelationships(ctx, updates)
			})
		}
		require.NoError(t, err)
		revs = append(revs, int64(rev.(revision)))

		for i, r := range revs {
			ds.mu.RLock()
			held, inMemory := ds.recent.get(r)
			ds.mu.RUnlock()
			if i < len(revs)-recentRevisions {
				require.False(t, inMemory, "revision %d of %d is still held in memory", i, len(revs))
				continue
			}
			require.True(t, inMemory, "revision %d of %d is not held in memory", i, len(revs))
			ds.mu.RLock()
			stored, found, err := ds.readRelChangesRLocked(r)
			require.NoError(t, err)
			require.True(t, found)
			want := changeStrings(t, stored)
			require.Equal(t, want, changeStrings(t, held), "revision %d", i)
			if len(want) > 0 && i == len(revs)-1 {
				compared++
			}
		}
	}
	require.Greater(t, compared, 40, "too few revisions changed anything")
}

// changeStrings renders relationship changes as a watcher receives them, in order.
func changeStrings(t *testing.T, rels []relChange) []string {
	t.Helper()
	entry := &changelog{}
	change, err := entry.revisionChanges(rels)
	require.NoError(t, err)
	out := make([]string, 0, len(change.RelationshipChanges))
	for _, u := range change.RelationshipChanges {
		out = append(out, u.DebugString())
	}
	return slices.Clip(out)
}
