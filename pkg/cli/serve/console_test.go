package serve_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

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
