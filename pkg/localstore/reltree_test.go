package localstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/tuple"
)

// TestRelTreesAgreeWithAModel puts and removes generated rows (few keys, so most puts
// replace a row, with and without expirations that change) and checks after every step
// that each of the four orders holds exactly the model's rows, sorted, and that put
// returns the row it replaced.
func TestRelTreesAgreeWithAModel(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			row := func() *relationship {
				s := fmt.Sprintf("document:d%d#viewer@user:u%d", rng.IntN(6), rng.IntN(6))
				if rng.IntN(2) == 0 {
					s += fmt.Sprintf("[expiration:%s]", base.Add(time.Duration(rng.IntN(4))*time.Hour).Format(time.RFC3339))
				}
				return relationshipFromTuple(tuple.MustParse(s))
			}
			trees := newRelTrees()
			model := map[string]*relationship{}
			for step := range 400 {
				r := row()
				if rng.IntN(4) == 0 {
					if old := trees.get(r); old != nil {
						trees.remove(old)
					}
					delete(model, r.key())
				} else {
					replaced := trees.put(r)
					require.Same(t, model[r.key()], replaced, "step %d: put must return the row it replaced", step)
					model[r.key()] = r
				}
				requireTreesHold(t, trees, model, step)
			}
		})
	}
}

// TestLoadedTreesAreSorted loads generated rows as a restart does, on 1 to 5 cores
// and around the sizes at which sorting splits into parts (an odd number of parts
// included), and checks that each of the four orders holds every row, sorted, and that
// the parallel sort under it sorts.
func TestLoadedTreesAreSorted(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	rng := rand.New(rand.NewPCG(5, 11))
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct{ procs, n int }{{5, 5*rowsPerSorter + 3}, {3, 3*rowsPerSorter + 1}}
	for _, procs := range []int{1, 2, 3} {
		for _, n := range []int{0, 1, 2, rowsPerSorter - 1, rowsPerSorter, 2*rowsPerSorter - 1, 2 * rowsPerSorter} {
			cases = append(cases, struct{ procs, n int }{procs, n})
		}
	}
	for _, c := range cases {
		runtime.GOMAXPROCS(c.procs)
		var all, expiring []*relationship
		seen := map[string]bool{}
		for len(all) < c.n {
			var exp *time.Time
			if rng.IntN(3) == 0 {
				// Few distinct expirations: ties are broken by the resource order.
				e := base.Add(time.Duration(rng.IntN(5)) * time.Hour)
				exp = &e
			}
			r := newRow([]string{"document", "folder"}[rng.IntN(2)], fmt.Sprint("d", rng.IntN(c.n/4+1)), []string{"viewer", "editor"}[rng.IntN(2)],
				"user", fmt.Sprint("u", rng.IntN(c.n/4+1)), "...", nil, nil, exp)
			if seen[r.key()] {
				continue
			}
			seen[r.key()] = true
			all = append(all, r)
			if exp != nil {
				expiring = append(expiring, r)
			}
		}
		trees := newRelTrees()
		trees.load(all)
		at := fmt.Sprintf("%d cores, %d rows", c.procs, c.n)
		for _, order := range relOrders(trees, all, expiring) {
			// A tree sorts what it is given even out of order (Load falls back to Set), so
			// the sort is checked on its own: out of order, a restart would be slow.
			if !slices.Equal(sortRows(order.rows, order.cmp), order.sorted()) {
				t.Fatalf("%s: sortRows in the %s order differs from a sort", at, order.name)
			}
		}
		requireOrdersHold(t, trees, all, expiring, at)
	}
}

// relOrder is one of the four orders: its tree, the rows it should hold, its comparison.
type relOrder struct {
	name string
	tree *relTree
	rows []*relationship
	cmp  func(a, b *relationship) int
}

func (o relOrder) sorted() []*relationship {
	want := slices.Clone(o.rows)
	slices.SortFunc(want, o.cmp)
	return want
}

func relOrders(trees *relTrees, all, expiring []*relationship) []relOrder {
	return []relOrder{
		{"resource", trees.byResource, all, compareByResource},
		{"subject", trees.bySubject, all, compareBySubject},
		{"namespace and relation", trees.byNamespaceRelation, all, compareByNamespaceRelation},
		{"expiration", trees.byExpiration, expiring, compareByExpiration},
	}
}

func requireTreesHold(t *testing.T, trees *relTrees, model map[string]*relationship, step int) {
	t.Helper()
	var all, expiring []*relationship
	for _, r := range model {
		all = append(all, r)
		if r.expiration() != nil {
			expiring = append(expiring, r)
		}
	}
	requireOrdersHold(t, trees, all, expiring, fmt.Sprintf("step %d", step))
}

// requireOrdersHold checks that each order's tree holds exactly its rows, sorted.
func requireOrdersHold(t *testing.T, trees *relTrees, all, expiring []*relationship, at string) {
	t.Helper()
	for _, order := range relOrders(trees, all, expiring) {
		want, got := order.sorted(), order.tree.Items()
		if len(got) != len(want) {
			t.Fatalf("%s: %d rows in the %s order, want %d", at, len(got), order.name, len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: row %d of the %s order is %s, want %s", at, i, order.name, got[i], want[i])
			}
		}
	}
}

