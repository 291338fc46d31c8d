package localstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/tuple"
)

// TestCommitInProgressIsNotReadable holds a commit between the moment its revision is
// fixed and the moment it is published (while its batch is being synced). A revision
// handed out meanwhile must precede the commit, so that reading at it gives the same
// answer before and after the commit lands: SpiceDB caches check results by revision,
// and a revision whose state changed afterwards would keep a revoked grant, or hide a
// new one, for as long as the cache holds it.
func TestCommitInProgressIsNotReadable(t *testing.T) {
	for _, quantization := range []time.Duration{-1, time.Millisecond, 5 * time.Millisecond} {
		t.Run(fmt.Sprint(quantization), func(t *testing.T) {
			ds := openTest(t, t.TempDir(), Options{GCInterval: -1, RevisionQuantization: quantization})
			writeRels(t, ds, tuple.UpdateOperationCreate, "document:a#viewer@user:alice")

			inSync, release := make(chan struct{}), make(chan struct{})
			ds.storageFault = func() error {
				close(inSync)
				<-release
				return nil
			}
			committed := make(chan datastore.Revision, 1)
			go func() {
				committed <- writeRels(t, ds, tuple.UpdateOperationCreate, "document:b#viewer@user:bob")
			}()
			<-inSync
			time.Sleep(3 * quantization.Abs()) // the clock moves past the commit's revision

			optimized, err := ds.OptimizedRevision(context.Background())
			require.NoError(t, err)
			require.Zero(t, optimized.ValidFor, "a revision chosen around a commit in progress is good for one call only")
			before := allRels(t, ds, optimized.Revision)
			require.Equal(t, []string{"document:a#viewer@user:alice"}, before)

			// A reader asking for a revision the clock has reached but the commit has
			// not published waits for it rather than reading a state that will change.
			now := nowRevision()
			read := make(chan []string, 1)
			go func() { read <- allRels(t, ds, now) }()
			select {
			case got := <-read:
				t.Fatalf("read at %d during the commit returned %v before the commit ended", now, got)
			case <-time.After(20 * time.Millisecond):
			}

			close(release)
			rev := <-committed
			require.True(t, rev.GreaterThan(optimized.Revision), "commit %s must follow the revision %s handed out during it", rev, optimized.Revision)
			require.Equal(t, before, allRels(t, ds, optimized.Revision), "the state at a revision that was read changed")
			require.Equal(t, []string{"document:a#viewer@user:alice", "document:b#viewer@user:bob"}, <-read)
			ds.storageFault = nil
		})
	}
}

// TestCommitInProgressThatFailsReleasesReaders: a reader waiting on a commit in progress
// is released when the commit fails, and sees the state without it.
func TestCommitInProgressThatFailsReleasesReaders(t *testing.T) {
	ds := openTest(t, t.TempDir(), Options{GCInterval: -1, RevisionQuantization: -1})
	writeRels(t, ds, tuple.UpdateOperationCreate, "document:a#viewer@user:alice")

	inSync, release := make(chan struct{}), make(chan struct{})
	ds.storageFault = func() error {
		close(inSync)
		<-release
		return fmt.Errorf("no space left on device")
	}
	failed := make(chan error, 1)
	go func() {
		_, err := ds.ReadWriteTx(context.Background(), func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
			return rwt.WriteRelationships(ctx, []tuple.RelationshipUpdate{tuple.Create(tuple.MustParse("document:b#viewer@user:bob"))})
		})
		failed <- err
	}()
	<-inSync
	time.Sleep(time.Millisecond)
	now := nowRevision()
	read := make(chan []string, 1)
	go func() { read <- allRels(t, ds, now) }()
	time.Sleep(10 * time.Millisecond)
	close(release)
	require.Error(t, <-failed)
	require.Equal(t, []string{"document:a#viewer@user:alice"}, <-read)
	ds.storageFault = nil
	writeRels(t, ds, tuple.UpdateOperationCreate, "document:c#viewer@user:cy")
}

// TestReadRevisionsNeverChange runs writers and readers together over generated
// relationships. Each reader takes the revision SpiceDB would use (OptimizedRevision),
// reads the whole store at it, and reads it again later: the two must be identical, for
// every revision handed out, whatever the quantization.
func TestReadRevisionsNeverChange(t *testing.T) {
	for _, quantization := range []time.Duration{-1, 200 * time.Microsecond, 2 * time.Millisecond} {
		t.Run(fmt.Sprint(quantization), func(t *testing.T) {
			ds := openTest(t, t.TempDir(), Options{GCInterval: -1, RevisionQuantization: quantization})
			writeRels(t, ds, tuple.UpdateOperationCreate, "document:seed#viewer@user:seed")

			var (
				stop    atomic.Bool
				wg      sync.WaitGroup
				mu      sync.Mutex
				seen    = map[string][]string{} // revision -> state read at it
				checked atomic.Int64
			)
			for w := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(uint64(w), 7))
					for i := 0; !stop.Load(); i++ {
						rel := fmt.Sprintf("document:d%d#viewer@user:u%d", rng.IntN(8), rng.IntN(4))
						op := tuple.UpdateOperationTouch
						if rng.IntN(2) == 0 {
							op = tuple.UpdateOperationDelete
						}
						writeRels(t, ds, op, rel)
					}
				}()
			}
			for r := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for !stop.Load() {
						optimized, err := ds.OptimizedRevision(context.Background())
						if err != nil {
							t.Error(err)
							return
						}
						state := allRels(t, ds, optimized.Revision)
						key := optimized.Revision.String()
						mu.Lock()
						if prev, ok := seen[key]; ok && fmt.Sprint(prev) != fmt.Sprint(state) {
							t.Errorf("reader %d: revision %s read as %v, earlier as %v", r, key, state, prev)
						}
						seen[key] = state
						mu.Unlock()
						checked.Add(1)
					}
				}()
			}
			time.Sleep(1500 * time.Millisecond)
			stop.Store(true)
			wg.Wait()

			// Read every revision once more, now that every commit has landed.
			mu.Lock()
			defer mu.Unlock()
			for key, state := range seen {
				rev, err := ds.RevisionFromString(key)
				require.NoError(t, err)
				require.Equal(t, fmt.Sprint(state), fmt.Sprint(allRels(t, ds, rev)), "revision %s changed after it was read", key)
			}
			require.NotZero(t, checked.Load())
			t.Logf("quantization %s: %d reads over %d distinct revisions, each re-read after the writers stopped", quantization, checked.Load(), len(seen))
		})
	}
}
