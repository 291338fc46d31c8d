package serve

import (
	"context"
	"time"

	"github.com/accessgraph/accessgraph/pkg/engine"
)

// startupGrace is how long an interrupted start-up may take to unwind before serve
// returns without it.
const startupGrace = 5 * time.Second

// startInterruptibly runs start and waits for it, or for ctx (SIGINT, SIGTERM). A
// start-up that does not notice the signal (stuck on a failing disk, say) must not
// keep the process alive: after startupGrace serve returns anyway, and the process
// exits, which releases the data directory.
func startInterruptibly(ctx context.Context, start func() (*engine.Embedded, error)) (*engine.Embedded, error) {
	type result struct {
		emb *engine.Embedded
		err error
	}
	done := make(chan result, 1)
	go func() {
		emb, err := start()
		done <- result{emb, err}
	}()
	select {
	case r := <-done:
		return r.emb, r.err
	case <-ctx.Done():
	}
	select {
	case r := <-done:
		if r.emb != nil {
			_ = r.emb.Close()
		}
	case <-time.After(startupGrace):
	}
	return nil, ctx.Err()
}
