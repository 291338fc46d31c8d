package localstore

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/datastore/options"
)

// TestQueriesAreIndexBounded checks, by counting rows examined, that lookups by
// resource id and by subject touch O(results) rows at 200k relationships.
func TestQueriesAreIndexBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 200k relationships")
	}
	ctx := context.Background()
	ds := openTest(t, t.TempDir(), Options{GCInterval: -1})
	defer ds.Close()

	const n, perDoc, users = 200_000, 10, 20_000
	rev := bulkLoad(t, ds, genRels(0, n, perDoc, users))
	r := ds.SnapshotReader(rev)

	count := func(query func() (datastore.RelationshipIterator, error)) (results int, visited uint64) {
		t.Helper()
		before := ds.rowsVisited.Load()
		it, err := query()
		require.NoError(t, err)
		for _, err := range it {
			require.NoError(t, err)
			results++
		}
		return results, ds.rowsVisited.Load() - before
	}

	// By resource id: exactly the document's rows.
	res, visited := count(func() (datastore.RelationshipIterator, error) {
		return r.QueryRelationships(ctx, datastore.RelationshipsFilter{
			OptionalResourceType: "document", OptionalResourceIds: []string{"d123", "d4567"}, OptionalResourceRelation: "viewer",
		})
	})
	t.Logf("by resource ids: %d results, %d rows visited", res, visited)
	require.Equal(t, 2*perDoc, res)
	require.EqualValues(t, res, visited)

	// By subject (reverse): exactly the subject's rows.
	res, visited = count(func() (datastore.RelationshipIterator, error) {
		return r.ReverseQueryRelationships(ctx, datastore.SubjectsFilter{
			SubjectType: "user", OptionalSubjectIds: []string{"u42"},
		}, options.WithResRelation(&options.ResourceRelation{Namespace: "document", Relation: "viewer"}))
	})
	t.Logf("reverse by subject: %d results, %d rows visited", res, visited)
	require.Equal(t, n/users, res)
	require.EqualValues(t, res, visited)

	// Forward query with a subject selector and no resource ids uses the subject index.
	res, visited = count(func() (datastore.RelationshipIterator, error) {
		return r.QueryRelationships(ctx, datastore.RelationshipsFilter{
			OptionalResourceType: "document",
			OptionalSubjectsSelectors: []datastore.SubjectsSelector{{
				OptionalSubjectType: "user", OptionalSubjectIds: []string{"u42", "u43"},
			}},
		}, options.WithSort(options.ByResource))
	})
	t.Logf("by subject selector: %d results, %d rows visited", res, visited)
	require.Equal(t, 2*n/users, res)
	require.EqualValues(t, res, visited)

	// For contrast, a filter no index narrows (type + subject relation only) scans.
	res, visited = count(func() (datastore.RelationshipIterator, error) {
		return r.QueryRelationships(ctx, datastore.RelationshipsFilter{
			OptionalResourceType: "document",
			OptionalSubjectsSelectors: []datastore.SubjectsSelector{{
				OptionalSubjectType: "user",
				RelationFilter:      datastore.SubjectRelationFilter{NonEllipsisRelation: "member"},
			}},
		})
	})
	t.Logf("unindexed filter: %d results, %d rows visited", res, visited)
	require.Zero(t, res)
	require.EqualValues(t, n, visited)
}
