package serve_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/client"
	"github.com/accessgraph/accessgraph/pkg/principal"
)

// serve mounts the access console at / on the domain API's listener without shadowing the
// API: its RPCs and OpenAPI document answer as before, and the console signs in with the
// server's own keys.
func TestServeMountsTheConsoleBesideTheAPI(t *testing.T) {
	_, p, _ := serveDemo(t)
	if p.APIURL == "" {
		t.Fatal("the profile names no domain API")
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(p.APIURL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin") {
		t.Errorf("GET /: %d to %q, want the console's redirect to sign in", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = hc.Get(p.APIURL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(doc), `"openapi"`) {
		t.Errorf("GET /openapi.json: %d, want the API's document", resp.StatusCode)
	}
	c, err := client.New(p.APIURL, p.Token)
	if err != nil {
		t.Fatal(err)
	}
	if who, err := c.WhoAmI(context.Background()); err != nil || who.Kind != principal.Operator {
		t.Errorf("the API behind the console: WhoAmI %v, %v", who, err)
	}
	resp, err = hc.PostForm(p.APIURL+"/signin", url.Values{"key": {p.Token}, "next": {"/history"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/history" {
		t.Errorf("signing in to the console with the server's key: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// The console's "as of": after an approval made in the console, the why page answers yes
// now and no as of a moment before it, from the server's durable audit log.
func TestConsoleAnswersAsOfAPastTime(t *testing.T) {
	_, p, _ := serveDemo(t)
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	get := func(path string) string {
		t.Helper()
		resp, err := hc.Get(p.APIURL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	if resp, err := hc.PostForm(p.APIURL+"/signin", url.Values{"key": {p.Token}, "next": {"/"}}); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("sign in: %v %v", resp, err)
	}
	page := get("/approvals?as=bill")
	const marker = `name="csrf" value="`
	i := strings.Index(page, marker)
	if i < 0 {
		t.Fatalf("no form token:\n%s", page)
	}
	token := page[i+len(marker):]
	token = token[:strings.IndexByte(token, '"')]
	time.Sleep(1100 * time.Millisecond) // a whole second between the past moment and the approval
	before := time.Now().UTC().Truncate(time.Second)
	time.Sleep(1100 * time.Millisecond)
	resp, err := hc.PostForm(p.APIURL+"/approvals", url.Values{"csrf": {token}, "as": {"bill"}, "account": {"acme"}, "user": {"dave"}, "decision": {"approve"}})
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("approving dave: %v %v", resp, err)
	}
	why := "/why?subject=user:dave&permission=member&object=account:acme"
	if body := get(why); !strings.Contains(body, "user:dave can member account:acme.") {
		t.Errorf("now: dave is no member\n%s", body)
	}
	if body := get(why + "&at=" + url.QueryEscape(before.Format(time.RFC3339))); !strings.Contains(body, "user:dave cannot member account:acme.") || !strings.Contains(body, `id="asof"`) {
		t.Errorf("as of %s, before the approval: want cannot\n%s", before, body)
	}
}
