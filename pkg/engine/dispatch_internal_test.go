package engine

import (
	"runtime"
	"testing"
)

// The default dispatch concurrency follows the CPUs, within 2..50.
func TestDefaultDispatchConcurrencyFollowsTheCPUs(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, tc := range []struct {
		procs int
		want  uint16
	}{{1, 2}, {2, 2}, {3, 3}, {8, 8}, {50, 50}, {64, 50}} {
		runtime.GOMAXPROCS(tc.procs)
		if got := DefaultDispatchConcurrency(); got != tc.want {
			t.Errorf("%d CPUs: %d, want %d", tc.procs, got, tc.want)
		}
	}
}