// TestCreateConflictLeavesTheStoredRow creates rows that exist already, alone and among
// new ones, with expirations that differ from the stored ones: each transaction fails
// naming the relationship, and the store keeps exactly what it held, in every index,
// also when a transaction goes on after the refusal and commits.
func TestCreateConflictLeavesTheStoredRow(t *testing.T) {
	ctx := context.Background()
	ds := openTest(t, t.TempDir(), Options{GCInterval: -1})
	defer ds.Close()
	stored := []string{
		"document:d1#viewer@user:u1",
		"document:d1#viewer@user:u2[expiration:2031-01-01T00:00:00Z]",
		"document:d2#viewer@user:u1[expiration:2032-01-01T00:00:00Z]",
	}
	rev := writeRels(t, ds, tuple.UpdateOperationCreate, stored...)
	attempts := [][]string{
		{"document:d1#viewer@user:u1[expiration:2033-01-01T00:00:00Z]"},
		{"document:d3#viewer@user:u9", "document:d1#viewer@user:u2"},
		{"document:d2#viewer@user:u1[expiration:2034-01-01T00:00:00Z]", "document:d4#viewer@user:u9"},
	}
	for _, attempt := range attempts {
		_, err := ds.ReadWriteTx(ctx, func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
			updates := make([]tuple.RelationshipUpdate, 0, len(attempt))
			for _, r := range attempt {
				updates = append(updates, tuple.Create(tuple.MustParse(r)))
			}
			return rwt.WriteRelationships(ctx, updates)
		})
		require.Error(t, err, "creating %v over stored rows", attempt)
		require.ErrorContains(t, err, "already existed")
	}
	head, err := ds.HeadRevision(ctx)
	require.NoError(t, err)
	require.True(t, head.Revision.Equal(rev), "a failed create must not commit")

	// A transaction that goes on after a refused create (and commits something else) still
	// holds the stored row, not the refused one.
	_, err = ds.ReadWriteTx(ctx, func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
		for _, attempt := range attempts {
			for _, r := range attempt {
				if err := rwt.WriteRelationships(ctx, []tuple.RelationshipUpdate{tuple.Create(tuple.MustParse(r))}); err == nil {
					// A new row: take it back, so that only refused creates are left.
					if err := rwt.WriteRelationships(ctx, []tuple.RelationshipUpdate{tuple.Delete(tuple.MustParse(r))}); err != nil {
						return err
					}
				}
			}
		}
		return rwt.WriteRelationships(ctx, []tuple.RelationshipUpdate{tuple.Touch(tuple.MustParse("document:d9#viewer@user:u9"))})
	})
	require.NoError(t, err)
	stored = append(stored, "document:d9#viewer@user:u9")
	head, err = ds.HeadRevision(ctx)
	require.NoError(t, err)

	var got []string
	it, err := ds.SnapshotReader(head.Revision).QueryRelationships(ctx, datastore.RelationshipsFilter{OptionalResourceType: "document"})
	require.NoError(t, err)
	for rel, err := range it {
		require.NoError(t, err)
		got = append(got, tuple.MustString(rel))
	}
	require.ElementsMatch(t, stored, got)

	// Every order holds the stored rows, and only the expiring ones are in the expiration order.
	ds.mu.RLock()
	trees := ds.snapshots[len(ds.snapshots)-1].rels
	ds.mu.RUnlock()
	require.Equal(t, 4, trees.byResource.Len())
	require.Equal(t, 4, trees.bySubject.Len())
	require.Equal(t, 4, trees.byNamespaceRelation.Len())
	require.Equal(t, 2, trees.byExpiration.Len())
}

// TestRelationOrderIsTheSortedOrder: the (namespace, relation) order a restart derives from
// the resource order equals a sort by compareByNamespaceRelation, over generated rows whose
// namespaces, ids and relations are prefixes of one another and whose keys are too long
// for a row's offsets.
func TestRelationOrderIsTheSortedOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 3))
	pick := func(from ...string) string { return from[rng.IntN(len(from))] }
	for round := range 300 {
		var rows []*relationship
		seen := map[string]bool{}
		for range rng.IntN(400) {
			id := pick("a", "ab", "a_b", "b", "") + fmt.Sprint(rng.IntN(20))
			if rng.IntN(50) == 0 {
				id = strings.Repeat("x", 70_000) // past the 16-bit offsets: fields are scanned
			}
			r := newRow(pick("doc", "document", "do", "folder"), id, pick("viewer", "view", "viewers", "editor", "e"),
				pick("user", "group"), fmt.Sprint("s", rng.IntN(10)), pick("...", "member"), nil, nil, nil)
			if seen[r.key()] {
				continue
			}
			seen[r.key()] = true
			rows = append(rows, r)
		}
		want := slices.Clone(rows)
		slices.SortFunc(want, compareByNamespaceRelation)
		if got := relationOrder(sortRows(rows, compareByResource)); !slices.Equal(got, want) {
			t.Fatalf("round %d (%d rows): the derived (namespace, relation) order differs from a sort", round, len(rows))
		}
	}
}
