package console

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"
)

// Options are what Handler serves and how.
type Options struct {
	// API is the domain API's handler (api.Handler). Every page asks it, in process, with the
	// signed-in principal's key, so the console is authorised exactly as the API. Required.
	API http.Handler
	// Idle is how long a session lasts without a request; zero means DefaultIdle.
	Idle time.Duration
	// Now is the clock of session expiry (time.Now when nil).
	Now func() time.Time
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// console serves the pages.
type console struct {
	api      http.Handler
	sessions *sessions
	pages    map[string]*template.Template
}

// Handler serves the console at / and passes the domain API's own paths (its RPCs at
// /accessgraph.v1.SERVICE/METHOD and /openapi.json) to Options.API, so both share one
// listener and the console never shadows the API.
func Handler(o Options) (http.Handler, error) {
	if o.API == nil {
		return nil, errors.New("console: Options.API is required")
	}
	idle, now := o.Idle, o.Now
	if idle <= 0 {
		idle = DefaultIdle
	}
	if now == nil {
		now = time.Now
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	c := &console{api: o.API, sessions: newSessions(idle, now), pages: pages}
	static, _ := fs.Sub(staticFS, "static")
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /signin", c.signinForm)
	mux.HandleFunc("POST /signin", c.signin)
	mux.HandleFunc("POST /signout", c.page(c.signout))
	mux.HandleFunc("GET /{$}", c.page(c.search))
	mux.HandleFunc("GET /person/{id}", c.page(c.person))
	mux.HandleFunc("GET /objects/{type}/{id}", c.page(c.object))
	mux.HandleFunc("GET /why", c.page(c.why))
	mux.HandleFunc("GET /accounts/{id}/review", c.page(c.review))
	mux.HandleFunc("GET /history", c.page(c.history))
	mux.HandleFunc("GET /approvals", c.page(c.approvals))
	mux.HandleFunc("POST /approvals", c.page(c.decide))
	consolePages := securityHeaders(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isAPIPath(r.URL.Path) {
			o.API.ServeHTTP(w, r)
			return
		}
		consolePages.ServeHTTP(w, r)
	}), nil
}

// isAPIPath reports the domain API's own paths: every service of accessgraph.v1 and the
// OpenAPI document.
func isAPIPath(path string) bool {
	return strings.HasPrefix(path, "/accessgraph.v1.") || path == "/openapi.json"
}

// parsePages parses each page with the shared layout.
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("console: page %s: %w", base, err)
		}
		pages[base] = t
	}
	return pages, nil
}

// securityHeaders keeps the pages from being framed or from loading anything off the server.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}
