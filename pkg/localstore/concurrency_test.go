package localstore

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/tuple"
)

// TestReadYourWritesConcurrent: with concurrent writers, a read at the revision a
// write returned always sees that write (SpiceDB v1.56.0's memdb could miss it).
func TestReadYourWritesConcurrent(t *testing.T) {
	ds := openTest(t, t.TempDir(), Options{GCInterval: -1})
	defer ds.Close()

	const writers, perWriter = 16, 100
	var misses, reads atomic.Int64
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				rel := tuple.MustParse(fmt.Sprintf("document:w%d_%d#viewer@user:u%d", w, i, w))
				rev, err := ds.ReadWriteTx(context.Background(), func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
					return rwt.WriteRelationships(ctx, []tuple.RelationshipUpdate{tuple.Touch(rel)})
				})
				if err != nil {
					t.Error(err)
					return
				}
				it, err := ds.SnapshotReader(rev).QueryRelationships(context.Background(), datastore.RelationshipsFilter{
					OptionalResourceType: "document",
					OptionalResourceIds:  []string{rel.Resource.ObjectID},
				})
				if err != nil {
					t.Error(err)
					return
				}
				found := false
				for _, err := range it {
					require.NoError(t, err)
					found = true
				}
				reads.Add(1)
				if !found {
					misses.Add(1)
				}
			}
		})
	}
	wg.Wait()
	t.Logf("concurrent writers: %d, reads at own revision: %d, misses: %d", writers, reads.Load(), misses.Load())
	require.EqualValues(t, writers*perWriter, reads.Load())
	require.Zero(t, misses.Load())
}

// TestRevisionsFollowCommitOrder: revisions returned to concurrent writers are
// distinct and each is readable with exactly the writes committed up to it.
func TestRevisionsFollowCommitOrder(t *testing.T) {
	ds := openTest(t, t.TempDir(), Options{GCInterval: -1})
	defer ds.Close()

	var mu sync.Mutex
	revs := map[string]datastore.Revision{}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 10 {
				id := fmt.Sprintf("w%d_%d", w, i)
				rev := writeRels(t, ds, tuple.UpdateOperationTouch, "document:"+id+"#viewer@user:x")
				mu.Lock()
				revs[id] = rev
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	seen := map[string]bool{}
	for id, rev := range revs {
		require.False(t, seen[rev.String()], "duplicate revision")
		seen[rev.String()] = true
		// Everything written at or before rev is visible at rev, nothing after.
		visible := map[string]bool{}
		for _, r := range allRels(t, ds, rev) {
			visible[r] = true
		}
		for other, orev := range revs {
			want := !orev.GreaterThan(rev)
			require.Equal(t, want, visible["document:"+other+"#viewer@user:x"], "write %s (rev %v) seen at %s's rev %v", other, orev, id, rev)
		}
	}
}
