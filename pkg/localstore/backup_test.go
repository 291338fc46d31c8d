package localstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authzed/spicedb/pkg/caveats"
	caveattypes "github.com/authzed/spicedb/pkg/caveats/types"
	"github.com/authzed/spicedb/pkg/datastore"
	ns "github.com/authzed/spicedb/pkg/namespace"
	core "github.com/authzed/spicedb/pkg/proto/core/v1"
	"github.com/authzed/spicedb/pkg/tuple"
)

// fillRichStore writes one of everything the store keeps: namespaces, a caveat, the
// stored schema, relationships with a caveat, an expiry in the future and one in the
// past (stored until GC), a deletion, and a counter.
func fillRichStore(t *testing.T, ds *Datastore) {
	t.Helper()
	ctx := context.Background()
	env := caveats.NewEnvironmentWithDefaultTypeSet()
	require.NoError(t, env.AddVariable("ip", caveattypes.Default.IPAddressType))
	compiled, err := caveats.CompileCaveatWithName(env, "ip.in_cidr('10.0.0.0/8')", "internal_ip")
	require.NoError(t, err)
	caveatDef, err := ns.CompiledCaveatDefinition(env, "internal_ip", compiled)
	require.NoError(t, err)
	_, err = ds.ReadWriteTx(ctx, func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
		if err := rwt.LegacyWriteNamespaces(ctx, ns.Namespace("user"), ns.Namespace("document", ns.MustRelation("viewer", nil))); err != nil {
			return err
		}
		if err := rwt.LegacyWriteCaveats(ctx, []*core.CaveatDefinition{caveatDef}); err != nil {
			return err
		}
		return rwt.WriteStoredSchema(ctx, &core.StoredSchema{Version: 1, VersionOneof: &core.StoredSchema_V1{
			V1: &core.StoredSchema_V1StoredSchema{SchemaText: "definition user {}", SchemaHash: "hash-1"},
		}})
	})
	require.NoError(t, err)
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	writeRels(t, ds, tuple.UpdateOperationCreate,
		"document:a#viewer@user:alice",
		"document:a#viewer@user:bob",
		"document:b#viewer@user:carol[internal_ip:{\"ip\":\"10.1.2.3\"}]",
		"document:c#viewer@user:dave[expiration:"+future+"]",
		"document:e#viewer@user:frank[expiration:2020-01-01T00:00:00Z]",
	)
	writeRels(t, ds, tuple.UpdateOperationDelete, "document:a#viewer@user:bob")
	_, err = ds.ReadWriteTx(ctx, func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
		if err := rwt.RegisterCounter(ctx, "docs", &core.RelationshipFilter{ResourceType: "document"}); err != nil {
			return err
		}
		return rwt.StoreCounterValue(ctx, "docs", 3, head(t, ds))
	})
	require.NoError(t, err)
}

