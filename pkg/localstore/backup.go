package localstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// BackupOptions configures Backup. The zero value is usable.
type BackupOptions struct {
	// AccessGraphVersion and SpiceDBVersion are recorded in the manifest.
	AccessGraphVersion string
	SpiceDBVersion     string
	// Progress, when set, is called as the backup advances (from the calling goroutine).
	Progress func(Progress)
	// Now is the clock for the manifest's creation time (time.Now when nil).
	Now func() time.Time
}

// checkpointPrefix names the directory, inside the data directory, where the storage
// engine's checkpoint is taken before it is copied out. Being on the data's own file
// system, the checkpoint is hard links, however large the store: writers wait for it, and
// the copy to the backup directory (perhaps another disk) happens after. It is removed
// before Backup returns; one left by a process killed mid-backup is removed by a later
// backup once it is an hour old.
const checkpointPrefix = ".backup-"

// staleCheckpointAge is how old a leftover checkpoint directory must be to be removed.
const staleCheckpointAge = time.Hour

// Backup writes a consistent snapshot of the datastore, taken while it keeps serving,
// into destDir, which must not exist or be an empty directory (it is created owner-only).
//
// The snapshot is exactly the state at the head revision when it was taken: every write
// acknowledged before Backup was called is in it, and each transaction is in it whole or
// not at all. Writers wait only while the storage engine's checkpoint is taken (hard
// links and a copy of the write-ahead log); reads never wait. The checkpoint is then
// replayed into plain table files, copied out (owner-only files, synced), read back key
// by key to count objects and checksum the contents, and described in backup.json, which
// is written last. On any error nothing is left in destDir.
func (ds *Datastore) Backup(ctx context.Context, destDir string, opts BackupOptions) (Manifest, error) {
	m, err := ds.backup(ctx, destDir, opts)
	if err != nil {
		return Manifest{}, fmt.Errorf("localstore: backing up %s to %s: %w", ds.dir, destDir, err)
	}
	return m, nil
}

// CheckBackupDestination fails as Backup would when destDir cannot take a backup: it
// exists and is not an empty directory. Commands call it before opening a datastore.
func CheckBackupDestination(destDir string) error {
	_, err := emptyOrAbsent(destDir, backupDestinationFix)
	return err
}

const backupDestinationFix = "back up into a new or empty directory"

