package console_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/client"
	"github.com/accessgraph/accessgraph/pkg/demo"
)

// personOnPage is a person page's rows, "OBJECT PERMISSION", in order of the lookup.
func personOnPage(body string) []string {
	var rows []string
	for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
		rows = append(rows, html.UnescapeString(m[1])+" "+m[2])
	}
	slices.Sort(rows)
	return rows
}

// The person, object and why pages answer as of a past time exactly as the domain API's
// "as of" (accessctl --at) does, keep the time in their links, and the history page links
// each entry to the pages as they stood just after it.
func TestPagesAsOfAPastTimeAnswerAsTheAPIAtThatTime(t *testing.T) {
	s := newLoggedServer(t)
	s.caughtUp(t, 0)
	ctx := context.Background()
	time.Sleep(1100 * time.Millisecond)
	before := time.Now().UTC()
	time.Sleep(1100 * time.Millisecond)
	b := s.browser(t)
	b.signIn(operatorKey)
	if resp, body := b.do("POST", "/approvals", url.Values{"csrf": {b.csrf()}, "as": {demo.AcmeAdmin}, "account": {demo.Acme}, "user": {demo.Requester}, "decision": {"approve"}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("approving dave: %d\n%s", resp.StatusCode, body)
	}
	s.caughtUp(t, 1)
	op, err := client.New(s.url, operatorKey)
	if err != nil {
		t.Fatal(err)
	}
	at := before.Format(time.RFC3339Nano)
	past := op.At(before)

	// The person page at that time against the API's lookups at that time, for people the
	// approval changed and people it did not.
	for _, user := range []string{demo.Requester, demo.Standard, demo.AcmeAdmin, demo.PartnerPam} {
		for _, api := range []struct {
			c     *client.Client
			query string
		}{{op, ""}, {past, "?at=" + url.QueryEscape(at)}} {
			var want []string
			for _, r := range personReach {
				for o, err := range api.c.LookupResources(ctx, subjectOf("user:"+user), r.permission, r.typ, access.Full()) {
					if err != nil {
						t.Fatal(err)
					}
					want = append(want, o.String()+" "+r.permission)
				}
			}
			slices.Sort(want)
			resp, body := b.get("/person/" + user + api.query)
			if got := personOnPage(body); resp.StatusCode != http.StatusOK || !slices.Equal(got, want) {
				t.Errorf("person %s%s: %d, page %v, the API %v", user, api.query, resp.StatusCode, got, want)
			}
			if asOf := strings.Contains(body, `id="asof"`); asOf != (api.query != "") {
				t.Errorf("person %s%s: the as-of banner shown %v", user, api.query, asOf)
			}
		}
	}
	_, body := b.get("/person/" + demo.Requester + "?at=" + url.QueryEscape(at))
	if slices.Contains(personOnPage(body), "account:acme member") {
		t.Errorf("as of before the approval, dave's page shows him a member of acme:\n%s", body)
	}
	_, body = b.get("/person/" + demo.Standard + "?at=" + url.QueryEscape(at))
	if !strings.Contains(body, "As of "+at) || !strings.Contains(body, `/objects/account/`+demo.Acme+`?at=`+url.QueryEscape(at)) || !strings.Contains(body, `/why?at=`+url.QueryEscape(at)) {
		t.Errorf("sally's page as of %s: no banner with the time, or links without it:\n%s", at, body)
	}

	// The object page then and now.
	for _, tc := range []struct {
		c     *client.Client
		query string
	}{{op, ""}, {past, "&at=" + url.QueryEscape(at)}} {
		var want []string
		for h, err := range tc.c.WhoCan(ctx, objectOf("account:"+demo.Acme), "member") {
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, h.User)
		}
		slices.Sort(want)
		_, body := b.get("/objects/account/" + demo.Acme + "?permission=member" + tc.query)
		if got := attrs(body, "data-user"); !slices.Equal(got, want) {
			t.Errorf("acme's members%s: page %v, who-can %v", tc.query, got, want)
		}
		if slices.Contains(want, demo.Requester) == (tc.query != "") {
			t.Errorf("acme's members%s: dave a member %v", tc.query, slices.Contains(want, demo.Requester))
		}
	}

	// The why page: yes now, no then.
	why := "/why?subject=user:" + demo.Requester + "&permission=member&object=account:" + demo.Acme
	if _, body := b.get(why); !strings.Contains(body, "user:dave can member account:acme.") {
		t.Errorf("why now: want can\n%s", body)
	}
	if _, body := b.get(why + "&at=" + url.QueryEscape(at)); !strings.Contains(body, "user:dave cannot member account:acme.") || !strings.Contains(body, `id="asof"`) {
		t.Errorf("why as of %s: want cannot with the banner\n%s", at, body)
	}

	// History: the approval's entry links to acme's page and dave's as they stood just after it.
	_, body = b.get("/history?operation=member.approve")
	if !strings.Contains(body, "touch <code>account:acme#standard@user:dave</code>") || !strings.Contains(body, "delete <code>account:acme#join_request_standard@user:dave</code> until ") {
		t.Errorf("the approval's entry does not list its relationships as written:\n%s", body)
	}
	links := attrsInOrder(body, `class="asof-link" href`)
	var acmeThen, daveThen string
	for _, l := range links {
		l = html.UnescapeString(l)
		switch {
		case strings.HasPrefix(l, "/objects/account/"+demo.Acme+"?at="):
			acmeThen = l
		case strings.HasPrefix(l, "/person/"+demo.Requester+"?at="):
			daveThen = l
		}
	}
	if acmeThen == "" || daveThen == "" {
		t.Fatalf("the approval's entry links %v, want acme's and dave's pages as of it", links)
	}
	if _, body := b.get(daveThen); !slices.Contains(personOnPage(body), "account:acme member") || !strings.Contains(body, `id="asof"`) {
		t.Errorf("%s: as of the approval dave is a member of acme:\n%s", daveThen, body)
	}
	if resp, body := b.get(acmeThen + "&permission=member"); resp.StatusCode != http.StatusOK || !slices.Contains(attrs(body, "data-user"), demo.Requester) {
		t.Errorf("%s: as of the approval dave is among acme's members: %d\n%s", acmeThen, resp.StatusCode, body)
	}

	// A time the log does not cover, or not a time: 400, naming the fix.
	for _, tc := range []struct{ path, want string }{
		{"/person/" + demo.Requester + "?at=2001-01-01T00:00:00Z", "choose a time the audit log covers"},
		{"/objects/account/" + demo.Acme + "?at=2001-01-01T00:00:00Z", "the audit log begins at"},
		{"/why?subject=user:dave&permission=member&object=account:acme&at=2999-01-01T00:00:00Z", "in the future"},
		{"/person/" + demo.Requester + "?at=last+tuesday", "write a time as 2006-01-02T15:04:05Z"},
	} {
		if resp, body := b.get(tc.path); resp.StatusCode != http.StatusBadRequest || !strings.Contains(html.UnescapeString(body), tc.want) {
			t.Errorf("%s: %d, want 400 saying %q\n%s", tc.path, resp.StatusCode, tc.want, body)
		}
	}
}
