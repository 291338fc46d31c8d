package console_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/demo"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func subjectOf(s string) ref.Subject {
	sub, err := ref.ParseSubject(s)
	if err != nil {
		panic(err)
	}
	return sub
}

func objectOf(s string) ref.Object {
	o, err := ref.Parse(s)
	if err != nil {
		panic(err)
	}
	return o
}

// demoUsers are the demo's cast of users.
var demoUsers = []string{
	demo.VendorAdmin, demo.CustomerCare, demo.Consultant, demo.AcmeAdmin, demo.Standard, demo.Viewer, demo.Requester,
	demo.PartnerPam, demo.PartnerPet, demo.Rita, demo.Max, demo.ValleyAdmin, demo.SuperCust, demo.AlmondStaff,
	demo.BirchStaff, demo.ClassTeacher, demo.IBOutsider, demo.IBNonMember, demo.FieldEngineer, demo.Lead,
}

// personReach is what the person page answers: a person's objects by these permissions.
var personReach = []struct{ typ, permission string }{
	{"account", "member"}, {"account", "view_all_cases"}, {"case", "view"}, {"sold_product", "view"}, {"install_base", "view"},
}

var rowRE = regexp.MustCompile(`data-object="([^"]*)" data-permission="([^"]*)" data-account="([^"]*)"`)

// attrs are the values of attribute name on a page, unescaped.
func attrs(body, name string) []string {
	var out []string
	for _, m := range regexp.MustCompile(name+`="([^"]*)"`).FindAllStringSubmatch(body, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	slices.Sort(out)
	return out
}

// personRows reads every page of a person's reach (query adds to each page's URL), each
// row as "OBJECT PERMISSION @ACCOUNT", and checks each row sits in its account's group.
func personRows(t *testing.T, b *browser, user, query string) []string {
	t.Helper()
	var rows []string
	for page := 1; ; page++ {
		resp, body := b.get(fmt.Sprintf("/person/%s?page=%d%s", url.PathEscape(user), page, query))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("person %s page %d: %d\n%s", user, page, resp.StatusCode, body)
		}
		for _, group := range strings.Split(body, `<section class="card group" data-account="`)[1:] {
			account := html.UnescapeString(group[:strings.IndexByte(group, '"')])
			for _, m := range rowRE.FindAllStringSubmatch(group, -1) {
				if got := html.UnescapeString(m[3]); got != account {
					t.Errorf("person %s: row %s (account %q) is in the group of account %q", user, m[1], got, account)
				}
				rows = append(rows, html.UnescapeString(m[1])+" "+m[2]+" @"+html.UnescapeString(m[3]))
			}
		}
		if !contains(body, `rel="next"`) {
			break
		}
	}
	slices.Sort(rows)
	return rows
}

// wantAccount is the account the domain's explanation puts obj in: its own for an account,
// else the one its account relationship on a path names.
func wantAccount(obj ref.Object, e audit.Explanation) string {
	if obj.Type == "account" {
		return obj.ID
	}
	for _, p := range e.Paths {
		for _, r := range p.Relationships {
			if rest, ok := strings.CutPrefix(r, obj.String()+"#account@account:"); ok {
				return strings.FieldsFunc(rest, func(c rune) bool { return c == '[' || c == ' ' })[0]
			}
		}
	}
	return ""
}

