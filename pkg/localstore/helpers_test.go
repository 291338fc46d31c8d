package localstore

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/datastore/options"
	"github.com/authzed/spicedb/pkg/tuple"
)

func openTest(t testing.TB, dir string, opts Options) *Datastore {
	t.Helper()
	ds, err := Open(context.Background(), dir, opts)
	require.NoError(t, err)
	return ds
}

func writeRels(t testing.TB, ds datastore.Datastore, op tuple.UpdateOperation, rels ...string) datastore.Revision {
	t.Helper()
	updates := make([]tuple.RelationshipUpdate, 0, len(rels))
	for _, r := range rels {
		updates = append(updates, tuple.RelationshipUpdate{Operation: op, Relationship: tuple.MustParse(r)})
	}
	rev, err := ds.ReadWriteTx(context.Background(), func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
		return rwt.WriteRelationships(ctx, updates)
	})
	require.NoError(t, err)
	return rev
}

// allRels returns every relationship visible at rev as sorted strings (with caveat,
// context and expiration).
func allRels(t testing.TB, ds datastore.Datastore, rev datastore.Revision, opts ...options.QueryOptionsOption) []string {
	t.Helper()
	it, err := ds.SnapshotReader(rev).QueryRelationships(context.Background(), datastore.RelationshipsFilter{}, opts...)
	require.NoError(t, err)
	var out []string
	for rel, err := range it {
		require.NoError(t, err)
		out = append(out, tuple.MustString(rel))
	}
	slices.Sort(out)
	return out
}

func head(t testing.TB, ds datastore.Datastore) datastore.Revision {
	t.Helper()
	h, err := ds.HeadRevision(context.Background())
	require.NoError(t, err)
	return h.Revision
}

// sliceSource feeds relationships to BulkLoad.
type sliceSource struct {
	rels []tuple.Relationship
	i    int
}

func (s *sliceSource) Next(_ context.Context) (*tuple.Relationship, error) {
	if s.i >= len(s.rels) {
		return nil, nil
	}
	s.i++
	return &s.rels[s.i-1], nil
}

// genRels generates n relationships: resources doc:d{i/perDoc}, each with perDoc
// viewers drawn from users u{0..users-1}.
func genRels(start, n, perDoc, users int) []tuple.Relationship {
	rels := make([]tuple.Relationship, 0, n)
	for i := start; i < start+n; i++ {
		rels = append(rels, tuple.Relationship{RelationshipReference: tuple.RelationshipReference{
			Resource: tuple.ObjectAndRelation{ObjectType: "document", ObjectID: fmt.Sprintf("d%d", i/perDoc), Relation: "viewer"},
			Subject:  tuple.ObjectAndRelation{ObjectType: "user", ObjectID: fmt.Sprintf("u%d", (i*7919)%users), Relation: tuple.Ellipsis},
		}})
	}
	return rels
}

func bulkLoad(t testing.TB, ds datastore.Datastore, rels []tuple.Relationship) datastore.Revision {
	t.Helper()
	rev, err := ds.ReadWriteTx(context.Background(), func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
		_, err := rwt.BulkLoad(ctx, &sliceSource{rels: rels})
		return err
	})
	require.NoError(t, err)
	return rev
}

func since(start time.Time) time.Duration { return time.Since(start).Round(time.Millisecond) }
