package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/engine"
)

// BenchmarkFairness measures what one heavy client does to everyone else, with the bulk
// check gate off (SpiceDB alone) and on. Light clients check permissions in a loop (each on a
// random account for a never repeated user, so no answer comes from a cache) for a fixed
// window, first alone ("alone"), then while a heavy client sends CheckBulkPermissions of
// 10,000 distinct subjects back to back ("with-heavy-bulk"). It reports the light clients'
// p50/p99 latency and throughput, and ("heavy-alone") how long one such bulk takes with no
// other load. A figure, not a test: it asserts only that the calls succeed.
//
//	go test -run '^$' -bench Fairness -benchtime 1x ./pkg/engine/
//
// FAIRNESS_WINDOW (default 10s) and FAIRNESS_CLIENTS (default 8) change the window and the
// number of light clients.
func BenchmarkFairness(b *testing.B) {
	window := 10 * time.Second
	if d, err := time.ParseDuration(os.Getenv("FAIRNESS_WINDOW")); err == nil {
		window = d
	}
	clients := 8
	if n, err := strconv.Atoi(os.Getenv("FAIRNESS_CLIENTS")); err == nil && n > 0 {
		clients = n
	}
	for _, gate := range []string{"gate-off", "gate-on"} {
		b.Run(gate, func(b *testing.B) {
			cfg := engine.EmbeddedConfig{DatastoreURI: engine.LocalURI(b.TempDir()), ListenAddress: freeLoopbackAddr(b), MaxBulkCheckItems: fairBulkItems}
			if gate == "gate-off" {
				cfg = engine.WithoutBulkGate(cfg)
			}
			benchFairness(b, cfg, window, clients)
		})
	}
}

const fairAccounts, fairUsers, fairBulkItems = 200, 50, 10_000

func benchFairness(b *testing.B, cfg engine.EmbeddedConfig, window time.Duration, clients int) {
	ctx := context.Background()
	server, err := engine.StartEmbedded(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer server.Close()
	var updates []*v1.RelationshipUpdate
	for a := range fairAccounts {
		for u := range fairUsers {
			updates = append(updates, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_TOUCH,
				Relationship: rel("account", fmt.Sprintf("acc-%d", a), []string{"admin", "standard", "viewer"}[u%3], "user", fmt.Sprintf("u-%d-%d", a, u), "")})
		}
	}
	for len(updates) > 0 {
		n := min(len(updates), 1000)
		if _, err := server.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: updates[:n]}); err != nil {
			b.Fatal(err)
		}
		updates = updates[n:]
	}
	dial := func() v1.PermissionsServiceClient {
		c, err := engine.Dial(ctx, engine.RemoteConfig{Endpoint: cfg.ListenAddress, PresharedKey: server.PresharedKey(), Insecure: true, SkipSchema: true})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = c.Close() })
		return c.Permissions()
	}
	light, heavy := dial(), dial()
	latest := &v1.Consistency{Requirement: &v1.Consistency_MinimizeLatency{MinimizeLatency: true}}
	var seq atomic.Int64
	check := func() error {
		_, err := light.CheckPermission(ctx, &v1.CheckPermissionRequest{
			Consistency: latest,
			Resource:    &v1.ObjectReference{ObjectType: "account", ObjectId: fmt.Sprintf("acc-%d", rand.IntN(fairAccounts))},
			Permission:  "view_all_cases",
			Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: fmt.Sprintf("light-%d", seq.Add(1))}},
		})
		return err
	}
	bulk := func(ctx context.Context) error {
		items := make([]*v1.CheckBulkPermissionsRequestItem, fairBulkItems)
		for i := range items {
			items[i] = &v1.CheckBulkPermissionsRequestItem{
				Resource:   &v1.ObjectReference{ObjectType: "account", ObjectId: fmt.Sprintf("acc-%d", i%fairAccounts)},
				Permission: "view_all_cases",
				Subject:    &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: fmt.Sprintf("heavy-%d", seq.Add(1))}},
			}
		}
		resp, err := heavy.CheckBulkPermissions(ctx, &v1.CheckBulkPermissionsRequest{Consistency: latest, Items: items})
		if err == nil && len(resp.GetPairs()) != fairBulkItems {
			err = fmt.Errorf("%d pairs for %d items", len(resp.GetPairs()), fairBulkItems)
		}
		return err
	}

	for _, withHeavy := range []bool{false, true} {
		name := "alone"
		if withHeavy {
			name = "with-heavy-bulk"
		}
		b.Run(name, func(b *testing.B) {
			for range b.N {
				runCtx, stop := context.WithCancel(ctx)
				heavyDone := make(chan error, 1)
				if withHeavy {
					go func() {
						for runCtx.Err() == nil {
							if err := bulk(runCtx); err != nil && runCtx.Err() == nil {
								heavyDone <- err
								return
							}
						}
						heavyDone <- nil
					}()
					time.Sleep(time.Second) // the bulk is under way before measuring
				}
				lat, elapsed, err := lightLoad(clients, window, check)
				stop()
				if withHeavy {
					if herr := <-heavyDone; herr != nil {
						b.Fatalf("heavy bulk check: %v", herr)
					}
				}
				if err != nil {
					b.Fatalf("light check: %v", err)
				}
				b.ReportMetric(percentileMS(lat, 0.50), "light-p50-ms")
				b.ReportMetric(percentileMS(lat, 0.99), "light-p99-ms")
				b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "light-checks/s")
			}
		})
	}
	b.Run("heavy-alone", func(b *testing.B) {
		for range b.N {
			start := time.Now()
			if err := bulk(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(time.Since(start).Seconds(), "s/10k-bulk")
		}
	})
}

// lightLoad runs clients loops of check for window and returns every latency, sorted.
func lightLoad(clients int, window time.Duration, check func() error) ([]time.Duration, time.Duration, error) {
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Since(start) < window {
				t0 := time.Now()
				if err := check(); err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(lat)
	return lat, time.Since(start), firstErr
}

func percentileMS(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return float64(sorted[min(len(sorted)-1, int(p*float64(len(sorted))))].Microseconds()) / 1000
}
