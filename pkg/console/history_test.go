package console_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/demo"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// historyRows reads every page of the history page's rows as "operation actor".
func historyRows(t *testing.T, b *browser, query url.Values) []string {
	t.Helper()
	var rows []string
	for page := 1; page < 100; page++ {
		query.Set("page", strconv.Itoa(page))
		resp, body := b.get("/history?" + query.Encode())
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("history %v: %d\n%s", query, resp.StatusCode, body)
		}
		ops, actors := attrsInOrder(body, "data-operation"), attrsInOrder(body, "data-actor")
		for i := range ops {
			rows = append(rows, ops[i]+" "+actors[i])
		}
		if !strings.Contains(body, `rel="next"`) {
			return rows
		}
	}
	t.Fatal("history never ends")
	return nil
}

func attrsInOrder(body, name string) []string {
	var out []string
	rest := body
	for {
		i := strings.Index(rest, name+`="`)
		if i < 0 {
			return out
		}
		rest = rest[i+len(name)+2:]
		out = append(out, rest[:strings.IndexByte(rest, '"')])
	}
}

func TestHistoryPageShowsTheAuditorsHistory(t *testing.T) {
	s := sharedServer(t)
	b := s.browser(t)
	b.signIn(auditorKey)
	for _, tc := range []struct {
		query  url.Values
		filter audit.HistoryFilter
	}{
		{url.Values{}, audit.HistoryFilter{}},
		{url.Values{"account": {demo.Acme}}, audit.HistoryFilter{Account: ref.Object{Type: "account", ID: demo.Acme}}},
		{url.Values{"actor": {demo.AcmeAdmin}}, audit.HistoryFilter{Actor: demo.AcmeAdmin}},
		{url.Values{"operation": {"member.approve"}}, audit.HistoryFilter{Operation: "member.approve"}},
		{url.Values{"object": {"user:" + demo.Standard}}, audit.HistoryFilter{Object: ref.Object{Type: "user", ID: demo.Standard}}},
	} {
		var want []string
		for c, err := range s.audit.History(context.Background(), tc.filter) {
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, c.Operation+" "+c.Actor)
		}
		got := historyRows(t, b, tc.query)
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("history %v: page shows %d changes %v, the auditor %d %v", tc.query, len(got), got, len(want), want)
		}
	}
}

func TestAsOfWithoutAnAuditLogSaysSo(t *testing.T) {
	s := sharedServer(t)
	b := s.browser(t)
	b.signIn(auditorKey)
	resp, body := b.get("/why?subject=user:bill&permission=member&object=account:acme&at=2026-01-01T00:00:00Z")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "cannot answer as of a past time") {
		t.Errorf("as of on a server without an audit log: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := b.get("/person/bill?at=yesterday"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a malformed at: %d, want 400", resp.StatusCode)
	}
}
