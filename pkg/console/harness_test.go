package console_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/api"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/auditlog"
	"github.com/accessgraph/accessgraph/pkg/console"
	"github.com/accessgraph/accessgraph/pkg/demo"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/principal"
)

// The keys of the test server's principals.
const (
	operatorKey = "operator-key-0123456789"
	auditorKey  = "auditor-key-0123456789"
	billKey     = "user-bill-key-0123456789" // user principal bound to acme's admin
	sallyKey    = "user-sally-key-0123456789"
)

var testKeys = api.StaticKeys{
	operatorKey: {Name: "ops", Kind: principal.Operator},
	auditorKey:  {Name: "audit", Kind: principal.Auditor},
	billKey:     {Name: "bill", Kind: principal.User, User: demo.AcmeAdmin},
	sallyKey:    {Name: "sally", Kind: principal.User, User: demo.Standard},
}

// server is the console over the domain API over a real embedded engine with the demo.
type server struct {
	url       string
	transport http.RoundTripper
	access    *access.Client
	audit     *audit.Auditor
	log       auditlog.Log // nil without a durable audit log
	// demoLast is the revision of the demo's last change.
	demoLast access.Token
	mu       sync.Mutex
	refused  []api.AuthFailure
}

func (s *server) refusals() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.refused)
}

var (
	sharedOnce sync.Once
	shared     *server
	sharedErr  error
	stopShared func()
)

// newServer starts an engine with the demo loaded and serves the console on it; tls
// serves it over HTTPS.
func newServer(t testing.TB, tls bool) *server {
	t.Helper()
	s, stop, err := startServer(serverOptions{tls: tls})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return s
}

// newLoggedServer is newServer on the local datastore with a durable audit log, so pages
// answer "as of" a past time the way serve's do.
func newLoggedServer(t testing.TB) *server {
	t.Helper()
	s, stop, err := startServer(serverOptions{dataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return s
}

type serverOptions struct {
	tls bool
	// dataDir, when set, keeps the graph in the local datastore there with an audit log.
	dataDir string
}

func startServer(o serverOptions) (*server, func(), error) {
	ctx := context.Background()
	cfg := engine.EmbeddedConfig{StartTimeout: 60 * time.Second}
	if o.dataDir != "" {
		cfg.DatastoreURI = engine.LocalURI(filepath.Join(o.dataDir, "data"))
	}
	e, err := engine.StartEmbedded(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	closers := []func(){func() { _ = e.Close() }}
	stop := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	c := access.New(e.Engine)
	auditOpts := []audit.Option{}
	var past api.PastGraphs
	var log auditlog.Log
	if o.dataDir != "" {
		log = auditlog.NewLocalLog(e.LocalStore())
		consumer, err := auditlog.NewConsumer(ctx, e.Engine, log)
		if err != nil {
			stop()
			return nil, nil, err
		}
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); _ = consumer.Run(cctx, nil) }()
		closers = append(closers, func() { cancel(); <-done; log.Close() })
		auditOpts = append(auditOpts, audit.WithDurableLog(log))
		past = api.RebuiltFrom(log)
	}
	sum, err := demo.Load(ctx, c, demo.Options{})
	if err != nil {
		stop()
		return nil, nil, err
	}
	s := &server{access: c, audit: audit.New(c, auditOpts...), log: log, demoLast: sum.Last}
	h, err := api.Handler(api.Options{Access: c, Audit: s.audit, Past: past, Resolver: testKeys, OnAuthFailure: func(f api.AuthFailure) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.refused = append(s.refused, f)
	}})
	if err != nil {
		stop()
		return nil, nil, err
	}
	ch, err := console.Handler(console.Options{API: h})
	if err != nil {
		stop()
		return nil, nil, err
	}
	var srv *httptest.Server
	if o.tls {
		srv = httptest.NewTLSServer(ch)
	} else {
		srv = httptest.NewServer(ch)
	}
	s.url, s.transport = srv.URL, srv.Client().Transport
	closers = append(closers, srv.Close)
	return s, stop, nil
}

// caughtUp waits until the audit log holds the demo's last change and more entries after
// it: only then does "as of" a time after them see them all. It waits for the demo's own
// revision rather than a count of entries, which an entry the demo did not write could make.
func (s *server) caughtUp(t testing.TB, more int) {
	t.Helper()
	ctx := context.Background()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		demoSeq, err := s.log.SeqOf(ctx, string(s.demoLast))
		if err != nil && !errors.Is(err, auditlog.ErrNotFound) {
			t.Fatal(err)
		}
		if err == nil {
			seq, err := s.log.LastSeq(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if seq >= demoSeq+int64(more) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30s the audit log does not hold the demo's last change (revision %s) and %d entries after it", s.demoLast, more)
		}
	}
}

// browser is an HTTP client with a cookie jar that does not follow redirects, so tests see them.
type browser struct {
	t  testing.TB
	s  *server
	hc *http.Client
}

func (s *server) browser(t testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, s: s, hc: &http.Client{Jar: jar, Transport: s.transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do makes a request and returns the response with its body read.
func (b *browser) do(method, path string, form url.Values, header http.Header) (*http.Response, string) {
	b.t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequest(method, b.s.url+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp, sb.String()
}

func (b *browser) get(path string) (*http.Response, string) { return b.do("GET", path, nil, nil) }

// signIn signs in with key and fails the test unless it worked.
func (b *browser) signIn(key string) {
	b.t.Helper()
	resp, body := b.do("POST", "/signin", url.Values{"key": {key}, "next": {"/"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("sign in: %d\n%s", resp.StatusCode, body)
	}
}

// csrf is the form token the signed-in pages carry.
func (b *browser) csrf() string {
	b.t.Helper()
	_, body := b.get("/")
	const marker = `name="csrf" value="`
	i := strings.Index(body, marker)
	if i < 0 {
		b.t.Fatalf("no csrf field on /:\n%s", body)
	}
	rest := body[i+len(marker):]
	return rest[:strings.IndexByte(rest, '"')]
}

// sharedServer is one server for the read-only tests, which change nothing.
func sharedServer(t testing.TB) *server {
	sharedOnce.Do(func() { shared, stopShared, sharedErr = startServer(serverOptions{}) })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

func TestMain(m *testing.M) {
	code := m.Run()
	if stopShared != nil {
		stopShared()
	}
	os.Exit(code)
}
