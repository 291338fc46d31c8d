package localstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/tuple"
)

// requireOwnerOnly checks every entry of dir: directories 0700, files 0600.
func requireOwnerOnly(t *testing.T, dir, when string) int {
	t.Helper()
	n := 0
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // deleted meanwhile by the storage engine (an obsolete file)
		}
		require.NoError(t, err)
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		require.NoError(t, err)
		want := ownerFileMode
		if d.IsDir() {
			want = ownerDirMode
		}
		require.Equal(t, want, info.Mode().Perm(), "%s: %s", when, path)
		n++
		return nil
	}))
	return n
}

// TestFilesAreOwnerOnly: the directory and every file the store creates (tables,
// logs, manifests, options, markers, lock, identity) are owner-only, after writes,
// flushes, compaction and reopen, whatever the umask allowed.
func TestFilesAreOwnerOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "data")
	ds := openTest(t, dir, Options{GCInterval: -1})
	requireOwnerOnly(t, filepath.Dir(dir), "after creating")
	for i := range 30 {
		writeRels(t, ds, tuple.UpdateOperationTouch, crashTxRels(i)...)
		if i%10 == 9 {
			require.NoError(t, ds.store.Flush())
		}
	}
	requireOwnerOnly(t, dir, "after writes and flushes")
	require.NoError(t, ds.store.Compact(context.Background(), []byte{0}, []byte{0xff}, true))
	n := requireOwnerOnly(t, dir, "after compaction")
	require.NoError(t, ds.Close())

	ds = openTest(t, dir, Options{GCInterval: -1})
	writeRels(t, ds, tuple.UpdateOperationTouch, "document:after#viewer@user:reopen")
	requireOwnerOnly(t, dir, "after reopen")
	require.NoError(t, ds.Close())
	t.Logf("%d entries checked after compaction", n)
}

// TestOpenTightensExistingDirectory: a data directory (and files in it) that other
// users may read is restricted to its owner at Open, with a warning naming it.
func TestOpenTightensExistingDirectory(t *testing.T) {
	dir := t.TempDir()
	ds := openTest(t, dir, Options{GCInterval: -1})
	writeRels(t, ds, tuple.UpdateOperationTouch, "document:a#viewer@user:alice")
	require.NoError(t, ds.Close())

	require.NoError(t, os.Chmod(dir, 0o755))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		require.NoError(t, os.Chmod(filepath.Join(dir, e.Name()), 0o644))
	}
	core, logs := observer.New(zap.WarnLevel)
	ds = openTest(t, dir, Options{GCInterval: -1, Logger: zap.New(core)})
	defer ds.Close()
	requireOwnerOnly(t, dir, "after reopening a world-readable directory")
	warned := logs.FilterMessageSnippet("restricted it to its owner").All()
	require.Len(t, warned, 1+len(entries), "one warning for the directory and one per file")
	require.Equal(t, []string{"document:a#viewer@user:alice"}, allRels(t, ds, head(t, ds)))
}

// TestOpenErrorsNameTheCause: only a held lock is reported as another process
// using the directory; other failures say what they are.
func TestOpenErrorsNameTheCause(t *testing.T) {
	ctx := context.Background()
	held := t.TempDir()
	ds := openTest(t, held, Options{GCInterval: -1})
	defer ds.Close()

	file := filepath.Join(t.TempDir(), "not-a-dir")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o600))

	cases := []struct {
		name    string
		dir     string
		is      error
		want    string
		notWant string
	}{
		{name: "lock held", dir: held, is: ErrLocked, want: "open in another process"},
		{name: "not a directory", dir: file, want: "not a directory", notWant: "another process"},
		{name: "under a file", dir: filepath.Join(file, "sub"), want: "a path component is a file", notWant: "another process"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(ctx, tc.dir, Options{GCInterval: -1})
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.dir)
			require.Contains(t, err.Error(), tc.want)
			if tc.is != nil {
				require.ErrorIs(t, err, tc.is)
			}
			if tc.notWant != "" {
				require.NotContains(t, err.Error(), tc.notWant)
				require.NotErrorIs(t, err, ErrLocked)
			}
		})
	}

	t.Run("permission denied", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root reads every directory")
		}
		dir := t.TempDir()
		require.NoError(t, os.Chmod(dir, 0o000))
		defer os.Chmod(dir, 0o700) //nolint:errcheck // cleanup
		_, err := Open(ctx, filepath.Join(dir, "data"), Options{GCInterval: -1})
		require.ErrorContains(t, err, "permission denied")
		require.NotErrorIs(t, err, ErrLocked)
	})
}

