package audit_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"sync"

	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/auditlog"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/reltext"
)

// tamperingConsumer copies the change stream into a log as auditlog.Consumer does, except
// that tamper may alter an entry before it is appended or drop it (return false): the
// chain stays intact, only the log's account of the relationships departs.
func tamperingConsumer(t *testing.T, e *engine.Engine, l auditlog.Log, tamper func(*auditlog.Entry) bool) {
	t.Helper()
	ctx := context.Background()
	start, err := l.LastRevision(ctx)
	if err == nil && start == "" {
		start, err = l.StartRevision(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	if start == "" {
		resp, err := e.ReadSchemaSince(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		start = resp.GetReadAt().GetToken()
		if err := l.SetStartRevision(ctx, start); err != nil {
			t.Fatal(err)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	stream, err := e.Watch().Watch(cctx, &v1.WatchRequest{OptionalStartCursor: &v1.ZedToken{Token: start}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			resp, err := stream.Recv()
			if err != nil {
				return
			}
			if len(resp.GetUpdates()) == 0 {
				continue
			}
			en := auditlog.EntryFromWatch(resp)
			if tamper != nil && !tamper(&en) {
				continue // dropped, as by a consumer that skipped it
			}
			if _, err := l.Append(cctx, en); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// stateServer is a server on the local datastore whose log is written by a tampering
// consumer, and an Auditor over both.
func stateServer(t *testing.T, tamper func(*auditlog.Entry) bool) (*engine.Embedded, *auditlog.LocalLog, *audit.Auditor) {
	t.Helper()
	e, err := engine.StartEmbedded(context.Background(), engine.EmbeddedConfig{DatastoreURI: engine.LocalURI(filepath.Join(t.TempDir(), "data"))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	l := auditlog.NewLocalLog(e.LocalStore())
	tamperingConsumer(t, e.Engine, l, tamper)
	return e, l, audit.New(access.New(e.Engine), audit.WithDurableLog(l))
}

// randomHistory writes n random changes (writes, deletes, grants expiring soon or later)
// and returns the relationships it touched.
func randomHistory(t *testing.T, e *engine.Engine, rng *rand.Rand, n int) {
	t.Helper()
	ctx := context.Background()
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	type tmpl struct {
		text    func() string
		expires int // 0: never; 1: may; 2: must
	}
	templates := []tmpl{
		{func() string {
			return fmt.Sprintf("account:%s#%s@user:%s", pick("a0", "a1"), pick("admin", "standard", "viewer"), pick("u0", "u1", "u2", "u3"))
		}, 0},
		{func() string {
			return fmt.Sprintf("account:%s#individual_look@user:%s", pick("a0", "a1"), pick("u0", "u1", "u2", "u3"))
		}, 1},
		{func() string {
			return fmt.Sprintf("account:%s#join_request_viewer@user:%s", pick("a0", "a1"), pick("u0", "u1", "u2"))
		}, 2},
		{func() string {
			return fmt.Sprintf("case:%s#reporter@user:%s", pick("c0", "c1", "c2"), pick("u0", "u1", "u2"))
		}, 0},
		{func() string {
			return fmt.Sprintf("user:%s#member_of@group:%s", pick("u0", "u1", "u2"), pick("g0", "g1"))
		}, 0},
		{func() string {
			return fmt.Sprintf("case:%s#account@account:%s", pick("c0", "c1", "c2"), pick("a0", "a1"))
		}, 0},
	}
	live := map[string]bool{}
	for step := range n {
		tp := templates[rng.IntN(len(templates))]
		text := tp.text()
		rel, err := reltext.ParseKey(text)
		if err != nil {
			t.Fatal(err)
		}
		op := v1.RelationshipUpdate_OPERATION_TOUCH
		if live[text] && rng.IntN(3) > 0 {
			op = v1.RelationshipUpdate_OPERATION_DELETE
		} else if tp.expires == 2 || (tp.expires == 1 && rng.IntN(2) == 0) {
			// Some expire during the test, some long after it.
			d := time.Duration(200+rng.IntN(1500)) * time.Millisecond
			if rng.IntN(2) == 0 {
				d = time.Hour
			}
			rel.OptionalExpiresAt = timestamppb.New(time.Now().Add(d))
		}
		if _, err := e.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{Operation: op, Relationship: rel}}}); err != nil {
			t.Fatalf("step %d, %s %s: %v", step, op, text, err)
		}
		live[text] = op == v1.RelationshipUpdate_OPERATION_TOUCH
	}
}

// settledVerify verifies once the log has recorded every change: the datastore's newest
// revision is no longer ahead of the log's head.
func settledVerify(t *testing.T, e *engine.Engine, l auditlog.Log, a *audit.Auditor) auditlog.Verification {
	t.Helper()
	ctx := context.Background()
	// A marker change, recorded after everything before it.
	marker := fmt.Sprintf("case:marker%d", time.Now().UnixNano())
	if _, err := e.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: mustRel(t, marker+"#reporter@user:marker")}}}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		found := false
		for en, err := range l.Entries(ctx, auditlog.Filter{Object: marker}) {
			if err != nil {
				t.Fatal(err)
			}
			found = true
			_ = en
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the log did not record the marker within 20s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	v, err := a.VerifyHistory(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustRel(t *testing.T, text string) *v1.Relationship {
	t.Helper()
	rel, err := reltext.ParseKey(text)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

// A clean history verifies with the relationships compared; a write the log did not record
// is reported naming the relationship.
func TestVerifyComparesTheStoredRelationships(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hidden := "case:c9#reporter@user:mallory"
	e, l, a := stateServer(t, func(en *auditlog.Entry) bool {
		return len(en.Changes) == 0 || en.Changes[0].Relationship != hidden
	})
	c := access.New(e.Engine)
	if _, err := c.Bootstrap(ctx, "vera", "setup"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateAccount(ctx, access.As("vera"), "acme", "bill"); err != nil {
		t.Fatal(err)
	}
	v := settledVerify(t, e.Engine, l, a)
	if !v.Intact() || !v.StateChecked || !strings.Contains(v.StateNote, "they match") {
		t.Fatalf("clean history: %+v", v)
	}
	t.Logf("clean: %s", v.StateNote)
	if _, err := e.Engine.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: mustRel(t, hidden)}}}); err != nil {
		t.Fatal(err)
	}
	v = settledVerify(t, e.Engine, l, a)
	if v.Intact() || v.StateDifferences != 1 || !strings.Contains(v.Problems[0].Detail, hidden+" is stored but no log entry wrote it") {
		t.Fatalf("a write behind the log's back: %+v", v)
	}
	t.Logf("diverged: %s; %s", v.Problems[0], v.StateNote)
}

// The kinds of divergence injected into the log's account of a change.
var divergences = []struct {
	name   string
	tamper func(en *auditlog.Entry, rng *rand.Rand) bool // false: the entry is dropped
	want   []string                                      // one of these phrases is reported
}{
	{"entry dropped", func(*auditlog.Entry, *rand.Rand) bool { return false },
		[]string{"is stored but no log entry wrote it", "never deleted, but it is not stored", "deleted it and no later entry wrote it", "but it is stored to expire", "is stored to expire", "is stored without an expiry"}},
	{"expiry changed", func(en *auditlog.Entry, _ *rand.Rand) bool {
		for i := range en.Changes {
			if en.Changes[i].Operation != "delete" {
				t := time.Now().Add(48 * time.Hour)
				if en.Changes[i].ExpiresAt != nil {
					t = en.Changes[i].ExpiresAt.Add(24 * time.Hour)
				}
				en.Changes[i].ExpiresAt = &t
			}
		}
		return true
	}, []string{"to expire at"}},
	{"forged write", func(en *auditlog.Entry, rng *rand.Rand) bool {
		en.Changes = append(en.Changes, auditlog.Change{Operation: "touch", Relationship: fmt.Sprintf("case:c%d#reporter@user:forged", rng.IntN(3)), Resource: "case:c0", Subject: "user:forged"})
		return true
	}, []string{"never deleted, but it is not stored"}},
	{"write turned into delete", func(en *auditlog.Entry, _ *rand.Rand) bool {
		for i := range en.Changes {
			en.Changes[i].Operation = "delete"
			en.Changes[i].ExpiresAt = nil
		}
		return true
	}, []string{"deleted it and no later entry wrote it"}},
}

// Generated histories, each with one divergence injected into a random entry whose effect
// lasts: every one is detected and named; and as many clean histories (with grants expiring
// during the test) verify with no difference.
func TestVerifyStateRandomHistories(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	const rounds = 8
	for r := range rounds {
		for k, d := range divergences {
			t.Run(fmt.Sprintf("%d/%s", r, strings.ReplaceAll(d.name, " ", "_")), func(t *testing.T) {
				t.Parallel()
				rng := rand.New(rand.NewPCG(seed, uint64(r*100+k)))
				// The tamper runs in the consumer's goroutine: its own generator, and its
				// counters behind a lock.
				tamperRNG := rand.New(rand.NewPCG(seed, uint64(r*100+k)+1<<32))
				var mu sync.Mutex
				n := 10 + rng.IntN(15)
				target := rng.IntN(n) // the n-th write entry after the setup is tampered with
				writes := -1
				tamper := func(en *auditlog.Entry) bool {
					mu.Lock()
					defer mu.Unlock()
					if len(en.Changes) == 0 || strings.Contains(en.Changes[0].Relationship, "marker") || en.Actor == engine.ExpiryActor {
						return true
					}
					writes++
					if writes != target {
						return true
					}
					// Tamper only with a write that lasts (no expiry, or one far ahead), so its
					// effect is still there at the head.
					if en.Changes[0].ExpiresAt != nil && time.Until(*en.Changes[0].ExpiresAt) < time.Minute {
						target++
						return true
					}
					return d.tamper(en, tamperRNG)
				}
				e, l, a := stateServer(t, tamper)
				randomHistory(t, e.Engine, rng, n)
				time.Sleep(time.Duration(rng.IntN(800)) * time.Millisecond)
				v := settledVerify(t, e.Engine, l, a)
				mu.Lock()
				untampered := writes < target
				mu.Unlock()
				if untampered {
					t.Skipf("no lasting write to tamper with among %d writes", n)
				}
				if !v.StateChecked {
					t.Fatalf("not compared: %s", v.StateNote)
				}
				// A tampered write whose relationship a later change replaced leaves no trace.
				if v.Intact() {
					t.Logf("undetectable (the tampered entry was a deletion, or a later change superseded it): %s", v.StateNote)
					return
				}
				found := false
				for _, p := range v.Problems {
					for _, w := range d.want {
						found = found || strings.Contains(p.Detail, w)
					}
				}
				if !found {
					t.Fatalf("%s: problems %v", d.name, v.Problems)
				}
			})
		}
		t.Run(fmt.Sprintf("%d/clean", r), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, uint64(r*100+99)))
			e, l, a := stateServer(t, nil)
			randomHistory(t, e.Engine, rng, 20+rng.IntN(20))
			time.Sleep(time.Duration(rng.IntN(1500)) * time.Millisecond)
			v := settledVerify(t, e.Engine, l, a)
			if !v.Intact() || !v.StateChecked {
				t.Fatalf("clean history: %s; %v", v.StateNote, v.Problems)
			}
		})
	}
}

// On PostgreSQL, with the SQL Store: a clean history verifies with the relationships
// compared; a write the log did not record, then an expiry it recorded wrongly, are
// reported.
func TestVerifyStatePostgres(t *testing.T) {
	base := os.Getenv("ACCESSGRAPH_TEST_POSTGRES")
	if base == "" {
		t.Skip("ACCESSGRAPH_TEST_POSTGRES is not set")
	}
	ctx := context.Background()
	const name = "accessgraph_verify_state"
	exec := func(sql string) {
		t.Helper()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	exec("CREATE DATABASE " + name)
	t.Cleanup(func() { exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{DatastoreURI: u.String()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	store, err := auditlog.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	hidden := "case:c9#reporter@user:mallory"
	wrongExpiry := "account:acme#individual_look@user:pam"
	tamperingConsumer(t, e.Engine, store, func(en *auditlog.Entry) bool {
		for i, c := range en.Changes {
			if c.Relationship == wrongExpiry && c.ExpiresAt != nil {
				later := c.ExpiresAt.Add(time.Hour)
				en.Changes[i].ExpiresAt = &later
			}
		}
		return len(en.Changes) == 0 || en.Changes[0].Relationship != hidden
	})
	a := audit.New(access.New(e.Engine), audit.WithDurableLog(store))
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	randomHistory(t, e.Engine, rng, 25)
	v := settledVerify(t, e.Engine, store, a)
	if !v.Intact() || !v.StateChecked {
		t.Fatalf("clean history: %s; %v", v.StateNote, v.Problems)
	}
	t.Logf("clean: %s", v.StateNote)
	for _, text := range []string{hidden, wrongExpiry} {
		rel := mustRel(t, text)
		if text == wrongExpiry {
			rel.OptionalExpiresAt = timestamppb.New(time.Now().Add(time.Hour))
		}
		if _, err := e.Engine.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: rel}}}); err != nil {
			t.Fatal(err)
		}
	}
	v = settledVerify(t, e.Engine, store, a)
	got := fmt.Sprint(v.Problems)
	if v.StateDifferences != 2 || !strings.Contains(got, hidden+" is stored but no log entry wrote it") || !strings.Contains(got, wrongExpiry+" was written at entry") {
		t.Fatalf("diverged: %s; %v", v.StateNote, v.Problems)
	}
	t.Logf("diverged: %v", v.Problems)
}

// A log begun when relationships already existed cannot account for them: the comparison
// is not made, and the verification says why instead of reporting them.
func TestVerifyStateNotPossibleForALogBegunLate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{DatastoreURI: engine.LocalURI(filepath.Join(t.TempDir(), "data"))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	if _, err := e.Engine.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: mustRel(t, "case:c0#reporter@user:early")}}}); err != nil {
		t.Fatal(err)
	}
	l := auditlog.NewLocalLog(e.LocalStore())
	tamperingConsumer(t, e.Engine, l, nil)
	a := audit.New(access.New(e.Engine), audit.WithDurableLog(l))
	v := settledVerify(t, e.Engine, l, a)
	if !v.Intact() || v.StateChecked || !strings.Contains(v.StateNote, "already stored") || !strings.Contains(v.StateNote, "case:c0#reporter@user:early") {
		t.Fatalf("a log begun late: %+v", v)
	}
}
