package localstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// VerifyOptions configures VerifyBackup and Restore. The zero value is usable.
type VerifyOptions struct {
	// Progress, when set, is called as the work advances (from the calling goroutine).
	Progress func(Progress)
}

// VerifyBackup checks the backup in dir without changing it: the manifest is well-formed
// and unaltered, the store holds exactly the files it lists with their sizes and SHA-256
// checksums, and reading every key back gives the head revision, counts and content
// checksum it records. It returns the manifest, or an error wrapping ErrBackupDamaged
// (a *BackupDamageError naming the file and what is wrong).
func VerifyBackup(ctx context.Context, dir string, opts VerifyOptions) (Manifest, error) {
	progress := progressFunc(opts.Progress)
	m, err := verifyBackupFiles(ctx, dir, progress)
	if err == nil {
		err = verifyBackupContent(ctx, &m, dir, filepath.Join(dir, BackupStoreDir), progress)
	}
	if err != nil {
		return Manifest{}, fmt.Errorf("localstore: verifying backup %s: %w", dir, err)
	}
	return m, nil
}

// verifyBackupFiles reads the manifest and checks every file of the store against it.
func verifyBackupFiles(ctx context.Context, dir string, progress progressFunc) (Manifest, error) {
	m, err := readManifest(dir)
	if err != nil {
		return Manifest{}, err
	}
	storeDir := filepath.Join(dir, BackupStoreDir)
	names, err := listStore(storeDir)
	if errors.Is(err, os.ErrNotExist) {
		return Manifest{}, damaged(storeDir, "missing: the backup has no store")
	}
	if err != nil {
		return Manifest{}, err
	}
	present := map[string]bool{}
	for _, name := range names {
		present[name] = true
	}
	for _, f := range m.Files {
		if !present[f.Name] {
			return Manifest{}, damaged(filepath.Join(storeDir, f.Name), "missing (the manifest lists it, %d bytes)", f.Size)
		}
	}
	total := m.Bytes()
	var done, lastReport int64
	progress.report("check", 0, total, "bytes")
	for _, name := range names {
		path := filepath.Join(storeDir, name)
		size, sum, err := hashFile(ctx, path, func(n int64) {
			done += n
			if done-lastReport >= progressEveryBytes {
				lastReport = done
				progress.report("check", done, total, "bytes")
			}
		})
		if err != nil {
			return Manifest{}, fmt.Errorf("reading %s: %w", path, err)
		}
		if err := m.checkFile(path, name, size, sum); err != nil {
			return Manifest{}, err
		}
	}
	progress.report("check", done, total, "bytes")
	return m, nil
}

// checkFile checks one file of a store against its manifest entry.
func (m *Manifest) checkFile(path, name string, size int64, sum string) error {
	for _, f := range m.Files {
		if f.Name != name {
			continue
		}
		if f.Size != size {
			return damaged(path, "is %d bytes but the manifest says %d: the file was truncated or changed", size, f.Size)
		}
		if f.SHA256 != sum {
			return damaged(path, "SHA-256 is %s but the manifest says %s: the file is damaged", sum, f.SHA256)
		}
		return nil
	}
	return damaged(path, "not listed in the manifest: the store was changed after the backup")
}

// verifyBackupContent reads every key of the store in scanDir (the backup's store, or a
// byte-identical copy of it) and compares what it finds with the manifest of the backup
// in backupDir. Errors name the backup's files.
func verifyBackupContent(ctx context.Context, m *Manifest, backupDir, scanDir string, progress progressFunc) error {
	storeDir := filepath.Join(backupDir, BackupStoreDir)
	content, err := scanStore(ctx, scanDir, m.Counts.Keys, progress)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		return damaged(storeDir, "unreadable: %v", err)
	}
	return m.compareContent(filepath.Join(backupDir, BackupManifestName), storeDir, content)
}