func TestPersonPageGroupsWhatTheDomainLooksUpByAccount(t *testing.T) {
	s := sharedServer(t)
	ctx := context.Background()
	b := s.browser(t)
	b.signIn(operatorKey)
	total, grouped := 0, 0
	for _, user := range demoUsers {
		var want []string
		byKind := map[audit.PathKind][]string{}
		for _, r := range personReach {
			for o, err := range s.access.LookupResources(ctx, subjectOf("user:"+user), r.permission, r.typ, access.Full()) {
				if err != nil {
					t.Fatal(err)
				}
				e, err := s.audit.Explain(ctx, subjectOf("user:"+user), r.permission, o, access.Full())
				if err != nil {
					t.Fatal(err)
				}
				row := o.String() + " " + r.permission + " @" + wantAccount(o, e)
				want = append(want, row)
				for _, p := range e.Paths {
					if !slices.Contains(byKind[p.Kind], row) {
						byKind[p.Kind] = append(byKind[p.Kind], row)
					}
				}
				if wantAccount(o, e) != "" {
					grouped++
				}
			}
		}
		slices.Sort(want)
		if got := personRows(t, b, user, ""); !slices.Equal(got, want) {
			t.Errorf("person %s: page lists %v, the domain %v", user, got, want)
		}
		for _, k := range allKinds {
			rows := byKind[k]
			slices.Sort(rows)
			if got := personRows(t, b, user, "&kind="+url.QueryEscape(string(k))); !slices.Equal(got, rows) {
				t.Errorf("person %s kind %s: page lists %v, the domain %v", user, k, got, rows)
			}
		}
		total += len(want)
	}
	if total < 20 || grouped < 10 {
		t.Fatalf("the demo's people reach %d objects in all, %d in an account: the comparison proves little", total, grouped)
	}
	// tara's individual grant on acme ends in 30 days: the row is marked, a member's is not.
	if _, body := b.get("/person/" + demo.Consultant); !contains(body, `class="expiring" data-object="account:acme" data-permission="view_all_cases"`) {
		t.Errorf("tara's expiring grant is not marked:\n%s", body)
	}
	if _, body := b.get("/person/" + demo.Standard); contains(body, `class="expiring" data-object`) {
		t.Errorf("sally's page marks a row expiring:\n%s", body)
	}
	// An unknown kind is refused with the fix, on the person and the object page.
	for _, p := range []string{"/person/" + demo.Standard + "?kind=nonsense", "/objects/account/" + demo.Acme + "?kind=nonsense"} {
		if resp, body := b.get(p); resp.StatusCode != http.StatusBadRequest || !contains(body, "choose one of the kinds of path") {
			t.Errorf("%s: %d, want 400 naming the fix\n%s", p, resp.StatusCode, body)
		}
	}
}

// allKinds are the kinds of path the filters offer.
var allKinds = []audit.PathKind{
	audit.KindAdmin, audit.KindStandard, audit.KindViewer, audit.KindCustomerCare, audit.KindPartnerOrg,
	audit.KindPartnerIndividual, audit.KindVendorStaff, audit.KindDataAccess, audit.KindGroupRead,
	audit.KindFunctionalRole, audit.KindCustomRole, audit.KindReporter, audit.KindEveryone, audit.KindOther,
}

func TestAUserSeesOnlyItself(t *testing.T) {
	s := sharedServer(t)
	b := s.browser(t)
	b.signIn(sallyKey)
	if resp, body := b.get("/person/" + demo.Standard); resp.StatusCode != http.StatusOK || !contains(body, "data-object=") {
		t.Errorf("sally's own page: %d\n%s", resp.StatusCode, body)
	}
	for _, path := range []string{"/person/" + demo.AcmeAdmin, "/objects/account/acme", "/why?subject=user:bill&permission=view_all_cases&object=account:acme", "/history", "/?q=acme"} {
		if resp, body := b.get(path); resp.StatusCode != http.StatusForbidden || !contains(body, `role="alert"`) {
			t.Errorf("sally asks %s: %d, want 403 with the reason\n%s", path, resp.StatusCode, body)
		}
	}
}

// demoObjects are objects of every kind the object page shows, with the cases acme's admin sees.
func demoObjects(t *testing.T, s *server) []string {
	t.Helper()
	objs := []string{"account:" + demo.Acme, "account:" + demo.Valley, "group:" + demo.District, "partner:" + demo.Integrator,
		"sold_product:" + demo.SoldProduct, "install_base:" + demo.InstallBase}
	for _, u := range []string{demo.AcmeAdmin, demo.SuperCust} {
		for o, err := range s.access.LookupResources(context.Background(), subjectOf("user:"+u), "view", "case", access.Full()) {
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(objs, o.String()) {
				objs = append(objs, o.String())
			}
		}
	}
	return objs
}

