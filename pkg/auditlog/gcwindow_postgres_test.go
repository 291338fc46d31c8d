package auditlog_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/auditlog"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/ref"
	"github.com/accessgraph/accessgraph/pkg/spice"
)

// On PostgreSQL, as on the local datastore, the audit log outlives SpiceDB's GC window and a
// restart: with a two-second window, changes older than it are still in history, verify
// intact, and the graph as of a time older than the window (which SpiceDB refuses to read
// at) is rebuilt from the log.
func TestPostgresAuditLogOutlivesTheGCWindowAndRestarts(t *testing.T) {
	uri := database(t)
	ctx := context.Background()
	type server struct {
		e    *engine.Embedded
		log  *auditlog.Store
		stop func()
	}
	start := func() *server {
		e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{DatastoreURI: uri, GCWindow: shortWindow, RevisionQuantization: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		store, err := auditlog.Open(ctx, uri)
		if err != nil {
			t.Fatal(err)
		}
		consumer, err := auditlog.NewConsumer(ctx, e.Engine, store)
		if err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); _ = consumer.Run(cctx, nil) }()
		return &server{e, store, func() { cancel(); <-done; store.Close(); _ = e.Close() }}
	}
	waitFor := func(s *server, rev access.Token) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			_, err := s.log.SeqOf(ctx, string(rev))
			if err == nil {
				return
			}
			if !errors.Is(err, auditlog.ErrNotFound) || time.Now().After(deadline) {
				t.Fatalf("change %s is not in the audit log: %v", rev, err)
			}
		}
	}
	must := func(tok access.Token, err error) access.Token {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	s := start()
	c := access.New(s.e.Engine)
	must(c.Bootstrap(ctx, "vera", "first administrator"))
	must(c.AddPlatformRole(ctx, access.As("vera"), "carol", access.PlatformCustomerCare))
	must(c.CreateAccount(ctx, access.As("carol").Because("new customer"), "acme", "bill"))
	var last access.Token
	for i := range 5 {
		last = must(c.RequestAccess(ctx, access.As(fmt.Sprintf("u%d", i)), "acme", access.RoleStandard))
	}
	waitFor(s, last)
	requested := time.Now()
	s.stop()

	// Restart after the window.
	time.Sleep(shortWindow + 500*time.Millisecond)
	s = start()
	defer s.stop()
	c = access.New(s.e.Engine)
	approved := must(c.Approve(ctx, access.As("bill").Because("colleague"), "acme", "u3"))
	waitFor(s, approved)

	if _, err := s.e.Engine.Permissions().CheckPermission(ctx, &v1.CheckPermissionRequest{
		Consistency: spice.AtExactSnapshot(string(last)),
		Resource:    &v1.ObjectReference{ObjectType: "account", ObjectId: "acme"},
		Permission:  "member",
		Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "u2"}},
	}); err == nil {
		t.Fatalf("PostgreSQL still answers at revision %s, older than the window: the test proves nothing", last)
	}
	durable := domainChanges(t, audit.New(c, audit.WithDurableLog(s.log)))
	if len(durable) != 9 {
		t.Fatalf("durable history: %d changes, want 9 (bootstrap, role, account, 5 requests, approval)", len(durable))
	}
	if d := durable[2]; d.Actor != "user:carol" || d.Reason != "new customer" || d.Operation != "account.create" {
		t.Fatalf("account creation read back as %+v", d)
	}
	if v, err := s.log.Verify(ctx, nil); err != nil || !v.Intact() || v.Entries < 9 {
		t.Fatalf("verify: %+v, %v", v, err)
	}
	acme := ref.Object{Type: "account", ID: "acme"}
	u3 := ref.Subject{Object: ref.Object{Type: "user", ID: "u3"}}
	for _, tc := range []struct {
		at     time.Time
		member bool
	}{{requested, false}, {time.Now(), true}} {
		g, err := audit.RebuildAt(ctx, s.log, tc.at)
		if err != nil {
			t.Fatalf("as of %v: %v", tc.at, err)
		}
		d, err := access.New(g.Engine).Check(ctx, u3, "member", acme, access.Fresh())
		g.Close()
		if err != nil || d.Allowed != tc.member {
			t.Fatalf("as of %v: u3 member of acme %v, %v; want %v", tc.at, d.Allowed, err, tc.member)
		}
	}
}