// Restore copies the backup in backupDir into destDir, which must not exist or be an
// empty directory: a restore never overwrites data. The backup is verified first (the
// manifest and every file's checksum); the files are copied into a new owner-only
// directory next to destDir, checked again as they are copied, read back key by key
// (head revision, counts and content checksum must match the manifest) and opened once
// as a datastore, and only then renamed to destDir. On any error nothing is left behind
// and destDir is unchanged. It returns the backup's manifest.
func Restore(ctx context.Context, backupDir, destDir string, opts VerifyOptions) (Manifest, error) {
	m, err := restore(ctx, backupDir, destDir, progressFunc(opts.Progress))
	if err != nil {
		return Manifest{}, fmt.Errorf("localstore: restoring %s into %s: %w", backupDir, destDir, err)
	}
	return m, nil
}

func restore(ctx context.Context, backupDir, destDir string, progress progressFunc) (Manifest, error) {
	if within(destDir, backupDir) || within(backupDir, destDir) {
		return Manifest{}, errors.New("the data directory must be outside the backup: choose another directory")
	}
	if _, err := emptyOrAbsent(destDir, "restore into a new or empty directory; a restore never overwrites data (move the existing directory aside first)"); err != nil {
		return Manifest{}, err
	}
	m, err := verifyBackupFiles(ctx, backupDir, progress)
	if err != nil {
		return Manifest{}, err
	}

	abs, err := filepath.Abs(destDir)
	if err != nil {
		return Manifest{}, err
	}
	parent := filepath.Dir(abs)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return Manifest{}, fmt.Errorf("creating %s: %w", parent, err)
	}
	staging, err := os.MkdirTemp(parent, "."+filepath.Base(abs)+".restore-")
	if err != nil {
		return Manifest{}, fmt.Errorf("creating a directory next to %s: %w", destDir, err)
	}
	defer func() { _ = os.RemoveAll(staging) }()

	store := filepath.Join(staging, "store")
	files, err := copyStore(ctx, filepath.Join(backupDir, BackupStoreDir), store, &m, progress)
	if err != nil {
		return Manifest{}, err
	}
	if len(files) != len(m.Files) {
		return Manifest{}, damaged(filepath.Join(backupDir, BackupStoreDir), "holds %d files but the manifest lists %d: the backup changed while it was restored", len(files), len(m.Files))
	}
	if err := verifyBackupContent(ctx, &m, backupDir, store, progress); err != nil {
		return Manifest{}, err
	}
	// The same start-up as a server's: the restored store must open as a datastore.
	ds, err := Open(ctx, store, Options{GCInterval: -1})
	if err != nil {
		return Manifest{}, fmt.Errorf("the restored store does not open: %w", err)
	}
	if err := ds.Close(); err != nil {
		return Manifest{}, fmt.Errorf("the restored store does not close: %w", err)
	}
	if err := ownerOnly(store); err != nil {
		return Manifest{}, err
	}

	// rename(2) replaces an empty directory and refuses a non-empty one, so a directory
	// that filled up meanwhile is never overwritten.
	if err := syscall.Rename(store, abs); err != nil {
		return Manifest{}, renameError(destDir, err)
	}
	if err := syncDir(parent); err != nil {
		return Manifest{}, fmt.Errorf("syncing %s: %w", parent, err)
	}
	return m, nil
}

func renameError(destDir string, err error) error {
	switch {
	case errors.Is(err, syscall.ENOTEMPTY), errors.Is(err, syscall.EEXIST):
		return fmt.Errorf("%s: %w (something was written to it during the restore); restore into a new or empty directory", destDir, ErrNotEmpty)
	case errors.Is(err, syscall.EBUSY), errors.Is(err, syscall.EXDEV):
		return fmt.Errorf("moving the restored store to %s: %w; %s is a mount point: restore into a new directory below it (for example %s) and use that as the data directory",
			destDir, err, destDir, filepath.Join(destDir, "data"))
	}
	return fmt.Errorf("moving the restored store to %s: %w", destDir, err)
}

// ownerOnly makes a store directory and its files readable by their owner only.
func ownerOnly(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.Chmod(filepath.Join(dir, e.Name()), 0o600); err != nil {
			return fmt.Errorf("making %s owner-only: %w", filepath.Join(dir, e.Name()), err)
		}
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("making %s owner-only: %w", dir, err)
	}
	return nil
}
