package localstore

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2/vfs"
	"go.uber.org/zap"
)

// Every directory and file the store creates is readable by its owner only: the
// data directory holds every relationship of every customer.
const (
	ownerDirMode  os.FileMode = 0o700
	ownerFileMode os.FileMode = 0o600
)

// ownerOnlyFS is Pebble's file system with owner-only modes on everything Pebble
// creates (Pebble itself asks for 0666 and 0755, less the umask).
type ownerOnlyFS struct{ vfs.FS }

func (o ownerOnlyFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := o.FS.Create(name, category)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(name, ownerFileMode); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

func (o ownerOnlyFS) OpenReadWrite(name string, category vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := o.FS.OpenReadWrite(name, category, opts...)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(name, ownerFileMode); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

func (o ownerOnlyFS) MkdirAll(dir string, _ os.FileMode) error {
	return o.FS.MkdirAll(dir, ownerDirMode)
}

func (o ownerOnlyFS) Lock(name string) (io.Closer, error) {
	c, err := o.FS.Lock(name)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(name, ownerFileMode); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

func (o ownerOnlyFS) Unwrap() vfs.FS { return o.FS }

// prepareDir creates dir (owner-only) if needed and checks that it is a directory.
// An existing directory (or file in it) that group or others may access is
// tightened to owner-only, with a warning: the data must not be readable by other
// local users, whoever created the directory.
func prepareDir(dir string, log *zap.Logger) error {
	if err := os.MkdirAll(dir, ownerDirMode); err != nil {
		return fmt.Errorf("localstore: creating data directory %s: %w", dir, describeOSError(err))
	}
	info, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("localstore: opening data directory %s: %w", dir, describeOSError(err))
	}
	if !info.IsDir() {
		return fmt.Errorf("localstore: opening data directory %s: it is not a directory: pass a directory (it may be new)", dir)
	}
	if info.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, ownerDirMode); err != nil {
			return fmt.Errorf("localstore: restricting data directory %s to its owner (mode %s): %w", dir, info.Mode().Perm(), describeOSError(err))
		}
		log.Warn("data directory was accessible to other users; restricted it to its owner",
			zap.String("dir", dir), zap.String("was", info.Mode().Perm().String()), zap.String("now", ownerDirMode.String()))
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("localstore: listing data directory %s: %w", dir, describeOSError(err))
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o077 == 0 {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if err := os.Chmod(path, ownerFileMode); err != nil {
			return fmt.Errorf("localstore: restricting %s to its owner (mode %s): %w", path, fi.Mode().Perm(), describeOSError(err))
		}
		log.Warn("data file was readable by other users; restricted it to its owner",
			zap.String("file", path), zap.String("was", fi.Mode().Perm().String()))
	}
	return nil
}
