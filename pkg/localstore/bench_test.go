package localstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/datastore/options"
	"github.com/authzed/spicedb/pkg/tuple"
	"github.com/cockroachdb/pebble/v2"
	"go.uber.org/zap"
)

const (
	benchRels   = 1_000_000
	benchPerDoc = 10
	benchUsers  = 100_000
)

// loadBenchStore bulk-loads benchRels relationships in batches of 100k and reports
// the load rate and the heap held per million relationships.
func loadBenchStore(b *testing.B, dir string) *Datastore {
	b.Helper()
	ds := openTest(b, dir, Options{GCInterval: -1})
	start := time.Now()
	const batch = 100_000
	for i := 0; i < benchRels; i += batch {
		bulkLoad(b, ds, genRels(i, batch, benchPerDoc, benchUsers))
	}
	elapsed := time.Since(start)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.Logf("loaded %d relationships in %s (%.0f rels/s); heap in use %.0f MiB",
		benchRels, elapsed.Round(time.Millisecond), float64(benchRels)/elapsed.Seconds(), float64(ms.HeapInuse)/(1<<20))
	return ds
}

func BenchmarkQueryByResourceID(b *testing.B) {
	ds := loadBenchStore(b, b.TempDir())
	defer ds.Close()
	ctx := context.Background()
	rev := head(b, ds)
	rng := rand.New(rand.NewPCG(1, 2))

	for b.Loop() {
		id := fmt.Sprintf("d%d", rng.IntN(benchRels/benchPerDoc))
		it, err := ds.SnapshotReader(rev).QueryRelationships(ctx, datastore.RelationshipsFilter{
			OptionalResourceType: "document", OptionalResourceIds: []string{id}, OptionalResourceRelation: "viewer",
		})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, err := range it {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != benchPerDoc {
			b.Fatalf("got %d results for %s", n, id)
		}
	}
}

func BenchmarkReverseQueryBySubject(b *testing.B) {
	ds := loadBenchStore(b, b.TempDir())
	defer ds.Close()
	ctx := context.Background()
	rev := head(b, ds)
	rng := rand.New(rand.NewPCG(3, 4))

	for b.Loop() {
		id := fmt.Sprintf("u%d", rng.IntN(benchUsers))
		it, err := ds.SnapshotReader(rev).ReverseQueryRelationships(ctx, datastore.SubjectsFilter{
			SubjectType: "user", OptionalSubjectIds: []string{id},
		}, options.WithResRelation(&options.ResourceRelation{Namespace: "document", Relation: "viewer"}))
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, err := range it {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n == 0 {
			b.Fatalf("no results for %s", id)
		}
	}
}

// BenchmarkBulkLoad measures BulkLoad throughput: one transaction of 100k
// relationships per iteration into a growing store.
func BenchmarkBulkLoad(b *testing.B) {
	ds := openTest(b, b.TempDir(), Options{GCInterval: -1})
	defer ds.Close()
	const batch = 100_000
	loaded := 0
	var elapsed time.Duration
	for b.Loop() {
		rels := genRels(loaded, batch, benchPerDoc, benchUsers)
		start := time.Now()
		bulkLoad(b, ds, rels)
		elapsed += time.Since(start)
		loaded += batch
	}
	b.ReportMetric(float64(loaded)/elapsed.Seconds(), "rels/s")
}

// BenchmarkOpen measures restart time (Open rebuilding all indexes) at 1M relationships.
func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	ds := loadBenchStore(b, dir)
	if err := ds.Close(); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		ds, err := Open(context.Background(), dir, Options{GCInterval: -1})
		if err != nil {
			b.Fatal(err)
		}
		if err := ds.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenWithChangelog measures restart time at 1M relationships (bulk-loaded
// in 10 transactions, whose changes are in the changelog as memdb records them) plus
// 10k small transactions, all inside the GC window, so Open reloads 10,010 changelog
// entries (1,010,000 relationship changes). It then reopens once with a window that
// excludes all of that history (entries dropped and deleted at Open).
func BenchmarkOpenWithChangelog(b *testing.B) {
	const smallTxs = 10_000
	dir := b.TempDir()
	ds := loadBenchStore(b, dir)
	start := time.Now()
	for i := range smallTxs {
		writeRels(b, ds, tuple.UpdateOperationTouch, fmt.Sprintf("document:small%d#viewer@user:u%d", i%1000, i))
	}
	b.Logf("%d single-relationship transactions in %s", smallTxs, time.Since(start).Round(time.Millisecond))
	if err := ds.Close(); err != nil {
		b.Fatal(err)
	}

	var entries int
	var opened time.Duration
	for b.Loop() {
		start := time.Now()
		ds, err := Open(context.Background(), dir, Options{GCInterval: -1})
		if err != nil {
			b.Fatal(err)
		}
		opened = time.Since(start)
		entries = len(storedChangelogRevisions(b, ds))
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.Logf("Open with %d changelog entries in the window: %s; heap in use %.0f MiB", entries, opened.Round(time.Millisecond), float64(ms.HeapInuse)/(1<<20))
		if err := ds.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(entries), "entries")

	time.Sleep(10 * time.Millisecond)
	start = time.Now()
	ds, err := Open(context.Background(), dir, Options{GCInterval: -1, GCWindow: 5 * time.Millisecond, RevisionQuantization: time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("Open with every entry outside the window (dropped and deleted): %s, stored entries after: %d",
		time.Since(start).Round(time.Millisecond), len(storedChangelogRevisions(b, ds)))
	if err := ds.Close(); err != nil {
		b.Fatal(err)
	}
	start = time.Now()
	ds, err = Open(context.Background(), dir, Options{GCInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.Logf("Open after the entries were deleted: %s; heap in use %.0f MiB", elapsed.Round(time.Millisecond), float64(ms.HeapInuse)/(1<<20))
	if err := ds.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkOpenVerification measures what start-up verification adds to Open: the
// read-only open that replays the write-ahead log a first time (the load itself
// reads, and so checksums, every table block either way) and the scans of the log
// and manifest. The store holds 100k relationships in tables and a log of 2,000
// unflushed transactions, as after a crash.
func BenchmarkOpenVerification(b *testing.B) {
	dir := b.TempDir()
	ds, err := Open(context.Background(), dir, Options{GCInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	bulkLoad(b, ds, genRels(0, 100_000, 10, 5_000))
	if err := ds.store.Flush(); err != nil {
		b.Fatal(err)
	}
	for i := range 2_000 {
		writeRels(b, ds, tuple.UpdateOperationTouch, fmt.Sprintf("document:wal%d#viewer@user:u%d", i%100, i))
	}
	crashed := b.TempDir()
	copyDir(b, dir, crashed)
	if err := ds.Close(); err != nil {
		b.Fatal(err)
	}
	files, err := storeFiles(crashed)
	if err != nil {
		b.Fatal(err)
	}

	var open, replay, scan time.Duration
	for b.Loop() {
		work := b.TempDir()
		copyDir(b, crashed, work)
		start := time.Now()
		if err := checkManifest(work, files); err != nil {
			b.Fatal(err)
		}
		if err := checkWALs(work); err != nil {
			b.Fatal(err)
		}
		scan = time.Since(start)
		start = time.Now()
		ro, err := pebble.Open(work, &pebble.Options{ReadOnly: true, Logger: pebbleLogger{zap.NewNop()}})
		if err != nil {
			b.Fatal(err)
		}
		if err := ro.Close(); err != nil {
			b.Fatal(err)
		}
		replay = time.Since(start)

		work = b.TempDir()
		copyDir(b, crashed, work)
		start = time.Now()
		ds, err := Open(context.Background(), work, Options{GCInterval: -1})
		if err != nil {
			b.Fatal(err)
		}
		open = time.Since(start)
		if err := ds.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(open.Milliseconds()), "ms/open")
	b.ReportMetric(float64(replay.Milliseconds()), "ms/read-only-replay")
	b.ReportMetric(float64(scan.Microseconds())/1000, "ms/log-and-manifest-scan")
}