// TestLostManifestIsRefused: the failure that let a directory be taken for a new
// store. Each of the manifest's files deleted (the zero-byte marker, as a backup
// tool that skips empty files would; the manifest itself; both) is refused with a
// DamagedError naming it, and no file is changed or removed.
func TestLostManifestIsRefused(t *testing.T) {
	src := t.TempDir()
	ds := openTest(t, src, Options{GCInterval: -1})
	for i := range 20 {
		writeRels(t, ds, tuple.UpdateOperationTouch, crashTxRels(i)...)
	}
	require.NoError(t, ds.store.Flush())
	require.NoError(t, ds.Close())

	for _, lose := range [][]string{{"marker.manifest.*"}, {"MANIFEST-*"}, {"marker.manifest.*", "MANIFEST-*"}, {"marker.*"}} {
		t.Run(strings.Join(lose, "+"), func(t *testing.T) {
			dir := t.TempDir()
			copyDir(t, src, dir)
			for _, pattern := range lose {
				matches, err := filepath.Glob(filepath.Join(dir, pattern))
				require.NoError(t, err)
				require.NotEmpty(t, matches)
				for _, m := range matches {
					require.NoError(t, os.Remove(m))
				}
			}
			before := dirDigest(t, dir)
			_, err := Open(context.Background(), dir, Options{GCInterval: -1})
			var damaged *DamagedError
			require.ErrorAs(t, err, &damaged)
			require.ErrorIs(t, err, ErrDamaged)
			require.Contains(t, err.Error(), "accessctl restore")
			require.Contains(t, err.Error(), damaged.File)
			require.Contains(t, damaged.File, strings.TrimSuffix(lose[0], "*"))
			require.Equal(t, before, dirDigest(t, dir), "nothing is changed or deleted")
		})
	}
}

// TestCorruptTableIsAnErrorNotAPanic: a flipped byte in a table is refused with
// the table's name, at every position tried.
func TestCorruptTableIsAnErrorNotAPanic(t *testing.T) {
	src := t.TempDir()
	ds := openTest(t, src, Options{GCInterval: -1})
	for i := range 40 {
		writeRels(t, ds, tuple.UpdateOperationTouch, crashTxRels(i)...)
	}
	require.NoError(t, ds.store.Flush())
	require.NoError(t, ds.Close())
	tables, err := filepath.Glob(filepath.Join(src, "*.sst"))
	require.NoError(t, err)
	require.NotEmpty(t, tables)
	data, err := os.ReadFile(tables[0])
	require.NoError(t, err)

	step := max(len(data)/64, 1)
	refused := 0
	for at := 0; at < len(data); at += step {
		dir := t.TempDir()
		copyDir(t, src, dir)
		damaged := append([]byte(nil), data...)
		damaged[at] ^= 0xff
		require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(tables[0])), damaged, 0o600))
		ds, err, panicked := openRecovering(dir)
		require.False(t, panicked, "byte %d: %v", at, err)
		if err == nil {
			// Only bytes no read covers (padding, an unused filter) can be flipped
			// unnoticed; then every relationship is still there.
			require.Len(t, allRels(t, ds, head(t, ds)), 40*relsPerTx, "byte %d", at)
			require.NoError(t, ds.Close())
			continue
		}
		require.ErrorIs(t, err, ErrDamaged, "byte %d", at)
		require.Contains(t, err.Error(), filepath.Base(tables[0]), "byte %d", at)
		refused++
	}
	t.Logf("table of %d bytes: %d of %d flipped bytes refused", len(data), refused, (len(data)+step-1)/step)
	require.Positive(t, refused)
}

