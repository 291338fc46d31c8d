package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// ProfilePhase is one profiled phase: what ran, and where its profiles are.
type ProfilePhase struct {
	Name    string  `json:"name"` // check_first (mixed kinds, uncached) or lookup_first (the three listings, uncached)
	Clients int     `json:"clients"`
	Seconds float64 `json:"seconds"`
	Ops     int     `json:"ops"` // checks, or listings
	// CPUFile is a CPU profile of the phase; AllocsFile the allocation profile at its end
	// and AllocsBaseFile at its start (go tool pprof -diff_base AllocsBaseFile AllocsFile).
	CPUFile        string `json:"cpu_file"`
	AllocsFile     string `json:"allocs_file"`
	AllocsBaseFile string `json:"allocs_base_file"`
	// ProcessCPUms is the process's user and system CPU time per operation (ms).
	ProcessCPUms float64 `json:"process_cpu_ms_per_op"`
	// GCShare is the share of the Go runtime's CPU time (user code and GC) spent in GC.
	GCShare           float64 `json:"gc_share"`
	AllocBytesPerOp   float64 `json:"alloc_bytes_per_op"`
	AllocObjectsPerOp float64 `json:"alloc_objects_per_op"`
}

// profile runs the uncached check and listing paths for ProfileDuration each, with CPU and
// allocation profiles, and records what they cost per operation.
func (b *runner) profile(ctx context.Context) error {
	if err := os.MkdirAll(b.o.ProfileDir, 0o755); err != nil {
		return fmt.Errorf("creating the profile directory: %w", err)
	}
	d := b.o.ProfileDuration
	if d <= 0 {
		d = 10 * time.Second
	}
	clients := slices.Max(b.o.Clients)
	probes := b.g.ProbeSet("mixed", probeSetSize)
	// Checks: every probe once per revision, shared among the clients, a new revision each
	// round so that nothing is answered from SpiceDB's cache.
	err := b.profilePhase(ctx, "check_first", clients, d, func(ctx context.Context) (int, error) {
		if err := b.newRevision(ctx); err != nil {
			return 0, err
		}
		tok := access.Token(b.token.GetToken())
		var next atomic.Int64
		var wrong atomic.Int64
		var firstErr error
		var once sync.Once
		var wg sync.WaitGroup
		for w := 0; w < clients; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int(next.Add(1) - 1); i < len(probes); i = int(next.Add(1) - 1) {
					p := probes[i]
					dec, err := b.c.Check(ctx, subjectOf(p), p.Permission, objectOf(p.Resource), access.AtLeast(tok))
					if err != nil {
						once.Do(func() { firstErr = err })
						return
					}
					if dec.Allowed != p.Allowed {
						wrong.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		if firstErr == nil && wrong.Load() > 0 {
			firstErr = fmt.Errorf("%d wrong answers while profiling", wrong.Load())
		}
		return len(probes), firstErr
	})
	if err != nil {
		return err
	}
	h := b.hot
	return b.profilePhase(ctx, "lookup_first", 1, d, func(ctx context.Context) (int, error) {
		if err := b.newRevision(ctx); err != nil {
			return 0, err
		}
		for _, l := range []struct {
			want int
			list func(func(ref.Object, error) bool)
		}{
			{b.exp.AdminCases, b.c.VisibleCases(ctx, access.As(h.Admin), h.Admin, access.StatusAll)},
			{b.exp.DistrictOpenCases, b.c.GroupCases(ctx, access.As(h.SuperCustomer), h.SuperCustomer, access.StatusOpen)},
			{b.exp.PartnerMemberCases, b.c.VisibleCases(ctx, access.As(h.PartnerMember), h.PartnerMember, access.StatusAll)},
		} {
			n := 0
			for _, err := range l.list {
				if err != nil {
					return 0, err
				}
				n++
			}
			if n != l.want {
				return 0, fmt.Errorf("a listing while profiling gave %d cases, want %d", n, l.want)
			}
		}
		return 3, nil
	})
}

var profileMetrics = []string{"/cpu/classes/gc/total:cpu-seconds", "/cpu/classes/user:cpu-seconds", "/gc/heap/allocs:bytes", "/gc/heap/allocs:objects"}

func readProfileMetrics() []float64 {
	s := make([]metrics.Sample, len(profileMetrics))
	for i, n := range profileMetrics {
		s[i].Name = n
	}
	metrics.Read(s)
	out := make([]float64, len(s))
	for i := range s {
		switch s[i].Value.Kind() {
		case metrics.KindFloat64:
			out[i] = s[i].Value.Float64()
		case metrics.KindUint64:
			out[i] = float64(s[i].Value.Uint64())
		}
	}
	return out
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// profilePhase repeats round (which returns how many operations it did) for at least d
// under a CPU profile, with allocation profiles before and after.
func (b *runner) profilePhase(ctx context.Context, name string, clients int, d time.Duration, round func(context.Context) (int, error)) error {
	ph := ProfilePhase{Name: name, Clients: clients,
		CPUFile:        filepath.Join(b.o.ProfileDir, name+".cpu.pprof"),
		AllocsFile:     filepath.Join(b.o.ProfileDir, name+".allocs.pprof"),
		AllocsBaseFile: filepath.Join(b.o.ProfileDir, name+".allocs.base.pprof")}
	b.logf("profiling %s for %s", name, d)
	if err := writeHeapProfile(ph.AllocsBaseFile); err != nil {
		return err
	}
	cpu, err := os.Create(ph.CPUFile)
	if err != nil {
		return fmt.Errorf("creating the CPU profile: %w", err)
	}
	defer cpu.Close()
	before, cpu0 := readProfileMetrics(), processCPU()
	start := time.Now()
	if err := pprof.StartCPUProfile(cpu); err != nil {
		return fmt.Errorf("starting the CPU profile: %w", err)
	}
	for time.Since(start) < d && ctx.Err() == nil {
		n, err := round(ctx)
		ph.Ops += n
		if err != nil {
			pprof.StopCPUProfile()
			return fmt.Errorf("profiling %s: %w", name, err)
		}
	}
	pprof.StopCPUProfile()
	elapsed := time.Since(start)
	after, cpu1 := readProfileMetrics(), processCPU()
	if err := cpu.Close(); err != nil {
		return fmt.Errorf("writing the CPU profile: %w", err)
	}
	if err := writeHeapProfile(ph.AllocsFile); err != nil {
		return err
	}
	ph.Seconds = elapsed.Seconds()
	if ph.Ops > 0 {
		ops := float64(ph.Ops)
		gc, user := after[0]-before[0], after[1]-before[1]
		if gc+user > 0 {
			ph.GCShare = gc / (gc + user)
		}
		ph.ProcessCPUms = ms(cpu1-cpu0) / ops
		ph.AllocBytesPerOp = (after[2] - before[2]) / ops
		ph.AllocObjectsPerOp = (after[3] - before[3]) / ops
	}
	b.rep.Profiles = append(b.rep.Profiles, ph)
	b.logf("profiled %s: %d operations in %.1fs, %.3f ms CPU, %.0f bytes and %.0f objects allocated per operation, GC %.0f%% of Go CPU time",
		name, ph.Ops, ph.Seconds, ph.ProcessCPUms, ph.AllocBytesPerOp, ph.AllocObjectsPerOp, ph.GCShare*100)
	return nil
}

// startImportProfile starts a CPU profile of the import into dir (import.cpu.pprof); the
// function it returns stops and writes it. Without a dir it does nothing.
func startImportProfile(dir string) (stop func() error, err error) {
	if dir == "" {
		return func() error { return nil }, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the profile directory: %w", err)
	}
	f, err := os.Create(filepath.Join(dir, "import.cpu.pprof"))
	if err != nil {
		return nil, fmt.Errorf("creating the import's CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("starting the import's CPU profile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("writing the import's CPU profile: %w", err)
		}
		return nil
	}, nil
}

// writeHeapProfile writes the allocation profile. The runtime publishes allocations at the
// end of a garbage collection cycle, up to two cycles late: two forced cycles first make
// the profile current.
func writeHeapProfile(path string) error {
	runtime.GC()
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("creating the allocation profile: %w", err)
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("writing the allocation profile: %w", err)
	}
	return f.Close()
}
