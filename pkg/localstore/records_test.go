package localstore

import (
	"context"
	"fmt"
	"iter"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/authzed/spicedb/pkg/tuple"
)

func collectRecords(t *testing.T, ds *Datastore, after uint64) []Record {
	t.Helper()
	var out []Record
	for r, err := range ds.Records(context.Background(), after) {
		require.NoError(t, err)
		out = append(out, r)
	}
	return out
}

// Records interleaved with relationship writes are numbered without gaps, kept once per id,
// survive reopening beside the relationships (which load as before), are never collected,
// and travel in a backup.
func TestRecordsAreKeptForGood(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	dir := filepath.Join(base, "data")
	ds := openTest(t, dir, Options{RevisionQuantization: -1, GCInterval: -1, GCWindow: 1})
	rng := rand.New(rand.NewPCG(1, 2))
	var want []Record
	var rels []string
	for i := range 1200 { // more than two pages
		if i%100 == 0 {
			rel := fmt.Sprintf("document:d%d#viewer@user:u%d", i, i)
			writeRels(t, ds, tuple.UpdateOperationTouch, rel)
			rels = append(rels, rel)
		}
		id := fmt.Sprintf("rev-%d", i)
		value := []byte(fmt.Sprintf("value %d %d", i, rng.IntN(1000)))
		var sawLast uint64
		seq, added, err := ds.AppendRecord(id, func(last *Record, seq uint64) ([]byte, error) {
			if last != nil {
				sawLast = last.Seq
			}
			return value, nil
		})
		require.NoError(t, err)
		require.True(t, added)
		require.Equal(t, uint64(i+1), seq)
		require.Equal(t, uint64(i), sawLast, "build sees the previous record")
		want = append(want, Record{Seq: seq, ID: id, Value: value})
		if i%7 == 0 { // the same id again: kept once
			again, added, err := ds.AppendRecord(id, func(*Record, uint64) ([]byte, error) { return []byte("other"), nil })
			require.NoError(t, err)
			require.False(t, added)
			require.Equal(t, seq, again)
		}
	}
	_, err := ds.CollectGarbage(ctx)
	require.NoError(t, err)
	require.NoError(t, ds.SetRecordMetaOnce("start", []byte("s1")))
	require.NoError(t, ds.SetRecordMetaOnce("start", []byte("s2")))
	require.Equal(t, want, collectRecords(t, ds, 0))
	require.Equal(t, want[1000:], collectRecords(t, ds, 1000))
	require.NoError(t, ds.Close())
	_, _, err = ds.AppendRecord("late", func(*Record, uint64) ([]byte, error) { return nil, nil })
	require.ErrorIs(t, err, ErrClosed)

	ds = openTest(t, dir, Options{RevisionQuantization: -1, GCInterval: -1})
	require.Equal(t, want, collectRecords(t, ds, 0))
	last, err := ds.LastRecord()
	require.NoError(t, err)
	require.Equal(t, want[len(want)-1], *last)
	seq, ok, err := ds.RecordSeq("rev-500")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, uint64(501), seq)
	v, ok, err := ds.RecordMeta("start")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "s1", string(v), "set once")
	got := allRels(t, ds, head(t, ds))
	slices.Sort(rels)
	require.Equal(t, rels, got, "relationships load beside the records")

	backupDir := filepath.Join(base, "backup")
	_, err = ds.Backup(ctx, backupDir, BackupOptions{})
	require.NoError(t, err)
	require.NoError(t, ds.Close())
	restored := filepath.Join(base, "restored")
	_, err = Restore(ctx, backupDir, restored, VerifyOptions{})
	require.NoError(t, err)
	ds = openTest(t, restored, Options{RevisionQuantization: -1, GCInterval: -1})
	defer ds.Close()
	require.Equal(t, want, collectRecords(t, ds, 0))
}

func collectBase(t *testing.T, ds *Datastore) []BaseValue {
	t.Helper()
	var out []BaseValue
	for v, err := range ds.RecordBase(context.Background()) {
		require.NoError(t, err)
		out = append(out, v)
	}
	return out
}

