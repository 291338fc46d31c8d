package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func sessionCookie(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == "accessgraph_console" {
			return c
		}
	}
	t.Fatalf("no session cookie in %v", resp.Header["Set-Cookie"])
	return nil
}

func TestSignInSetsAStrictHttpOnlyCookieWithoutTheKey(t *testing.T) {
	for _, tls := range []bool{false, true} {
		s := sharedServer(t)
		if tls {
			s = newServer(t, true)
		}
		b := s.browser(t)
		resp, body := b.do("POST", "/signin", url.Values{"key": {billKey}, "next": {"/why?subject=user:bill"}}, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/why?subject=user:bill" {
			t.Fatalf("tls %v: sign in: %d to %q\n%s", tls, resp.StatusCode, resp.Header.Get("Location"), body)
		}
		c := sessionCookie(t, resp)
		if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure != tls {
			t.Errorf("tls %v: cookie HttpOnly %v SameSite %v Secure %v", tls, c.HttpOnly, c.SameSite, c.Secure)
		}
		if strings.Contains(c.Value, billKey) || len(c.Value) < 43 {
			t.Errorf("cookie value %q: want a random 256-bit id, never the key", c.Value)
		}
		if _, body := b.get("/"); !strings.Contains(body, "user:bill") {
			t.Errorf("tls %v: signed-in page does not name the principal:\n%s", tls, body)
		}
	}
}

func TestWrongKeyShowsTheFormAgainAndIsCountedAsARefusal(t *testing.T) {
	s := newServer(t, false)
	for i, key := range []string{"not-a-key-0123456789", billKey + "x", ""} {
		b := s.browser(t)
		resp, body := b.do("POST", "/signin", url.Values{"key": {key}, "next": {"/"}}, nil)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `name="key"`) || !strings.Contains(body, "key") || !strings.Contains(body, `role="alert"`) {
			t.Errorf("key %d: %d, want 401 with the form and an error\n%s", i, resp.StatusCode, body)
		}
		for _, c := range resp.Cookies() {
			if c.Name == "accessgraph_console" && c.Value != "" {
				t.Errorf("key %d: a session cookie was set", i)
			}
		}
		if resp, _ := b.get("/"); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("key %d: / after a failed sign-in: %d, want a redirect to sign in", i, resp.StatusCode)
		}
	}
	if n := s.refusals(); n != 2 { // the empty key never reaches the API
		t.Errorf("the API was told of %d refused keys, want 2", n)
	}
}

func TestUnauthenticatedRequestsRedirectToSignIn(t *testing.T) {
	s := sharedServer(t)
	b := s.browser(t)
	for _, path := range []string{"/", "/person/bill", "/objects/account/acme", "/why?subject=user:bill&permission=view&object=case:1", "/history?account=acme", "/approvals", "/?q=acme"} {
		resp, _ := b.get(path)
		want := "/signin?next=" + url.QueryEscape(path)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
			t.Errorf("%s: %d to %q, want 303 to %q", path, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	for _, path := range []string{"/approvals", "/signout"} {
		if resp, _ := b.do("POST", path, url.Values{"csrf": {"x"}}, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s without a session: %d, want 403", path, resp.StatusCode)
		}
	}
}

func TestSignOutEndsTheSession(t *testing.T) {
	s := sharedServer(t)
	b := s.browser(t)
	b.signIn(auditorKey)
	token := b.csrf()
	if resp, _ := b.do("POST", "/signout", url.Values{"csrf": {"wrong"}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-out with a wrong token: %d, want 403", resp.StatusCode)
	}
	old := b.hc.Jar.Cookies(mustURL(t, s.url))
	if resp, _ := b.do("POST", "/signout", url.Values{"csrf": {token}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
	b.hc.Jar.SetCookies(mustURL(t, s.url), old) // replaying the old cookie must not work
	if resp, _ := b.get("/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the old session still works after sign-out: %d", resp.StatusCode)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
