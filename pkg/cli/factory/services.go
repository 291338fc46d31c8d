package factory

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/profile"
	"github.com/accessgraph/accessgraph/pkg/client"
	"github.com/accessgraph/accessgraph/pkg/principal"
)

// Remote is a connection to a server's domain API: the client and the principal its key
// proves.
type Remote struct {
	Client    *client.Client
	Principal principal.Principal
	// URL is the API's base URL.
	URL string
}

// Access returns the domain layer commands call: the server's domain API when its URL is
// known (the profile, --api-url or ACCESSCTL_API_URL), else the domain layer in this
// process over Engine's raw connection.
func (f *Factory) Access(ctx context.Context) (access.Service, error) {
	r, err := f.remote(ctx)
	if err != nil || r != nil {
		if r == nil {
			return nil, err
		}
		return r.Client.AsOf(f.At), nil
	}
	if !f.At.IsZero() {
		return nil, errAtNeedsAPI
	}
	return f.Client(ctx)
}

// errAtNeedsAPI explains that past answers come from the server, over its domain API.
var errAtNeedsAPI = cmdutil.Usagef("--at and --at-revision are answered by the server from its durable audit log, through its domain API: pass --api-url, set ACCESSCTL_API_URL, or use the profile serve writes")

// Audit returns the auditor commands call, from the same place as Access.
func (f *Factory) Audit(ctx context.Context) (audit.Service, error) { return f.AuditAsOf(ctx, f.At) }

// AuditAsOf is Audit answering as of a moment (the present when zero): past moments need
// the domain API.
func (f *Factory) AuditAsOf(ctx context.Context, at audit.AsOf) (audit.Service, error) {
	r, err := f.remote(ctx)
	if err != nil || r != nil {
		if r == nil {
			return nil, err
		}
		return r.Client.AsOf(at), nil
	}
	if !at.IsZero() {
		return nil, errAtNeedsAPI
	}
	c, err := f.Client(ctx)
	if err != nil {
		return nil, err
	}
	return audit.New(c, audit.WithClock(f.Now)), nil
}

// Principal returns the principal the key proves when commands go through the domain
// API, else nil: over the raw connection the CLI does not learn it.
func (f *Factory) Principal(ctx context.Context) (*principal.Principal, error) {
	r, err := f.remote(ctx)
	if err != nil || r == nil {
		return nil, err
	}
	p := r.Principal
	return &p, nil
}

// Actor is the user a change or read acts as. With a user key it is the key's user: an
// empty --as means that user, and --as naming anyone else is a usage error, before any
// domain call. With any other key --as is required.
func (f *Factory) Actor(ctx context.Context, o cmdutil.ActorOptions) (access.Actor, error) {
	if o.As != "" {
		if _, err := o.Actor(); err != nil {
			return access.Actor{}, err // malformed: before any call
		}
	}
	p, err := f.Principal(ctx)
	var none *NoServerError
	switch {
	case err != nil && (o.As != "" || errors.As(err, &none)):
		// the call that follows reports the connection; a missing --as is a usage error
		// even with no server
		return o.Actor()
	case err != nil:
		return access.Actor{}, err
	}
	if p == nil || p.Kind != principal.User {
		return o.Actor()
	}
	if o.As == "" {
		o.As = "user:" + p.User
	}
	a, err := o.Actor()
	if err != nil {
		return access.Actor{}, err
	}
	if a.User != p.User {
		return access.Actor{}, cmdutil.Usagef("--as %s: this key is user principal %s, which acts as user:%s only; leave --as out, or use a key of that user", o.As, p, p.User)
	}
	return a, nil
}

// remote connects to the domain API once, when the connection names one: nil (and no
// error) when it does not or when RemoteAPI is off (a Factory on an in-process engine).
func (f *Factory) remote(ctx context.Context) (*Remote, error) {
	if f.RemoteAPI == nil {
		return nil, nil
	}
	f.mu.Lock()
	if f.api != nil || f.apiResolved {
		defer f.mu.Unlock()
		return f.api, nil
	}
	f.mu.Unlock()
	r, err := f.RemoteAPI(ctx)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.api, f.apiResolved = r, true
	return r, nil
}

// ConnectAPI is the default RemoteAPI: it resolves the connection and, when it names a
// domain API, builds its client and asks who the key proves, which also checks that the
// server answers and accepts the key. Nil (and no error) when no API URL is known.
func (f *Factory) ConnectAPI(ctx context.Context) (*Remote, error) {
	conn, err := f.ResolveConnection()
	if err != nil {
		return nil, err
	}
	if conn.APIURL == "" {
		return nil, nil
	}
	var opts []client.Option
	if conn.CACert != "" && strings.HasPrefix(conn.APIURL, "https:") {
		pem, err := os.ReadFile(conn.CACert)
		if err != nil {
			return nil, fmt.Errorf("reading the CA certificate: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("the CA certificate %s holds no PEM certificate", conn.CACert)
		}
		opts = append(opts, client.WithTLSConfig(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}))
	}
	c, err := client.New(conn.APIURL, conn.Token, opts...)
	if err != nil {
		return nil, cmdutil.Usagef("the domain API URL %s (from %s): %v", conn.APIURL, conn.Source, err)
	}
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	p, err := c.WhoAmI(pctx)
	switch {
	case err == nil:
		return &Remote{Client: c, Principal: p, URL: conn.APIURL}, nil
	case errors.Is(err, principal.ErrUnauthenticated):
		hint := "pass a valid key with --token, " + EnvToken + " or accessctl login"
		if strings.HasSuffix(conn.Source, profile.FileName) {
			hint = "the profile " + conn.Source + " is stale: restart `accessctl serve`, or " + hint
		}
		return nil, fmt.Errorf("the domain API at %s refused the key (%s): %s", conn.APIURL, strings.TrimPrefix(err.Error(), principal.ErrUnauthenticated.Error()+": "), hint)
	case errors.Is(err, access.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		detail := err.Error()
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			detail = fmt.Sprintf("no answer within %s", probeTimeout)
		case strings.Contains(detail, "connection refused"):
			detail = "connection refused"
		}
		conn.Endpoint = conn.APIURL
		return nil, &ConnectError{Conn: conn, Detail: detail}
	}
	return nil, fmt.Errorf("asking the domain API at %s who the key is: %w", conn.APIURL, err)
}
