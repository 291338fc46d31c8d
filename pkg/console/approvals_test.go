package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/demo"
)

// Partner requests are decided on the approvals page through the domain API: acme's admin
// approves one and denies another; a user who is not acme's admin and a malformed grantee
// are refused and change nothing.
func TestApprovalsDecidePartnerRequestsAsTheAPIAuthorises(t *testing.T) {
	s := newServer(t, false)
	ctx := context.Background()
	if _, err := s.access.RequestPartnerLevel(ctx, access.As(demo.Rita), demo.Acme, access.PartnerOrg(demo.Reseller), access.LevelLook); err != nil {
		t.Fatal(err)
	}
	if _, err := s.access.RequestPartnerLevel(ctx, access.As(demo.Max), demo.Acme, access.Individual(demo.Max), access.LevelLook); err != nil {
		t.Fatal(err)
	}
	sees := func(user string) bool {
		t.Helper()
		d, err := s.access.Check(ctx, subjectOf("user:"+user), "view_all_cases", objectOf("account:"+demo.Acme), access.Full())
		if err != nil {
			t.Fatal(err)
		}
		return d.Allowed
	}
	pending := func() int {
		t.Helper()
		prs, err := s.access.PendingPartnerRequests(ctx, access.As(demo.AcmeAdmin), demo.Acme)
		if err != nil {
			t.Fatal(err)
		}
		return len(prs)
	}
	if sees(demo.Rita) || sees(demo.Max) || pending() != 2 {
		t.Fatalf("before any decision: rita sees %v, max sees %v, %d pending", sees(demo.Rita), sees(demo.Max), pending())
	}

	// sally is no admin of acme: the API refuses her, and nothing changes.
	sally := s.browser(t)
	sally.signIn(sallyKey)
	if resp, body := sally.do("POST", "/approvals", url.Values{"csrf": {sally.csrf()}, "account": {demo.Acme}, "grantee": {"partner:" + demo.Reseller}, "decision": {"approve"}}, nil); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `role="alert"`) {
		t.Errorf("sally approving a partner request: %d, want 403 with the reason\n%s", resp.StatusCode, body)
	}

	bill := s.browser(t)
	bill.signIn(billKey)
	_, page := bill.get("/approvals")
	for _, g := range []string{"partner:" + demo.Reseller, "user:" + demo.Max} {
		if !strings.Contains(page, `data-grantee="`+g+`"`) || !strings.Contains(page, `aria-label="approve `+g+` on acme"`) {
			t.Errorf("bill's approvals do not offer %s's request:\n%s", g, page)
		}
	}
	csrf := bill.csrf()
	for _, bad := range []url.Values{
		{"csrf": {csrf}, "account": {demo.Acme}, "grantee": {"group:" + demo.District}, "decision": {"approve"}},
		{"csrf": {csrf}, "account": {demo.Acme}, "grantee": {"partner:" + demo.Reseller}, "decision": {"maybe"}},
	} {
		if resp, body := bill.do("POST", "/approvals", bad, nil); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `role="alert"`) {
			t.Errorf("%v: %d, want 400 with the reason\n%s", bad, resp.StatusCode, body)
		}
	}
	if sees(demo.Rita) || sees(demo.Max) || pending() != 2 {
		t.Fatalf("refused decisions changed something: rita sees %v, max sees %v, %d pending", sees(demo.Rita), sees(demo.Max), pending())
	}

	for _, d := range []struct{ grantee, decision string }{{"partner:" + demo.Reseller, "approve"}, {"user:" + demo.Max, "deny"}} {
		if resp, body := bill.do("POST", "/approvals", url.Values{"csrf": {csrf}, "account": {demo.Acme}, "grantee": {d.grantee}, "decision": {d.decision}}, nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("bill %s %s: %d\n%s", d.decision, d.grantee, resp.StatusCode, body)
		}
	}
	if !sees(demo.Rita) || sees(demo.Max) || pending() != 0 {
		t.Errorf("after approving reseller and denying max: rita sees %v (want true), max sees %v (want false), %d pending", sees(demo.Rita), sees(demo.Max), pending())
	}
}
