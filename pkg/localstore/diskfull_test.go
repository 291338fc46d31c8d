package localstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/tuple"
)

// mountTmpfs mounts a tmpfs of size bytes on a new directory, unmounted at cleanup.
// It skips the test unless it runs as root (CI does) and mount works.
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs (CI runs as root); the simulated disk-full tests still run")
	}
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d,mode=0700", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s)", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("unmounting %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fill writes path until the file system is full and returns how much it wrote.
func fill(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	require.NoError(t, err)
	defer f.Close()
	chunk := make([]byte, 64<<10)
	var n int64
	for {
		w, err := f.Write(chunk)
		n += int64(w)
		if err != nil {
			require.True(t, errors.Is(err, syscall.ENOSPC), "filling: %v", err)
			break
		}
	}
	// Single pages may remain: fill them too.
	for {
		if _, err := f.Write(chunk[:512]); err != nil {
			break
		}
		n += 512
	}
	return n
}

// TestRealFullFilesystem fills a real (tmpfs) file system under a serving store:
// writes fail with the documented DiskFullError and change nothing, reads go on,
// writes resume once space is freed without reopening, a restart on the full file
// system fails at once with the same error, and every acknowledged relationship is
// there after a restart with space. No panic anywhere.
func TestRealFullFilesystem(t *testing.T) {
	const reserve = 2 << 20
	mnt := mountTmpfs(t, 16<<20)
	dir := filepath.Join(mnt, "data")
	filler := filepath.Join(mnt, "filler")
	opts := Options{GCInterval: -1, RevisionQuantization: -1, MinFreeBytes: reserve}
	ctx := context.Background()

	ds := openTest(t, dir, opts)
	var acked []string
	for i := range 20 {
		writeRels(t, ds, tuple.UpdateOperationTouch, crashTxRels(i)...)
		acked = append(acked, crashTxRels(i)...)
	}
	wrote := fill(t, filler)
	free, err := freeBytes(dir)
	require.NoError(t, err)
	t.Logf("filled the file system with %d bytes; %d bytes free", wrote, free)

	before := head(t, ds)
	refused := 0
	for i := 100; i < 110; i++ {
		_, err := ds.ReadWriteTx(ctx, func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
			updates := []tuple.RelationshipUpdate{tuple.Delete(tuple.MustParse(acked[0]))}
			for _, r := range crashTxRels(i) {
				updates = append(updates, tuple.Touch(tuple.MustParse(r)))
			}
			return rwt.WriteRelationships(ctx, updates)
		})
		require.ErrorIs(t, err, ErrDiskFull)
		require.Equal(t, codes.ResourceExhausted, status.Code(err))
		require.Contains(t, err.Error(), dir)
		require.Contains(t, err.Error(), "free")
		refused++
	}
	require.True(t, head(t, ds).Equal(before), "no refused write was published")
	require.ElementsMatch(t, acked, allRels(t, ds, head(t, ds)), "reads go on; nothing half applied")
	_, err = ds.CollectGarbage(ctx)
	require.NoError(t, err, "garbage collection on a full disk writes nothing and fails nothing")
	t.Logf("refused %d writes on the full file system: %v", refused, err)

	// Free space: writes resume without a restart.
	require.NoError(t, os.Truncate(filler, max(wrote-(reserve+2<<20), 0)))
	for i := 200; i < 205; i++ {
		writeRels(t, ds, tuple.UpdateOperationTouch, crashTxRels(i)...)
		acked = append(acked, crashTxRels(i)...)
	}
	require.ElementsMatch(t, acked, allRels(t, ds, head(t, ds)))

	// Full again, then a restart: Open fails at once with the same error.
	fill(t, filler)
	require.NoError(t, ds.Close())
	type result struct {
		ds  *Datastore
		err error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		ds, err := Open(ctx, dir, opts)
		done <- result{ds, err}
	}()
	select {
	case r := <-done:
		require.ErrorIs(t, r.err, ErrDiskFull, "restart on a full file system")
		require.Contains(t, r.err.Error(), dir)
		t.Logf("restart on the full file system refused after %s: %v", since(start), r.err)
	case <-time.After(time.Minute):
		t.Fatal("Open on a full file system did not return")
	}

	require.NoError(t, os.Remove(filler))
	ds = openTest(t, dir, opts)
	defer ds.Close()
	require.ElementsMatch(t, acked, allRels(t, ds, head(t, ds)), "every acknowledged relationship after the restart")
	requireOwnerOnly(t, dir, "on tmpfs")
}
