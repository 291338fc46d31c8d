package console_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/demo"
)

// pending reports whether dave's request to join acme is still waiting.
func pending(t *testing.T, s *server) bool {
	t.Helper()
	reqs, err := s.access.PendingRequests(context.Background(), access.As(demo.AcmeAdmin), demo.Acme)
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(reqs, func(r access.JoinRequest) bool { return r.User == demo.Requester })
}

func TestApprovalNeedsTheSessionsTokenAndThisSite(t *testing.T) {
	s := newServer(t, false)
	b := s.browser(t)
	b.signIn(billKey)
	token := b.csrf()
	form := func(csrf string) url.Values {
		v := url.Values{"account": {demo.Acme}, "user": {demo.Requester}, "decision": {"approve"}}
		if csrf != "" {
			v.Set("csrf", csrf)
		}
		return v
	}
	other := s.browser(t)
	other.signIn(operatorKey)
	refused := []struct {
		name   string
		form   url.Values
		header http.Header
	}{
		{"no token", form(""), nil},
		{"wrong token", form("x" + token[1:]), nil},
		{"another session's token", form(other.csrf()), nil},
		{"right token from another origin", form(token), http.Header{"Origin": {"https://evil.example"}}},
		{"right token from another site", form(token), http.Header{"Sec-Fetch-Site": {"cross-site"}}},
	}
	for _, tc := range refused {
		if resp, body := b.do("POST", "/approvals", tc.form, tc.header); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403\n%s", tc.name, resp.StatusCode, body)
		}
		if !pending(t, s) {
			t.Fatalf("%s: the request was decided", tc.name)
		}
	}
	resp, body := b.do("POST", "/approvals", form(token), http.Header{"Origin": {s.url}, "Sec-Fetch-Site": {"same-origin"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve with the token: %d\n%s", resp.StatusCode, body)
	}
	if pending(t, s) {
		t.Error("dave is still pending after the approval")
	}
	d, err := s.access.Check(context.Background(), subjectOf("user:"+demo.Requester), "member", objectOf("account:"+demo.Acme), access.Full())
	if err != nil || !d.Allowed {
		t.Errorf("dave is no member of acme after the approval: %v %v", d, err)
	}
}

func TestAnAuditorMayNotDecide(t *testing.T) {
	s := newServer(t, false)
	b := s.browser(t)
	b.signIn(auditorKey)
	resp, body := b.get("/approvals?as=" + demo.AcmeAdmin)
	if resp.StatusCode != http.StatusOK || !contains(body, `data-user="dave"`) || contains(body, ">Approve<") || contains(body, `value="approve"`) {
		t.Errorf("auditor's approvals: %d, want dave's request without buttons\n%s", resp.StatusCode, body)
	}
	forged := url.Values{"csrf": {b.csrf()}, "as": {demo.AcmeAdmin}, "account": {demo.Acme}, "user": {demo.Requester}, "decision": {"approve"}}
	if resp, body := b.do("POST", "/approvals", forged, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("auditor's forged approval: %d, want 403\n%s", resp.StatusCode, body)
	}
	if !pending(t, s) {
		t.Error("the auditor's forged approval decided the request")
	}
}