func baseOf(vs []BaseValue) iter.Seq2[BaseValue, error] {
	return func(yield func(BaseValue, error) bool) {
		for _, v := range vs {
			if !yield(v, nil) {
				return
			}
		}
	}
}

// Trimming at random points keeps the records after the cut, numbered as before, replaces
// the base whole, frees the trimmed ids and appends one record, and all of it survives
// reopening; a trim that cannot be done (past the last record, an id in use) changes nothing.
func TestTrimRecordsReplacesTheOldestWithABase(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	ds := openTest(t, dir, Options{RevisionQuantization: -1, GCInterval: -1, GCWindow: 1})
	rng := rand.New(rand.NewPCG(3, 4))
	appendN := func(from, n int) {
		for i := from; i < from+n; i++ {
			_, added, err := ds.AppendRecord(fmt.Sprintf("rev-%d", i), func(*Record, uint64) ([]byte, error) { return []byte(fmt.Sprint(i)), nil })
			require.NoError(t, err)
			require.True(t, added)
		}
	}
	appendN(0, 700)
	next, first := 700, uint64(1)
	for round := range 6 {
		last, err := ds.LastRecord()
		require.NoError(t, err)
		before := collectRecords(t, ds, 0)
		upTo := first + uint64(rng.IntN(int(last.Seq-first+1))) //nolint:gosec // small
		var base []BaseValue
		for i := range rng.IntN(1500) {
			base = append(base, BaseValue{Key: fmt.Sprintf("k%05d-%d", i, round), Value: []byte(fmt.Sprint(rng.Int()))})
		}
		// Refused: an id in use, or past the last record; nothing changes.
		_, err = ds.TrimRecords(upTo, baseOf(base), before[len(before)-1].ID, func(*Record, uint64) ([]byte, map[string][]byte, error) { return nil, nil, nil })
		require.Error(t, err)
		_, err = ds.TrimRecords(last.Seq+1, baseOf(base), "fresh", func(*Record, uint64) ([]byte, map[string][]byte, error) { return nil, nil, nil })
		require.Error(t, err)
		require.Equal(t, before, collectRecords(t, ds, 0))

		var sawLast uint64
		seq, err := ds.TrimRecords(upTo, baseOf(base), fmt.Sprintf("trim-%d", round), func(l *Record, seq uint64) ([]byte, map[string][]byte, error) {
			sawLast = l.Seq
			return []byte("trimmed"), map[string][]byte{"anchor": []byte(fmt.Sprint(upTo))}, nil
		})
		require.NoError(t, err)
		require.Equal(t, last.Seq, sawLast)
		require.Equal(t, last.Seq+1, seq)
		if round%2 == 1 {
			require.NoError(t, ds.Close())
			ds = openTest(t, dir, Options{RevisionQuantization: -1, GCInterval: -1, GCWindow: 1})
		}
		got := collectRecords(t, ds, 0)
		var want []Record
		for _, r := range before {
			if r.Seq > upTo {
				want = append(want, r)
			}
		}
		want = append(want, Record{Seq: seq, ID: fmt.Sprintf("trim-%d", round), Value: []byte("trimmed")})
		require.Equal(t, want, got)
		for _, r := range before {
			s, ok, err := ds.RecordSeq(r.ID)
			require.NoError(t, err)
			require.Equal(t, r.Seq > upTo, ok, "record %s", r.ID)
			if ok {
				require.Equal(t, r.Seq, s)
			}
		}
		slices.SortFunc(base, func(a, b BaseValue) int { return strings.Compare(a.Key, b.Key) })
		gotBase := collectBase(t, ds)
		if len(base) == 0 {
			require.Empty(t, gotBase)
		} else {
			require.Equal(t, base, gotBase)
		}
		v, ok, err := ds.RecordMeta("anchor")
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, fmt.Sprint(upTo), string(v))
		first = upTo + 1
		appendN(next, 1+rng.IntN(300))
		next += 300
	}
}
