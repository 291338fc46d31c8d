package localstore

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/tuple"
)

// TestStorageFailureLeavesStateUnchanged: if the storage commit fails, the
// transaction fails, no revision is published and memory is unchanged.
func TestStorageFailureLeavesStateUnchanged(t *testing.T) {
	dir := t.TempDir()
	ds := openTest(t, dir, Options{GCInterval: -1, RevisionQuantization: -1})
	writeRels(t, ds, tuple.UpdateOperationCreate, "document:a#viewer@user:alice")
	before := head(t, ds)

	diskFull := errors.New("disk full")
	ds.storageFault = func() error { return diskFull }
	_, err := ds.ReadWriteTx(context.Background(), func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
		return rwt.WriteRelationships(ctx, []tuple.RelationshipUpdate{
			tuple.Create(tuple.MustParse("document:b#viewer@user:bob")),
			tuple.Delete(tuple.MustParse("document:a#viewer@user:alice")),
		})
	})
	require.ErrorIs(t, err, diskFull)
	require.Contains(t, err.Error(), dir)
	require.True(t, head(t, ds).Equal(before), "no revision was published")
	require.Equal(t, []string{"document:a#viewer@user:alice"}, allRels(t, ds, head(t, ds)))

	ds.storageFault = nil
	writeRels(t, ds, tuple.UpdateOperationCreate, "document:b#viewer@user:bob")
	require.NoError(t, ds.Close())

	reopened := openTest(t, dir, Options{GCInterval: -1})
	defer reopened.Close()
	require.Equal(t, []string{"document:a#viewer@user:alice", "document:b#viewer@user:bob"}, allRels(t, reopened, head(t, reopened)))
}
