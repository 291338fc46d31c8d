package refmodel_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/refmodel"
)

var (
	flagWorlds   = flag.Int("refmodel.worlds", 0, "number of random worlds for TestDifferential (0: the default size; fewer with -short)")
	flagStart    = flag.Uint64("refmodel.start", 1, "first seed of TestDifferential; worlds use seeds start, start+1, ...")
	flagSeed     = flag.Uint64("refmodel.seed", 0, "run TestDifferential on this one seed only (to reproduce a failure)")
	flagOps      = flag.Int("refmodel.ops", 0, "random operations per world after the skeleton (0: refmodel's default, 60)")
	flagParallel = flag.Int("refmodel.parallel", 4, "worlds (and escalation matrix rows) run at the same time")
	flagLookups  = flag.Int("refmodel.lookups", 4, "LookupResources and LookupSubjects calls compared per world, each (and half as many users whose case listings are compared)")
	flagShrink   = flag.Bool("refmodel.shrink", true, "on a mismatch, look for a shorter sequence of operations that still shows it")
	flagTrace    = flag.Bool("refmodel.trace", false, "log every world's operations")
)

// defaultWorlds is sized so that `go test ./pkg/refmodel/` takes about a minute on a
// 2-core machine (see docs/reliability.md for the figures of the latest run).
const (
	defaultWorlds = 24
	shortWorlds   = 12
)

type worldResult struct {
	seed  uint64
	ops   []refmodel.Op
	stats worldStats
	mm    *mismatch
	err   error
}

// TestDifferential generates random worlds, applies each world's operations to the product
// (the domain API over SpiceDB) and to the reference model as the same actors, and compares
// every operation's outcome, every (user, public permission, object) answer at
// checkpoints, and a sample of lookups with the checks.
func TestDifferential(t *testing.T) {
	worlds := *flagWorlds
	if worlds == 0 {
		worlds = defaultWorlds
		if testing.Short() {
			worlds = shortWorlds
		}
	}
	seeds := make([]uint64, 0, worlds)
	if *flagSeed != 0 {
		seeds = append(seeds, *flagSeed)
	} else {
		for i := range worlds {
			seeds = append(seeds, *flagStart+uint64(i))
		}
	}
	cfg := refmodel.GenConfig{Ops: *flagOps}
	ctx := context.Background()
	start := time.Now()

	jobs := make(chan uint64)
	results := make(chan worldResult)
	var wg sync.WaitGroup
	for range max(1, *flagParallel) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seed := range jobs {
				ops := refmodel.Generate(seed, cfg)
				st, mm, err := runWorld(ctx, ops, seed, *flagLookups)
				if errors.Is(err, errStopWorld) {
					err = nil
				}
				results <- worldResult{seed: seed, ops: ops, stats: st, mm: mm, err: err}
			}
		}()
	}
	go func() {
		for _, s := range seeds {
			jobs <- s
		}
		close(jobs)
		wg.Wait()
		close(results)
	}()

	var total worldStats
	var failed []worldResult
	n := 0
	for res := range results {
		n++
		total.add(res.stats)
		if *flagTrace {
			t.Logf("seed %d: %d ops\n%s", res.seed, len(res.ops), describe(res.ops))
		}
		switch {
		case res.err != nil:
			t.Errorf("seed %d: %v", res.seed, res.err)
		case res.mm != nil:
			failed = append(failed, res)
		}
	}
	elapsed := time.Since(start)
	mismatches := len(failed)
	t.Logf("differential: %d worlds (seeds %d..%d), %d operations (%d accepted by both, %d refused by both, %d of them as permission denied), %d checkpoints, %d (user, permission, object) pairs compared, %d lookups compared with the checks, %d listings compared with the model, %d expiry epochs waited out, %d known discrepancies excused, %d mismatched worlds, in %s",
		n, seeds[0], seeds[len(seeds)-1], total.ops, total.succeeded, total.refused, total.denied,
		total.checkpoints, total.pairs, total.lookups, total.listings, total.expiries, total.known, mismatches, elapsed.Round(time.Millisecond))

	for i, f := range failed {
		ops := f.ops
		if *flagShrink && i == 0 {
			ops = shrink(t, ctx, f.seed, ops, f.mm.sig)
		}
		_, mm, _ := runWorld(ctx, ops, f.seed, *flagLookups)
		if mm == nil {
			mm = f.mm
			ops = f.ops
		}
		t.Errorf("seed %d: the product and the model disagree (reproduce: go test ./pkg/refmodel/ -run 'TestDifferential$' -refmodel.seed=%d)\n%s\noperations (%d of %d generated):\n%s",
			f.seed, f.seed, mm.detail, len(ops), len(f.ops), describe(ops))
	}
}

// describe lists operations one per line, numbered.
func describe(ops []refmodel.Op) string {
	var b strings.Builder
	for i, op := range ops {
		fmt.Fprintf(&b, "  %3d  %s\n", i, op)
	}
	return b.String()
}

// shrink looks for a shorter sequence of operations showing the same mismatch: first
// without the grants that expire (each costs a wait), then removing ever smaller chunks of
// operations while the mismatch's signature stays the same. It gives up after a time budget
// and returns the shortest sequence found.
func shrink(t *testing.T, ctx context.Context, seed uint64, ops []refmodel.Op, sig string) []refmodel.Op {
	deadline := time.Now().Add(90 * time.Second)
	still := func(candidate []refmodel.Op) bool {
		_, mm, err := runWorld(ctx, candidate, seed, *flagLookups)
		return err == nil && mm != nil && mm.sig == sig
	}
	var timeless []refmodel.Op
	for _, op := range ops {
		if !op.Soon && op.Kind != refmodel.OpTick {
			timeless = append(timeless, op)
		}
	}
	if len(timeless) < len(ops) && still(timeless) {
		ops = timeless
	}
	for chunk := len(ops) / 2; chunk >= 1 && time.Now().Before(deadline); chunk /= 2 {
		for i := 0; i+chunk <= len(ops) && time.Now().Before(deadline); {
			candidate := append(append([]refmodel.Op{}, ops[:i]...), ops[i+chunk:]...)
			if still(candidate) {
				ops = candidate
				continue
			}
			i += chunk
		}
	}
	t.Logf("seed %d: shrunk to %d operations", seed, len(ops))
	return ops
}