func TestBackupAndRestoreKeepEverything(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	ds := openTest(t, filepath.Join(base, "data"), Options{RevisionQuantization: -1, GCInterval: -1})
	defer ds.Close()
	fillRichStore(t, ds)
	// Enough relationships that the store has table files, not only a log.
	bulkLoad(t, ds, genRels(0, 20_000, 10, 500))
	rev := head(t, ds)
	want := captureState(t, ds, rev)
	wantID, _ := ds.UniqueID(ctx)

	// Checkpoint directories left by a backup killed half-way: an old one is removed, a
	// recent one (perhaps a backup in progress) is not.
	stale, fresh := filepath.Join(base, "data", checkpointPrefix+"old"), filepath.Join(base, "data", checkpointPrefix+"new")
	require.NoError(t, os.MkdirAll(filepath.Join(stale, "checkpoint"), 0o700))
	require.NoError(t, os.Chtimes(stale, time.Now().Add(-2*time.Hour), time.Now().Add(-2*time.Hour)))
	require.NoError(t, os.Mkdir(fresh, 0o700))

	backupDir := filepath.Join(base, "backup")
	var stages []string
	m, err := ds.Backup(ctx, backupDir, BackupOptions{
		AccessGraphVersion: "v9.9.9", SpiceDBVersion: "v1.57.1",
		Progress: func(p Progress) {
			if len(stages) == 0 || stages[len(stages)-1] != p.Stage {
				stages = append(stages, p.Stage)
			}
		},
		Now: func() time.Time { return time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC) },
	})
	require.NoError(t, err)
	require.Equal(t, []string{"checkpoint", "copy", "verify"}, stages)
	require.Equal(t, rev.String(), m.Revision)
	require.Equal(t, BackupCounts{
		Relationships: 20_004, Namespaces: 2, Caveats: 1, Counters: 1, SchemaRows: 2,
		ChangelogEntries: m.Counts.ChangelogEntries, Keys: m.Counts.Keys,
	}, m.Counts, "the expired relationship is still stored, so it is backed up")
	require.Equal(t, int64(5), m.Counts.ChangelogEntries, "one entry per transaction")
	require.Equal(t, wantID, m.DatastoreID)
	require.Equal(t, "v9.9.9", m.AccessGraphVersion)
	require.Equal(t, "v1.57.1", m.SpiceDBVersion)
	require.Equal(t, time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC), m.CreatedAt)
	dataEntries, err := os.ReadDir(filepath.Join(base, "data"))
	require.NoError(t, err)
	var leftovers []string
	for _, e := range dataEntries {
		if strings.HasPrefix(e.Name(), checkpointPrefix) {
			leftovers = append(leftovers, e.Name())
		}
	}
	require.Equal(t, []string{checkpointPrefix + "new"}, leftovers, "the backup's own checkpoint and the stale one are removed")

	// Owner-only, copied (never hard links into the live store), and nothing else.
	requireMode(t, backupDir, 0o700)
	requireMode(t, filepath.Join(backupDir, BackupStoreDir), 0o700)
	requireMode(t, filepath.Join(backupDir, BackupManifestName), 0o600)
	entries, err := os.ReadDir(backupDir)
	require.NoError(t, err)
	require.Len(t, entries, 2, "backup.json and store/ only")
	var sst bool
	for _, f := range m.Files {
		path := filepath.Join(backupDir, BackupStoreDir, f.Name)
		requireMode(t, path, 0o600)
		st, err := os.Stat(path)
		require.NoError(t, err)
		require.Equal(t, uint64(1), uint64(st.Sys().(*syscall.Stat_t).Nlink), "%s is linked elsewhere", f.Name)
		sst = sst || strings.HasSuffix(f.Name, ".sst")
	}
	require.True(t, sst, "the backup has table files")

	verified, err := VerifyBackup(ctx, backupDir, VerifyOptions{})
	require.NoError(t, err)
	require.Equal(t, m, verified)

	// A write after the backup is not in it.
	writeRels(t, ds, tuple.UpdateOperationCreate, "document:after#viewer@user:late")

	// Into a directory that does not exist, and into an existing empty one.
	empty := filepath.Join(base, "empty")
	require.NoError(t, os.Mkdir(empty, 0o755))
	for _, dest := range []string{filepath.Join(base, "new", "data"), empty} {
		restored, err := Restore(ctx, backupDir, dest, VerifyOptions{})
		require.NoError(t, err)
		require.Equal(t, m, restored)
		requireMode(t, dest, 0o700)
		requireNoStaging(t, filepath.Dir(dest))

		rs := openTest(t, dest, Options{RevisionQuantization: -1, GCInterval: -1})
		require.True(t, head(t, rs).Equal(rev), "restored head %v, want %v", head(t, rs), rev)
		require.Equal(t, want, captureState(t, rs, rev))
		id, _ := rs.UniqueID(ctx)
		require.Equal(t, wantID, id)
		next := writeRels(t, rs, tuple.UpdateOperationTouch, "document:z#viewer@user:zed")
		require.True(t, next.GreaterThan(rev))
		require.NoError(t, rs.Close())
	}
}

func requireMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, want, st.Mode().Perm(), "mode of %s", path)
}

func requireNoStaging(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	require.NoError(t, err)
	for _, e := range entries {
		require.NotContains(t, e.Name(), ".restore-", "a staging directory was left in %s", dir)
	}
}