var defaultPermission = map[string]string{"account": "view_all_cases", "group": "member", "partner": "member", "case": "view", "sold_product": "view", "install_base": "view"}

func TestObjectPageListsWhoCanAsTheAuditorDoes(t *testing.T) {
	s := sharedServer(t)
	ctx := context.Background()
	b := s.browser(t)
	b.signIn(auditorKey)
	holders := 0
	for _, obj := range demoObjects(t, s) {
		o := objectOf(obj)
		perm := defaultPermission[o.Type]
		kinds := map[audit.PathKind][]string{}
		var want []string
		for h, err := range s.audit.WhoCan(ctx, o, perm) {
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, h.User)
			for _, k := range h.Kinds {
				kinds[k] = append(kinds[k], h.User)
			}
		}
		slices.Sort(want)
		_, body := b.get("/objects/" + o.Type + "/" + o.ID)
		if got := attrs(body, "data-user"); !slices.Equal(got, want) {
			t.Errorf("%s %s: page lists %v, who-can %v", obj, perm, got, want)
		}
		holders += len(want)
		for k, users := range kinds {
			slices.Sort(users)
			_, body := b.get("/objects/" + o.Type + "/" + o.ID + "?kind=" + url.QueryEscape(string(k)))
			if got := attrs(body, "data-user"); !slices.Equal(got, users) {
				t.Errorf("%s %s kind %s: page lists %v, who-can %v", obj, perm, k, got, users)
			}
		}
	}
	if holders < 10 {
		t.Fatalf("only %d holders in all: the comparison proves little", holders)
	}
}

func TestWhyPageGivesTheExplanationsVerdictAndPaths(t *testing.T) {
	s := sharedServer(t)
	ctx := context.Background()
	b := s.browser(t)
	b.signIn(auditorKey)
	objs := demoObjects(t, s)
	asked, allowed := 0, 0
	for i, user := range demoUsers {
		for j, obj := range objs {
			o := objectOf(obj)
			if (o.Type != "case" && o.Type != "account") || (i+j)%2 == 1 { // half the pairs, to keep it quick
				continue
			}
			perm := defaultPermission[o.Type]
			e, err := s.audit.Explain(ctx, subjectOf("user:"+user), perm, o, access.Full())
			if err != nil {
				t.Fatal(err)
			}
			v := url.Values{"subject": {"user:" + user}, "permission": {perm}, "object": {obj}}
			resp, body := b.get("/why?" + v.Encode())
			verdict := "cannot"
			if e.Allowed {
				verdict = "can"
			}
			if resp.StatusCode != http.StatusOK || !contains(body, fmt.Sprintf("user:%s %s %s %s.", user, verdict, perm, obj)) || !contains(body, `<svg id="graph"`) {
				t.Errorf("why %s %s %s: %d, want %q\n%s", user, perm, obj, resp.StatusCode, verdict, body)
				continue
			}
			for _, p := range e.Paths {
				if !contains(body, html.EscapeString(p.Text)) {
					t.Errorf("why %s %s %s: path %q missing", user, perm, obj, p.Text)
				}
			}
			for _, w := range e.Ways {
				if !contains(body, html.EscapeString(w.Description)) {
					t.Errorf("why %s %s %s: way %q missing", user, perm, obj, w.Description)
				}
			}
			asked++
			if e.Allowed {
				allowed++
			}
		}
	}
	if asked < 20 || allowed == 0 || allowed == asked {
		t.Fatalf("asked %d questions, %d allowed: want at least 20 with both answers", asked, allowed)
	}
}

