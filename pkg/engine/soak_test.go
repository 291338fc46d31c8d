package engine_test

import (
	"context"
	"flag"
	"fmt"
	"iter"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/spice"
)

var (
	flagSoakWriters = flag.Int("soak.writers", 4, "writers in TestSoakPostgres")
	flagSoakReaders = flag.Int("soak.readers", 4, "readers in TestSoakPostgres")
	flagSoakTime    = flag.Duration("soak.time", 20*time.Second, "how long TestSoakPostgres writes and reads")
)

// soakAccounts is how many accounts the writers share, so that their transactions overlap.
const soakAccounts = 4

// soakWrite is one acknowledged write of the soak test.
type soakWrite struct {
	account, user string
	token         *v1.ZedToken
	// deleted is set when a later acknowledged write removed the grant again.
	deleted bool
}

// TestSoakPostgres runs writers and readers against an embedded server on PostgreSQL for a
// while, then checks from a new server on the same database that every acknowledged grant
// is there and every acknowledged removal took effect. Readers check acknowledged grants at
// their write's token (which must allow) and with the engine's newest token. It reports the
// operations, errors and latency percentiles; there are no timing assertions.
//
// Each writer grants a new user on one of a few shared accounts, and every tenth write
// removes one of its own earlier grants. Flags: -soak.writers, -soak.readers, -soak.time.
func TestSoakPostgres(t *testing.T) {
	base := needPostgres(t)
	uri := freshDB(t, base, "accessgraph_soak")
	ctx := context.Background()
	e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{DatastoreURI: uri})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()

	var (
		mu     sync.Mutex
		acked  []*soakWrite // guarded by mu
		stable []*soakWrite // acknowledged grants no writer removes; guarded by mu

		writeErrs, checkErrs, atTokenMisses, freshMisses, checks atomic.Int64
		firstErrs                                                sync.Map
	)
	noteErr := func(kind string, err error) {
		if _, loaded := firstErrs.LoadOrStore(kind, err); !loaded {
			t.Logf("first %s error: %v", kind, err)
		}
	}
	deadline := time.Now().Add(*flagSoakTime)
	writeLat := make([][]time.Duration, *flagSoakWriters)
	checkLat := make([][]time.Duration, *flagSoakReaders)

	var wg sync.WaitGroup
	for w := range *flagSoakWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 3))
			var mine []*soakWrite
			for i := 0; time.Now().Before(deadline); i++ {
				var upd *v1.RelationshipUpdate
				var target *soakWrite
				if i%10 == 9 && len(mine) > 0 {
					// Remove one of this writer's earlier grants.
					j := rng.IntN(len(mine))
					target = mine[j]
					mine = slices.Delete(mine, j, j+1)
					upd = &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_DELETE,
						Relationship: rel("account", target.account, "individual_look", "user", target.user, "")}
				} else {
					target = &soakWrite{account: fmt.Sprintf("soak%d", rng.IntN(soakAccounts)), user: fmt.Sprintf("w%d-%d", w, i)}
					upd = &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_CREATE,
						Relationship: rel("account", target.account, "individual_look", "user", target.user, "")}
				}
				start := time.Now()
				tok, err := e.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{upd}})
				writeLat[w] = append(writeLat[w], time.Since(start))
				if err != nil {
					writeErrs.Add(1)
					noteErr("write", err)
					continue // not acknowledged: nothing is expected of it
				}
				mu.Lock()
				if upd.GetOperation() == v1.RelationshipUpdate_OPERATION_DELETE {
					target.deleted = true
				} else {
					target.token = tok
					acked = append(acked, target)
					// Half of the grants are never removed, so readers can expect them.
					if rng.IntN(2) == 0 {
						stable = append(stable, target)
					} else {
						mine = append(mine, target)
					}
				}
				mu.Unlock()
			}
		}()
	}
	for r := range *flagSoakReaders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 4))
			for n := 0; time.Now().Before(deadline); n++ {
				mu.Lock()
				if len(stable) == 0 {
					mu.Unlock()
					time.Sleep(10 * time.Millisecond)
					continue
				}
				// Mostly recent grants, where a stale read would show.
				g := stable[max(0, len(stable)-1-rng.IntN(min(len(stable), 50)))]
				mu.Unlock()
				atToken := n%2 == 0
				tok := g.token
				if !atToken {
					tok = e.FreshestToken(nil)
				}
				start := time.Now()
				resp, err := e.Permissions().CheckPermission(ctx, &v1.CheckPermissionRequest{
					Consistency: &v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: tok}},
					Resource:    &v1.ObjectReference{ObjectType: "account", ObjectId: g.account},
					Permission:  "individual_grantee",
					Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: g.user}},
				})
				checkLat[r] = append(checkLat[r], time.Since(start))
				checks.Add(1)
				switch {
				case err != nil:
					checkErrs.Add(1)
					noteErr("check", err)
				case resp.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION:
				case atToken:
					atTokenMisses.Add(1)
					t.Errorf("reader %d: acknowledged grant account:%s#individual_look@user:%s not seen at its own write's token", r, g.account, g.user)
				default:
					// Counted here and failed at the end: the engine's newest token covers
					// every write it acknowledged, even overlapping PostgreSQL transactions
					// (docs/reliability.md, finding 4).
					freshMisses.Add(1)
				}
			}
		}()
	}
	wg.Wait()

	// Verify from a new server on the same database, reading everything fully consistently.
	if err := e.Close(); err != nil {
		t.Fatalf("closing the first server: %v", err)
	}
	after, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{DatastoreURI: uri})
	if err != nil {
		t.Fatalf("reopening the database: %v", err)
	}
	defer after.Close()
	present := map[string]bool{}
	for a := range soakAccounts {
		for r, err := range readAll(ctx, after, fmt.Sprintf("soak%d", a)) {
			if err != nil {
				t.Fatalf("reading back: %v", err)
			}
			present[r.GetResource().GetObjectId()+"@"+r.GetSubject().GetObject().GetObjectId()] = true
		}
	}
	lost, resurrected, removed := 0, 0, 0
	for _, w := range acked {
		key := w.account + "@" + w.user
		switch {
		case w.deleted && present[key]:
			resurrected++
			t.Errorf("acknowledged removal of account:%s#individual_look@user:%s did not take effect", w.account, w.user)
		case w.deleted:
			removed++
		case !present[key]:
			lost++
			t.Errorf("acknowledged grant account:%s#individual_look@user:%s is missing", w.account, w.user)
		}
	}
	writes := 0
	var allWrites, allChecks []time.Duration
	for _, l := range writeLat {
		writes += len(l)
		allWrites = append(allWrites, l...)
	}
	for _, l := range checkLat {
		allChecks = append(allChecks, l...)
	}
	t.Logf("soak on PostgreSQL: %d writers, %d readers, %s: %d writes (%d acknowledged grants, %d acknowledged removals, %d errors), %d checks (%d errors); lost %d, removals undone %d; reads missing an acknowledged grant: %d at its token, %d with the engine's newest token",
		*flagSoakWriters, *flagSoakReaders, *flagSoakTime, writes, len(acked), removed, writeErrs.Load(), checks.Load(), checkErrs.Load(), lost, resurrected, atTokenMisses.Load(), freshMisses.Load())
	t.Logf("latency: writes %s; checks %s", percentiles(allWrites), percentiles(allChecks))
	if len(acked) == 0 {
		t.Fatal("no write was acknowledged")
	}
	// A read at the write's token, or at the engine's newest (access.Fresh), must see it.
	if n, m := atTokenMisses.Load(), freshMisses.Load(); n+m > 0 {
		t.Errorf("reads missed an acknowledged grant: %d at its own token, %d at the engine's newest token", n, m)
	}
}

// readAll streams every individual_look relationship of an account, page by page.
func readAll(ctx context.Context, e *engine.Embedded, account string) iter.Seq2[*v1.Relationship, error] {
	filter := &v1.RelationshipFilter{ResourceType: "account", OptionalResourceId: account, OptionalRelation: "individual_look"}
	return spice.ReadRelationships(ctx, e.Permissions(), spice.FullyConsistent(), filter)
}

// percentiles renders p50, p99 and the maximum of a set of latencies.
func percentiles(d []time.Duration) string {
	if len(d) == 0 {
		return "none"
	}
	s := slices.Clone(d)
	slices.Sort(s)
	at := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	round := func(x time.Duration) time.Duration { return x.Round(10 * time.Microsecond) }
	return fmt.Sprintf("p50 %s, p99 %s, max %s (n=%d)", round(at(0.50)), round(at(0.99)), round(s[len(s)-1]), len(s))
}
