package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// historyWorld is a small world: vera, carol, acme administered by bill, the integrator
// partner. It returns the token of the last setup change.
func historyWorld(t *testing.T) (*access.Client, *audit.Auditor, access.Token) {
	t.Helper()
	ctx := context.Background()
	e, c, err := newEngine(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	var last access.Token
	for _, step := range []func() (access.Token, error){
		func() (access.Token, error) { return c.Bootstrap(ctx, vera, "first administrator") },
		func() (access.Token, error) {
			return c.AddPlatformRole(ctx, as(vera, "Customer Care agent"), carol, access.PlatformCustomerCare)
		},
		func() (access.Token, error) { return c.CreateAccount(ctx, as(carol, "new customer"), "acme", bill) },
		func() (access.Token, error) {
			return c.CreatePartner(ctx, as(vera, "integrator programme"), "integrator", "")
		},
	} {
		tok, err := step()
		if err != nil {
			t.Fatal(err)
		}
		last = tok
	}
	return c, audit.New(c), last
}

func collectHistory(t *testing.T, a *audit.Auditor, f audit.HistoryFilter) []audit.Change {
	t.Helper()
	var out []audit.Change
	for c, err := range a.History(context.Background(), f) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// summary renders changes without their times, which differ run to run.
func summary(changes []audit.Change) string {
	var b strings.Builder
	for _, c := range changes {
		fmt.Fprintf(&b, "%s %s %q\n", c.Actor, c.Operation, c.Reason)
		for _, u := range c.Updates {
			fmt.Fprintf(&b, "  %s %s\n", u.Operation, u.Relationship)
		}
	}
	return b.String()
}

// After a scenario (request, approve, grant, revoke) the history holds every change with
// the right actor and reason, in order, and filters by object and by actor.
func TestHistoryAfterScenario(t *testing.T) {
	ctx := context.Background()
	c, a, since := historyWorld(t)
	before := time.Now()
	for _, step := range []func() (access.Token, error){
		func() (access.Token, error) {
			return c.RequestAccess(ctx, as("dave", "new engineer at acme"), "acme", access.RoleStandard)
		},
		func() (access.Token, error) { return c.Approve(ctx, as(bill, "known contact"), "acme", "dave") },
		func() (access.Token, error) {
			return c.GrantPartner(ctx, as(bill, "integrator follows our cases"), "acme", access.PartnerOrg("integrator"), access.LevelLook, time.Time{})
		},
		func() (access.Token, error) {
			return c.RevokePartner(ctx, as(bill, "contract ended"), "acme", access.PartnerOrg("integrator"))
		},
	} {
		if _, err := step(); err != nil {
			t.Fatal(err)
		}
	}
	after := time.Now()

	changes := collectHistory(t, a, audit.HistoryFilter{Since: since})
	got := summary(changes)
	const want = `user:dave member.request "new engineer at acme"
  touch account:acme#join_request_standard@user:dave
user:bill member.approve "known contact"
  delete account:acme#join_request_standard@user:dave
  touch account:acme#standard@user:dave
user:bill partner.grant "integrator follows our cases"
  touch account:acme#org_look@partner:integrator#member
user:bill partner.revoke "contract ended"
  delete account:acme#org_look@partner:integrator#member
`
	if got != want {
		t.Errorf("history:\n got:\n%s\nwant:\n%s", got, want)
	}
	for _, ch := range changes {
		if !ch.TimeFromRevision || ch.Time.Before(before.Add(-time.Second)) || ch.Time.After(after.Add(time.Second)) {
			t.Errorf("change %s at %v (from revision: %v); the scenario ran from %v to %v", ch.Operation, ch.Time, ch.TimeFromRevision, before, after)
		}
	}

	// By object: only dave's relationships.
	if got := summary(collectHistory(t, a, audit.HistoryFilter{Since: since, Object: ref.Object{Type: "user", ID: "dave"}})); got != strings.Join(strings.SplitAfter(want, "\n")[:5], "") {
		t.Errorf("history of user:dave:\n%s", got)
	}
	// By actor, with or without the user: prefix.
	for _, actor := range []string{bill, "user:" + bill} {
		if n := len(collectHistory(t, a, audit.HistoryFilter{Since: since, Actor: actor})); n != 3 {
			t.Errorf("changes by %s = %d, want 3", actor, n)
		}
	}
	// Without a start, the memory datastore replays everything it holds, setup included.
	all := collectHistory(t, a, audit.HistoryFilter{})
	if len(all) != 8 || all[0].Operation != "platform.bootstrap" || all[0].Actor != "user:vera" {
		t.Errorf("full history has %d changes, first %+v; want 8 starting with the bootstrap", len(all), all[0])
	}
	// Resuming from the last change gives nothing new.
	if rest := collectHistory(t, a, audit.HistoryFilter{Since: changes[len(changes)-1].Revision}); len(rest) != 0 {
		t.Errorf("history after the last change = %v", summary(rest))
	}

	// Renderers.
	var b bytes.Buffer
	if err := audit.WriteChangeJSON(&b, changes[2]); err != nil {
		t.Fatal(err)
	}
	var decoded struct {
		Actor, Reason, Operation string
		Updates                  []struct{ Operation, Relationship string }
	}
	if err := json.Unmarshal(b.Bytes(), &decoded); err != nil || strings.Count(b.String(), "\n") != 1 ||
		decoded.Actor != "user:bill" || decoded.Operation != "partner.grant" || len(decoded.Updates) != 1 {
		t.Errorf("JSON line %q (%v)", b.String(), err)
	}
	b.Reset()
	_ = audit.WriteChangeText(&b, changes[1])
	lines := strings.Split(b.String(), "\n")
	if !strings.HasSuffix(lines[0], `  user:bill  member.approve  "known contact"`) || !strings.HasPrefix(lines[1], "    delete account:acme#join_request_standard@user:dave (expires ") {
		t.Errorf("text change:\n%s", b.String())
	}
}

// Follow streams changes as they happen and ends quietly when its context is cancelled.
func TestFollow(t *testing.T) {
	c, a, _ := historyWorld(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan audit.Change, 10)
	done := make(chan error, 1)
	go func() {
		for ch, err := range a.Follow(ctx, audit.HistoryFilter{Actor: bill}) {
			if err != nil {
				done <- err
				return
			}
			got <- ch
		}
		done <- nil
	}()
	time.Sleep(200 * time.Millisecond) // let the watch start before the change
	if _, err := c.GrantPartner(context.Background(), as(bill, "live"), "acme", access.PartnerOrg("integrator"), access.LevelCC, time.Time{}); err != nil {
		t.Fatal(err)
	}
	select {
	case ch := <-got:
		if ch.Operation != "partner.grant" || ch.Reason != "live" {
			t.Errorf("followed %+v", ch)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no change followed")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("follow ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("follow did not end after cancel")
	}
}