// ackedTx is one transaction a writer got acknowledged.
type ackedTx struct {
	writer, tx int
	rev        revision
	at         time.Time
}

// TestBackupWhileWriting backs up while 4 writers commit transactions of relsPerTx
// relationships, over several rounds with different timings and store sizes, restores
// each backup and checks it is exactly the state at its revision: every transaction
// acknowledged before the backup began is there, every transaction acknowledged at or
// before the backup's revision is there, none after it, none half.
func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	ds := openTest(t, filepath.Join(base, "data"), Options{RevisionQuantization: -1, GCInterval: -1})
	defer ds.Close()

	const writers = 4
	rounds := []struct {
		preload int
		delay   time.Duration
	}{
		{0, 0}, {0, 5 * time.Millisecond}, {0, 40 * time.Millisecond},
		{30_000, 10 * time.Millisecond}, {0, 100 * time.Millisecond}, {30_000, 0},
	}
	var (
		mu    sync.Mutex
		acked []ackedTx
	)
	next := make([]int, writers) // next transaction number of each writer, across rounds
	for round, rc := range rounds {
		mu.Lock()
		ackedTotal := len(acked)
		mu.Unlock()
		if rc.preload > 0 {
			bulkLoad(t, ds, genRels(round*rc.preload, rc.preload, 10, 1000))
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		var maxLatency [writers]time.Duration
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					i := next[w]
					updates := make([]tuple.RelationshipUpdate, 0, relsPerTx)
					for j := range relsPerTx {
						updates = append(updates, tuple.Create(tuple.MustParse(fmt.Sprintf("document:w%d_t%d_r%d#viewer@user:w%d", w, i, j, w))))
					}
					start := time.Now()
					rev, err := ds.ReadWriteTx(ctx, func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
						return rwt.WriteRelationships(ctx, updates)
					})
					if err != nil {
						errs <- err
						return
					}
					now := time.Now()
					maxLatency[w] = max(maxLatency[w], now.Sub(start))
					mu.Lock()
					acked = append(acked, ackedTx{writer: w, tx: i, rev: rev.(revision), at: now})
					mu.Unlock()
					next[w] = i + 1
				}
			}()
		}
		// Let every writer get going, then vary where the backup falls.
		for {
			mu.Lock()
			n := len(acked)
			mu.Unlock()
			if n >= ackedTotal+writers {
				break
			}
			time.Sleep(time.Millisecond)
		}
		time.Sleep(rc.delay)
		mu.Lock()
		ackedBefore := len(acked)
		began := time.Now()
		mu.Unlock()
		backupDir := filepath.Join(base, fmt.Sprintf("backup-%d", round))
		m, err := ds.Backup(ctx, backupDir, BackupOptions{})
		took := time.Since(began)
		time.Sleep(rc.delay / 2) // keep writing after the backup too
		close(stop)
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		require.NoError(t, err)

		dest := filepath.Join(base, fmt.Sprintf("restored-%d", round))
		_, err = Restore(ctx, backupDir, dest, VerifyOptions{})
		require.NoError(t, err)
		rs := openTest(t, dest, Options{GCInterval: -1})
		backupRev, err := ParseRevisionString(m.Revision)
		require.NoError(t, err)
		require.True(t, head(t, rs).Equal(backupRev))

		present := map[[2]int]int{}
		for _, rel := range allRels(t, rs, head(t, rs)) {
			var w, i, j int
			if _, err := fmt.Sscanf(rel, "document:w%d_t%d_r%d#", &w, &i, &j); err == nil {
				present[[2]int{w, i}]++
			}
		}
		require.NoError(t, rs.Close())

		mu.Lock()
		all := append([]ackedTx(nil), acked...)
		mu.Unlock()
		var inBackup, after, beforeBegin int
		for k, tx := range all {
			n := present[[2]int{tx.writer, tx.tx}]
			require.Contains(t, []int{0, relsPerTx}, n, "round %d: transaction %d/%d is half present (%d of %d)", round, tx.writer, tx.tx, n, relsPerTx)
			switch {
			case tx.rev <= backupRev.(revision):
				require.Equal(t, relsPerTx, n, "round %d: transaction %d/%d acknowledged at %v, before the backup's revision %v, is missing", round, tx.writer, tx.tx, tx.rev, backupRev)
				inBackup++
			default:
				require.Zero(t, n, "round %d: transaction %d/%d acknowledged at %v, after the backup's revision %v, is in it", round, tx.writer, tx.tx, tx.rev, backupRev)
				after++
			}
			if k < ackedBefore {
				require.True(t, tx.at.Before(began))
				require.Equal(t, relsPerTx, n, "round %d: transaction %d/%d acknowledged before the backup began is missing", round, tx.writer, tx.tx)
				beforeBegin++
			}
		}
		// Every transaction in the backup is one a writer had acknowledged by now.
		require.Len(t, present, inBackup, "round %d: the backup holds transactions nobody acknowledged", round)
		require.Positive(t, beforeBegin, "round %d: no write was acknowledged before the backup began", round)
		t.Logf("round %d: preload %d, backup took %s (%d keys, %d bytes); acknowledged before it began %d, in it %d, after it %d; slowest write %s",
			round, rc.preload, took.Round(time.Millisecond), m.Counts.Keys, m.Bytes(), beforeBegin, inBackup, after, slices.Max(maxLatency[:]).Round(time.Millisecond))
	}
}

