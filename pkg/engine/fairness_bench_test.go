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

// BenchmarkFairness measures what one heavy client does to everyone else: light clients
// check permissions in a loop (each check on a random account for a random, never repeated
// user, so no answer comes from a cache) for a fixed window, first alone and then while a
// heavy client sends CheckBulkPermissions requests of 10,000 distinct subjects, back to back.
// It reports the light clients' p50/p99 latency and throughput, and the heavy client's items
// per second. A figure, not a test: it asserts only that checks succeed.
//
//	go test -run '^$' -bench Fairness -benchtime 1x ./pkg/engine/
//
// FAIRNESS_WINDOW (default 15s) and FAIRNESS_CLIENTS (default 8) change the window and the
// number of light clients.
func BenchmarkFairness(b *testing.B) {
	window := 15 * time.Second
	if d, err := time.ParseDuration(os.Getenv("FAIRNESS_WINDOW")); err == nil {
		window = d
	}
	clients := 8
	if n, err := strconv.Atoi(os.Getenv("FAIRNESS_CLIENTS")); err == nil && n > 0 {
		clients = n
	}
	const accounts, usersPerAccount, bulkItems = 200, 50, 10_000
	ctx := context.Background()
	addr := freeLoopbackAddr(b)
	server, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{
		DatastoreURI: engine.LocalURI(b.TempDir()), ListenAddress: addr, MaxBulkCheckItems: bulkItems,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer server.Close()
	var updates []*v1.RelationshipUpdate
	for a := range accounts {
		for u := range usersPerAccount {
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
		c, err := engine.Dial(ctx, engine.RemoteConfig{Endpoint: addr, PresharedKey: server.PresharedKey(), Insecure: true, SkipSchema: true})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = c.Close() })
		return c.Permissions()
	}
	light, heavy := dial(), dial()
	var seq atomic.Int64
	check := func(ctx context.Context) error {
		_, err := light.CheckPermission(ctx, &v1.CheckPermissionRequest{
			Consistency: &v1.Consistency{Requirement: &v1.Consistency_MinimizeLatency{MinimizeLatency: true}},
			Resource:    &v1.ObjectReference{ObjectType: "account", ObjectId: fmt.Sprintf("acc-%d", rand.IntN(accounts))},
			Permission:  "view_all_cases",
			Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: fmt.Sprintf("light-%d", seq.Add(1))}},
		})
		return err
	}
	bulk := func(ctx context.Context) error {
		items := make([]*v1.CheckBulkPermissionsRequestItem, bulkItems)
		for i := range items {
			items[i] = &v1.CheckBulkPermissionsRequestItem{
				Resource:   &v1.ObjectReference{ObjectType: "account", ObjectId: fmt.Sprintf("acc-%d", i%accounts)},
				Permission: "view_all_cases",
				Subject:    &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: fmt.Sprintf("heavy-%d", seq.Add(1))}},
			}
		}
		resp, err := heavy.CheckBulkPermissions(ctx, &v1.CheckBulkPermissionsRequest{
			Consistency: &v1.Consistency{Requirement: &v1.Consistency_MinimizeLatency{MinimizeLatency: true}}, Items: items,
		})
		if err == nil && len(resp.GetPairs()) != bulkItems {
			err = fmt.Errorf("%d pairs for %d items", len(resp.GetPairs()), bulkItems)
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
				var heavyItems atomic.Int64
				heavyDone := make(chan error, 1)
				if withHeavy {
					go func() {
						for runCtx.Err() == nil {
							if err := bulk(runCtx); err != nil {
								if runCtx.Err() == nil {
									heavyDone <- err
									return
								}
								break
							}
							heavyItems.Add(bulkItems)
						}
						heavyDone <- nil
					}()
					time.Sleep(time.Second) // the bulk is under way before measuring
				}
				var mu sync.Mutex
				var lat []time.Duration
				var wg sync.WaitGroup
				var failed atomic.Value
				start := time.Now()
				for range clients {
					wg.Add(1)
					go func() {
						defer wg.Done()
						var mine []time.Duration
						for time.Since(start) < window {
							t0 := time.Now()
							if err := check(ctx); err != nil {
								failed.Store(err)
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
				elapsed := time.Since(start)
				stop()
				if withHeavy {
					if err := <-heavyDone; err != nil {
						b.Fatalf("heavy bulk check: %v", err)
					}
				}
				if err, _ := failed.Load().(error); err != nil {
					b.Fatalf("light check: %v", err)
				}
				slices.Sort(lat)
				pct := func(p float64) float64 {
					return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
				}
				b.ReportMetric(pct(0.50), "light-p50-ms")
				b.ReportMetric(pct(0.99), "light-p99-ms")
				b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "light-checks/s")
				if withHeavy {
					b.ReportMetric(float64(heavyItems.Load())/(elapsed.Seconds()+1), "heavy-items/s")
				}
			}
		})
	}
}
