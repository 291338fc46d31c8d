package localstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/datastore/options"
	"github.com/authzed/spicedb/pkg/tuple"
)

// pageQuery is one generated query, matched by the test itself (never by the code under
// test) so that the expected rows come from the generated relationships alone.
type pageQuery struct {
	reverse bool
	filter  datastore.RelationshipsFilter // forward
	subject datastore.SubjectsFilter      // reverse
	resRel  *options.ResourceRelation     // reverse
	sort    options.SortOrder
	limit   uint64
}

func (q pageQuery) String() string {
	if q.reverse {
		return fmt.Sprintf("reverse %+v on %+v, sort %v, pages of %d", q.subject, q.resRel, q.sort, q.limit)
	}
	return fmt.Sprintf("%+v, sort %v, pages of %d", q.filter, q.sort, q.limit)
}

func (q pageQuery) matches(r genRel) bool {
	subRel := cmpOr(r.subRel, tuple.Ellipsis)
	if q.reverse {
		if r.subType != q.subject.SubjectType ||
			len(q.subject.OptionalSubjectIds) > 0 && !slices.Contains(q.subject.OptionalSubjectIds, r.subID) ||
			q.resRel != nil && (r.resType != q.resRel.Namespace || r.relation != q.resRel.Relation) {
			return false
		}
		rf := q.subject.RelationFilter
		return rf.IsEmpty() || rf.IncludeEllipsisRelation && subRel == tuple.Ellipsis || rf.NonEllipsisRelation == subRel
	}
	f := q.filter
	if f.OptionalResourceType != "" && r.resType != f.OptionalResourceType ||
		len(f.OptionalResourceIds) > 0 && !slices.Contains(f.OptionalResourceIds, r.resID) ||
		f.OptionalResourceIDPrefix != "" && !strings.HasPrefix(r.resID, f.OptionalResourceIDPrefix) ||
		f.OptionalResourceRelation != "" && r.relation != f.OptionalResourceRelation {
		return false
	}
	for _, sel := range f.OptionalSubjectsSelectors {
		if r.subType != sel.OptionalSubjectType || len(sel.OptionalSubjectIds) > 0 && !slices.Contains(sel.OptionalSubjectIds, r.subID) {
			return false
		}
	}
	return true
}

// compareIn orders two generated relationships as sort does.
func compareIn(sort options.SortOrder, a, b genRel) int {
	ak, bk := a.key(), b.key()
	if sort == options.BySubject {
		ak, bk = append(ak[3:], ak[:3]...), append(bk[3:], bk[:3]...)
	}
	return slices.Compare(ak, bk)
}

func randomPageQuery(rng *rand.Rand) pageQuery {
	ids := func(prefix string, n int) []string {
		out := make([]string, 1+rng.IntN(3))
		for i := range out {
			out[i] = fmt.Sprintf("%s%d", prefix, rng.IntN(n))
		}
		return out
	}
	q := pageQuery{limit: uint64(1 + rng.IntN(8))}
	if rng.IntN(3) == 0 {
		q.reverse = true
		q.sort = []options.SortOrder{options.BySubject, options.ByResource}[rng.IntN(2)]
		q.subject.SubjectType = "user"
		if rng.IntN(3) == 0 {
			q.subject.SubjectType = "group"
		}
		if rng.IntN(2) == 0 {
			q.subject.OptionalSubjectIds = ids(map[string]string{"user": "u", "group": "g"}[q.subject.SubjectType], 8)
		}
		switch rng.IntN(3) {
		case 0:
			q.subject.RelationFilter = datastore.SubjectRelationFilter{}.WithEllipsisRelation()
		case 1:
			q.subject.RelationFilter = datastore.SubjectRelationFilter{}.WithNonEllipsisRelation("member")
		}
		if rng.IntN(2) == 0 {
			q.resRel = &options.ResourceRelation{Namespace: []string{"doc", "folder"}[rng.IntN(2)], Relation: []string{"viewer", "editor", "owner"}[rng.IntN(3)]}
		}
		return q
	}
	q.sort = []options.SortOrder{options.ByResource, options.BySubject, options.ChooseEfficient}[rng.IntN(3)]
	f := &q.filter
	if rng.IntN(6) > 0 {
		f.OptionalResourceType = []string{"doc", "folder"}[rng.IntN(2)]
		switch rng.IntN(3) {
		case 0:
			f.OptionalResourceIds = ids([]string{"a", "ab", "b"}[rng.IntN(3)], 6)
		case 1:
			f.OptionalResourceIDPrefix = []string{"a", "ab", "b"}[rng.IntN(3)]
		}
		if rng.IntN(2) == 0 {
			f.OptionalResourceRelation = []string{"viewer", "editor", "owner"}[rng.IntN(3)]
		}
	}
	if rng.IntN(4) == 0 {
		f.OptionalSubjectsSelectors = []datastore.SubjectsSelector{{OptionalSubjectType: "user", OptionalSubjectIds: ids("u", 8)}}
	}
	return q
}

