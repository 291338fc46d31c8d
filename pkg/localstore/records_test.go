package localstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
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
