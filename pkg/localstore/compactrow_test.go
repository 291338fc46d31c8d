package localstore

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/tuple"
)

// TestRowKeyOrder checks that the orders computed on a row's single key string
// equal the field-by-field orders they replace, for rows and for range probes
// (rows with empty trailing fields), including ids that are prefixes of one
// another, and that the fields read back unchanged. One word is longer than the
// offsets a row keeps (64 KiB), so rows fall back to scanning for their fields.
func TestRowKeyOrder(t *testing.T) {
	require.EqualValues(t, 24, unsafe.Sizeof(relationship{}), "a row is three words")
	rng := rand.New(rand.NewPCG(7, 11))
	long := strings.Repeat("l", 70_000)
	words := []string{"", "a", "ab", "abc", "b", "ba", "doc", "document", "...", "u1", "u10", "u2", "x_y", "a/b", "a-b", long}
	pick := func() string { return words[rng.IntN(len(words))] }
	cmpFields := func(a, b []string) int { return slices.Compare(a, b) }

	rows := make([]*relationship, 0, 400)
	fields := map[*relationship][6]string{}
	for range 400 {
		f := [6]string{pick(), pick(), pick(), pick(), pick(), pick()}
		r := newRow(f[0], f[1], f[2], f[3], f[4], f[5], nil, nil, nil)
		rows = append(rows, r)
		fields[r] = f
		require.Equal(t, f, r.fields())
		for i := range 6 {
			require.Equal(t, f[i], r.field(i))
		}
		long := len(f[0])+len(f[1])+len(f[2])+3 > math.MaxUint16
		require.Equal(t, long, r.subjectAt == 0, "subject offset kept exactly when it fits")
	}
	for _, a := range rows {
		fa := fields[a]
		for _, b := range rows {
			fb := fields[b]
			want := cmpFields(fa[:], fb[:])
			require.Equal(t, want, compareByResource(a, b), "%q %q", fa, fb)

			sa := append(slices.Clone(fa[3:]), fa[:3]...)
			sb := append(slices.Clone(fb[3:]), fb[:3]...)
			require.Equal(t, cmpFields(sa, sb), compareBySubject(a, b), "%q %q", fa, fb)

			na := append([]string{fa[0], fa[2]}, fa[:]...)
			nb := append([]string{fb[0], fb[2]}, fb[:]...)
			require.Equal(t, cmpFields(na, nb), compareByNamespaceRelation(a, b), "%q %q", fa, fb)
		}
	}
}

// randomUpdate returns a touch or delete of one of a few relationships, with a
// caveat, an expiration, both or neither.
func randomUpdate(rng *rand.Rand) tuple.RelationshipUpdate {
	rel := fmt.Sprintf("document:d%d#viewer@user:u%d", rng.IntN(5), rng.IntN(4))
	switch rng.IntN(4) {
	case 1:
		rel += fmt.Sprintf("[internal_ip:{\"n\":%d}]", rng.IntN(3))
	case 2:
		rel += fmt.Sprintf("[expiration:2100-01-01T00:00:%02dZ]", rng.IntN(3))
	case 3:
		rel += fmt.Sprintf("[internal_ip:{\"n\":%d}][expiration:2100-01-01T00:00:%02dZ]", rng.IntN(3), rng.IntN(3))
	}
	op := tuple.UpdateOperationTouch
	if rng.IntN(3) == 0 {
		op = tuple.UpdateOperationDelete
	}
	return tuple.RelationshipUpdate{Operation: op, Relationship: tuple.MustParse(rel)}
}

// applyWatch replays relationship changes onto a model of the store's contents.
func applyWatch(model map[string]string, c datastore.RevisionChanges) {
	for _, u := range c.RelationshipChanges {
		key := tuple.StringWithoutCaveatOrExpiration(u.Relationship)
		switch u.Operation {
		case tuple.UpdateOperationDelete:
			delete(model, key)
		default:
			model[key] = tuple.MustString(u.Relationship)
		}
	}
}

