package localstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/tuple"
)

// cancellingSource feeds relationships to BulkLoad and gives up (cancels the caller's
// context) once it has handed out cancelAt of them.
type cancellingSource struct {
	sliceSource
	cancelAt int
	cancel   func()
}

func (s *cancellingSource) Next(ctx context.Context) (*tuple.Relationship, error) {
	if s.i == s.cancelAt {
		s.cancel()
	}
	return s.sliceSource.Next(ctx)
}

// TestGivenUpTransactionCommitsNothing: a transaction whose caller cancelled it, or whose
// deadline passed, before it committed is refused with the context's error and leaves
// nothing behind, before and after a restart, whatever it wrote (creates, touches,
// deletes, bulk loads of any size) and wherever the caller gave up. The store goes on
// taking writes afterwards.
func TestGivenUpTransactionCommitsNothing(t *testing.T) {
	dir := t.TempDir()
	ds := openTest(t, dir, Options{GCInterval: -1, RevisionQuantization: -1})
	base := genRels(0, 300, 3, 40)
	bulkLoad(t, ds, base)

	rng := rand.New(rand.NewPCG(21, 6))
	next := 1000 // first id of relationships not yet written
	for i := range 60 {
		before, rev := allRels(t, ds, head(t, ds)), head(t, ds)
		deadline := rng.IntN(2) == 0 // past deadline rather than cancelled
		kind := []string{"create", "touch", "delete", "bulk"}[rng.IntN(4)]
		n := 1 + rng.IntN(5000)
		fresh := genRels(next, n, 3, 40)
		next += n
		name := fmt.Sprintf("%d/%s/%d/deadline=%v", i, kind, n, deadline)

		ctx, cancel := context.WithCancel(context.Background())
		giveUp := cancel
		if deadline {
			// The deadline may pass during the work or only when the caller waits for it.
			ctx, cancel = context.WithTimeout(context.Background(), time.Duration(rng.IntN(30))*time.Millisecond)
			giveUp = func() { <-ctx.Done() }
		}
		_, err := ds.ReadWriteTx(ctx, func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
			switch kind {
			case "bulk":
				src := &cancellingSource{sliceSource: sliceSource{rels: fresh}, cancelAt: rng.IntN(n + 1), cancel: giveUp}
				_, err := rwt.BulkLoad(ctx, src)
				if err != nil {
					return err // stopped early: what it wrote is dropped with the transaction
				}
				return nil
			case "delete":
				var updates []tuple.RelationshipUpdate
				for _, r := range base[:1+rng.IntN(len(base))] {
					updates = append(updates, tuple.Delete(r))
				}
				if err := rwt.WriteRelationships(ctx, updates); err != nil {
					return err
				}
			default:
				var updates []tuple.RelationshipUpdate
				for _, r := range fresh {
					if kind == "create" {
						updates = append(updates, tuple.Create(r))
					} else {
						updates = append(updates, tuple.Touch(r))
					}
				}
				if err := rwt.WriteRelationships(ctx, updates); err != nil {
					return err
				}
			}
			giveUp() // after the work, before the commit
			return nil
		})
		cancel()
		require.Error(t, err, name)
		require.True(t, errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded), "%s: %v", name, err)
		require.Equal(t, rev, head(t, ds), "%s: a refused transaction made a revision", name)
		require.Equal(t, before, allRels(t, ds, head(t, ds)), "%s: a refused transaction changed the store", name)

		// The next write commits as usual.
		writeRels(t, ds, tuple.UpdateOperationTouch, fmt.Sprintf("document:after%d#viewer@user:u1", i))
	}

	want := allRels(t, ds, head(t, ds))
	require.NoError(t, ds.Close())
	reopened := openTest(t, dir, Options{GCInterval: -1})
	defer reopened.Close()
	require.Equal(t, want, allRels(t, reopened, head(t, reopened)), "after a restart")
}
