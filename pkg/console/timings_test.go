package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/api"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/console"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/gen"
)

// TestPageTimings times the console's pages for the generated portal's hot subjects on the
// local datastore, served in process: ACCESSGRAPH_BENCH_SCALE=medium (or small) runs it,
// ACCESSGRAPH_BENCH_RUNS sets the warm requests per page (10). It reports, it does not
// judge: no timing fails it, only a page that does not answer 200 with its content.
func TestPageTimings(t *testing.T) {
	scale := os.Getenv("ACCESSGRAPH_BENCH_SCALE")
	if scale == "" {
		t.Skip("set ACCESSGRAPH_BENCH_SCALE=medium (or small) to time the console's pages")
	}
	runs := 10
	if n, err := fmt.Sscan(os.Getenv("ACCESSGRAPH_BENCH_RUNS"), &runs); n == 0 || err != nil {
		runs = 10
	}
	cfg, err := gen.Scale(scale)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{DatastoreURI: engine.LocalURI(filepath.Join(t.TempDir(), "data")), StartTimeout: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = e.Close() }()
	st, err := gen.Load(ctx, e.Permissions(), g.Relationships(), gen.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("imported %d relationships (%s scale) in %s", st.Relationships, scale, st.Elapsed.Round(time.Second))
	c := access.New(e.Engine)
	h, err := api.Handler(api.Options{Access: c, Audit: audit.New(c), Resolver: testKeys})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := console.Handler(console.Options{API: h})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ch)
	defer srv.Close()
	b := (&server{url: srv.URL, transport: srv.Client().Transport}).browser(t)
	b.signIn(operatorKey)

	hot := g.Hot()
	adminCase := "case:" + gen.CaseID(0, 5)
	var superCase, partnerCase string
	for _, p := range hot.Probes {
		switch {
		case p.Kind == "super_customer" && p.Allowed:
			superCase = p.Resource.ObjectType + ":" + p.Resource.ObjectId
		case p.Kind == "partner_org_grant" && p.Allowed:
			partnerCase = p.Resource.ObjectType + ":" + p.Resource.ObjectId
		}
	}
	why := func(user, perm, obj string) string {
		return "/why?" + url.Values{"subject": {"user:" + user}, "permission": {perm}, "object": {obj}}.Encode()
	}
	pages := []struct{ subject, page, path, want string }{
		{hot.Admin, "person, first page", "/person/" + hot.Admin, `data-object=`},
		{hot.Admin, "person, a middle page", "", `data-object=`},
		{hot.Admin, "object (account, view_all_cases)", "/objects/account/" + hot.AdminAccount, `data-user=`},
		{hot.Admin, "object (case, view)", "/objects/" + strings.Replace(adminCase, ":", "/", 1), `data-user=`},
		{hot.Admin, "why (case view, allowed)", why(hot.Admin, "view", adminCase), `id="verdict"`},
		{hot.Admin, "review (account)", "/accounts/" + hot.AdminAccount + "/review?as=" + hot.Admin, `id="review"`},
		{hot.SuperCustomer, "person, first page", "/person/" + hot.SuperCustomer, `data-object=`},
		{hot.SuperCustomer, "person, a middle page", "", `data-object=`},
		{hot.SuperCustomer, "why (case view, allowed)", why(hot.SuperCustomer, "view", superCase), `id="verdict"`},
		{hot.PartnerMember, "person, first page", "/person/" + hot.PartnerMember, `data-object=`},
		{hot.PartnerMember, "person, a middle page", "", `data-object=`},
		{hot.PartnerMember, "object (partner, member)", "/objects/partner/" + hot.Partner + "?permission=member", `data-user=`},
		{hot.PartnerMember, "why (case view, allowed)", why(hot.PartnerMember, "view", partnerCase), `id="verdict"`},
		{hot.PartnerMember, "review (a customer's, as its admin)", "/accounts/" + hot.PartnerAccount + "/review?as=" + gen.UserID(1, 0), `id="review"`},
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.0f", float64(d.Microseconds())/1000) }
	var report strings.Builder
	fmt.Fprintf(&report, "| subject | page | cold ms | warm p50 ms | warm p95 ms | warm max ms |\n|---|---|---|---|---|---|\n")
	totalRE := regexp.MustCompile(`id="total">(\d+) objects`)
	lastTotal := 0
	for _, p := range pages {
		if p.path == "" {
			// The middle page of the person's reach, as the first page counted it.
			page := (lastTotal+console.PersonPageSize-1)/console.PersonPageSize/2 + 1
			p.path = fmt.Sprintf("/person/%s?page=%d", p.subject, page)
			p.page = fmt.Sprintf("person, page %d of %d objects", page, lastTotal)
		}
		get := func() time.Duration {
			t.Helper()
			start := time.Now()
			resp, body := b.get(p.path)
			d := time.Since(start)
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, p.want) {
				t.Fatalf("%s %s: %d, want 200 with %s\n%.2000s", p.subject, p.path, resp.StatusCode, p.want, body)
			}
			if m := totalRE.FindStringSubmatch(body); m != nil {
				fmt.Sscan(m[1], &lastTotal)
			}
			return d
		}
		cold := get()
		warm := make([]time.Duration, runs)
		for i := range warm {
			warm[i] = get()
		}
		slices.Sort(warm)
		p95 := warm[min(len(warm)-1, (len(warm)*95+99)/100-1)]
		fmt.Fprintf(&report, "| %s | %s | %s | %s | %s | %s |\n", p.subject, p.page, ms(cold), ms(warm[len(warm)/2]), ms(p95), ms(warm[len(warm)-1]))
	}
	t.Logf("console page timings, %s scale, %d warm requests each:\n%s", scale, runs, report.String())
	if out := os.Getenv("ACCESSGRAPH_BENCH_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(report.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