func TestBackupRefusesBadDestinations(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	data := filepath.Join(base, "data")
	ds := openTest(t, data, Options{GCInterval: -1})
	defer ds.Close()
	writeRels(t, ds, tuple.UpdateOperationCreate, "document:a#viewer@user:alice")

	full := filepath.Join(base, "full")
	require.NoError(t, os.MkdirAll(filepath.Join(full, "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(full, "keep.txt"), []byte("mine"), 0o644))
	file := filepath.Join(base, "file")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))

	for _, tc := range []struct {
		dest, want string
		notEmpty   bool
	}{
		{full, "full: destination is not empty (it holds keep.txt and 1 more); back up into a new or empty directory", true},
		{file, "file: destination is not empty (it is a file, not a directory); back up into a new or empty directory", true},
		{filepath.Join(data, "backup"), "the backup directory must be outside the data directory", false},
		{data, "the backup directory must be outside the data directory", false},
	} {
		before := treeDigest(t, base)
		_, err := ds.Backup(ctx, tc.dest, BackupOptions{})
		require.Error(t, err, tc.dest)
		require.Contains(t, err.Error(), tc.want)
		require.Equal(t, tc.notEmpty, errors.Is(err, ErrNotEmpty))
		require.Equal(t, before, treeDigest(t, base), "backup to %s changed something", tc.dest)
	}

	// A cancelled backup leaves nothing.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	dest := filepath.Join(base, "cancelled")
	_, err := ds.Backup(cctx, dest, BackupOptions{})
	require.ErrorIs(t, err, context.Canceled)
	_, err = os.Stat(dest)
	require.ErrorIs(t, err, os.ErrNotExist)

	require.NoError(t, ds.Close())
	_, err = ds.Backup(ctx, filepath.Join(base, "closed"), BackupOptions{})
	require.ErrorIs(t, err, ErrClosed)
	_, err = os.Stat(filepath.Join(base, "closed"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

// treeDigest describes every file under dir (path, mode, contents), skipping the live
// store's own directory, which Pebble writes to in the background.
func treeDigest(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	require.NoError(t, filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if info.IsDir() && info.Name() == "data" {
			return filepath.SkipDir
		}
		fmt.Fprintf(&b, "%s %s", path, info.Mode())
		if info.Mode().IsRegular() {
			raw, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, " %x", raw)
		}
		b.WriteString("\n")
		return nil
	}))
	return b.String()
}

func TestRestoreRefusesNonEmptyDestination(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	backupDir := makeBackup(t, base)

	full := filepath.Join(base, "full")
	require.NoError(t, os.MkdirAll(filepath.Join(full, "nested"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(full, "nested", "MANIFEST-000001"), []byte("other data"), 0o600))
	hidden := filepath.Join(base, "hidden")
	require.NoError(t, os.MkdirAll(hidden, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(hidden, ".x"), nil, 0o600))
	file := filepath.Join(base, "file")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))

	for _, tc := range []struct{ dest, want string }{
		{full, "full: destination is not empty (it holds nested); restore into a new or empty directory; a restore never overwrites data (move the existing directory aside first)"},
		{hidden, "hidden: destination is not empty (it holds .x)"},
		{file, "file: destination is not empty (it is a file, not a directory)"},
	} {
		before := treeDigest(t, base)
		_, err := Restore(ctx, backupDir, tc.dest, VerifyOptions{})
		require.ErrorIs(t, err, ErrNotEmpty)
		require.Contains(t, err.Error(), tc.want)
		require.Equal(t, before, treeDigest(t, base), "restore into %s changed something", tc.dest)
	}
	for _, dest := range []string{backupDir, filepath.Join(backupDir, "store", "x"), filepath.Dir(backupDir)} {
		before := treeDigest(t, base)
		_, err := Restore(ctx, backupDir, dest, VerifyOptions{})
		require.ErrorContains(t, err, "the data directory must be outside the backup")
		require.Equal(t, before, treeDigest(t, base))
	}
}

