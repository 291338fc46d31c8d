package console_test

import (
	"context"
	"net/url"
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
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*time.Minute)
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
	s := newLoggedServer(t)
	b := &tab{t: t, ctx: ctx, s: s, dir: artifacts(t)}
	bg := context.Background()
	// reseller asks acme for a partner level, which acme's admin decides in the browser below.
	if _, err := s.access.RequestPartnerLevel(bg, access.As(demo.Rita), demo.Acme, access.PartnerOrg(demo.Reseller), access.LevelLook); err != nil {
		t.Fatal(err)
	}
	s.caughtUp(t, 1)
	time.Sleep(1100 * time.Millisecond)
	before := time.Now().UTC().Format(time.RFC3339Nano) // before any decision made in the browser
	time.Sleep(1100 * time.Millisecond)

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
	// The same question asked with the CLI, against the same server.
	var cliWant []string
	for _, r := range personReach {
		for _, o := range lines(accessctl(t, s, operatorKey, 0, "lookup", "resources", "user:"+demo.Standard, r.permission, r.typ)) {
			cliWant = append(cliWant, o+" "+r.permission)
		}
	}
	slices.Sort(cliWant)
	if !slices.Equal(cliWant, want) || len(want) < 5 {
		t.Fatalf("accessctl lookup resources for sally: %v; the domain: %v", cliWant, want)
	}
	if got := b.list(`Array.from(document.querySelectorAll("#reach tr[data-object]")).map(r => r.dataset.object + " " + r.dataset.permission)`); !slices.Equal(got, want) {
		t.Errorf("sally's page shows %v, the domain and the CLI %v", got, want)
	}
	if bad := b.list(`Array.from(document.querySelectorAll("#reach section.group tr[data-object]")).filter(r => r.dataset.account !== r.closest("section").dataset.account).map(r => r.dataset.object)`); len(bad) != 0 {
		t.Errorf("sally's page has rows outside their account's group: %v", bad)
	}
	b.screenshot("person")
	// The kind filter, chosen with the keyboard: only rows through an admin role remain.
	b.open("/person/" + demo.AcmeAdmin)
	for i := 0; value(b, "reading the focus", chromedp.Evaluate[string](`document.activeElement.id`)) != "kind"; i++ {
		if i == 30 {
			t.Fatal("30 presses of Tab never reach the kind filter")
		}
		b.run("pressing Tab", chromedp.KeyEvent("\t"))
	}
	b.run("choosing a kind", chromedp.SetValue(chromedp.ID("kind"), string(audit.KindAdmin)), chromedp.KeyEvent("\t"))
	if focused := value(b, "reading the focus", chromedp.Evaluate[string](`document.activeElement.textContent`)); focused != "Filter" {
		t.Fatalf("Tab after the kind filter focuses %q, want its Filter button", focused)
	}
	step, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(step, chromedp.KeyEvent("\r"), chromedp.WaitReady(chromedp.CSS(`#kind option[value="role:admin"][selected]`))); err != nil {
		t.Fatalf("pressing Enter on Filter: %v", err)
	}
	if kinds := b.list(`Array.from(new Set(Array.from(document.querySelectorAll("#reach li[data-kind]")).map(l => l.dataset.kind)))`); !slices.Equal(kinds, []string{string(audit.KindAdmin)}) {
		t.Errorf("bill's page filtered to admin paths shows kinds %v", kinds)
	}
	b.screenshot("person-filtered")

	// An object: who can see every case of acme.
	var holders []string
	for h, err := range s.audit.WhoCan(bg, objectOf("account:"+demo.Acme), "view_all_cases") {
		if err != nil {
			t.Fatal(err)
		}
		holders = append(holders, h.User)
	}
	slices.Sort(holders)
	var cliHolders []string
	for _, l := range lines(accessctl(t, s, operatorKey, 0, "who-can", "account:"+demo.Acme, "view_all_cases", "-o", "csv"))[1:] {
		user, _, _ := strings.Cut(l, ",")
		cliHolders = append(cliHolders, strings.TrimPrefix(user, "user:"))
	}
	slices.Sort(cliHolders)
	if !slices.Equal(cliHolders, holders) || len(holders) < 3 {
		t.Fatalf("accessctl who-can: %v; the auditor: %v", cliHolders, holders)
	}
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
		// The CLI's explain gives the same verdict.
		if out := accessctl(t, s, operatorKey, 0, "explain", "user:"+tc.user, tc.perm, tc.object); !strings.HasPrefix(out, map[bool]string{true: "allowed: ", false: "denied: "}[e.Allowed]) {
			t.Errorf("accessctl explain %s %s %s: %q, the auditor: allowed %v", tc.user, tc.perm, tc.object, out, e.Allowed)
		}
		if !e.Allowed {
			// A denial lists what is missing and draws each missing way dashed.
			if missing := b.list(`Array.from(document.querySelectorAll("#ways li.missing strong")).map(l => l.textContent)`); len(missing) == 0 {
				t.Errorf("why not %s: no missing way listed", tc.user)
			}
			if edges := b.list(`Array.from(document.querySelectorAll("#graph .missing")).map(e => e.getAttribute("class"))`); len(edges) == 0 {
				t.Errorf("why not %s: no missing way drawn", tc.user)
			}
		}
		if e.Allowed {
			b.screenshot("why-allowed-" + tc.user)
		} else {
			b.screenshot("why-denied-" + tc.user)
		}
	}

	// Approvals: the auditor sees dave's request and no button.
	b.open("/approvals?as=" + demo.AcmeAdmin)
	if rows := b.list(`Array.from(document.querySelectorAll("tr.request[data-user]")).map(r => r.dataset.user)`); !slices.Contains(rows, demo.Requester) {
		t.Errorf("the auditor's approvals show %v, want dave's request", rows)
	}
	if rows := b.list(`Array.from(document.querySelectorAll("tr.request[data-grantee]")).map(r => r.dataset.grantee)`); !slices.Contains(rows, "partner:"+demo.Reseller) {
		t.Errorf("the auditor's approvals show partner requests %v, want reseller's", rows)
	}
	if n := b.list(`Array.from(document.querySelectorAll("button[value=approve], button[value=deny]")).map(b => b.value)`); len(n) != 0 {
		t.Errorf("the auditor sees decision buttons: %v", n)
	}
	b.screenshot("approvals-auditor")
	b.signOut()

	// bill, acme's admin, approves dave in the browser.
	b.signIn(billKey, "/approvals")
	b.screenshot("approvals")
	b.run("approving dave", chromedp.Click(chromedp.CSS(`button[aria-label="approve dave on acme"]`)), chromedp.WaitNotPresent(chromedp.CSS(`tr.request[data-user="dave"]`)))
	op, err := client.New(s.url, operatorKey)
	if err != nil {
		t.Fatal(err)
	}
	d, err := op.Check(bg, subjectOf("user:"+demo.Requester), "member", objectOf("account:"+demo.Acme), access.Full())
	if err != nil || !d.Allowed {
		t.Errorf("after the approval in the browser, the API says dave is no member of acme: %v %v", d, err)
	}
	if out := accessctl(t, s, operatorKey, 0, "check", "user:"+demo.Requester, "member", "account:"+demo.Acme); out != "allowed\n" {
		t.Errorf("after the approval in the browser, accessctl check says %q", out)
	}
	// The partner request: rita sees no case of acme until bill approves reseller's look.
	ritaSees := func() bool {
		t.Helper()
		d, err := op.Check(bg, subjectOf("user:"+demo.Rita), "view_all_cases", objectOf("account:"+demo.Acme), access.Full())
		if err != nil {
			t.Fatal(err)
		}
		return d.Allowed
	}
	if ritaSees() {
		t.Fatal("before the partner approval rita already sees every case of acme")
	}
	b.open("/approvals")
	b.run("approving reseller", chromedp.Click(chromedp.CSS(`button[aria-label="approve partner:reseller on acme"]`)), chromedp.WaitVisible(chromedp.ID("none")))
	if !ritaSees() {
		t.Error("after the partner approval in the browser, the API says rita does not see every case of acme")
	}
	if out := accessctl(t, s, operatorKey, 0, "check", "user:"+demo.Rita, "view_all_cases", "account:"+demo.Acme); out != "allowed\n" {
		t.Errorf("after the partner approval in the browser, accessctl check says %q", out)
	}
	b.signOut()
	s.caughtUp(t, 3)
	// The CLI's history holds both decisions, made by bill's principal in the console.
	for _, op := range []string{"member.approve", "partner.approve"} {
		hist := accessctl(t, s, auditorKey, 0, "history", "--operation", op, "--actor", "user:"+demo.AcmeAdmin)
		if !strings.Contains(hist, `"decided in the access console"`) || !strings.Contains(hist, "(by user:bill)") {
			t.Errorf("accessctl history --operation %s --actor user:bill:\n%s", op, hist)
		}
	}

	// A plain user: sally signs in with her own key, sees her own page, and is refused
	// another's and the object pages, with the reason.
	b.signIn(sallyKey, "/person/"+demo.Standard)
	if got := b.list(`Array.from(document.querySelectorAll("#reach tr[data-object]")).map(r => r.dataset.object + " " + r.dataset.permission)`); !slices.Equal(got, want) {
		t.Errorf("sally's own page shows %v, want %v", got, want)
	}
	b.screenshot("person-as-user")
	for _, p := range []string{"/person/" + demo.AcmeAdmin, "/objects/account/" + demo.Acme, "/history"} {
		b.open(p)
		if msg := b.text("#error"); !strings.Contains(msg, "sally") {
			t.Errorf("sally opens %s: %q, want a refusal naming her", p, msg)
		}
	}
	b.open("/approvals")
	if n := b.list(`Array.from(document.querySelectorAll("button[value=approve], button[value=deny]")).map(b => b.value)`); len(n) != 0 {
		t.Errorf("sally sees decision buttons: %v", n)
	}
	b.signOut()

	// The operator sees the approval in history, made by bill's principal.
	b.signIn(operatorKey, "/history%3Foperation%3Dmember.approve%26actor%3Dbill")
	rows := b.list(`Array.from(document.querySelectorAll("#changes tr[data-operation]")).map(r => r.dataset.operation + " " + r.cells[2].textContent + " " + r.cells[4].textContent)`)
	if !slices.Contains(rows, "member.approve user:bill decided in the access console") {
		t.Errorf("history of bill's approvals: %v, want the console's", rows)
	}
	b.screenshot("history")
	b.open("/history?operation=partner.approve")
	if rows := b.list(`Array.from(document.querySelectorAll("#changes tr[data-operation]")).map(r => r.dataset.operation + " " + r.cells[2].textContent + " " + r.cells[4].textContent)`); !slices.Contains(rows, "partner.approve user:bill decided in the access console") {
		t.Errorf("history of partner approvals: %v, want the console's", rows)
	}

	// As of before the decisions: from dave's approval entry to acme's page as it stood then.
	b.open("/history?operation=member.approve&actor=bill")
	b.screenshot("history-as-of-links")
	href := value(b, "finding the console's approval", chromedp.Evaluate[string](`Array.from(document.querySelectorAll("#changes tr[data-operation]")).filter(r => r.cells[4].textContent === "decided in the access console").map(r => r.querySelector('a.asof-link[href^="/objects/account/acme"]').getAttribute("href"))[0] || ""`))
	if href == "" {
		t.Fatal("dave's approval in history has no link to acme as of it")
	}
	b.open(href + "&permission=member")
	if got := b.list(`Array.from(document.querySelectorAll("#holders tr[data-user]")).map(r => r.dataset.user)`); !slices.Contains(got, demo.Requester) || !strings.Contains(b.text("#asof"), "As of") {
		t.Errorf("acme's members as of dave's approval: %v, want dave among them under the as-of banner", got)
	}
	b.screenshot("history-as-of")
	b.open("/person/" + demo.Requester + "?at=" + url.QueryEscape(before))
	if !strings.Contains(b.text("#asof"), before) {
		t.Errorf("dave's page as of %s: banner %q", before, b.text("#asof"))
	}
	if rows := b.list(`Array.from(document.querySelectorAll("#reach tr[data-object]")).map(r => r.dataset.object)`); slices.Contains(rows, "account:"+demo.Acme) {
		t.Errorf("as of before the approval dave's page lists acme: %v", rows)
	}
	b.open("/person/" + demo.Standard + "?at=" + url.QueryEscape(before))
	b.screenshot("person-as-of")
	var thenHolders []string
	for h, err := range op.At(mustTime(t, before)).WhoCan(bg, objectOf("account:"+demo.Acme), "view_all_cases") {
		if err != nil {
			t.Fatal(err)
		}
		thenHolders = append(thenHolders, h.User)
	}
	slices.Sort(thenHolders)
	b.open("/objects/account/" + demo.Acme + "?at=" + url.QueryEscape(before))
	if got := b.list(`Array.from(document.querySelectorAll("#holders tr[data-user]")).map(r => r.dataset.user)`); !slices.Equal(got, thenHolders) || slices.Contains(got, demo.Rita) {
		t.Errorf("acme's page as of %s shows %v, who-can then %v (rita must not be among them)", before, got, thenHolders)
	}
	b.screenshot("object-as-of")
	b.open("/person/" + demo.Requester + "?at=2001-01-01T00:00:00Z")
	if msg := b.text("#error"); !strings.Contains(msg, "choose a time the audit log covers") {
		t.Errorf("as of before the log: %q", msg)
	}
	b.screenshot("as-of-error")

	// Search, at phone width too.
	b.open("/?q=" + demo.Acme)
	if href := b.list(`Array.from(document.querySelectorAll("#hits a")).map(a => a.getAttribute("href"))`); !slices.Contains(href, "/objects/account/"+demo.Acme) {
		t.Errorf("search acme: links %v", href)
	}
	b.screenshot("search")

	// Every control is labelled, and every page fits the width at 1280 px and at a phone's.
	pages := []string{"/", "/?q=" + demo.Acme, "/person/" + demo.Standard, "/objects/account/" + demo.Acme, "/why",
		"/why?subject=user:" + demo.PartnerPam + "&permission=view_all_cases&object=account:" + demo.Acme,
		"/accounts/" + demo.Acme + "/review?as=" + demo.AcmeAdmin, "/history", "/approvals?as=" + demo.AcmeAdmin,
		"/person/" + demo.Standard + "?at=" + url.QueryEscape(before)}
	for _, width := range []int64{1280, 390} {
		b.run("viewport", chromedp.EmulateViewport(width, 844))
		for _, p := range pages {
			b.open(p)
			if bare := b.list(`Array.from(document.querySelectorAll("input:not([type=hidden]), select")).filter(c => !c.id || !document.querySelector("label[for='" + c.id + "']")).map(c => c.name)`); len(bare) != 0 {
				t.Errorf("%s: controls without a label: %v", p, bare)
			}
			if wide := value(b, "measuring "+p, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`)); wide {
				t.Errorf("%s at %d px: the page is wider than the window", p, width)
			}
		}
	}
	b.open("/person/" + demo.Standard)
	b.screenshot("person-phone")
	b.open("/objects/account/" + demo.Acme)
	b.screenshot("object-phone")
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}
