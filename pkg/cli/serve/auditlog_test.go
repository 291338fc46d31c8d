package serve_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/client"
	"github.com/accessgraph/accessgraph/pkg/ref"
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

// The domain API answers as of a past time from the audit log: hank, approved after t0, is
// a member now and was not at t0, by check, lookup, explain, who-can and the access
// review, and was unknown at t0; a time before the log began or in the future is refused.
func TestServeAnswersAsOfAPastTime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	apiAddr, p, stop := startServeWithAPI(t, ctx)
	defer stop()
	c, err := client.New("http://"+apiAddr, p.Token)
	if err != nil {
		t.Fatal(err)
	}
	waitLogged := func() {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); ; {
			head, err := c.HistoryCheckpoint(ctx)
			if err == nil && head.Position > 0 {
				n := 0
				for ch, err := range c.History(ctx, audit.HistoryFilter{}) {
					if err != nil {
						t.Fatal(err)
					}
					if ch.ChainPosition == 0 {
						n++
					}
				}
				if n == 0 {
					return // every change so far is in the log
				}
			}
			if time.Now().After(deadline) {
				t.Fatal("the audit log did not catch up within 30s")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitLogged()
	t0 := time.Now()
	time.Sleep(20 * time.Millisecond)
	if _, err := c.RequestAccess(ctx, access.As("hank"), "acme", access.RoleViewer); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Approve(ctx, access.As("bill"), "acme", "hank"); err != nil {
		t.Fatal(err)
	}
	waitLogged()

	hank := ref.Subject{Object: ref.Object{Type: "user", ID: "hank"}}
	acme := ref.Object{Type: "account", ID: "acme"}
	past := c.At(t0)
	for _, tc := range []struct {
		name string
		svc  *client.Client
		want bool
	}{{"now", c, true}, {"at t0", past, false}} {
		d, err := tc.svc.Check(ctx, hank, "member", acme, access.Fresh())
		if err != nil || d.Allowed != tc.want {
			t.Fatalf("%s: check hank member acme = %v, %v; want %v", tc.name, d.Allowed, err, tc.want)
		}
		// hank did not exist before he asked to join: a denial as of then says so.
		if k, err := tc.svc.Known(ctx, hank.Object, access.Fresh()); err != nil || k != tc.want {
			t.Fatalf("%s: hank known = %v, %v; want %v", tc.name, k, err, tc.want)
		}
		x, err := tc.svc.Explain(ctx, hank, "member", acme, access.Fresh())
		if err != nil || x.Allowed != tc.want {
			t.Fatalf("%s: explain = %v, %v", tc.name, x.Allowed, err)
		}
		found := false
		for o, err := range tc.svc.LookupResources(ctx, hank, "member", "account", access.Fresh()) {
			if err != nil {
				t.Fatal(err)
			}
			found = found || o == acme
		}
		if found != tc.want {
			t.Fatalf("%s: lookup resources finds acme: %v", tc.name, found)
		}
		holds := false
		for h, err := range tc.svc.WhoCan(ctx, acme, "member") {
			if err != nil {
				t.Fatal(err)
			}
			holds = holds || h.User == "hank"
		}
		if holds != tc.want {
			t.Fatalf("%s: who-can lists hank: %v", tc.name, holds)
		}
		rv, err := tc.svc.AccessReview(ctx, access.As("bill"), "acme", audit.ReviewOptions{})
		if err != nil {
			t.Fatal(err)
		}
		member := false
		for _, m := range rv.Members {
			member = member || m.User == "hank"
		}
		if member != tc.want {
			t.Fatalf("%s: the access review lists hank: %v", tc.name, member)
		}
	}
	for _, at := range []time.Time{t0.Add(-24 * time.Hour), time.Now().Add(time.Hour)} {
		if _, err := c.At(at).Check(ctx, hank, "member", acme, access.Fresh()); !errors.Is(err, access.ErrInvalidArgument) {
			t.Fatalf("check at %s: %v, want an invalid argument", at.Format(time.RFC3339), err)
		}
	}
}
