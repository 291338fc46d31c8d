package serve

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/auditlog"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// The server logs the audit log's head as it moves; a logged head is a checkpoint that
// history verification accepts, and an unmoved head is not logged again.
func TestServeLogsAuditCheckpoints(t *testing.T) {
	ctx := context.Background()
	emb, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{DatastoreURI: engine.LocalURI(filepath.Join(t.TempDir(), "data"))})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	l := auditlog.NewLocalLog(emb.LocalStore())
	core, logs := observer.New(zapcore.InfoLevel)
	stop, err := startAuditLog(ctx, emb.Engine, l, auditSchedule{checkpointEvery: 30 * time.Millisecond}, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	c := access.New(emb.Engine)
	if _, err := c.Bootstrap(ctx, "vera", "setup"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateAccount(ctx, access.As("vera"), "acme", "bill"); err != nil {
		t.Fatal(err)
	}
	var last observer.LoggedEntry
	for deadline := time.Now().Add(10 * time.Second); ; {
		cps := logs.FilterMessage("audit log checkpoint").All()
		if len(cps) > 0 {
			last = cps[len(cps)-1]
			head, err := l.Head(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if last.ContextMap()["position"] == head.Position {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint of the current head logged within 10s: %v", cps)
		}
		time.Sleep(20 * time.Millisecond)
	}
	fields := last.ContextMap()
	cp := auditlog.Checkpoint{Position: fields["position"].(int64), Hash: fields["hash"].(string)}
	if v, err := l.Verify(ctx, &cp); err != nil || !v.Intact() || v.Checkpoint == nil {
		t.Fatalf("verify against the logged checkpoint %+v: %+v, %v", cp, v, err)
	}
	before, err := l.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := logs.FilterMessage("audit log checkpoint").Len()
	time.Sleep(200 * time.Millisecond)
	after, err := l.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m := logs.FilterMessage("audit log checkpoint").Len(); after == before && m != n {
		t.Fatalf("an unmoved head was logged again: %d checkpoints, then %d", n, m)
	}
}

// With a retention, the server prunes the entries older than it while it runs: the log
// keeps verifying, matches the stored relationships, answers as of a time after the cut as
// the live graph did then, refuses one before it, and all of it survives a restart.
func TestServePrunesTheAuditLogPastItsRetention(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	emb, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{DatastoreURI: engine.LocalURI(dir)})
	if err != nil {
		t.Fatal(err)
	}
	l := auditlog.NewLocalLog(emb.LocalStore())
	core, logs := observer.New(zapcore.InfoLevel)
	const retention = 2 * time.Second
	stop, err := startAuditLog(ctx, emb.Engine, l, auditSchedule{retention: retention}, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	c := access.New(emb.Engine)
	if _, err := c.Bootstrap(ctx, "vera", "setup"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateAccount(ctx, access.As("vera"), "acme", "bill"); err != nil {
		t.Fatal(err)
	}
	members := []string{"ann", "bob", "cy"}
	for _, m := range members {
		if _, err := c.RequestAccess(ctx, access.As(m), "acme", access.RoleStandard); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Approve(ctx, access.As("bill"), "acme", m); err != nil {
			t.Fatal(err)
		}
	}
	// Wait for a prune that removed the writes above.
	var anchor *auditlog.Anchor
	for deadline := time.Now().Add(20 * time.Second); anchor == nil || anchor.Position < 2; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no prune within 20s: %v", logs.FilterMessage("audit log pruned").All())
		}
		if anchor, err = l.Anchor(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if logs.FilterMessage("audit log pruned").Len() == 0 {
		t.Fatal("the prune was not logged")
	}
	stop()
	if err := emb.Close(); err != nil {
		t.Fatal(err)
	}
	emb, err = engine.StartEmbedded(ctx, engine.EmbeddedConfig{DatastoreURI: engine.LocalURI(dir)})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	l = auditlog.NewLocalLog(emb.LocalStore())
	v, err := l.Verify(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := audit.VerifyState(ctx, emb.Engine, l, &v); err != nil {
		t.Fatal(err)
	}
	if !v.Intact() || v.Anchor == nil || !v.StateChecked {
		t.Fatalf("after a restart: %+v", v)
	}
	g, err := audit.RebuildAt(ctx, l, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for _, m := range members {
		ok, err := access.New(g.Engine).Check(ctx, ref.Subject{Object: ref.Object{Type: "user", ID: m}}, "member", ref.Object{Type: "account", ID: "acme"}, access.Full())
		if err != nil || !ok.Allowed {
			t.Fatalf("as of now, rebuilt from what the prune kept: %s member of account:acme = %+v, %v", m, ok, err)
		}
	}
	if _, err := audit.RebuildAt(ctx, l, anchor.RecordedAt.Add(-time.Millisecond)); !errors.Is(err, access.ErrInvalidArgument) {
		t.Fatalf("as of before the cut: %v", err)
	}
}
