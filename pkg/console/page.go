package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/client"
	"github.com/accessgraph/accessgraph/pkg/principal"
)

// request is one signed-in request: the session and a client of the domain API that
// presents the session's key.
type request struct {
	w   http.ResponseWriter
	r   *http.Request
	c   *console
	ss  *session
	ctx context.Context
	api *client.Client
	// at is the past moment of an "as of" question (?at=RFC 3339), zero for the present.
	at time.Time
}

// pageData is what every template gets.
type pageData struct {
	Title string
	Who   principal.Principal
	CSRF  string
	At    string
	Error string
	// Keep are the query's fields other than at and page, which the "as of" form resends.
	Keep map[string]string
	// Present is this page at the present: the same query without at.
	Present string
	Data    any
}

// apiClient is a client of the domain API in process, authenticating with key.
func (c *console) apiClient(key string) (*client.Client, error) {
	return client.New("http://127.0.0.1", key, client.WithHTTPClient(&http.Client{Transport: inProcess{api: c.api}}))
}

// page wraps a page: no session redirects to sign-in; a POST must come from this site and
// carry the session's CSRF token, else 403 and nothing changes.
func (c *console) page(fn func(*request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ss, ok := c.sessions.get(r)
		if !ok {
			if r.Method != http.MethodGet {
				http.Error(w, "not signed in: sign in at /signin", http.StatusForbidden)
				return
			}
			http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			if err := sameSite(r); err != nil {
				http.Error(w, err.Error(), http.StatusForbidden)
				return
			}
			if !ss.validCSRF(r.PostFormValue("csrf")) {
				http.Error(w, "missing or wrong form token: reload the page and try again", http.StatusForbidden)
				return
			}
		}
		api, err := c.apiClient(ss.key)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		rq := &request{w: w, r: r, c: c, ss: ss, ctx: withPeer(r.Context(), r.RemoteAddr), api: api}
		if s := r.URL.Query().Get("at"); s != "" {
			t, err := parseAt(s)
			if err != nil {
				rq.fail(http.StatusBadRequest, err)
				return
			}
			rq.at = t
		}
		if err := fn(rq); err != nil {
			if errors.Is(err, principal.ErrUnauthenticated) {
				// The key was revoked or expired since sign-in: the session ends with it.
				c.sessions.remove(ss.id)
				setCookie(w, r, "", -1)
				http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			if !rq.at.IsZero() && statusOf(err) == http.StatusBadRequest {
				// The audit log cannot answer for that moment (before it began or was
				// pruned, in the future, or no log at all): say what to do instead.
				err = fmt.Errorf("as of %s: %w; choose a time the audit log covers (the history page lists its entries) or clear “as of” to see the present", rq.at.Format(time.RFC3339Nano), err)
			}
			rq.fail(statusOf(err), err)
		}
	}
}

// parseAt reads an "as of" time: RFC 3339, or the datetime-local form's 2006-01-02T15:04 (UTC).
func parseAt(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: at %q: write a time as 2006-01-02T15:04:05Z", access.ErrInvalidArgument, s)
}

// sameSite refuses a POST that a browser says came from another site.
func sameSite(r *http.Request) error {
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" && s != "none" {
		return fmt.Errorf("refused a %s request from another site", r.Method)
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return fmt.Errorf("refused a %s request from origin %q", r.Method, o)
		}
	}
	return nil
}

// statusOf maps a domain error to the page's status.
func statusOf(err error) int {
	var denied *access.DeniedError
	switch {
	case errors.Is(err, principal.ErrPermissionDenied), errors.As(err, &denied), errors.Is(err, access.ErrPermissionDenied):
		return http.StatusForbidden
	case errors.Is(err, access.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, access.ErrInvalidArgument):
		return http.StatusBadRequest
	case errors.Is(err, access.ErrConflict), errors.Is(err, access.ErrAlreadyDecided):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// client is the API client for questions: the present, or the past at ?at=.
func (rq *request) client() *client.Client {
	if rq.at.IsZero() {
		return rq.api
	}
	return rq.api.At(rq.at)
}

// render writes a page with the session's principal and CSRF token.
func (rq *request) render(status int, name, title string, data any, pageErr error) error {
	pd := pageData{Title: title, Who: rq.ss.who, CSRF: rq.ss.csrf, Data: data, Keep: map[string]string{}}
	for k, v := range rq.r.URL.Query() {
		if k != "at" && k != "page" && len(v) > 0 {
			pd.Keep[k] = v[0]
		}
	}
	if !rq.at.IsZero() {
		pd.At = rq.at.Format(time.RFC3339Nano)
		present := rq.r.URL.Query()
		present.Del("at")
		pd.Present = rq.r.URL.Path
		if len(present) > 0 {
			pd.Present += "?" + present.Encode()
		}
	}
	if pageErr != nil {
		pd.Error = pageErr.Error()
	}
	return rq.c.write(rq.w, status, name, pd)
}

// fail renders the error page.
func (rq *request) fail(status int, err error) {
	_ = rq.render(status, "error", "Error", nil, err)
}

// write executes a page into a buffer first, so a template error never sends half a page.
func (c *console) write(w http.ResponseWriter, status int, name string, pd pageData) error {
	t, ok := c.pages[name]
	if !ok {
		return fmt.Errorf("console: no page %q", name)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, pd); err != nil {
		http.Error(w, "console: rendering "+name+": "+err.Error(), http.StatusInternalServerError)
		return nil
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}