// TestWatchMatchesRandomHistories writes random histories (touches and deletes,
// with caveats and expirations, several to a transaction, some repeating or
// undoing one another) and checks that the changes Watch reads back from storage
// rebuild, at every checkpoint, exactly the relationships readable at that
// revision. The stream is the same after a restart, and after a collection that
// deleted the older half of the history a Watch from inside the window replays
// the same tail.
func TestWatchMatchesRandomHistories(t *testing.T) {
	for seed := range uint64(6) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 99))
			dir := t.TempDir()
			ds := openTest(t, dir, Options{GCInterval: -1, RevisionQuantization: -1})
			start := head(t, ds)

			const txs = 30
			revs := make([]datastore.Revision, 0, txs)
			states := make([][]string, 0, txs)
			var mid time.Time
			for i := range txs {
				if i == txs/2 {
					time.Sleep(5 * time.Millisecond)
					mid = time.Now()
				}
				updates := make([]tuple.RelationshipUpdate, 1+rng.IntN(6))
				for j := range updates {
					updates[j] = randomUpdate(rng)
				}
				rev, err := ds.ReadWriteTx(context.Background(), func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
					return rwt.WriteRelationships(ctx, updates)
				})
				require.NoError(t, err)
				revs = append(revs, rev)
				states = append(states, allRels(t, ds, rev))
			}
			last := revs[len(revs)-1]

			checkStream := func(changes []datastore.RevisionChanges, model map[string]string, from int) {
				t.Helper()
				i := from
				for _, c := range changes {
					if !c.IsCheckpoint {
						applyWatch(model, c)
						continue
					}
					for i < len(revs) && revs[i].LessThan(c.Revision) {
						i++
					}
					require.Less(t, i, len(revs), "checkpoint %s after the last write", c.Revision)
					require.True(t, revs[i].Equal(c.Revision), "checkpoint %s is no write's revision", c.Revision)
					got := slices.Sorted(func(yield func(string) bool) {
						for _, v := range model {
							if !yield(v) {
								return
							}
						}
					})
					require.Equal(t, states[i], append([]string(nil), got...), "state at checkpoint %d", i)
				}
			}

			live := collectWatch(t, ds, start, last, datastore.WatchRelationships)
			checkStream(live, map[string]string{}, 0)
			require.NoError(t, ds.Close())

			ds = openTest(t, dir, Options{GCInterval: -1, RevisionQuantization: -1})
			defer ds.Close()
			reopened := collectWatch(t, ds, start, last, datastore.WatchRelationships)
			require.Equal(t, describeAll(t, live), describeAll(t, reopened))

			ds.gcWindow = time.Since(mid)
			stats, err := ds.CollectGarbage(context.Background())
			require.NoError(t, err)
			require.Positive(t, stats.ChangelogEntriesDeleted)
			from := txs / 2
			tail := collectWatch(t, ds, revs[from-1], last, datastore.WatchRelationships)
			model := map[string]string{}
			for _, r := range states[from-1] {
				rel := tuple.MustParse(r)
				model[tuple.StringWithoutCaveatOrExpiration(rel)] = r
			}
			checkStream(tail, model, from)
			var wantTail []string
			for _, c := range live {
				if revs[from-1].LessThan(c.Revision) {
					wantTail = append(wantTail, describeChange(t, c))
				}
			}
			require.Equal(t, wantTail, describeAll(t, tail))
		})
	}
}

// TestWatchBehindCollectionFails checks that a Watch that reaches an entry whose
// stored changes were collected after it read the changelog fails as stale rather
// than skipping the changes.
func TestWatchBehindCollectionFails(t *testing.T) {
	ds := openTest(t, t.TempDir(), Options{GCInterval: -1, RevisionQuantization: -1})
	defer ds.Close()
	start := head(t, ds)
	first := writeRels(t, ds, tuple.UpdateOperationTouch, "document:a#viewer@user:u1")
	writeRels(t, ds, tuple.UpdateOperationTouch, "document:b#viewer@user:u2")

	// The stored entry goes while the in-memory changelog still lists it, as when a
	// collection runs between a watcher's read of the changelog and its read of
	// the entry (the entry is also among those whose changes stay in memory).
	require.NoError(t, ds.deleteStoredChangelog(revisionFromAny(first)+1))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	updates, errs := ds.Watch(ctx, start, datastore.WatchOptions{Content: datastore.WatchRelationships})
	for range updates {
		t.Fatal("a change was sent")
	}
	err := <-errs
	require.Error(t, err)
	var invalid datastore.InvalidRevisionError
	require.ErrorAs(t, err, &invalid)
	require.Equal(t, datastore.RevisionStale, invalid.Reason())
}
