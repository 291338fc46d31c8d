package localstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// storeContent is what a scan of a store directory finds.
type storeContent struct {
	head     revision
	uniqueID string
	counts   BackupCounts
	sha256   string
}

// Progress reports how far a backup, restore or verification has got.
type Progress struct {
	// Stage is "checkpoint" (taking the snapshot), "copy" (copying files, in bytes) or
	// "verify" (reading every key back, in keys).
	Stage string `json:"stage"`
	Done  int64  `json:"done"`
	// Total is 0 when it is not known in advance.
	Total int64  `json:"total"`
	Unit  string `json:"unit"`
}

type progressFunc func(Progress)

func (f progressFunc) report(stage string, done, total int64, unit string) {
	if f != nil {
		f(Progress{Stage: stage, Done: done, Total: total, Unit: unit})
	}
}

const (
	progressEveryBytes = 8 << 20
	progressEveryKeys  = 100_000
	copyBufferSize     = 1 << 20
)

// lockFileName is Pebble's lock file: created by every open, never data.
const lockFileName = "LOCK"

// scanStore opens the store in dir read-only (nothing in dir is written, not even a lock
// file) and reads every key: the head revision, the datastore id, the counts and the
// content checksum. A store the storage engine cannot read is an error, never a panic.
func scanStore(ctx context.Context, dir string, expectKeys int64, progress progressFunc) (content storeContent, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("reading the store: the storage engine failed: %v", r)
		}
	}()
	db, err := pebble.Open(dir, &pebble.Options{
		FS:       readOnlyFS{vfs.Default},
		ReadOnly: true,
		Logger:   backupLogger{},
	})
	if err != nil {
		return storeContent{}, fmt.Errorf("opening the store: %w", err)
	}
	defer func() {
		if cerr := db.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing the store: %w", cerr)
		}
	}()
	iter, err := db.NewIterWithContext(ctx, nil)
	if err != nil {
		return storeContent{}, fmt.Errorf("reading the store: %w", err)
	}
	defer func() { _ = iter.Close() }()

	h := sha256.New()
	var lenBuf [binary.MaxVarintLen64]byte
	progress.report("verify", 0, expectKeys, "keys")
	for valid := iter.First(); valid; valid = iter.Next() {
		key, value := iter.Key(), iter.Value()
		h.Write(lenBuf[:binary.PutUvarint(lenBuf[:], uint64(len(key)))])
		h.Write(key)
		h.Write(lenBuf[:binary.PutUvarint(lenBuf[:], uint64(len(value)))])
		h.Write(value)
		content.counts.Keys++
		if len(key) > 0 {
			switch key[0] {
			case kindRelationship:
				content.counts.Relationships++
			case kindNamespace:
				content.counts.Namespaces++
			case kindCaveat:
				content.counts.Caveats++
			case kindCounter:
				content.counts.Counters++
			case kindSchema, kindSchemaRevision:
				content.counts.SchemaRows++
			case kindChangelog:
				content.counts.ChangelogEntries++
			case kindMeta:
				switch {
				case bytes.Equal(key, metaHeadKey):
					if len(value) != 8 {
						return storeContent{}, fmt.Errorf("reading the store: malformed head revision")
					}
					content.head = revision(int64(binary.BigEndian.Uint64(value)))
				case bytes.Equal(key, metaUniqueIDKey):
					content.uniqueID = string(value)
				}
			}
		}
		if content.counts.Keys%progressEveryKeys == 0 {
			if err := ctx.Err(); err != nil {
				return storeContent{}, err
			}
			progress.report("verify", content.counts.Keys, expectKeys, "keys")
		}
	}
	if err := iter.Error(); err != nil {
		return storeContent{}, fmt.Errorf("reading the store: %w", err)
	}
	progress.report("verify", content.counts.Keys, expectKeys, "keys")
	content.sha256 = hex.EncodeToString(h.Sum(nil))
	return content, nil
}

// readOnlyFS lets Pebble open a directory without writing to it: the lock is held in
// memory only (the directory may be on read-only media, and verification must not change
// what it verifies), and every write fails.
type readOnlyFS struct{ vfs.FS }

