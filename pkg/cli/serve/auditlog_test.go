package serve_test

import (
	"context"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/client"
)

// serve on the local datastore keeps the audit log in its data directory: the demo's
// changes are recorded there, the domain API's history carries their places in the chain,
// and the server verifies the chain and reports its head.
func TestServeKeepsAVerifiableAuditLogInTheDataDirectory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	apiAddr, p, stop := startServeWithAPI(t, ctx)
	defer stop()
	c, err := client.New("http://"+apiAddr, p.Token)
	if err != nil {
		t.Fatal(err)
	}
	var changes []audit.Change
	for deadline := time.Now().Add(30 * time.Second); ; {
		changes = changes[:0]
		chained := 0
		for ch, err := range c.History(ctx, audit.HistoryFilter{}) {
			if err != nil {
				t.Fatal(err)
			}
			changes = append(changes, ch)
			if ch.ChainPosition != 0 {
				chained++
			}
		}
		if len(changes) > 20 && chained == len(changes) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30s, %d of %d changes in history are in the audit log", chained, len(changes))
		}
		time.Sleep(100 * time.Millisecond)
	}
	for i := 1; i < len(changes); i++ {
		if changes[i].ChainPosition <= changes[i-1].ChainPosition {
			t.Fatalf("history out of chain order at %d: %d after %d", i, changes[i].ChainPosition, changes[i-1].ChainPosition)
		}
	}
	v, err := c.VerifyHistory(ctx, nil)
	if err != nil || !v.Intact() || v.Entries < int64(len(changes)) {
		t.Fatalf("verify: %+v, %v", v, err)
	}
	head, err := c.HistoryCheckpoint(ctx)
	if err != nil || head.Position < changes[len(changes)-1].ChainPosition || len(head.Hash) != 64 {
		t.Fatalf("checkpoint %+v, %v", head, err)
	}
	if v, err := c.VerifyHistory(ctx, &head); err != nil || !v.Intact() || v.Checkpoint == nil {
		t.Fatalf("verify against the head: %+v, %v", v, err)
	}
	forged := head
	forged.Hash = "0" + head.Hash[1:]
	if forged.Hash == head.Hash {
		forged.Hash = "1" + head.Hash[1:]
	}
	if v, err := c.VerifyHistory(ctx, &forged); err != nil || v.Intact() {
		t.Fatalf("verify against a checkpoint with another hash: %+v, %v", v, err)
	}
}
