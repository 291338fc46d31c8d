package audit_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/auditlog"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/ref"
	"github.com/accessgraph/accessgraph/pkg/reltext"
)

// loggedServer is an embedded server on the local datastore with its durable audit log.
func loggedServer(t *testing.T) (*engine.Embedded, auditlog.Log) {
	return loggedServerOn(t, "local")
}

// acmeBilledTo bootstraps vera as administrator and creates account acme with bill as its
// admin, through the domain client it returns.
func acmeBilledTo(t *testing.T, e *engine.Embedded) *access.Client {
	t.Helper()
	ctx := context.Background()
	c := access.New(e.Engine)
	if _, err := c.Bootstrap(ctx, "vera", "setup"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateAccount(ctx, access.As("vera"), "acme", "bill"); err != nil {
		t.Fatal(err)
	}
	return c
}

// loggedServerOn is an embedded server with its durable audit log, on the local datastore
// (the log's records in it) or on a fresh PostgreSQL database (SpiceDB and the audit_log
// table in it) when ACCESSGRAPH_TEST_POSTGRES names a server, else the test is skipped.
func loggedServerOn(t *testing.T, datastore string) (*engine.Embedded, auditlog.Log) {
	t.Helper()
	ctx := context.Background()
	uri := engine.LocalURI(filepath.Join(t.TempDir(), "data"))
	if datastore == "postgres" {
		uri = postgresDatabase(t)
	}
	e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{DatastoreURI: uri})
	if err != nil {
		t.Fatal(err)
	}
	var l auditlog.Log
	if ds := e.LocalStore(); ds != nil {
		l = auditlog.NewLocalLog(ds)
	} else if l, err = auditlog.Open(ctx, uri); err != nil {
		_ = e.Close()
		t.Fatal(err)
	}
	consumer, err := auditlog.NewConsumer(ctx, e.Engine, l)
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = consumer.Run(cctx, nil) }()
	t.Cleanup(func() { cancel(); <-done; l.Close(); _ = e.Close() })
	return e, l
}

