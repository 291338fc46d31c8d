package localstore

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/datastore/options"
	"github.com/authzed/spicedb/pkg/tuple"
)

func TestGCBoundsSnapshotsAndStaleReads(t *testing.T) {
	const window = 300 * time.Millisecond
	dir := t.TempDir()
	ds := openTest(t, dir, Options{GCWindow: window, RevisionQuantization: -1, GCInterval: -1})
	defer ds.Close()

	first := writeRels(t, ds, tuple.UpdateOperationTouch, "document:first#viewer@user:a")
	for i := range 500 {
		writeRels(t, ds, tuple.UpdateOperationTouch, fmt.Sprintf("document:d%d#viewer@user:u%d", i%50, i))
	}
	require.Greater(t, ds.snapshotCount(), 500)

	time.Sleep(window + 50*time.Millisecond)
	last := writeRels(t, ds, tuple.UpdateOperationTouch, "document:last#viewer@user:z")

	stats, err := ds.CollectGarbage(context.Background())
	require.NoError(t, err)
	t.Logf("gc: %+v, snapshots left: %d", stats, ds.snapshotCount())
	require.LessOrEqual(t, ds.snapshotCount(), 3, "only the window's snapshots are kept")
	require.GreaterOrEqual(t, stats.ChangelogEntriesDeleted, 500)

	// A read older than the window fails as stale; the latest state is intact.
	_, err = ds.SnapshotReader(first).QueryRelationships(context.Background(), datastore.RelationshipsFilter{OptionalResourceType: "document"})
	var invalid datastore.InvalidRevisionError
	require.True(t, errors.As(err, &invalid), "got %v", err)
	require.Equal(t, datastore.RevisionStale, invalid.Reason())
	require.Error(t, ds.CheckRevision(context.Background(), first))
	require.Equal(t, 502, len(allRels(t, ds, last)))
	require.Equal(t, 502, len(allRels(t, ds, head(t, ds))))
}

func TestGCDeletesExpiredRelationships(t *testing.T) {
	dir := t.TempDir()
	ds := openTest(t, dir, Options{RevisionQuantization: -1, GCInterval: -1})

	soon := time.Now().Add(200 * time.Millisecond).UTC().Format(time.RFC3339Nano)
	later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano)
	var rels []string
	for i := range 20 {
		rels = append(rels, fmt.Sprintf("document:e%d#viewer@user:u[expiration:%s]", i, soon))
	}
	rels = append(rels, "document:keep#viewer@user:u[expiration:"+later+"]", "document:plain#viewer@user:u")
	writeRels(t, ds, tuple.UpdateOperationCreate, rels...)

	time.Sleep(300 * time.Millisecond)
	require.Len(t, allRels(t, ds, head(t, ds)), 2, "expired relationships are invisible before GC")
	require.Len(t, allRels(t, ds, head(t, ds), options.WithSkipExpiration(true)), 22)

	stats, err := ds.CollectGarbage(context.Background())
	require.NoError(t, err)
	require.Equal(t, 20, stats.ExpiredRelationshipsDeleted)
	require.Len(t, allRels(t, ds, head(t, ds), options.WithSkipExpiration(true)), 2)
	require.NoError(t, ds.Close())

	// The deletion is durable.
	reopened := openTest(t, dir, Options{GCInterval: -1})
	defer reopened.Close()
	require.Len(t, allRels(t, reopened, head(t, reopened), options.WithSkipExpiration(true)), 2)
}

func TestBackgroundGCRuns(t *testing.T) {
	ds := openTest(t, t.TempDir(), Options{GCWindow: 50 * time.Millisecond, RevisionQuantization: -1, GCInterval: 20 * time.Millisecond})
	defer ds.Close()
	for i := range 100 {
		writeRels(t, ds, tuple.UpdateOperationTouch, fmt.Sprintf("document:d%d#viewer@user:u", i))
	}
	require.Eventually(t, func() bool { return ds.snapshotCount() == 1 }, 5*time.Second, 10*time.Millisecond)
	require.NotZero(t, ds.gcRuns.Load())
}
