package serve

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/auditlog"
	"github.com/accessgraph/accessgraph/pkg/engine"
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