var errReadOnly = errors.New("read-only: a backup is never written while it is verified")

type nopCloser struct{}

func (nopCloser) Close() error { return nil }

func (readOnlyFS) Lock(string) (io.Closer, error) { return nopCloser{}, nil }
func (readOnlyFS) Create(string, vfs.DiskWriteCategory) (vfs.File, error) {
	return nil, errReadOnly
}
func (readOnlyFS) Link(string, string) error { return errReadOnly }
func (readOnlyFS) OpenReadWrite(string, vfs.DiskWriteCategory, ...vfs.OpenOption) (vfs.File, error) {
	return nil, errReadOnly
}
func (readOnlyFS) Remove(string) error                { return errReadOnly }
func (readOnlyFS) RemoveAll(string) error             { return errReadOnly }
func (readOnlyFS) Rename(string, string) error        { return errReadOnly }
func (readOnlyFS) MkdirAll(string, os.FileMode) error { return errReadOnly }
func (readOnlyFS) ReuseForWrite(string, string, vfs.DiskWriteCategory) (vfs.File, error) {
	return nil, errReadOnly
}

// backupLogger keeps Pebble quiet while it works on a copy; a fatal error panics, as
// Pebble requires, and the callers recover it into an error.
type backupLogger struct{}

func (backupLogger) Infof(string, ...any)  {}
func (backupLogger) Errorf(string, ...any) {}
func (backupLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

// listStore lists the regular files of a store directory by name, without Pebble's lock
// file. Anything that is not a regular file is reported.
func listStore(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.Name() == lockFileName {
			continue
		}
		if !e.Type().IsRegular() {
			return nil, damaged(filepath.Join(dir, e.Name()), "not a regular file; a store holds only files")
		}
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names, nil
}

// hashFile returns a file's size and SHA-256.
func hashFile(ctx context.Context, path string, progress func(int64)) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := copyWithProgress(ctx, h, f, progress)
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// copyFile copies src to a new file dst (owner-only), synced, and returns its size and the
// SHA-256 of the bytes copied.
func copyFile(ctx context.Context, src, dst string, progress func(int64)) (size int64, sum string, err error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, "", err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, "", err
	}
	defer func() {
		if cerr := out.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	h := sha256.New()
	n, err := copyWithProgress(ctx, io.MultiWriter(out, h), in, progress)
	if err != nil {
		return 0, "", err
	}
	if err := out.Sync(); err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

func copyWithProgress(ctx context.Context, dst io.Writer, src io.Reader, progress func(int64)) (int64, error) {
	buf := make([]byte, copyBufferSize)
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, rerr := src.Read(buf)
		if n > 0 {
			if _, err := dst.Write(buf[:n]); err != nil {
				return total, err
			}
			total += int64(n)
			if progress != nil {
				progress(int64(n))
			}
		}
		if rerr == io.EOF {
			return total, nil
		}
		if rerr != nil {
			return total, rerr
		}
	}
}

// emptyOrAbsent reports whether dir does not exist, and fails unless it is absent or an
// empty directory.
func emptyOrAbsent(dir, fix string) (absent bool, err error) {
	st, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if !st.IsDir() {
		return false, fmt.Errorf("%s: %w (it is a file, not a directory); %s", dir, ErrNotEmpty, fix)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	if len(entries) > 0 {
		return false, fmt.Errorf("%s: %w (it holds %s); %s", dir, ErrNotEmpty, describeEntries(entries), fix)
	}
	return false, nil
}

func describeEntries(entries []os.DirEntry) string {
	first := entries[0].Name()
	if len(entries) == 1 {
		return first
	}
	return fmt.Sprintf("%s and %d more", first, len(entries)-1)
}

// within reports whether path is dir or lies inside it.
func within(path, dir string) bool {
	p, err1 := filepath.Abs(path)
	d, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(d, p)
	return err == nil && (rel == "." || (rel != ".." && !startsWithParent(rel)))
}

func startsWithParent(rel string) bool {
	return len(rel) >= 3 && rel[:3] == ".."+string(filepath.Separator)
}
