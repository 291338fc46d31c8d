package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// hostileNext are next= values that name another site, built from every prefix a browser
// may read as "another host" and several hosts, raw and percent-encoded.
func hostileNext() []string {
	prefixes := []string{"//", "///", "/\\", "\\\\", "\\/", "https://", "http://", "HTTPS://", "//\t", "/\t/", " //", "javascript:", "JavaScript:", "data:", "ftp://", "%2F%2F", "/%2F", "%5C%5C", "/%5C", "https:", "//@", "/\r/", "\x00//"}
	hosts := []string{"evil.example", "evil.example/path?x=1", "user@evil.example", "evil.example:443", "alert(1)"}
	var out []string
	for _, p := range prefixes {
		for _, h := range hosts {
			out = append(out, p+h, url.QueryEscape(p+h))
		}
	}
	return append(out, "", "evil.example", "@evil.example", ".evil.example")
}

func TestSignInNeverRedirectsOffSite(t *testing.T) {
	s := sharedServer(t)
	b := s.browser(t)
	for _, next := range hostileNext() {
		resp, body := b.do("POST", "/signin", url.Values{"key": {auditorKey}, "next": {next}}, nil)
		loc := resp.Header.Get("Location")
		u, err := url.Parse(loc)
		if resp.StatusCode != http.StatusSeeOther || err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(loc, "/") ||
			strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") || strings.ContainsAny(loc, "\\\t\r\n\x00") {
			t.Errorf("next %q: %d to %q, want a local path\n%s", next, resp.StatusCode, loc, body)
		}
		if loc != "/" && loc != next {
			t.Errorf("next %q: redirected to %q, want / or next itself", next, loc)
		}
		// The sign-in form carries next along: it must be just as local.
		_, form := b.get("/signin?next=" + url.QueryEscape(next))
		if strings.Contains(form, "evil.example") && !strings.Contains(form, `value="/`) {
			t.Errorf("next %q: the sign-in form carries it:\n%s", next, form)
		}
	}
}

func TestSignInKeepsALocalNext(t *testing.T) {
	s := sharedServer(t)
	b := s.browser(t)
	for _, next := range []string{"/", "/person/bill", "/objects/case/1?permission=view", "/why?subject=user%3Abill&permission=view&object=case%3A1", "/history?account=acme&page=2"} {
		resp, _ := b.do("POST", "/signin", url.Values{"key": {auditorKey}, "next": {next}}, nil)
		if got := resp.Header.Get("Location"); got != next {
			t.Errorf("next %q: redirected to %q", next, got)
		}
	}
}
