package auditlog_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/auditlog"
	"github.com/accessgraph/accessgraph/pkg/engine"
)

// The audit log lives in PostgreSQL: `make test-postgres` sets ACCESSGRAPH_TEST_POSTGRES.
func database(t testing.TB) string {
	t.Helper()
	base := os.Getenv("ACCESSGRAPH_TEST_POSTGRES")
	if base == "" {
		t.Skip("set ACCESSGRAPH_TEST_POSTGRES (make test-postgres) to run the audit log tests")
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
	exec("DROP DATABASE IF EXISTS accessgraph_auditlog WITH (FORCE)")
	exec("CREATE DATABASE accessgraph_auditlog")
	t.Cleanup(func() { exec("DROP DATABASE IF EXISTS accessgraph_auditlog WITH (FORCE)") })
	u, _ := url.Parse(base)
	u.Path = "/accessgraph_auditlog"
	return u.String()
}

func TestConsumerRestartLosesAndDuplicatesNothing(t *testing.T) {
	uri := database(t)
	ctx := context.Background()
	e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{DatastoreURI: uri})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	store, err := auditlog.Open(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	c := access.New(e.Engine)

	run := func() context.CancelFunc {
		consumer, err := auditlog.NewConsumer(ctx, e.Engine, store)
		if err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); _ = consumer.Run(cctx, nil) }()
		return func() { cancel(); <-done }
	}

	stop := run()
	mustDo := func(tok access.Token, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	mustDo(c.Bootstrap(ctx, "vera", "first administrator"))
	mustDo(c.AddPlatformRole(ctx, access.As("vera"), "carol", access.PlatformCustomerCare))
	mustDo(c.CreateAccount(ctx, access.As("carol").Because("new customer"), "acme", "bill"))
	const requests = 20
	for i := 0; i < requests/2; i++ {
		mustDo(c.RequestAccess(ctx, access.As(fmt.Sprintf("u%d", i)), "acme", access.RoleStandard))
	}
	stop() // the consumer goes away mid-stream...
	for i := requests / 2; i < requests; i++ {
		mustDo(c.RequestAccess(ctx, access.As(fmt.Sprintf("u%d", i)), "acme", access.RoleStandard))
	}
	mustDo(c.Approve(ctx, access.As("bill").Because("colleague"), "acme", "u3"))
	stop = run() // ...and comes back.
	defer stop()

	want := 3 + requests + 1
	deadline := time.Now().Add(20 * time.Second)
	var entries []auditlog.Entry
	for {
		entries = entries[:0]
		for en, err := range store.Entries(ctx, auditlog.Filter{}) {
			if err != nil {
				t.Fatal(err)
			}
			entries = append(entries, en)
		}
		if len(entries) >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var domain []auditlog.Entry
	seen := map[string]bool{}
	for _, en := range entries {
		if seen[en.Revision] {
			t.Fatalf("revision %s recorded twice", en.Revision)
		}
		seen[en.Revision] = true
		if en.Actor != "" {
			domain = append(domain, en)
		}
	}
	if len(domain) != want {
		t.Fatalf("recorded %d domain changes, want %d", len(domain), want)
	}
	if d := domain[2]; d.Actor != "user:carol" || d.Reason != "new customer" || d.Operation != "account.create" {
		t.Fatalf("account creation recorded as %+v", d)
	}
	last := domain[len(domain)-1]
	if last.Actor != "user:bill" || last.Operation != "member.approve" || last.Reason != "colleague" {
		t.Fatalf("last change recorded as %+v", last)
	}
	for i := 0; i < requests; i++ {
		if got := domain[3+i].Actor; got != fmt.Sprintf("user:u%d", i) {
			t.Fatalf("change %d by %s, want user:u%d (order kept)", 3+i, got, i)
		}
	}
	// Filter by object and by actor.
	n := 0
	for en, err := range store.Entries(ctx, auditlog.Filter{Object: "user:u3"}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		_ = en
	}
	if n != 2 {
		t.Fatalf("entries touching user:u3 = %d, want 2 (request and approval)", n)
	}
	// Look-ups by revision and of the newest entry.
	if seq, err := store.SeqOf(ctx, last.Revision); err != nil || seq != last.Seq {
		t.Fatalf("SeqOf(last) = %d, %v; want %d", seq, err, last.Seq)
	}
	if seq, err := store.LastSeq(ctx); err != nil || seq != entries[len(entries)-1].Seq {
		t.Fatalf("LastSeq = %d, %v", seq, err)
	}
	if _, err := store.SeqOf(ctx, "no-such-revision"); !errors.Is(err, auditlog.ErrNotFound) {
		t.Fatalf("SeqOf(unknown) = %v", err)
	}
	// Appending an entry again adds nothing.
	if added, err := store.Append(ctx, last); err != nil || added {
		t.Fatalf("re-append: added=%v err=%v", added, err)
	}
	t.Logf("audit log: %d changes recorded across a consumer restart, 0 lost, 0 duplicated", len(domain))
}

// Reading the audit log creates nothing, so auditors need read rights only.
func TestOpenReaderCreatesNothing(t *testing.T) {
	uri := database(t)
	ctx := context.Background()
	if _, err := auditlog.OpenReader(ctx, uri); !errors.Is(err, auditlog.ErrNoAuditLog) {
		t.Fatalf("OpenReader on an empty database: %v; want ErrNoAuditLog", err)
	}
	if _, err := auditlog.OpenReader(ctx, uri); !errors.Is(err, auditlog.ErrNoAuditLog) {
		t.Fatalf("the first OpenReader created the table: %v", err)
	}
	w, err := auditlog.Open(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	r, err := auditlog.OpenReader(ctx, uri)
	if err != nil {
		t.Fatalf("OpenReader after the table exists: %v", err)
	}
	defer r.Close()
	if n, err := r.LastSeq(ctx); err != nil || n != 0 {
		t.Fatalf("LastSeq of an empty log = %d, %v", n, err)
	}
}