// TestDiskFullRefusesWritesCleanly (simulated free space; see
// TestRealFullFilesystem for a real one): a write that would dip into the reserve
// fails with a DiskFullError (ResourceExhausted over gRPC) naming the directory and
// the free space; nothing of it is applied; reads go on; writes succeed again once
// space is freed, without reopening.
func TestDiskFullRefusesWritesCleanly(t *testing.T) {
	dir := t.TempDir()
	ds := openTest(t, dir, Options{GCInterval: -1, RevisionQuantization: -1, MinFreeBytes: 1 << 20})
	defer ds.Close()
	writeRels(t, ds, tuple.UpdateOperationCreate, "document:a#viewer@user:alice")
	before := head(t, ds)

	for _, free := range []uint64{0, 1, 512 << 10, 1<<20 - 1, 1 << 20, 1<<20 + 100} {
		t.Run(fmt.Sprint(free), func(t *testing.T) {
			ds.freeSpace = func(string) (uint64, error) { return free, nil }
			defer func() { ds.freeSpace = freeBytes }()
			_, err := ds.ReadWriteTx(context.Background(), func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
				return rwt.WriteRelationships(ctx, []tuple.RelationshipUpdate{
					tuple.Create(tuple.MustParse("document:b#viewer@user:bob")),
					tuple.Delete(tuple.MustParse("document:a#viewer@user:alice")),
				})
			})
			var full *DiskFullError
			require.ErrorAs(t, err, &full)
			require.ErrorIs(t, err, ErrDiskFull)
			require.Equal(t, codes.ResourceExhausted, status.Code(err))
			require.Contains(t, err.Error(), dir)
			require.Contains(t, err.Error(), formatBytes(free)+" free")
			require.Equal(t, free, full.Free)
			require.Greater(t, full.Need, uint64(1<<20), "the reserve plus the write")
			require.True(t, head(t, ds).Equal(before), "no revision was published")
			require.Equal(t, []string{"document:a#viewer@user:alice"}, allRels(t, ds, head(t, ds)), "reads go on, nothing applied")
		})
	}
	writeRels(t, ds, tuple.UpdateOperationCreate, "document:b#viewer@user:bob")
	require.Equal(t, []string{"document:a#viewer@user:alice", "document:b#viewer@user:bob"}, allRels(t, ds, head(t, ds)))
}

// TestOpenOnFullDiskFailsFast: Open with less than the reserve free fails at once
// with a DiskFullError instead of letting the storage engine fail (or spin) later.
func TestOpenOnFullDiskFailsFast(t *testing.T) {
	dir := t.TempDir()
	free, err := freeBytes(dir)
	require.NoError(t, err)
	_, err = Open(context.Background(), dir, Options{GCInterval: -1, MinFreeBytes: int64(free) + 1<<40})
	require.ErrorIs(t, err, ErrDiskFull)
	require.Contains(t, err.Error(), dir)
	require.False(t, errors.Is(err, ErrDamaged))
}

// TestPebbleLogReachesOurLogger: the storage engine's messages go to Options.Logger
// (routine ones at debug level), and its Fatalf logs before it panics: it never
// returns as if nothing happened.
func TestPebbleLogReachesOurLogger(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	ds := openTest(t, t.TempDir(), Options{GCInterval: -1, Logger: zap.New(core)})
	writeRels(t, ds, tuple.UpdateOperationTouch, "document:a#viewer@user:alice")
	require.NoError(t, ds.store.Flush())
	require.NoError(t, ds.Close())
	require.NotEmpty(t, logs.FilterMessage("pebble").All(), "routine storage engine messages at debug level")

	l := pebbleLogger{zap.New(core)}
	l.Errorf("background compaction failed: %s", "boom")
	require.Len(t, logs.FilterMessage("pebble: background compaction failed: boom").FilterLevelExact(zap.ErrorLevel).All(), 1)
	require.PanicsWithValue(t, "localstore: the storage engine stopped: fatal commit error: no space", func() {
		l.Fatalf("fatal commit error: %s", "no space")
	})
	require.Len(t, logs.FilterMessage("pebble: fatal: fatal commit error: no space").All(), 1, "logged before the panic")
}