// postgresDatabase creates a fresh database on the server ACCESSGRAPH_TEST_POSTGRES names
// (`make test-postgres` sets it), dropped after the test; without it the test is skipped.
func postgresDatabase(t *testing.T) string {
	t.Helper()
	base := os.Getenv("ACCESSGRAPH_TEST_POSTGRES")
	if base == "" {
		t.Skip("set ACCESSGRAPH_TEST_POSTGRES (make test-postgres) to run on PostgreSQL")
	}
	ctx := context.Background()
	exec := func(sql string) {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	name := fmt.Sprintf("accessgraph_audit_%d", postgresDatabases.Add(1))
	exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	exec("CREATE DATABASE " + name)
	t.Cleanup(func() { exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

var postgresDatabases atomic.Int64

// waitForSeq waits until the log holds n entries.
func waitForSeq(t *testing.T, l auditlog.Log, n int64) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; {
		seq, err := l.LastSeq(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if seq >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the audit log holds %d entries after 20s, want %d", seq, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitForLogged waits until the log holds an entry at or after the revision of token.
func waitForLogged(t *testing.T, e *engine.Embedded, l auditlog.Log, token access.Token) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; {
		for entry, err := range l.Entries(context.Background(), auditlog.Filter{}) {
			if err != nil {
				t.Fatal(err)
			}
			if covers, known := e.Covers(&v1.ZedToken{Token: entry.Revision}, &v1.ZedToken{Token: string(token)}); known && covers {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the audit log recorded nothing at or after revision %s within 20s", token)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitForChange waits until the log records, after entry afterSeq, an entry holding a
// change of the relationship key (resource#relation@subject) and returns that entry's
// sequence number. Waiting for the change itself, not for a count of entries, keeps an
// entry the log records late (the schema's, say) from passing for this one.
func waitForChange(t *testing.T, l auditlog.Log, afterSeq int64, key string) int64 {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; {
		for e, err := range l.Entries(context.Background(), auditlog.Filter{AfterSeq: afterSeq}) {
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range e.Changes {
				if c.Relationship == key {
					return e.Seq
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the audit log recorded no change of %s after entry %d within 20s", key, afterSeq)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// pastQuestion is one check asked of the live graph and of rebuilt past graphs.
type pastQuestion struct {
	user, permission string
	object           ref.Object
}

// TestRebuiltPastAgreesWithTheLiveGraphThen drives a generated history (members joining
// and leaving, partner organisation and individual grants, some with an expiry, group
// nesting and readers moving, cases opened and closed) into a server with its audit log,
// asks a fixed set of checks of the live graph after every change, and then rebuilds the
// graph at random past instants from the log alone: every answer must equal the one the
// live graph gave at that instant.
// It runs on the local datastore, and on PostgreSQL when ACCESSGRAPH_TEST_POSTGRES is set.
func TestRebuiltPastAgreesWithTheLiveGraphThen(t *testing.T) {
	for _, datastore := range []string{"local", "postgres"} {
		t.Run(datastore, func(t *testing.T) {
			t.Parallel()
			e, l := loggedServerOn(t, datastore)
			rebuiltPastAgreesWithTheLiveGraphThen(t, e, l)
		})
	}
}

func rebuiltPastAgreesWithTheLiveGraphThen(t *testing.T, e *engine.Embedded, l auditlog.Log) {
	ctx := context.Background()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 19))

	users := []string{"u0", "u1", "u2", "u3", "u4", "u5"}
	accounts := []string{"a0", "a1"}
	groups := []string{"g0", "g1", "g2"}
	cases := []string{"c0", "c1", "c2", "c3"}
	var questions []pastQuestion
	for _, u := range users {
		for _, a := range accounts {
			questions = append(questions, pastQuestion{u, "member", ref.Object{Type: "account", ID: a}}, pastQuestion{u, "view_all_cases", ref.Object{Type: "account", ID: a}})
		}
		for _, c := range cases {
			questions = append(questions, pastQuestion{u, "view", ref.Object{Type: "case", ID: c}}, pastQuestion{u, "update", ref.Object{Type: "case", ID: c}})
		}
	}
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	// Relationship templates; an expiry far enough ahead never comes during the test (the
	// sweep's own deletions are proven by TestRebuiltPastAppliesExpiry).
	templates := []func() (string, bool){
		func() (string, bool) {
			return fmt.Sprintf("account:%s#%s@user:%s", pick(accounts), pick([]string{"admin", "standard", "viewer"}), pick(users)), false
		},
		func() (string, bool) {
			return fmt.Sprintf("account:%s#individual_look@user:%s", pick(accounts), pick(users)), true
		},
		func() (string, bool) {
			return fmt.Sprintf("account:%s#individual_update@user:%s", pick(accounts), pick(users)), true
		},
		func() (string, bool) {
			return fmt.Sprintf("account:%s#org_look@partner:p0#member", pick(accounts)), rng.IntN(2) == 0
		},
		func() (string, bool) { return fmt.Sprintf("partner:p0#member@user:%s", pick(users)), false },
		// A relation that takes only subjects with an expiry.
		func() (string, bool) {
			return fmt.Sprintf("account:%s#join_request_viewer@user:%s", pick(accounts), pick(users)), true
		},
		func() (string, bool) {
			return fmt.Sprintf("case:%s#account@account:%s", pick(cases), pick(accounts)), false
		},
		func() (string, bool) { return fmt.Sprintf("case:%s#reporter@user:%s", pick(cases), pick(users)), false },
		func() (string, bool) { return fmt.Sprintf("case:%s#open@user:*", pick(cases)), false },
		func() (string, bool) {
			return fmt.Sprintf("user:%s#member_of@group:%s", pick(users), pick(groups)), false
		},
		func() (string, bool) { return fmt.Sprintf("group:%s#reader@user:%s", pick(groups), pick(users)), false },
		func() (string, bool) {
			return fmt.Sprintf("group:g1#parent@group:%s", pick([]string{"g0", "g2"})), false
		},
	}
	live := map[string]bool{}
	type instant struct {
		at      time.Time
		answers []bool
	}
	ask := func(c *access.Client, cons access.Consistency) []bool {
		out := make([]bool, len(questions))
		for i, q := range questions {
			d, err := c.Check(ctx, ref.Subject{Object: ref.Object{Type: "user", ID: q.user}}, q.permission, q.object, cons)
			if err != nil {
				t.Fatal(err)
			}
			out[i] = d.Allowed
		}
		return out
	}
	liveClient := access.New(e.Engine)
	lastSeq, err := l.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var instants []instant
	const steps = 60
	for step := range steps {
		// One effective change per step: a new relationship, or the removal of one held.
		text, expires := templates[rng.IntN(len(templates))]()
		rel, err := reltext.ParseKey(text)
		if err != nil {
			t.Fatal(err)
		}
		op := v1.RelationshipUpdate_OPERATION_TOUCH
		if live[text] {
			op = v1.RelationshipUpdate_OPERATION_DELETE
		} else if expires {
			rel.OptionalExpiresAt = timestamppb.New(time.Now().Add(time.Hour))
		}
		if _, err := e.Engine.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{Operation: op, Relationship: rel}}}); err != nil {
			t.Fatalf("step %d, %s %s: %v", step, op, text, err)
		}
		live[text] = op == v1.RelationshipUpdate_OPERATION_TOUCH
		lastSeq = waitForChange(t, l, lastSeq, reltext.FormatKey(rel))
		// The instant: after the log recorded the change, before the next one.
		at := time.Now()
		instants = append(instants, instant{at: at, answers: ask(liveClient, access.Full())})
		time.Sleep(2 * time.Millisecond)
	}

	compared, differing := 0, 0
	for _, k := range rng.Perm(len(instants))[:10] {
		in := instants[k]
		g, err := audit.RebuildAt(ctx, l, in.at)
		if err != nil {
			t.Fatal(err)
		}
		got := ask(access.New(g.Engine), access.Fresh())
		_ = g.Close()
		for i, q := range questions {
			compared++
			if got[i] != in.answers[i] {
				differing++
				t.Errorf("after step %d: %s %s %s: rebuilt %v, live then %v", k, q.user, q.permission, q.object, got[i], in.answers[i])
			}
		}
	}
	t.Logf("%d answers at 10 past instants compared with the live graph's then: %d differ", compared, differing)

	if _, err := audit.RebuildAt(ctx, l, time.Now().Add(time.Hour)); !errors.Is(err, access.ErrInvalidArgument) {
		t.Fatalf("a future time: %v", err)
	}
	if _, err := audit.RebuildAt(ctx, l, time.Now().Add(-24*time.Hour)); !errors.Is(err, access.ErrInvalidArgument) {
		t.Fatalf("a time before the log began: %v", err)
	}
}

// TestRebuiltPastAppliesExpiry writes a grant that expires after a second: rebuilt before
// its expiry it grants, rebuilt after the sweep removed it it does not. Read through the
// past graph's auditor, the grant that has expired since shows its real expiry in an
// explanation and an access review, and the review flags it as expiring, as it would have
// then.
func TestRebuiltPastAppliesExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, l := loggedServer(t)
	c := acmeBilledTo(t, e)
	expires := time.Now().Add(1500 * time.Millisecond).UTC()
	if _, err := c.GrantPartner(ctx, access.As("bill"), "acme", access.Individual("pam"), access.LevelLook, expires); err != nil {
		t.Fatal(err)
	}
	// Wait until the log holds both the grant and the sweep's removal of it.
	var granted, swept time.Time
	for deadline := time.Now().Add(10 * time.Second); granted.IsZero() || swept.IsZero(); {
		for en, err := range l.Entries(ctx, auditlog.Filter{Object: "user:pam"}) {
			if err != nil {
				t.Fatal(err)
			}
			if en.Actor == engine.ExpiryActor {
				swept = en.RecordedAt
			} else {
				granted = en.RecordedAt
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10s the log holds the grant at %v and its sweep at %v", granted, swept)
		}
		time.Sleep(50 * time.Millisecond)
	}
	pam := ref.Subject{Object: ref.Object{Type: "user", ID: "pam"}}
	acme := ref.Object{Type: "account", ID: "acme"}
	for _, tc := range []struct {
		at   time.Time
		want bool
	}{{granted.Add(time.Millisecond), true}, {swept.Add(time.Millisecond), false}} {
		g, err := audit.RebuildAt(ctx, l, tc.at)
		if err != nil {
			t.Fatal(err)
		}
		pc := access.New(g.Engine)
		d, err := pc.Check(ctx, pam, "view_all_cases", acme, access.Fresh())
		if err != nil || d.Allowed != tc.want {
			_ = g.Close()
			t.Fatalf("rebuilt at %s: allowed %v, %v; want %v", tc.at.Format(time.RFC3339Nano), d.Allowed, err, tc.want)
		}
		if tc.want {
			// The rebuilt graph answers as of its moment however long it is asked: wait
			// until the grant's life left at that moment has passed since the rebuild.
			time.Sleep(expires.Sub(tc.at) + 100*time.Millisecond)
			if d, err := pc.Check(ctx, pam, "view_all_cases", acme, access.Fresh()); err != nil || !d.Allowed {
				_ = g.Close()
				t.Fatalf("rebuilt at %s, asked %s after: allowed %v, %v; the grant was live then", tc.at.Format(time.RFC3339Nano), expires.Sub(tc.at), d.Allowed, err)
			}
			pastExpiryIsTheRealOne(t, g, pc, pam, acme, expires)
		}
		_ = g.Close()
	}
}

// pastExpiryIsTheRealOne checks that the past graph's auditor names the grant's real expiry
// (not the rebuilt graph's shifted one) in an explanation and a review, and that the review,
// made as of the past time, flags the grant as expiring within the default window.
func pastExpiryIsTheRealOne(t *testing.T, g *audit.PastGraph, pc *access.Client, pam ref.Subject, acme ref.Object, expires time.Time) {
	t.Helper()
	ctx := context.Background()
	if g.ExpiryShift <= 0 {
		t.Fatalf("a past graph rebuilt after its time has a shift of %v", g.ExpiryShift)
	}
	a := g.Auditor(pc)
	x, err := a.Explain(ctx, pam, "view_all_cases", acme, access.Fresh())
	if err != nil || !x.Allowed {
		t.Fatalf("explain as of %v: %+v, %v", g.At, x, err)
	}
	var text strings.Builder
	if err := audit.WriteExplanationText(&text, x); err != nil {
		t.Fatal(err)
	}
	want := "until " + expires.Format(time.RFC3339)
	if !strings.Contains(text.String(), want) {
		t.Fatalf("explanation as of %v does not say %q:\n%s", g.At, want, text.String())
	}
	rv, err := a.AccessReview(ctx, access.As("bill"), "acme", audit.ReviewOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rv.GeneratedAt.Equal(g.At) {
		t.Fatalf("review as of %v generated at %v", g.At, rv.GeneratedAt)
	}
	var found bool
	for _, gr := range append(rv.Partners, rv.VendorStaff...) {
		if gr.Grantee == "user:pam" {
			found = true
			if d := gr.ExpiresAt.Sub(expires); d < -time.Millisecond || d > time.Millisecond {
				t.Fatalf("review as of %v: pam's grant expires %v, want %v", g.At, gr.ExpiresAt, expires)
			}
		}
	}
	if !found {
		t.Fatalf("review as of %v lists no grant to pam: %+v", g.At, rv)
	}
	flagged := false
	for _, f := range rv.Flags {
		flagged = flagged || (f.Kind == audit.FlagExpiring && f.Subject == "user:pam")
	}
	if !flagged {
		t.Fatalf("review as of %v does not flag pam's grant as expiring: %+v", g.At, rv.Flags)
	}
}

// Provenance names the change that created each relationship on a path: its time, actor,
// reason and operation; a relationship removed and written again has its newest write, and
// as of a time between the two writes the first.
func TestProvenanceNamesTheChangeBehindEachRelationship(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, l := loggedServer(t)
	c := access.New(e.Engine)
	a := audit.New(c, audit.WithDurableLog(l))
	must := func(_ access.Token, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.Bootstrap(ctx, "vera", "setup"))
	must(c.AddPlatformRole(ctx, access.As("vera"), "carol", access.PlatformCustomerCare))
	must(c.CreateAccount(ctx, access.As("carol").Because("new customer"), "acme", "bill"))
	must(c.GrantPartner(ctx, access.As("bill").Because("consultant, ticket 7"), "acme", access.Individual("pam"), access.LevelLook, time.Time{}))
	settled := func() { t.Helper(); waitLogCaughtUp(t, a) }
	settled()
	between := time.Now()
	time.Sleep(10 * time.Millisecond)
	must(c.RevokePartner(ctx, access.As("bill").Because("contract ended"), "acme", access.Individual("pam")))
	must(c.GrantPartner(ctx, access.As("bill").Because("contract renewed"), "acme", access.Individual("pam"), access.LevelLook, time.Time{}))
	settled()

	pam := ref.Subject{Object: ref.Object{Type: "user", ID: "pam"}}
	acme := ref.Object{Type: "account", ID: "acme"}
	x, err := a.Explain(ctx, pam, "view_all_cases", acme, access.Full())
	if err != nil || !x.Allowed {
		t.Fatalf("explain: %+v, %v", x, err)
	}
	rels := audit.PathRelationships(x.Paths)
	grant := "account:acme#individual_look@user:pam"
	if len(rels) == 0 || rels[0] != grant {
		t.Fatalf("path relationships %v, want %s first", rels, grant)
	}
	for _, tc := range []struct {
		at     time.Time
		reason string
	}{{time.Time{}, "contract renewed"}, {between, "consultant, ticket 7"}} {
		origins, err := a.Provenance(ctx, rels, audit.At(tc.at))
		if err != nil {
			t.Fatal(err)
		}
		o := origins[grant]
		if o.Actor != "user:bill" || o.Reason != tc.reason || o.Operation != "partner.grant" || o.ChainPosition == 0 || o.Time.IsZero() {
			t.Fatalf("origin as of %v: %+v, want bill's grant %q", tc.at, o, tc.reason)
		}
	}
	// Pruned by retention up to `between`: the answers at and after it are the same, the
	// origins of what the removed entries left come from what the prune kept, and a time
	// before the cut is refused.
	var want [2]map[string]audit.Origin
	for i, at := range []time.Time{{}, between} {
		if want[i], err = a.Provenance(ctx, rels, audit.At(at)); err != nil {
			t.Fatal(err)
		}
	}
	res, err := auditlog.Prune(ctx, l, between, auditlog.RetentionActor, "test")
	if err != nil || !res.Pruned {
		t.Fatalf("prune: %+v, %v", res, err)
	}
	for i, at := range []time.Time{{}, between} {
		got, err := a.Provenance(ctx, rels, audit.At(at))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want[i]) {
			t.Fatalf("provenance as of %v after the prune:\n got %+v\nwant %+v", at, got, want[i])
		}
	}
	if _, err := a.Provenance(ctx, rels, audit.At(res.Anchor.RecordedAt.Add(-time.Millisecond))); !errors.Is(err, access.ErrInvalidArgument) || !strings.Contains(err.Error(), "retention policy") {
		t.Fatalf("provenance before the cut: %v", err)
	}
	paths := audit.WithOrigins(x.Paths, map[string]audit.Origin{})
	if len(paths[0].Origins) != len(paths[0].Relationships) || !paths[0].Origins[0].Time.IsZero() {
		t.Fatalf("origins without a log entry: %+v", paths[0].Origins)
	}
	if _, err := audit.New(c).Provenance(ctx, rels, audit.AsOf{}); !errors.Is(err, audit.ErrNoDurableLog) {
		t.Fatalf("without a log: %v", err)
	}
}

// History filters by operation and by time range, alike from the change stream and from the
// durable log.
func TestHistoryFiltersByOperationAndTime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, l := loggedServer(t)
	c := access.New(e.Engine)
	var last access.Token
	must := func(tok access.Token, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		last = tok
	}
	// The durable log dates an entry when it records it, so each boundary is taken once the
	// log has recorded everything before it (a loaded machine delays the recording).
	must(c.Bootstrap(ctx, "vera", "setup"))
	must(c.AddPlatformRole(ctx, access.As("vera"), "carol", access.PlatformCustomerCare))
	must(c.CreateAccount(ctx, access.As("carol"), "acme", "bill"))
	waitForLogged(t, e, l, last)
	time.Sleep(20 * time.Millisecond)
	from := time.Now()
	time.Sleep(20 * time.Millisecond)
	for _, u := range []string{"u1", "u2", "u3"} {
		must(c.RequestAccess(ctx, access.As(u), "acme", access.RoleViewer))
	}
	waitForLogged(t, e, l, last)
	time.Sleep(20 * time.Millisecond)
	to := time.Now()
	time.Sleep(20 * time.Millisecond)
	must(c.Approve(ctx, access.As("bill"), "acme", "u2"))
	seq, _ := l.LastSeq(ctx)
	waitForSeq(t, l, seq) // settled enough for the stream; the log is polled below
	sources := map[string]audit.HistorySource{"change stream": audit.New(c), "durable log": audit.New(c, audit.WithDurableLog(l))}
	ops := func(src audit.HistorySource, f audit.HistoryFilter) []string {
		var out []string
		for ch, err := range src.History(ctx, f) {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, ch.Operation+" "+ch.Actor)
		}
		return out
	}
	for name, src := range sources {
		if got := ops(src, audit.HistoryFilter{Operation: "member.request"}); len(got) != 3 {
			t.Errorf("%s, operation member.request: %v", name, got)
		}
		if got := ops(src, audit.HistoryFilter{From: from, To: to}); len(got) != 3 || got[0] != "member.request user:u1" {
			t.Errorf("%s, from..to: %v", name, got)
		}
		if got := ops(src, audit.HistoryFilter{From: to}); len(got) != 1 || got[0] != "member.approve user:bill" {
			t.Errorf("%s, from the end: %v", name, got)
		}
		if got := ops(src, audit.HistoryFilter{To: from, Operation: "account.create"}); len(got) != 1 {
			t.Errorf("%s, account.create before from: %v", name, got)
		}
	}
}

// After a prune, an account's history still counts what the account came to own before the
// cut: a change to a case opened before it is listed under the account.
func TestAccountHistoryAfterAPruneKeepsWhatTheAccountOwns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, l := loggedServer(t)
	c := access.New(e.Engine)
	a := audit.New(c, audit.WithDurableLog(l))
	must := func(_ access.Token, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	settled := func() { t.Helper(); waitLogCaughtUp(t, a) }
	must(c.Bootstrap(ctx, "vera", "setup"))
	must(c.AddPlatformRole(ctx, access.As("vera"), "carol", access.PlatformCustomerCare))
	must(c.CreateAccount(ctx, access.As("carol"), "acme", "bill"))
	must(c.CreateCase(ctx, access.As("bill").Because("printer on fire"), access.NewCase{ID: "7", Account: "acme"}))
	settled()
	cut := time.Now()
	time.Sleep(10 * time.Millisecond)
	if res, err := auditlog.Prune(ctx, l, cut, auditlog.RetentionActor, "test"); err != nil || !res.Pruned {
		t.Fatalf("prune: %+v, %v", res, err)
	}
	// The prune's entry is now the newest and every change before it is gone: history reads
	// the log (the prune) and then the stream after the newest change the prune recorded.
	n := 0
	for ch, err := range a.History(ctx, audit.HistoryFilter{}) {
		if err != nil {
			t.Fatalf("history right after the prune: %v", err)
		}
		if ch.Operation != auditlog.PruneOperation {
			t.Fatalf("history right after the prune lists %+v; want only the prune", ch)
		}
		n++
	}
	if n != 1 {
		t.Fatalf("history right after the prune: %d changes, want the prune's", n)
	}
	must(c.CloseCase(ctx, access.As("bill").Because("fixed"), "7"))
	settled()
	found := false
	for ch, err := range a.History(ctx, audit.HistoryFilter{Account: ref.Object{Type: "account", ID: "acme"}}) {
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range ch.Updates {
			found = found || u.Resource == ref.Object{Type: "case", ID: "7"}
		}
	}
	if !found {
		t.Fatal("the change to case 7, opened for acme before the cut, is missing from acme's history")
	}
}

// waitLogCaughtUp waits until every change a's history lists comes from the durable log
// (none only from the change stream, which has no chain position).
func waitLogCaughtUp(t *testing.T, a *audit.Auditor) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		behind := 0
		for ch, err := range a.History(context.Background(), audit.HistoryFilter{}) {
			if err != nil {
				t.Fatal(err)
			}
			if ch.ChainPosition == 0 {
				behind++
			}
		}
		if behind == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the audit log did not catch up within 10s")
		}
	}
}

// TestPastGraphsKeepTheirMomentWhileAsked: individual grants with generated lifetimes, and
// past graphs rebuilt at generated moments across those lifetimes (after every grant has
// expired and been swept). Each graph answers every grant as the server did at its moment
// (granted, and neither expired nor swept yet), right
// after the rebuild and again once the longest life any grant had left at any of the
// moments has passed since.
func TestPastGraphsKeepTheirMomentWhileAsked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, l := loggedServer(t)
	c := acmeBilledTo(t, e)
	rng := rand.New(rand.NewPCG(19, 21))
	const grantees = 6
	expiries := map[string]time.Time{}
	for i := range grantees {
		user := fmt.Sprintf("pam%d", i)
		expires := time.Now().Add(time.Duration(600+rng.IntN(2400)) * time.Millisecond).UTC()
		if _, err := c.GrantPartner(ctx, access.As("bill"), "acme", access.Individual(user), access.LevelLook, expires); err != nil {
			t.Fatal(err)
		}
		expiries[user] = expires
	}
	// Wait until the log holds every grant and the sweep of each.
	var lastGrant, lastExpiry time.Time
	sweptAt := map[string]time.Time{}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		granted, swept := 0, 0
		for user := range expiries {
			for en, err := range l.Entries(ctx, auditlog.Filter{Object: "user:" + user}) {
				if err != nil {
					t.Fatal(err)
				}
				if en.Actor == engine.ExpiryActor {
					swept++
					sweptAt[user] = en.RecordedAt
				} else {
					granted++
					if en.RecordedAt.After(lastGrant) {
						lastGrant = en.RecordedAt
					}
				}
			}
			if expiries[user].After(lastExpiry) {
				lastExpiry = expiries[user]
			}
		}
		if granted == grantees && swept == grantees {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 15s the log holds %d grants and %d sweeps of %d", granted, swept, grantees)
		}
	}

	type past struct {
		g    *audit.PastGraph
		want map[string]bool
	}
	var pasts []past
	var longestLeft time.Duration
	span := lastExpiry.Sub(lastGrant) + 300*time.Millisecond
	for len(pasts) < 6 {
		at := lastGrant.Add(time.Millisecond + time.Duration(rng.Int64N(int64(span))))
		want, near := map[string]bool{}, false
		for user, expires := range expiries {
			// Live at `at` as the server answered then: not yet expired, and not yet
			// removed by the sweep, which takes a grant engine.ExpiryLead early.
			want[user] = expires.After(at) && sweptAt[user].After(at)
			near = near || expires.Sub(at).Abs() < 10*time.Millisecond || sweptAt[user].Sub(at).Abs() < 10*time.Millisecond
			if want[user] && expires.Sub(at) > longestLeft {
				longestLeft = expires.Sub(at)
			}
		}
		if near {
			continue // too close to an expiry to say which side the log puts it
		}
		g, err := audit.RebuildAt(ctx, l, at)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = g.Close() })
		pasts = append(pasts, past{g, want})
	}
	ask := func(when string) {
		t.Helper()
		for _, p := range pasts {
			pc := access.New(p.g.Engine)
			for user, want := range p.want {
				d, err := pc.Check(ctx, ref.Subject{Object: ref.Object{Type: "user", ID: user}}, "view_all_cases", ref.Object{Type: "account", ID: "acme"}, access.Fresh())
				if err != nil || d.Allowed != want {
					t.Fatalf("%s, as of %s: %s allowed %v, %v; want %v (expiry %s)", when, p.g.At.Format(time.RFC3339Nano), user, d.Allowed, err, want, expiries[user].Format(time.RFC3339Nano))
				}
			}
		}
	}
	ask("right after the rebuild")
	time.Sleep(longestLeft + 150*time.Millisecond)
	ask(fmt.Sprintf("%s after the rebuild", longestLeft+150*time.Millisecond))
}
