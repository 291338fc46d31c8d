package bench

import (
	"context"
	"testing"
)

// TestPairedOpsShareFirstAsksOfEveryProbe: ops measured together ask about the same
// probe in one iteration, and the first ask of a probe can miss the cache where the
// second hits. The probe sets alternate kinds of answer (allowed, denied; even and odd
// probes), so each op must be first for about half of the even probes and half of the
// odd ones, or its latencies would carry the other kind's misses (an op that always went
// first on even probes measured as 30-240 % slower or faster than its partner).
func TestPairedOpsShareFirstAsksOfEveryProbe(t *testing.T) {
	for _, clients := range []int{1, 8} {
		b := &runner{rep: &Report{}, o: Options{MinOps: 4000}}
		first := map[int]string{}
		firsts := map[string][2]int{} // op -> first asks on even, odd probes
		asked := func(op string) opFunc {
			return func(_ context.Context, i int) (bool, error) {
				if _, ok := first[i]; !ok {
					first[i] = op
					f := firsts[op]
					f[i%2]++
					firsts[op] = f
				}
				return true, nil
			}
		}
		if clients > 1 {
			// Clients ask concurrently: keep the maps to one goroutine at a time.
			ops := []opFunc{asked("domain"), asked("raw")}
			done := make(chan struct{}, 1)
			done <- struct{}{}
			for k, op := range ops {
				ops[k] = func(ctx context.Context, i int) (bool, error) {
					<-done
					defer func() { done <- struct{}{} }()
					return op(ctx, i)
				}
			}
			b.pair(context.Background(), "check", "check_raw", "synthetic", clients, ops[0], ops[1])
		} else {
			b.pair(context.Background(), "check", "check_raw", "synthetic", clients, asked("domain"), asked("raw"))
		}
		for _, parity := range []int{0, 1} {
			d, r := firsts["domain"][parity], firsts["raw"][parity]
			share := float64(d) / float64(d+r)
			if d+r < 1000 || share < 0.4 || share > 0.6 {
				t.Errorf("%d clients, probes with parity %d: the domain op asked first %d times, the raw op %d times", clients, parity, d, r)
			}
		}
	}
}
