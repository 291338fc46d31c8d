package localstore

import (
	"bufio"
	"flag"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/authzed/spicedb/pkg/tuple"

	"github.com/accessgraph/accessgraph/pkg/gen"
)

var (
	memScale   = flag.String("localstore.mem-scale", "small", "generated portal scale BenchmarkMemoryPerMillion imports (small, medium, large)")
	memProfile = flag.String("localstore.mem-profile", "", "write a heap profile after BenchmarkMemoryPerMillion's import to this file")
)

// BenchmarkMemoryPerMillion imports a generated portal (pkg/gen, -localstore.mem-scale,
// small by default) into a fresh store in transactions of 2,000 relationships, as
// SpiceDB's bulk import sends them, and reports the heap in use and the resident memory
// the store holds per million relationships: after the import (every change kept for
// the Watch window) and after a restart. Each relationship goes through its protobuf
// wire form first, so its strings are separate allocations as they are when they
// arrive over gRPC. With -localstore.mem-profile the heap after the import (and, with
// ".reopened" appended, after the restart) is written for
// `go tool pprof -sample_index=inuse_space`. At small scale (about 10,000
// relationships) the store's fixed costs, such as the storage engine's buffers,
// dominate the per-million figures: measure at medium.
func BenchmarkMemoryPerMillion(b *testing.B) {
	cfg, err := gen.Scale(*memScale)
	if err != nil {
		b.Fatal(err)
	}
	g, err := gen.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		dir := b.TempDir()
		heap0, rss0 := settledMemory()

		ds := openTest(b, dir, Options{GCInterval: -1})
		const batch = 2000
		rels := make([]tuple.Relationship, 0, batch)
		n := 0
		start := time.Now()
		for r := range g.Relationships() {
			wire, err := r.MarshalVT()
			if err != nil {
				b.Fatal(err)
			}
			var fresh v1.Relationship
			if err := fresh.UnmarshalVT(wire); err != nil {
				b.Fatal(err)
			}
			rels = append(rels, tuple.FromV1Relationship(&fresh))
			if len(rels) == batch {
				bulkLoad(b, ds, rels)
				n += len(rels)
				rels = make([]tuple.Relationship, 0, batch)
			}
		}
		if len(rels) > 0 {
			bulkLoad(b, ds, rels)
			n += len(rels)
		}
		rels = nil
		imported := time.Since(start)
		heap1, rss1 := settledMemory()
		if *memProfile != "" {
			writeHeapProfile(b, *memProfile)
		}
		perM := func(before, after uint64) float64 {
			return (float64(after) - float64(before)) / (1 << 20) / (float64(n) / 1e6)
		}
		b.Logf("%s scale: %d relationships imported in %s (%.0f/s)", cfg.Name, n, imported.Round(time.Millisecond), float64(n)/imported.Seconds())
		b.Logf("after import: heap in use %.0f MiB per million relationships, resident %.0f MiB per million",
			perM(heap0, heap1), perM(rss0, rss1))
		b.ReportMetric(perM(heap0, heap1), "heap-MiB/M-imported")
		b.ReportMetric(perM(rss0, rss1), "rss-MiB/M-imported")

		if err := ds.Close(); err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		ds = openTest(b, dir, Options{GCInterval: -1})
		opened := time.Since(start)
		heap2, rss2 := settledMemory()
		if *memProfile != "" {
			writeHeapProfile(b, *memProfile+".reopened")
		}
		b.Logf("after restart (%s): heap in use %.0f MiB per million relationships, resident %.0f MiB per million",
			opened.Round(time.Millisecond), perM(heap0, heap2), perM(rss0, rss2))
		b.ReportMetric(perM(heap0, heap2), "heap-MiB/M-reopened")
		b.ReportMetric(perM(rss0, rss2), "rss-MiB/M-reopened")
		b.ReportMetric(float64(n)/imported.Seconds(), "rels/s")
		if err := ds.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// settledMemory collects garbage, returns freed memory to the system and reports the
// heap in use and the process's resident set (VmRSS), in bytes.
func settledMemory() (heap, rss uint64) {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse, residentBytes()
}

func residentBytes() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func writeHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}