// makeBackup backs up a small store with every kind of object into base/backup.
func makeBackup(t *testing.T, base string) string {
	t.Helper()
	ds := openTest(t, filepath.Join(base, "data"), Options{RevisionQuantization: -1, GCInterval: -1})
	defer ds.Close()
	fillRichStore(t, ds)
	bulkLoad(t, ds, genRels(0, 2_000, 10, 100))
	dir := filepath.Join(base, "backup")
	_, err := ds.Backup(context.Background(), dir, BackupOptions{})
	require.NoError(t, err)
	return dir
}

// corruption damages a copy of a backup; wantPath is the file the refusal must name
// (relative to the backup), wantProblem a part of what it must say.
type corruption struct {
	name        string
	apply       func(t *testing.T, dir string)
	wantPath    string
	wantProblem string
}

// TestDamagedBackupsAreRefused generates damage to every file of a backup (bit flips at
// many positions, truncations, deletions, additions) and to its manifest (every byte of
// it flipped; counts, checksums and file entries edited with the manifest's own checksum
// recomputed), and checks that VerifyBackup and Restore refuse each one, naming the file,
// and that Restore leaves nothing behind.
func TestDamagedBackupsAreRefused(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	golden := makeBackup(t, base)
	m, err := readManifest(golden)
	require.NoError(t, err)
	manifestRaw, err := os.ReadFile(filepath.Join(golden, BackupManifestName))
	require.NoError(t, err)

	var cases []corruption
	store := func(name string) string { return filepath.Join(BackupStoreDir, name) }
	for _, f := range m.Files {
		cases = append(cases, corruption{"delete " + f.Name, func(t *testing.T, dir string) {
			require.NoError(t, os.Remove(filepath.Join(dir, store(f.Name))))
		}, store(f.Name), "missing"})
		cases = append(cases, corruption{"append to " + f.Name, func(t *testing.T, dir string) {
			appendByte(t, filepath.Join(dir, store(f.Name)))
		}, store(f.Name), "bytes but the manifest says"})
		for _, size := range []int64{0, f.Size / 2, f.Size - 1} {
			if size < 0 || size >= f.Size {
				continue
			}
			cases = append(cases, corruption{fmt.Sprintf("truncate %s to %d", f.Name, size), func(t *testing.T, dir string) {
				require.NoError(t, os.Truncate(filepath.Join(dir, store(f.Name)), size))
			}, store(f.Name), "truncated"})
		}
		for _, pos := range positions(f.Size, 48) {
			bit := byte(1) << (pos % 8)
			cases = append(cases, corruption{fmt.Sprintf("flip bit %d of byte %d of %s", pos%8, pos, f.Name), func(t *testing.T, dir string) {
				flipBit(t, filepath.Join(dir, store(f.Name)), pos, bit)
			}, store(f.Name), "the file is damaged"})
		}
	}
	cases = append(cases,
		corruption{"extra file", func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, store("000099.sst")), []byte("x"), 0o600))
		}, store("000099.sst"), "not listed in the manifest"},
		corruption{"directory in the store", func(t *testing.T, dir string) {
			require.NoError(t, os.Mkdir(filepath.Join(dir, store("sub")), 0o700))
		}, store("sub"), "not a regular file"},
		corruption{"store deleted", func(t *testing.T, dir string) {
			require.NoError(t, os.RemoveAll(filepath.Join(dir, BackupStoreDir)))
		}, BackupStoreDir, "missing"},
		corruption{"manifest deleted", func(t *testing.T, dir string) {
			require.NoError(t, os.Remove(filepath.Join(dir, BackupManifestName)))
		}, BackupManifestName, "not a finished backup"},
		corruption{"manifest empty", func(t *testing.T, dir string) {
			require.NoError(t, os.Truncate(filepath.Join(dir, BackupManifestName), 0))
		}, BackupManifestName, "not a valid manifest"},
	)
	for _, size := range positions(int64(len(manifestRaw)), 12) {
		cases = append(cases, corruption{fmt.Sprintf("manifest truncated to %d", size), func(t *testing.T, dir string) {
			require.NoError(t, os.Truncate(filepath.Join(dir, BackupManifestName), size))
		}, BackupManifestName, ""})
	}
	// Every bit of the manifest's first and last 64 bytes, and one bit of every other byte.
	for pos := range int64(len(manifestRaw)) {
		bits := []int{int(pos % 8)}
		if pos < 64 || pos >= int64(len(manifestRaw))-64 {
			bits = []int{0, 1, 2, 3, 4, 5, 6, 7}
		}
		for _, b := range bits {
			cases = append(cases, corruption{fmt.Sprintf("flip bit %d of manifest byte %d", b, pos), func(t *testing.T, dir string) {
				flipBit(t, filepath.Join(dir, BackupManifestName), pos, 1<<b)
			}, BackupManifestName, ""})
		}
	}
	// Edits that keep the manifest's own checksum right: the contents must disagree.
	edit := func(name string, change func(m *Manifest), wantPath, wantProblem string) {
		cases = append(cases, corruption{name, func(t *testing.T, dir string) {
			em, err := readManifest(dir)
			require.NoError(t, err)
			em.Files = append([]BackupFile(nil), em.Files...)
			change(&em)
			require.NoError(t, os.Remove(filepath.Join(dir, BackupManifestName)))
			require.NoError(t, writeManifest(dir, &em))
		}, wantPath, wantProblem})
	}
	for _, field := range []string{"relationships", "namespaces", "caveats", "counters", "schema_rows", "changelog_entries", "keys"} {
		for _, delta := range []int64{-1, 1, 1000} {
			edit(fmt.Sprintf("counts.%s %+d", field, delta), func(m *Manifest) {
				*countField(&m.Counts, field) += delta
			}, BackupManifestName, "counts."+field+" is")
		}
	}
	edit("content checksum", func(m *Manifest) { m.ContentSHA256 = strings.Repeat("0", 64) }, BackupManifestName, "content_sha256 is")
	edit("revision", func(m *Manifest) { m.Revision = "12345" }, BackupManifestName, "revision is 12345")
	edit("datastore id", func(m *Manifest) { m.DatastoreID = "other" }, BackupManifestName, "datastore_id")
	edit("format", func(m *Manifest) { m.Format = 2 }, BackupManifestName, "format 2")
	edit("no files", func(m *Manifest) { m.Files = nil }, BackupManifestName, "lists no files")
	edit("path in a file name", func(m *Manifest) { m.Files[0].Name = "../" + m.Files[0].Name }, BackupManifestName, "not a plain file name")
	for i, f := range m.Files {
		edit("checksum of "+f.Name, func(m *Manifest) { m.Files[i].SHA256 = strings.Repeat("a", 64) }, store(f.Name), "the file is damaged")
		edit("size of "+f.Name, func(m *Manifest) { m.Files[i].Size++ }, store(f.Name), "the manifest says")
		edit("drop "+f.Name, func(m *Manifest) { m.Files = append(m.Files[:i], m.Files[i+1:]...) }, store(f.Name), "not listed in the manifest")
	}
	edit("extra entry", func(m *Manifest) {
		m.Files = append(m.Files, BackupFile{Name: "000777.sst", Size: 1, SHA256: strings.Repeat("b", 64)})
	}, store("000777.sst"), "missing")
	// A table file damaged and its manifest entry updated to match: only reading the
	// contents back can tell.
	for _, f := range m.Files {
		if !strings.HasSuffix(f.Name, ".sst") {
			continue
		}
		for _, pos := range positions(f.Size, 16) {
			cases = append(cases, corruption{fmt.Sprintf("flip byte %d of %s, manifest updated", pos, f.Name), func(t *testing.T, dir string) {
				path := filepath.Join(dir, store(f.Name))
				flipBit(t, path, pos, 0x10)
				size, sum, err := hashFile(ctx, path, nil)
				require.NoError(t, err)
				em, err := readManifest(dir)
				require.NoError(t, err)
				for k := range em.Files {
					if em.Files[k].Name == f.Name {
						em.Files[k].Size, em.Files[k].SHA256 = size, sum
					}
				}
				require.NoError(t, os.Remove(filepath.Join(dir, BackupManifestName)))
				require.NoError(t, writeManifest(dir, &em))
			}, BackupStoreDir, ""})
		}
	}
	require.Greater(t, len(cases), 500)

	work := t.TempDir()
	for k, c := range cases {
		dir := filepath.Join(work, fmt.Sprintf("b%d", k))
		copyTree(t, golden, dir)
		c.apply(t, dir)
		wantPath := filepath.Join(dir, c.wantPath)

		_, err := VerifyBackup(ctx, dir, VerifyOptions{})
		requireRefusal(t, c, err, wantPath)

		dest := filepath.Join(work, fmt.Sprintf("r%d", k), "data")
		_, err = Restore(ctx, dir, dest, VerifyOptions{})
		requireRefusal(t, c, err, wantPath)
		_, serr := os.Stat(dest)
		require.ErrorIs(t, serr, os.ErrNotExist, "%s: restore left %s", c.name, dest)
		requireNoStaging(t, filepath.Dir(dest))
		require.NoError(t, os.RemoveAll(dir))
	}
	t.Logf("%d damaged backups refused", len(cases))
}

