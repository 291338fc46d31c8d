package console_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/client"
	"github.com/accessgraph/accessgraph/pkg/demo"
)

// chromium starts a headless Chromium for the test, from ACCESSGRAPH_TEST_BROWSER (make
// test-browser sets it); without it the test is skipped, so go test needs no browser.
func chromium(t *testing.T) context.Context {
	t.Helper()
	bin := os.Getenv("ACCESSGRAPH_TEST_BROWSER")
	if bin == "" {
		t.Skip("set ACCESSGRAPH_TEST_BROWSER to a Chromium binary (make test-browser) to run the browser tests")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		// Without these the browser reaches for the network at start and hangs where there is none.
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
	)
	ctx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(ctx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelBrowser(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	return ctx
}

// artifacts is where screenshots go: ACCESSGRAPH_TEST_ARTIFACTS, else a temporary directory.
func artifacts(t *testing.T) string {
	dir := os.Getenv("ACCESSGRAPH_TEST_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tab drives one browser tab through the console.
type tab struct {
	t   *testing.T
	ctx context.Context
	s   *server
	dir string
}

func (b *tab) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// value runs one action that returns a value.
func value[T any](b *tab, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

func (b *tab) open(path string) {
	b.t.Helper()
	b.run("opening "+path, chromedp.Navigate(b.s.url+path), chromedp.WaitReady(chromedp.CSS("body")))
}

func (b *tab) location() string {
	return strings.TrimPrefix(value(b, "reading the location", chromedp.Location()), b.s.url)
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	return value(b, "reading "+sel, chromedp.Text(chromedp.CSS(sel)))
}

// list evaluates a script returning strings, sorted.
func (b *tab) list(script string) []string {
	b.t.Helper()
	out := value(b, "evaluating "+script, chromedp.Evaluate[[]string](script))
	slices.Sort(out)
	return out
}

func (b *tab) screenshot(name string) {
	b.t.Helper()
	png := value(b, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(b.dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *tab) signIn(key, next string) {
	b.t.Helper()
	b.open("/signin?next=" + next)
	b.run("signing in", chromedp.SendKeys(chromedp.ID("key"), key), chromedp.Submit(chromedp.ID("key")), chromedp.WaitVisible(chromedp.ID("who")))
}

func (b *tab) signOut() {
	b.t.Helper()
	b.run("signing out", chromedp.Click(chromedp.CSS(".signout button")), chromedp.WaitVisible(chromedp.ID("key")))
}

func TestBrowser(t *testing.T) {
	ctx := chromium(t)
	s := newServer(t, false)
	b := &tab{t: t, ctx: ctx, s: s, dir: artifacts(t)}
	bg := context.Background()

	// Unauthenticated: redirected to sign in, and back to the page after.
	b.open("/person/" + demo.Standard)
	if loc := b.location(); loc != "/signin?next=%2Fperson%2F"+demo.Standard {
		t.Fatalf("unauthenticated: at %q, want the sign-in page with next", loc)
	}
	b.screenshot("signin")
	b.run("signing in as the auditor", chromedp.SendKeys(chromedp.ID("key"), auditorKey), chromedp.Submit(chromedp.ID("key")), chromedp.WaitVisible(chromedp.ID("reach")))
	if who := b.text("#who"); !strings.Contains(who, "auditor:audit") {
		t.Errorf("signed in as %q, want the auditor", who)
	}

	// A person: what sally reaches, as the domain looks it up.
	var want []string
	for _, r := range personReach {
		for o, err := range s.access.LookupResources(bg, subjectOf("user:"+demo.Standard), r.permission, r.typ, access.Full()) {
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, o.String()+" "+r.permission)
		}
	}
	slices.Sort(want)
	if got := b.list(`Array.from(document.querySelectorAll("#reach tr[data-object]")).map(r => r.dataset.object + " " + r.dataset.permission)`); !slices.Equal(got, want) {
		t.Errorf("sally's page shows %v, the domain %v", got, want)
	}
	b.screenshot("person")

	// An object: who can see every case of acme.
	var holders []string
	for h, err := range s.audit.WhoCan(bg, objectOf("account:"+demo.Acme), "view_all_cases") {
		if err != nil {
			t.Fatal(err)
		}
		holders = append(holders, h.User)
	}
	slices.Sort(holders)
	b.open("/objects/account/" + demo.Acme)
	if got := b.list(`Array.from(document.querySelectorAll("#holders tr[data-user]")).map(r => r.dataset.user)`); !slices.Equal(got, holders) {
		t.Errorf("acme's page shows %v, who-can %v", got, holders)
	}
	b.screenshot("object")

	// The account's access review, sorted by subject in the browser.
	rv, err := s.audit.AccessReview(bg, access.As(demo.AcmeAdmin), demo.Acme, audit.ReviewOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var reviewRows []string
	for _, r := range rv.Rows() {
		reviewRows = append(reviewRows, r.Section+"|"+r.Subject+"|"+r.Access+"|"+r.Object)
	}
	slices.Sort(reviewRows)
	b.run("opening the review", chromedp.Click(chromedp.ID("review-link")), chromedp.WaitVisible(chromedp.ID("as")))
	b.run("reviewing as bill", chromedp.SendKeys(chromedp.ID("as"), demo.AcmeAdmin), chromedp.Submit(chromedp.ID("as")), chromedp.WaitVisible(chromedp.ID("review")))
	b.run("sorting by subject", chromedp.Click(chromedp.CSS(`#review th a[href*="sort=subject"]`)), chromedp.WaitVisible(chromedp.CSS(`#review th a[aria-current]`)))
	if got := b.list(`Array.from(document.querySelectorAll("#review tr[data-row]")).map(r => r.dataset.row)`); !slices.Equal(got, reviewRows) {
		t.Errorf("acme's review shows %v, the auditor %v", got, reviewRows)
	}
	subjects := value(b, "reading the subjects", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#review tr[data-row] td:nth-child(2)")).map(c => c.textContent)`))
	if !slices.IsSorted(subjects) {
		t.Errorf("sorted by subject, the page shows %v", subjects)
	}
	b.screenshot("review")

	// Why and why not, with the drawing.
	for _, tc := range []struct{ user, object, perm string }{
		{demo.Standard, "account:" + demo.Acme, "member"},
		{demo.PartnerPet, "account:" + demo.Acme, "view_all_cases"},
		{demo.PartnerPam, "account:" + demo.Acme, "view_all_cases"},
	} {
		e, err := s.audit.Explain(bg, subjectOf("user:"+tc.user), tc.perm, objectOf(tc.object), access.Full())
		if err != nil {
			t.Fatal(err)
		}
		b.open("/why?subject=user:" + tc.user + "&permission=" + tc.perm + "&object=" + tc.object)
		verdict := "cannot"
		if e.Allowed {
			verdict = "can"
		}
		if got := b.text("#verdict"); got != "user:"+tc.user+" "+verdict+" "+tc.perm+" "+tc.object+"." {
			t.Errorf("why %s %s %s: %q, want %q", tc.user, tc.perm, tc.object, got, verdict)
		}
		boxes := b.list(`Array.from(document.querySelectorAll("#graph rect")).map(r => r.getAttribute("class"))`)
		if len(boxes) == 0 || (e.Allowed && !slices.Contains(boxes, "node sat")) {
			t.Errorf("why %s: the drawing has boxes %v", tc.user, boxes)
		}
		b.screenshot("why-" + tc.user)
	}

	// Approvals: the auditor sees dave's request and no button.
	b.open("/approvals?as=" + demo.AcmeAdmin)
	if rows := b.list(`Array.from(document.querySelectorAll("tr.request[data-user]")).map(r => r.dataset.user)`); !slices.Contains(rows, demo.Requester) {
		t.Errorf("the auditor's approvals show %v, want dave's request", rows)
	}
	if n := b.list(`Array.from(document.querySelectorAll("button[value=approve], button[value=deny]")).map(b => b.value)`); len(n) != 0 {
		t.Errorf("the auditor sees decision buttons: %v", n)
	}
	b.screenshot("approvals-auditor")
	b.signOut()

	// bill, acme's admin, approves dave in the browser.
	b.signIn(billKey, "/approvals")
	b.screenshot("approvals")
	b.run("approving dave", chromedp.Click(chromedp.CSS(`button[aria-label="approve dave on acme"]`)), chromedp.WaitVisible(chromedp.ID("none")))
	op, err := client.New(s.url, operatorKey)
	if err != nil {
		t.Fatal(err)
	}
	d, err := op.Check(bg, subjectOf("user:"+demo.Requester), "member", objectOf("account:"+demo.Acme), access.Full())
	if err != nil || !d.Allowed {
		t.Errorf("after the approval in the browser, the API says dave is no member of acme: %v %v", d, err)
	}
	b.signOut()

	// The operator sees the approval in history, made by bill's principal.
	b.signIn(operatorKey, "/history%3Foperation%3Dmember.approve%26actor%3Dbill")
	rows := b.list(`Array.from(document.querySelectorAll("#changes tr[data-operation]")).map(r => r.dataset.operation + " " + r.cells[2].textContent + " " + r.cells[4].textContent)`)
	if !slices.Contains(rows, "member.approve user:bill decided in the access console") {
		t.Errorf("history of bill's approvals: %v, want the console's", rows)
	}
	b.screenshot("history")

	// Search, at phone width too.
	b.open("/?q=" + demo.Acme)
	if href := b.list(`Array.from(document.querySelectorAll("#hits a")).map(a => a.getAttribute("href"))`); !slices.Contains(href, "/objects/account/"+demo.Acme) {
		t.Errorf("search acme: links %v", href)
	}
	b.screenshot("search")
	b.run("phone width", chromedp.EmulateViewport(390, 844))
	b.open("/person/" + demo.Standard)
	b.screenshot("person-phone")
}