func TestHostileIdsAreEscaped(t *testing.T) {
	s := sharedServer(t)
	b := s.browser(t)
	b.signIn(operatorKey)
	const evil = `<script>alert(1)</script>"'><img src=x onerror=alert(2)>`
	paths := []string{
		"/person/" + url.PathEscape(evil),
		"/objects/case/" + url.PathEscape(evil),
		"/objects/" + url.PathEscape(evil) + "/x",
		"/why?" + url.Values{"subject": {"user:" + evil}, "permission": {"view"}, "object": {"case:" + evil}}.Encode(),
		"/?" + url.Values{"q": {evil}}.Encode(),
		"/history?" + url.Values{"actor": {evil}, "operation": {evil}}.Encode(),
		"/approvals?" + url.Values{"as": {evil}}.Encode(),
	}
	for _, p := range paths {
		_, body := b.get(p)
		if contains(body, "<script>") || contains(body, "<img src=x") || contains(body, `"'><img`) {
			t.Errorf("%s: the hostile id reached the page unescaped:\n%s", p, body)
		}
	}
}

func TestAnUnknownIdIsNamedWithTheFix(t *testing.T) {
	s := sharedServer(t)
	b := s.browser(t)
	b.signIn(operatorKey)
	for _, tc := range []struct{ path, want string }{
		{"/person/bob", `no user &#34;bob&#34;: check the id`},
		{"/objects/case/nosuchcase", `no case &#34;nosuchcase&#34;: check the id`},
		{"/?q=nosuchthing", `nothing has the id &#34;nosuchthing&#34;: check the id`},
	} {
		if _, body := b.get(tc.path); !contains(body, tc.want) {
			t.Errorf("%s: want %q\n%s", tc.path, tc.want, body)
		}
	}
}

func TestSearchFindsEveryKindByID(t *testing.T) {
	s := sharedServer(t)
	b := s.browser(t)
	b.signIn(operatorKey)
	for _, obj := range append(demoObjects(t, s), "user:"+demo.AcmeAdmin, "user:"+demo.SuperCust) {
		o := objectOf(obj)
		_, body := b.get("/?" + url.Values{"q": {o.ID}}.Encode())
		want := "/objects/" + o.Type + "/" + url.PathEscape(o.ID)
		if o.Type == "user" {
			want = "/person/" + o.ID
		}
		if !contains(body, `href="`+want+`"`) {
			t.Errorf("search %q: no link to %s\n%s", o.ID, want, body)
		}
	}
}

// A page asked as of a past time keeps that time in the navigation and in what it links
// to, and offers the same page at the present.
func TestAsOfTimeCarriesThroughNavigationAndSearch(t *testing.T) {
	s := sharedServer(t)
	b := s.browser(t)
	b.signIn(operatorKey)
	at := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339Nano)
	escaped := url.Values{"at": {at}}.Encode()
	for _, obj := range append(demoObjects(t, s), "user:"+demo.AcmeAdmin) {
		o := objectOf(obj)
		resp, body := b.get("/?" + url.Values{"q": {o.ID}, "type": {o.Type}, "at": {at}}.Encode())
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("search %s as of %s: %d\n%s", obj, at, resp.StatusCode, body)
		}
		page := "/objects/" + o.Type + "/" + url.PathEscape(o.ID)
		if o.Type == "user" {
			page = "/person/" + o.ID
		}
		present := "/?" + url.Values{"q": {o.ID}, "type": {o.Type}}.Encode()
		for _, want := range []string{
			`href="` + page + "?" + escaped + `"`,
			`href="/?` + escaped + `">Search`,
			`href="/why?` + escaped + `">Why`,
			`id="now" href="` + html.EscapeString(present) + `"`,
			`type="hidden" name="at" value="` + at + `"`,
		} {
			if !contains(body, want) {
				t.Errorf("search %s as of %s: no %s\n%s", obj, at, want, body)
			}
		}
	}
	// At the present nothing carries a time.
	_, body := b.get("/?q=" + url.QueryEscape(demo.Acme))
	if contains(body, "at=") || contains(body, `id="now"`) {
		t.Errorf("search at the present carries a time:\n%s", body)
	}
}