func requireRefusal(t *testing.T, c corruption, err error, wantPath string) {
	t.Helper()
	require.Error(t, err, c.name)
	var de *BackupDamageError
	require.True(t, errors.As(err, &de), "%s: %v is not a BackupDamageError", c.name, err)
	require.ErrorIs(t, err, ErrBackupDamaged, c.name)
	if strings.HasSuffix(c.wantPath, BackupStoreDir) && c.wantProblem == "" {
		// Damage found by reading the contents: the store or one of its files is named.
		require.True(t, strings.HasPrefix(de.Path, wantPath) || de.Path == filepath.Join(filepath.Dir(wantPath), BackupManifestName), "%s: names %s, want a file of %s: %v", c.name, de.Path, wantPath, err)
	} else {
		require.Equal(t, wantPath, de.Path, "%s: %v", c.name, err)
	}
	require.Contains(t, de.Problem, c.wantProblem, c.name)
}

func countField(c *BackupCounts, name string) *int64 {
	switch name {
	case "relationships":
		return &c.Relationships
	case "namespaces":
		return &c.Namespaces
	case "caveats":
		return &c.Caveats
	case "counters":
		return &c.Counters
	case "schema_rows":
		return &c.SchemaRows
	case "changelog_entries":
		return &c.ChangelogEntries
	case "keys":
		return &c.Keys
	}
	panic("unknown count " + name)
}

// positions returns up to n distinct byte offsets spread over a file of size bytes,
// always including the first and the last.
func positions(size int64, n int) []int64 {
	if size <= 0 {
		return nil
	}
	seen := map[int64]bool{}
	var out []int64
	for i := range n {
		p := size - 1
		if n > 1 {
			p = int64(i) * (size - 1) / int64(n-1)
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

func flipBit(t *testing.T, path string, pos int64, bit byte) {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	raw[pos] ^= bit
	require.NoError(t, os.WriteFile(path, raw, 0o600))
}

func appendByte(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write([]byte{0})
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	require.NoError(t, filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, raw, 0o600)
	}))
}