func (ds *Datastore) backup(ctx context.Context, destDir string, opts BackupOptions) (m Manifest, err error) {
	progress := progressFunc(opts.Progress)
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	if within(destDir, ds.dir) || within(ds.dir, destDir) {
		return Manifest{}, fmt.Errorf("the backup directory must be outside the data directory: choose another --to")
	}
	absent, err := emptyOrAbsent(destDir, backupDestinationFix)
	if err != nil {
		return Manifest{}, err
	}
	if err := os.MkdirAll(destDir, 0o700); err != nil {
		return Manifest{}, fmt.Errorf("creating %s: %w", destDir, err)
	}
	if err := os.Chmod(destDir, 0o700); err != nil {
		return Manifest{}, fmt.Errorf("making %s owner-only: %w", destDir, err)
	}
	defer func() {
		if err == nil {
			return
		}
		// Leave nothing behind: a partial backup must never be mistaken for one.
		if absent {
			_ = os.RemoveAll(destDir)
			return
		}
		entries, _ := os.ReadDir(destDir)
		for _, e := range entries {
			_ = os.RemoveAll(filepath.Join(destDir, e.Name()))
		}
	}()

	created := now().UTC()
	removeStaleCheckpoints(ds.dir)
	staging, err := os.MkdirTemp(ds.dir, checkpointPrefix)
	if err != nil {
		return Manifest{}, fmt.Errorf("creating the checkpoint directory in %s: %w", ds.dir, err)
	}
	defer func() { _ = os.RemoveAll(staging) }()
	checkpoint := filepath.Join(staging, "checkpoint")
	progress.report("checkpoint", 0, 1, "steps")
	live, err := ds.checkpoint(checkpoint)
	if err != nil {
		return Manifest{}, err
	}
	progress.report("checkpoint", 1, 1, "steps")
	if err := normalizeCheckpoint(checkpoint); err != nil {
		return Manifest{}, err
	}

	storeDir := filepath.Join(destDir, BackupStoreDir)
	files, err := copyStore(ctx, checkpoint, storeDir, nil, progress)
	if err != nil {
		return Manifest{}, err
	}
	if err := os.RemoveAll(checkpoint); err != nil {
		return Manifest{}, fmt.Errorf("removing the checkpoint %s: %w", checkpoint, err)
	}

	content, err := scanStore(ctx, storeDir, 0, progress)
	if err != nil {
		return Manifest{}, fmt.Errorf("reading back %s: %w", storeDir, err)
	}
	if err := live.matches(content); err != nil {
		return Manifest{}, err
	}

	m = Manifest{
		Format:             BackupFormat,
		CreatedAt:          created,
		Revision:           content.head.String(),
		DatastoreID:        content.uniqueID,
		AccessGraphVersion: opts.AccessGraphVersion,
		SpiceDBVersion:     opts.SpiceDBVersion,
		Counts:             content.counts,
		ContentSHA256:      content.sha256,
		Files:              files,
	}
	if content.head != 0 {
		m.RevisionTime = content.head.Time().UTC()
	}
	if err := writeManifest(destDir, &m); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// removeStaleCheckpoints removes checkpoint directories that backups killed half-way
// left in the data directory.
func removeStaleCheckpoints(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), checkpointPrefix) {
			continue
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > staleCheckpointAge {
			_ = os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}

// liveState is what the datastore held when the checkpoint was taken, to check the
// checkpoint against.
type liveState struct {
	head          revision
	relationships int64
	namespaces    int64
	caveats       int64
}

// checkpoint takes the storage engine's checkpoint of the store into dir. It holds the
// write lock meanwhile, so no transaction is half-way through its commit and the
// checkpoint is exactly the state at the head revision; reads go on.
func (ds *Datastore) checkpoint(dir string) (liveState, error) {
	ds.writeMu.Lock()
	defer ds.writeMu.Unlock()
	ds.mu.RLock()
	closed := ds.db == nil
	var live liveState
	if !closed {
		snap := ds.snapshots[len(ds.snapshots)-1]
		live.head = snap.revision
		live.relationships = int64(snap.rels.len())
		live.namespaces = countTable(snap, tableNamespace)
		live.caveats = countTable(snap, tableCaveats)
	}
	ds.mu.RUnlock()
	if closed {
		return liveState{}, ErrClosed
	}
	// Every acknowledged commit was synced, and none is in progress, so the log needs no
	// flush; the checkpoint is taken under the lock that Close also takes.
	if err := ds.store.Checkpoint(dir); err != nil {
		return liveState{}, fmt.Errorf("taking a checkpoint of %s: %w", ds.dir, err)
	}
	return live, nil
}

func countTable(snap snapshot, table string) int64 {
	it, err := snap.db.Txn(false).LowerBound(table, indexID)
	if err != nil {
		return -1
	}
	var n int64
	for obj := it.Next(); obj != nil; obj = it.Next() {
		n++
	}
	return n
}

// matches checks that the backup holds the state the datastore had at the checkpoint.
func (l liveState) matches(c storeContent) error {
	// A store never written has no stored head; its in-memory head is its creation time.
	if c.head != 0 && c.head != l.head {
		return fmt.Errorf("the checkpoint is at revision %s but the datastore was at %s: the backup is not the snapshot it should be", c.head, l.head)
	}
	for _, f := range []struct {
		name       string
		live, disk int64
	}{
		{"relationships", l.relationships, c.counts.Relationships},
		{"namespaces", l.namespaces, c.counts.Namespaces},
		{"caveats", l.caveats, c.counts.Caveats},
	} {
		if f.live != f.disk {
			return fmt.Errorf("the checkpoint holds %d %s but the datastore held %d at revision %s: the backup is not the snapshot it should be", f.disk, f.name, f.live, l.head)
		}
	}
	return nil
}

// normalizeCheckpoint opens the checkpoint once with the storage engine, which replays
// its copy of the write-ahead log into table files and closes it cleanly, so the backup
// is plain table files and restoring it never depends on replaying a log.
func normalizeCheckpoint(dir string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("replaying the checkpoint in %s: the storage engine failed: %v", dir, r)
		}
	}()
	db, err := pebble.Open(dir, &pebble.Options{Logger: backupLogger{}, DisableAutomaticCompactions: true})
	if err != nil {
		return fmt.Errorf("opening the checkpoint in %s: %w", dir, err)
	}
	if err := db.Flush(); err != nil {
		_ = db.Close()
		return fmt.Errorf("flushing the checkpoint in %s: %w", dir, err)
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("closing the checkpoint in %s: %w", dir, err)
	}
	return nil
}

// copyStore copies the files of the store in src into a new owner-only directory dst,
// synced, and lists them with their sizes and checksums. With want, each file is
// checked against its manifest entry as it is copied.
func copyStore(ctx context.Context, src, dst string, want *Manifest, progress progressFunc) ([]BackupFile, error) {
	names, err := listStore(src)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", src, err)
	}
	var total int64
	sizes := map[string]int64{}
	for _, name := range names {
		st, err := os.Stat(filepath.Join(src, name))
		if err != nil {
			return nil, err
		}
		sizes[name] = st.Size()
		total += st.Size()
	}
	if err := os.Mkdir(dst, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dst, err)
	}
	var done, lastReport int64
	progress.report("copy", 0, total, "bytes")
	advance := func(n int64) {
		done += n
		if done-lastReport >= progressEveryBytes {
			lastReport = done
			progress.report("copy", done, total, "bytes")
		}
	}
	files := make([]BackupFile, 0, len(names))
	for _, name := range names {
		size, sum, err := copyFile(ctx, filepath.Join(src, name), filepath.Join(dst, name), advance)
		if err != nil {
			return nil, fmt.Errorf("copying %s: %w", filepath.Join(src, name), err)
		}
		if want != nil {
			if err := want.checkFile(filepath.Join(src, name), name, size, sum); err != nil {
				return nil, err
			}
		}
		files = append(files, BackupFile{Name: name, Size: size, SHA256: sum})
	}
	if err := syncDir(dst); err != nil {
		return nil, fmt.Errorf("syncing %s: %w", dst, err)
	}
	progress.report("copy", done, total, "bytes")
	return files, nil
}

// writeManifest writes backup.json atomically (a synced temporary file renamed into
// place), owner-only; it is the last file of a backup.
func writeManifest(dir string, m *Manifest) error {
	body, err := m.seal()
	if err != nil {
		return fmt.Errorf("encoding the manifest: %w", err)
	}
	tmp := filepath.Join(dir, "."+BackupManifestName+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("writing the manifest: %w", err)
	}
	_, werr := f.Write(body)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("writing the manifest %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, BackupManifestName)); err != nil {
		return fmt.Errorf("writing the manifest: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}
