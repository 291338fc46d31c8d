package query_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
	"github.com/accessgraph/accessgraph/pkg/engine"
)

// BenchmarkListingMemory lists the 300,000 users of one account (LISTING_SUBJECTS changes the
// count) with `lookup subjects` (piped and as JSON) and `relationship read`, against a server
// in a child process, and reports this process's peak heap growth while the command runs and
// the bytes it allocated: the command's own memory. A figure, not a test.
//
//	go test -run '^$' -bench ListingMemory -benchtime 1x ./pkg/cli/query/
func BenchmarkListingMemory(b *testing.B) {
	n := 300_000
	if v, err := strconv.Atoi(os.Getenv("LISTING_SUBJECTS")); err == nil && v > 0 {
		n = v
	}
	child := exec.Command(os.Args[0], "-test.run=^TestListingMemoryServer$")
	child.Env = append(os.Environ(), "LISTING_SERVER="+strconv.Itoa(n))
	child.Stderr = os.Stderr
	stdin, _ := child.StdinPipe()
	stdout, _ := child.StdoutPipe()
	if err := child.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = stdin.Close(); _ = child.Wait() })
	var addr, key string
	if _, err := fmt.Fscan(stdout, &addr, &key); err != nil {
		b.Fatalf("reading the server's address: %v", err)
	}
	env := clitest.Offline(b)
	env.Env["ACCESSCTL_CONFIG_DIR"] = b.TempDir()
	env.Env["ACCESSCTL_ENDPOINT"], env.Env["ACCESSCTL_TOKEN"], env.Env["ACCESSCTL_INSECURE"] = addr, key, "true"

	command := func(args ...string) func() error {
		return func() error {
			out := &countingWriter{}
			r := env.RunWith(clitest.Options{Stdout: out}, args...)
			if r.Code != 0 {
				return fmt.Errorf("accessctl %v: code %d, stderr %q", args, r.Code, r.Stderr)
			}
			if out.lines < n {
				return fmt.Errorf("accessctl %v printed %d lines, want at least %d", args, out.lines, n)
			}
			return nil
		}
	}
	for _, c := range []struct {
		name string
		run  func() error
	}{
		{"lookup-subjects", command("lookup", "subjects", "account:big", "manage_members", "user")},
		{"lookup-subjects-json", command("lookup", "subjects", "account:big", "manage_members", "user", "-o", "json")},
		{"relationship-read", command("relationship", "read", "account:big#admin")},
	} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				peak, alloc, err := measureHeap(c.run)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
				b.ReportMetric(float64(alloc)/(1<<20), "alloc-MB")
			}
		})
	}
}

// TestListingMemoryServer is BenchmarkListingMemory's server, run in a child process: it
// serves LISTING_SERVER users of account:big, prints its address and key, and stops when its
// standard input closes. Without LISTING_SERVER it does nothing.
func TestListingMemoryServer(t *testing.T) {
	n, err := strconv.Atoi(os.Getenv("LISTING_SERVER"))
	if err != nil {
		t.Skip("the server of BenchmarkListingMemory")
	}
	ctx := context.Background()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{ListenAddress: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	stream, err := e.Permissions().ImportBulkRelationships(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for start := 0; start < n; start += 1000 {
		var rels []*v1.Relationship
		for i := start; i < min(n, start+1000); i++ {
			rels = append(rels, &v1.Relationship{
				Resource: &v1.ObjectReference{ObjectType: "account", ObjectId: "big"}, Relation: "admin",
				Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: fmt.Sprintf("user-%07d", i)}},
			})
		}
		if err := stream.Send(&v1.ImportBulkRelationshipsRequest{Relationships: rels}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := stream.CloseAndRecv(); err != nil {
		t.Fatal(err)
	}
	fmt.Println(addr, e.PresharedKey())
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// measureHeap runs f and returns how far the heap rose above its level before f (sampled
// every millisecond) and the bytes the process allocated meanwhile. The collector runs at
// GOGC=5 meanwhile, so the heap follows what is live rather than the collector's pacing.
func measureHeap(f func() error) (peak, alloc uint64, err error) {
	defer debug.SetGCPercent(debug.SetGCPercent(5))
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(sample)
	base, allocBase := sample[0].Value.Uint64(), sample[1].Value.Uint64()
	var mu sync.Mutex
	top := base
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			metrics.Read(s)
			mu.Lock()
			top = max(top, s[0].Value.Uint64())
			mu.Unlock()
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	err = f()
	close(done)
	wg.Wait()
	metrics.Read(sample)
	return top - base, sample[1].Value.Uint64() - allocBase, err
}

// countingWriter counts lines and keeps nothing.
type countingWriter struct{ lines int }

func (w *countingWriter) Write(p []byte) (int, error) {
	for _, c := range p {
		if c == '\n' {
			w.lines++
		}
	}
	return len(p), nil
}