func (q pageQuery) page(ctx context.Context, r datastore.Reader, after options.Cursor) (datastore.RelationshipIterator, error) {
	if q.reverse {
		opts := []options.ReverseQueryOptionsOption{options.WithSortForReverse(q.sort), options.WithLimitForReverse(&q.limit)}
		if q.resRel != nil {
			opts = append(opts, options.WithResRelation(q.resRel))
		}
		if after != nil {
			opts = append(opts, options.WithAfterForReverse(after))
		}
		return r.ReverseQueryRelationships(ctx, q.subject, opts...)
	}
	opts := []options.QueryOptionsOption{options.WithSort(q.sort), options.WithLimit(&q.limit)}
	if after != nil {
		opts = append(opts, options.WithAfter(after))
	}
	return r.QueryRelationships(ctx, q.filter, opts...)
}

// Paging with cursors, over many generated stores, queries, sort orders and page sizes,
// returns every matching relationship exactly once and in order: a page resumes at its
// cursor in the index (see rowSource.resumeAfter) without losing or repeating a row.
func TestCursorPagesReturnEveryMatchOnceInOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 29))
	ctx := context.Background()
	for round := range 60 {
		rels := randomRels(rng)
		strs := make([]string, len(rels))
		for i, r := range rels {
			strs[i] = r.String()
		}
		ds := openTest(t, t.TempDir(), Options{GCInterval: -1})
		rev := writeRels(t, ds, tuple.UpdateOperationTouch, strs...)
		reader := ds.SnapshotReader(rev)

		for range 20 {
			q := randomPageQuery(rng)
			// A third of the queries start after a cursor of their own, anywhere in the key
			// space (of another type or relation too), as a caller may resume from any row.
			var after options.Cursor
			var start *genRel
			if rng.IntN(3) == 0 {
				r := randomRels(rng)[0]
				start, after = &r, options.ToCursor(tuple.MustParse(r.String()))
			}
			var want []string
			matching := slices.DeleteFunc(slices.Clone(rels), func(r genRel) bool {
				order := q.sort
				if order == options.ChooseEfficient {
					order = options.ByResource // its cursors compare in resource order
				}
				return !q.matches(r) || start != nil && compareIn(order, r, *start) <= 0
			})
			slices.SortFunc(matching, func(a, b genRel) int { return compareIn(q.sort, a, b) })
			for _, r := range matching {
				want = append(want, tuple.MustString(tuple.MustParse(r.String())))
			}

			var got []string
			for pages := 0; ; pages++ {
				require.LessOrEqual(t, pages, len(rels)+1, "round %d, %s: paging does not end", round, q)
				it, err := q.page(ctx, reader, after)
				require.NoError(t, err, "round %d, %s", round, q)
				n := uint64(0)
				for rel, err := range it {
					require.NoError(t, err)
					got = append(got, tuple.MustString(rel))
					after = options.ToCursor(rel)
					n++
				}
				require.LessOrEqual(t, n, q.limit)
				if n < q.limit {
					break
				}
			}
			if q.sort == options.ChooseEfficient { // any order, each row once
				slices.Sort(got)
				want = slices.Sorted(slices.Values(want))
			}
			require.Equal(t, want, got, "round %d, %s", round, q)
		}
		require.NoError(t, ds.Close())
	}
}

// Paging through n rows with cursors examines O(n) rows in each index a page can resume
// in, not O(n) per page: before resumeAfter, a bulk export of a relation with millions of
// rows rescanned every row before each page's cursor.
func TestCursorPagesResumeWhereThePreviousEnded(t *testing.T) {
	ctx := context.Background()
	ds := openTest(t, t.TempDir(), Options{GCInterval: -1})
	defer ds.Close()
	const n, perDoc, users, limit = 20_000, 10, 2_000, 100
	rev := bulkLoad(t, ds, genRels(0, n, perDoc, users))
	r := ds.SnapshotReader(rev)

	for name, q := range map[string]pageQuery{
		"resource type":                {filter: datastore.RelationshipsFilter{OptionalResourceType: "document"}, sort: options.ByResource},
		"type and relation":            {filter: datastore.RelationshipsFilter{OptionalResourceType: "document", OptionalResourceRelation: "viewer"}, sort: options.ByResource},
		"type and relation, any order": {filter: datastore.RelationshipsFilter{OptionalResourceType: "document", OptionalResourceRelation: "viewer"}, sort: options.ChooseEfficient},
		"id prefix":                    {filter: datastore.RelationshipsFilter{OptionalResourceType: "document", OptionalResourceIDPrefix: "d1"}, sort: options.ByResource},
		"everything":                   {filter: datastore.RelationshipsFilter{}, sort: options.ByResource},
		"reverse, subject type":        {reverse: true, subject: datastore.SubjectsFilter{SubjectType: "user"}, sort: options.BySubject},
	} {
		t.Run(name, func(t *testing.T) {
			q.limit = limit
			before := ds.rowsVisited.Load()
			var results, pages uint64
			var after options.Cursor
			for {
				it, err := q.page(ctx, r, after)
				require.NoError(t, err)
				got := uint64(0)
				for rel, err := range it {
					require.NoError(t, err)
					after = options.ToCursor(rel)
					got++
				}
				results += got
				pages++
				if got < limit {
					break
				}
			}
			visited := ds.rowsVisited.Load() - before
			t.Logf("%d results in %d pages, %d rows visited", results, pages, visited)
			require.Positive(t, results)
			// Each page visits its rows, the cursor's own row and the row that ends it.
			require.LessOrEqual(t, visited, results+2*pages)
		})
	}
}
