package engine

import (
	"fmt"
	"math/rand/v2"
	"net"
	"testing"
	"time"
)

// TestAuthFailureLogBounds feeds the rate limiter many generated floods (hosts, timing and
// count varying) on a fake clock: no host gets two lines within an interval, no interval
// gets more than the burst, and every failure is either reported or counted in a later
// report or still pending: none is lost.
func TestAuthFailureLogBounds(t *testing.T) {
	t.Parallel()
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 17))
		hosts := 1 + rng.IntN(40)
		maxHosts := 1 + rng.IntN(16)
		now := time.Unix(1_700_000_000, 0)
		var lines []AuthFailure
		var at []time.Time
		l := newAuthFailureLog(func(f AuthFailure) { lines = append(lines, f); at = append(at, now) })
		l.now = func() time.Time { return now }
		l.maxHosts = maxHosts
		failures := 1 + rng.IntN(3000)
		for range failures {
			now = now.Add(time.Duration(rng.IntN(200)) * time.Millisecond)
			l.failed(fmt.Sprintf("192.0.2.%d:%d", rng.IntN(hosts), 1024+rng.IntN(60000)), "/m", "wrong key")
		}
		reported := 0
		lastByHost := map[string]time.Time{}
		for i, f := range lines {
			reported += 1 + f.Suppressed + f.OtherSuppressed
			host, _, _ := net.SplitHostPort(f.Peer)
			if prev, ok := lastByHost[host]; ok && at[i].Sub(prev) < l.interval {
				t.Fatalf("seed %d: host %s reported at %v and again %v later", seed, host, prev, at[i].Sub(prev))
			}
			lastByHost[host] = at[i]
			inWindow := 0
			for j := i; j >= 0 && at[i].Sub(at[j]) < l.interval; j-- {
				inWindow++
			}
			if inWindow > 2*l.burst {
				t.Fatalf("seed %d: %d lines within one interval, want at most %d per window", seed, inWindow, l.burst)
			}
		}
		pending := l.other
		for _, st := range l.hosts {
			pending += st.suppressed
		}
		if reported+pending != failures {
			t.Fatalf("seed %d: %d failures, %d reported or counted in reports, %d pending: some lost or counted twice", seed, failures, reported, pending)
		}
		if len(l.hosts) > maxHosts {
			t.Fatalf("seed %d: %d hosts remembered, bound %d", seed, len(l.hosts), maxHosts)
		}
	}
}
