package localstore

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// defaultMinFreeBytes is the free space the store keeps in reserve by default. Pebble
// treats a failed write-ahead log write as fatal, and its flushes and compactions need
// room for new tables before old ones are deleted (a flush writes up to one memtable,
// 4 MiB by default; compactions of a small store are a few times that), so writes are
// refused well before the file system is full.
const defaultMinFreeBytes = 64 << 20

// freeBytes returns the space available to this (unprivileged) process on the file
// system holding dir.
func freeBytes(dir string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("localstore: checking free space in %s: %w", dir, err)
	}
	return st.Bavail * uint64(st.Bsize), nil //nolint:gosec // block size is positive
}

// checkFreeSpace refuses (with a DiskFullError) an operation that would leave less
// than the reserve free.
func (ds *Datastore) checkFreeSpace(doing string, size int) error {
	return checkFreeSpace(ds.dir, ds.minFreeBytes, doing, size, ds.freeSpace)
}

func checkFreeSpace(dir string, reserve uint64, doing string, size int, free func(string) (uint64, error)) error {
	if reserve == 0 {
		return nil
	}
	avail, err := free(dir)
	if err != nil {
		return err
	}
	need := reserve + uint64(max(size, 0))
	if avail < need {
		return &DiskFullError{Dir: dir, Free: avail, Need: need, Doing: doing}
	}
	return nil
}
