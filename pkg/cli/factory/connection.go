package factory

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/accessgraph/accessgraph/pkg/cli/profile"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/spice"
)

// Environment variables read for the connection.
const (
	EnvEndpoint = "ACCESSCTL_ENDPOINT"
	EnvAPIURL   = "ACCESSCTL_API_URL"
	EnvToken    = "ACCESSCTL_TOKEN"
	EnvInsecure = "ACCESSCTL_INSECURE"
	EnvCACert   = "ACCESSCTL_CA_CERT"
)

// StartAdvice tells a person how to get a server to talk to.
const StartAdvice = "start one with `make run` (in the accessgraph folder) or `accessctl serve` in another terminal, " +
	"or point --endpoint/--token (ACCESSCTL_ENDPOINT/ACCESSCTL_TOKEN) at a running server"

// probeTimeout bounds the first call that checks the server answers.
const probeTimeout = 5 * time.Second

// Connection is a resolved way to reach the server.
type Connection struct {
	// Endpoint is the raw SpiceDB gRPC address, host:port; empty when only APIURL is known.
	Endpoint string
	// APIURL is the domain API's base URL; empty when none is known, and then domain
	// commands use the raw API too.
	APIURL   string
	Token    string
	Insecure bool
	CACert   string
	// Source says where the endpoint came from: "--endpoint", "ACCESSCTL_ENDPOINT" or the profile path.
	Source string
	// Profile is the profile the endpoint came from, or nil.
	Profile *profile.Profile
}

// ResolveConnection picks the endpoint from --endpoint, else ACCESSCTL_ENDPOINT, else the
// profile written by `accessctl serve` or `accessctl login`, and the domain API's URL from
// --api-url, else ACCESSCTL_API_URL, else the profile. The key and transport come from the
// flags and environment; the profile's key, transport and API URL are used only for the
// profile's own server, so a local key is never sent to another server.
func (f *Factory) ResolveConnection() (Connection, error) {
	c := Connection{Endpoint: f.Flags.Endpoint, Source: "--endpoint"}
	if c.Endpoint == "" {
		c.Endpoint, c.Source = f.Getenv(EnvEndpoint), EnvEndpoint
	}
	c.APIURL = firstNonEmpty(f.Flags.APIURL, f.Getenv(EnvAPIURL))
	if c.Endpoint == "" && c.APIURL != "" {
		c.Source = "--api-url"
		if f.Flags.APIURL == "" {
			c.Source = EnvAPIURL
		}
	}
	c.Token = firstNonEmpty(f.Flags.Token, f.Getenv(EnvToken))
	c.CACert = firstNonEmpty(f.Flags.CACert, f.Getenv(EnvCACert))
	c.Insecure = f.Flags.Insecure
	if v := f.Getenv(EnvInsecure); v != "" && !c.Insecure {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return Connection{}, fmt.Errorf("%s=%q is not true or false", EnvInsecure, v)
		}
		c.Insecure = b
	}

	path, perr := profile.Path(f.Getenv)
	var p *profile.Profile
	if perr == nil {
		var err error
		p, err = profile.Read(path)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return Connection{}, err
		}
	}
	if c.Endpoint == "" && c.APIURL == "" && p != nil {
		c.Endpoint, c.Source, c.Profile = p.Endpoint, path, p
	}
	if c.Endpoint == "" && c.APIURL == "" {
		return Connection{}, &NoServerError{}
	}
	if p != nil && (c.Endpoint == "" || p.Endpoint == c.Endpoint) && (c.APIURL == "" || p.APIURL == c.APIURL) {
		// the profile's own server: its key, transport and the address it did not name
		if c.Endpoint == "" {
			c.Endpoint = p.Endpoint
		}
		if c.APIURL == "" {
			c.APIURL = p.APIURL
		}
		if c.Token == "" {
			c.Token = p.Token
		}
		if !c.Insecure && c.CACert == "" {
			c.Insecure, c.CACert = p.Insecure, p.CACert
		}
	}
	if c.Token == "" {
		return Connection{}, fmt.Errorf("no key for %s (from %s): pass --token, set %s or run accessctl login", c.Server(), c.Source, EnvToken)
	}
	return c, nil
}

