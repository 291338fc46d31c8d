package localstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkBackup loads benchRels relationships (BenchmarkBackup100k: 100k), then times
// Backup (and inside it the checkpoint, the only step writers wait for), VerifyBackup and
// Restore, each reported per operation:
//
//	go test -run X -bench Backup -benchtime 3x ./pkg/localstore/
func BenchmarkBackup(b *testing.B) { benchmarkBackup(b, benchRels) }

// BenchmarkBackup100k is BenchmarkBackup at 100k relationships.
func BenchmarkBackup100k(b *testing.B) { benchmarkBackup(b, 100_000) }

func benchmarkBackup(b *testing.B, rels int) {
	ctx := context.Background()
	base := b.TempDir()
	ds := openTest(b, filepath.Join(base, "data"), Options{GCInterval: -1})
	defer ds.Close()
	const batch = 100_000
	for i := 0; i < rels; i += batch {
		bulkLoad(b, ds, genRels(i, min(batch, rels-i), benchPerDoc, benchUsers))
	}

	var backupTime, pauseTime, verifyTime, restoreTime time.Duration
	var bytes int64
	n := 0
	for b.Loop() {
		dir := filepath.Join(base, fmt.Sprintf("backup-%d", n))
		start := time.Now()
		m, err := ds.Backup(ctx, dir, BackupOptions{})
		if err != nil {
			b.Fatal(err)
		}
		backupTime += time.Since(start)
		bytes = m.Bytes()

		// The writers' pause alone: the checkpoint under the write lock.
		cp := filepath.Join(base, fmt.Sprintf("checkpoint-%d", n))
		start = time.Now()
		if _, err := ds.checkpoint(cp); err != nil {
			b.Fatal(err)
		}
		pauseTime += time.Since(start)

		start = time.Now()
		if _, err := VerifyBackup(ctx, dir, VerifyOptions{}); err != nil {
			b.Fatal(err)
		}
		verifyTime += time.Since(start)

		dest := filepath.Join(base, fmt.Sprintf("restored-%d", n))
		start = time.Now()
		if _, err := Restore(ctx, dir, dest, VerifyOptions{}); err != nil {
			b.Fatal(err)
		}
		restoreTime += time.Since(start)
		for _, d := range []string{dir, cp, dest} {
			if err := os.RemoveAll(d); err != nil {
				b.Fatal(err)
			}
		}
		n++
	}
	per := func(d time.Duration) float64 { return d.Seconds() / float64(n) }
	b.ReportMetric(per(backupTime), "backup-s/op")
	b.ReportMetric(per(pauseTime)*1000, "writer-pause-ms/op")
	b.ReportMetric(per(verifyTime), "verify-s/op")
	b.ReportMetric(per(restoreTime), "restore-s/op")
	b.ReportMetric(float64(bytes)/(1<<20), "backup-MiB")
}
