package localstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

// TestDamagedChangelogEntryRefusesOpen damages generated changelog entries of a store
// (cut short, another version, bad base64, bad protobuf, another revision inside) and
// sometimes a relationship row after them in storage order: Open refuses the directory,
// naming the first damaged entry, as a load one object at a time would, although the
// entries are decoded on other goroutines while the load reads on. Undamaged, the same
// stores open.
func TestDamagedChangelogEntryRefusesOpen(t *testing.T) {
	damages := map[string]func(rev int64, value []byte) []byte{
		"cut short":       func(_ int64, v []byte) []byte { return v[:len(v)/2] },
		"another version": func(_ int64, v []byte) []byte { return []byte(strings.Replace(string(v), `"v":1`, `"v":7`, 1)) },
		"bad base64": func(_ int64, v []byte) []byte {
			return []byte(strings.Replace(string(v), `"relationships":["`, `"relationships":["!!`, 1))
		},
		"bad protobuf": func(rev int64, _ []byte) []byte {
			return fmt.Appendf(nil, `{"v":1,"revision":%d,"relationships":["/////w=="]}`, rev)
		},
		"another revision": func(rev int64, _ []byte) []byte { return fmt.Appendf(nil, `{"v":1,"revision":%d}`, rev+1) },
	}
	names := []string{"cut short", "another version", "bad base64", "bad protobuf", "another revision"}
	rng := rand.New(rand.NewPCG(8, 1))
	for i := range 15 {
		dir := t.TempDir()
		opts := Options{GCInterval: -1, RevisionQuantization: -1}
		ds := openTest(t, dir, opts)
		next := 0
		for range 3 + rng.IntN(6) {
			n := 1 + rng.IntN(3000)
			bulkLoad(t, ds, genRels(next, n, 3, 40))
			next += n + 3
		}
		revs := storedChangelogRevisions(t, ds)
		require.NoError(t, ds.Close())
		if i == 0 {
			reopened := openTest(t, dir, opts)
			require.NoError(t, reopened.Close())
			continue
		}

		store, err := pebble.Open(dir, &pebble.Options{Logger: pebbleLogger{zap.NewNop()}})
		require.NoError(t, err)
		first := len(revs)
		var what []string
		for range 1 + rng.IntN(2) {
			j := rng.IntN(len(revs))
			name := names[rng.IntN(len(names))]
			key := changelogKey(revs[j])
			v, closer, err := store.Get(key)
			require.NoError(t, err)
			damaged := damages[name](revs[j], append([]byte(nil), v...))
			require.NoError(t, closer.Close())
			require.NoError(t, store.Set(key, damaged, pebble.Sync))
			first = min(first, j)
			what = append(what, fmt.Sprintf("%s at %d", name, j))
		}
		if rng.IntN(2) == 0 {
			iter, err := store.NewIter(&pebble.IterOptions{LowerBound: []byte{kindRelationship}, UpperBound: []byte{kindRelationship + 1}})
			require.NoError(t, err)
			require.True(t, iter.First())
			key := append([]byte(nil), iter.Key()...)
			require.NoError(t, iter.Close())
			require.NoError(t, store.Set(key, []byte{0xff, 0xff, 0xff}, pebble.Sync))
			what = append(what, "a relationship row")
		}
		require.NoError(t, store.Close())

		_, err = Open(context.Background(), dir, opts)
		require.Error(t, err, "case %d: %v", i, what)
		require.Contains(t, err.Error(), fmt.Sprintf("changelog entry at revision %d:", revs[first]), "case %d: %v", i, what)
	}
}