// Server names the server for messages: its endpoint, else its API URL.
func (c Connection) Server() string {
	if c.Endpoint != "" {
		return c.Endpoint
	}
	return c.APIURL
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// errNoSchema marks a reachable server that holds no schema yet.
var errNoSchema = errors.New("no schema")

// NoSchemaError is a server without a schema, reported to commands that need the domain
// model; `schema write` and `import` work on such a server.
type NoSchemaError struct{ Endpoint string }

func (e *NoSchemaError) Error() string {
	return fmt.Sprintf("the server at %s has no schema yet: write it with `accessctl schema write schema/accessgraph.zed`, or start the server with `accessctl serve`", e.Endpoint)
}

// probe makes one cheap call so that an unreachable server or a wrong key is reported
// once, clearly, before any command work. A server without a schema returns errNoSchema.
func probe(ctx context.Context, e *engine.Engine, conn Connection) error {
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	_, err := e.Schemas().ReadSchema(pctx, &v1.ReadSchemaRequest{})
	if err == nil {
		return nil
	}
	st := status.Convert(err)
	switch st.Code() {
	case codes.NotFound:
		return errNoSchema
	case codes.Unauthenticated:
		hint := "pass a valid key with --token, " + EnvToken + " or accessctl login"
		if strings.HasSuffix(conn.Source, profile.FileName) {
			hint = "the profile " + conn.Source + " is stale: restart `accessctl serve`, or " + hint
		}
		return fmt.Errorf("the server at %s refused the key (%s): %s", conn.Endpoint, st.Message(), hint)
	case codes.PermissionDenied:
		hint := ""
		if conn.APIURL == "" {
			hint = "; domain commands with this key need the domain API: pass --api-url (or " + EnvAPIURL + ", or accessctl login --api-url)"
		}
		return fmt.Errorf("%w at %s: %s%s (docs/security.md says what each kind may do)", spice.ErrForbidden, conn.Endpoint, st.Message(), hint)
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
		return &ConnectError{Conn: conn, Detail: shortTransportError(st)}
	}
	return &ConnectError{Conn: conn, Detail: st.Message()}
}

// shortTransportError keeps the useful end of a gRPC transport error.
func shortTransportError(st *status.Status) string {
	msg := st.Message()
	switch {
	case st.Code() == codes.DeadlineExceeded:
		return fmt.Sprintf("no answer within %s", probeTimeout)
	case strings.Contains(msg, "connection refused"):
		return "connection refused"
	case strings.Contains(msg, "no such host"):
		return "no such host"
	case strings.Contains(msg, "authentication handshake failed"), strings.Contains(msg, "tls:"), strings.Contains(msg, "x509"):
		return "TLS handshake failed (a plaintext local server needs --insecure; a TLS server with its own certificate needs --ca-cert)"
	}
	return msg
}

// NoServerError means no endpoint was configured anywhere.
type NoServerError struct{}

func (e *NoServerError) Error() string {
	return "no access server configured: " + StartAdvice
}

// ConnectError is a server that could not be reached.
type ConnectError struct {
	Conn   Connection
	Detail string
}

func (e *ConnectError) Error() string {
	if p := e.Conn.Profile; p != nil {
		// The profile is removed when serve stops cleanly, so one that names a server that
		// does not answer was left by a crash or a kill.
		writer := "accessctl serve"
		switch {
		case p.PID != 0 && !p.StartedAt.IsZero():
			writer += fmt.Sprintf(" (pid %d, started %s)", p.PID, p.StartedAt.UTC().Format(time.RFC3339))
		case p.PID != 0:
			writer += fmt.Sprintf(" (pid %d)", p.PID)
		}
		return fmt.Sprintf("the connection profile %s is stale: it names a server at %s that does not answer (%s); %s wrote it and stopped without removing it, as after a crash\n"+
			"start the server again (`make run` in the accessgraph folder, or `accessctl serve`), which rewrites the profile; or delete %s and point --endpoint/--token at a running server",
			e.Conn.Source, e.Conn.Endpoint, e.Detail, writer, e.Conn.Source)
	}
	return fmt.Sprintf("cannot reach an access server at %s (from %s): %s\n%s", e.Conn.Endpoint, e.Conn.Source, e.Detail, StartAdvice)
}
