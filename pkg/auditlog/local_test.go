package auditlog_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/auditlog"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/localstore"
	"github.com/accessgraph/accessgraph/pkg/ref"
	"github.com/accessgraph/accessgraph/pkg/spice"
)

// localServer is an embedded server on the local datastore in dir with a short GC window,
// and the consumer of its audit log.
type localServer struct {
	e    *engine.Embedded
	log  *auditlog.LocalLog
	stop func()
}

const shortWindow = 2 * time.Second

func startLocal(t *testing.T, dir string) *localServer {
	t.Helper()
	ctx := context.Background()
	e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{DatastoreURI: engine.LocalURI(dir), GCWindow: shortWindow, RevisionQuantization: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	l := auditlog.NewLocalLog(e.LocalStore())
	consumer, err := auditlog.NewConsumer(ctx, e.Engine, l)
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = consumer.Run(cctx, nil) }()
	s := &localServer{e: e, log: l}
	s.stop = func() { cancel(); <-done; _ = e.Close() }
	return s
}

func (s *localServer) waitForEntries(t *testing.T, n int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		seq, err := s.log.LastSeq(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if seq >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d audit entries after 20s, want %d", seq, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func domainChanges(t *testing.T, src audit.HistorySource) []audit.Change {
	t.Helper()
	var out []audit.Change
	for c, err := range src.History(context.Background(), audit.HistoryFilter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if c.Actor != "" {
			out = append(out, c)
		}
	}
	return out
}

// On the local datastore the audit log lives in the data directory: it keeps every change
// across server restarts and long after the change stream has dropped it (a GC window of
// 2 s here), history read WithDurableLog reaches back to the first change, and the chain
// verifies; a record appended behind the log's back is reported.
func TestLocalAuditLogOutlivesTheGCWindowAndRestarts(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	s := startLocal(t, dir)
	c := access.New(s.e.Engine)
	must := func(_ access.Token, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.Bootstrap(ctx, "vera", "first administrator"))
	must(c.AddPlatformRole(ctx, access.As("vera"), "carol", access.PlatformCustomerCare))
	must(c.CreateAccount(ctx, access.As("carol").Because("new customer"), "acme", "bill"))
	for i := range 5 {
		must(c.RequestAccess(ctx, access.As(fmt.Sprintf("u%d", i)), "acme", access.RoleStandard))
	}
	s.waitForEntries(t, 8)
	requested := time.Now()
	s.stop()

	// Restart after the window: the change stream no longer holds the first changes.
	time.Sleep(shortWindow + 500*time.Millisecond)
	s = startLocal(t, dir)
	defer s.stop()
	c = access.New(s.e.Engine)
	if _, err := s.e.LocalStore().CollectGarbage(ctx); err != nil {
		t.Fatal(err)
	}
	must(c.Approve(ctx, access.As("bill").Because("colleague"), "acme", "u3"))

	stream := domainChanges(t, audit.New(c))
	durable := domainChanges(t, audit.New(c, audit.WithDurableLog(s.log)))
	if len(stream) >= len(durable) {
		t.Fatalf("the change stream still holds %d changes after its window; the test proves nothing", len(stream))
	}
	if len(durable) != 9 {
		t.Fatalf("durable history: %d changes, want 9 (bootstrap, role, account, 5 requests, approval)", len(durable))
	}
	if d := durable[2]; d.Actor != "user:carol" || d.Reason != "new customer" || d.Operation != "account.create" {
		t.Fatalf("account creation read back as %+v", d)
	}
	if last := durable[8]; last.Actor != "user:bill" || last.Operation != "member.approve" {
		t.Fatalf("the newest change read back as %+v", last)
	}
	for i, ch := range durable[:8] {
		if ch.ChainPosition == 0 || len(ch.ChainHash) != 64 {
			t.Fatalf("change %d has no place in the chain: %+v", i, ch)
		}
	}

	s.waitForEntries(t, 9)
	v, err := s.log.Verify(ctx, nil)
	if err != nil || !v.Intact() || v.Entries < 9 {
		t.Fatalf("verify: %+v, %v", v, err)
	}
	head, err := s.log.Head(ctx)
	if err != nil || head != v.Head {
		t.Fatalf("head %+v, verification's %+v, %v", head, v.Head, err)
	}

	// The log holds the approval itself (a count of entries may include changes without an
	// actor, such as the schema written at start-up).
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := s.log.SeqOf(ctx, string(durable[8].Revision)); err == nil {
			break
		} else if !errors.Is(err, auditlog.ErrNotFound) || time.Now().After(deadline) {
			t.Fatalf("the approval at %s is not in the log: %v", durable[8].Revision, err)
		}
	}
	// As of a time older than the window, which the datastore can no longer read at: the
	// graph rebuilt from the log holds the five requests and no approval yet; as of now, u3
	// is a member.
	if _, err := s.e.Engine.Permissions().CheckPermission(ctx, &v1.CheckPermissionRequest{
		Consistency: spice.AtExactSnapshot(string(durable[7].Revision)),
		Resource:    &v1.ObjectReference{ObjectType: "account", ObjectId: "acme"},
		Permission:  "member",
		Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "u3"}},
	}); err == nil {
		t.Fatalf("the datastore still answers at revision %s, older than its window: the test proves nothing", durable[7].Revision)
	}
	acme := ref.Object{Type: "account", ID: "acme"}
	u3 := ref.Subject{Object: ref.Object{Type: "user", ID: "u3"}}
	bill := ref.Subject{Object: ref.Object{Type: "user", ID: "bill"}}
	for _, tc := range []struct {
		at           time.Time
		u3, billSees bool
	}{{requested, false, true}, {time.Now(), true, true}} {
		g, err := audit.RebuildAt(ctx, s.log, tc.at)
		if err != nil {
			t.Fatalf("as of %v: %v", tc.at, err)
		}
		pc := access.New(g.Engine)
		m, err := pc.Check(ctx, u3, "member", acme, access.Fresh())
		if err != nil || m.Allowed != tc.u3 {
			g.Close()
			t.Fatalf("as of %v (%d entries applied, through %+v): u3 member of acme %v, %v; want %v", tc.at, g.Applied, g.Through, m.Allowed, err, tc.u3)
		}
		b, err := pc.Check(ctx, bill, "view_all_cases", acme, access.Fresh())
		g.Close()
		if err != nil || b.Allowed != tc.billSees {
			t.Fatalf("as of %v: bill sees acme's cases %v, %v; want %v", tc.at, b.Allowed, err, tc.billSees)
		}
	}

	// A record appended to the store directly, not by the log, after the newest entry and
	// naming it as its predecessor, but without the log's hash: verify names it.
	var forgedSeq uint64
	_, _, err = s.e.LocalStore().AppendRecord("forged", func(last *localstore.Record, seq uint64) ([]byte, error) {
		var prev auditlog.Entry
		if err := json.Unmarshal(last.Value, &prev); err != nil {
			return nil, err
		}
		forgedSeq = seq
		return []byte(fmt.Sprintf(`{"revision":"forged","recorded_at":"2026-01-01T00:00:00Z","actor":"user:mallory","reason":"","operation":"grant","changes":[],"position":%d,"prev_hash":%q,"hash":"%s"}`,
			seq, prev.Hash, strings.Repeat("0", 64))), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	v, err = s.log.Verify(ctx, nil)
	if err != nil || len(v.Problems) != 1 || !strings.HasPrefix(v.Problems[0].String(), fmt.Sprintf("entry %d (", forgedSeq)) || !strings.Contains(v.Problems[0].Detail, "does not match its hash") {
		t.Fatalf("verify after a forged record at %d: %v, %v", forgedSeq, v.Problems, err)
	}
	// A checkpoint taken before still matches: the forgery came after it.
	if v, err := s.log.Verify(ctx, &head); err != nil || len(v.Problems) != 1 {
		t.Fatalf("verify with the checkpoint: %+v, %v", v.Problems, err)
	}
}
