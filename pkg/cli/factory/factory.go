// Package factory builds what commands depend on, lazily: streams, the connection to the
// access server, the domain client, the clock. Tests build a Factory with fakes or an
// in-process engine instead of touching package-level state.
package factory

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/iostreams"
	"github.com/accessgraph/accessgraph/pkg/cli/output"
	"github.com/accessgraph/accessgraph/pkg/engine"
)

// BuildInfo describes the binary.
type BuildInfo struct {
	Version string
	Commit  string
}

// ConnectionFlags are the global connection flags; the root command binds them.
type ConnectionFlags struct {
	Endpoint string
	APIURL   string
	Token    string
	Insecure bool
	CACert   string
}

// Factory hands commands their dependencies. Each field may be replaced before the command
// runs (tests do); Engine and the client are built on first use and reused.
//
// A Factory serves one command run; it is not safe for concurrent runs.
type Factory struct {
	IOStreams *iostreams.IOStreams
	// Getenv reads the environment (os.Getenv by default).
	Getenv func(string) string
	// Now is the clock (time.Now by default).
	Now   func() time.Time
	Build BuildInfo

	// Flags and Output are bound to the root command's global flags.
	Flags  ConnectionFlags
	Output string

	// Engine returns the connection to the access server. The default resolves the
	// connection (flags, environment, profile), dials and checks that the server answers.
	Engine func(ctx context.Context) (*engine.Engine, error)
	// Dial connects to a remote server; Engine's default uses it.
	Dial func(ctx context.Context, cfg engine.RemoteConfig) (*engine.Engine, error)
	// RemoteAPI connects to the server's domain API when the connection names one (nil
	// and no error when it does not); Access, Audit, Principal and Actor use it first.
	// Nil turns the domain API off: commands then use the domain layer in this process
	// over Engine (tests on an in-process engine do).
	RemoteAPI func(ctx context.Context) (*Remote, error)
	// StartEmbedded starts a server in this process (accessctl serve).
	StartEmbedded func(ctx context.Context, cfg engine.EmbeddedConfig) (*engine.Embedded, error)

	// At, when set (by --at or --at-revision, see BindAt), is the past moment Access and
	// Audit answer questions about, through the domain API.
	At audit.AsOf

	mu          sync.Mutex
	dialed      *engine.Engine
	client      *access.Client
	noSchema    string // endpoint of a dialled server that holds no schema
	api         *Remote
	apiResolved bool
}

// New returns a Factory for a real run on the process's streams and environment.
func New(build BuildInfo) *Factory {
	f := &Factory{
		IOStreams:     iostreams.System(),
		Getenv:        os.Getenv,
		Now:           time.Now,
		Build:         build,
		Dial:          engine.Dial,
		StartEmbedded: engine.StartEmbedded,
	}
	f.Engine = f.Connect
	f.RemoteAPI = f.ConnectAPI
	return f
}

// Client returns the domain layer in this process over Engine's raw connection. Commands
// that need only domain operations call Access or Audit instead, which use the server's
// domain API when there is one.
func (f *Factory) Client(ctx context.Context) (*access.Client, error) {
	e, err := f.Engine(ctx)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.noSchema != "" {
		return nil, &NoSchemaError{Endpoint: f.noSchema}
	}
	if f.client == nil || f.client.Engine() != e {
		f.client = access.New(e, access.WithRequestTTL(access.DefaultRequestTTL))
	}
	return f.client, nil
}

// Printer returns the printer for --output.
func (f *Factory) Printer() (*output.Printer, error) {
	format, err := output.ParseFormat(f.Output)
	if err != nil {
		return nil, cmdutil.AsUsage(err)
	}
	return output.New(f.IOStreams, format), nil
}

// Close closes the connection the Factory dialled, if any.
func (f *Factory) Close() error {
	f.mu.Lock()
	e := f.dialed
	f.dialed = nil
	f.mu.Unlock()
	if e != nil {
		return e.Close()
	}
	return nil
}

// Connect is the default Engine: it resolves the connection (flags, environment, profile),
// dials, checks that the server answers with one cheap call, and reuses the connection.
func (f *Factory) Connect(ctx context.Context) (*engine.Engine, error) {
	f.mu.Lock()
	if f.dialed != nil {
		defer f.mu.Unlock()
		return f.dialed, nil
	}
	f.mu.Unlock()
	conn, err := f.ResolveConnection()
	if err != nil {
		return nil, err
	}
	if conn.Endpoint == "" {
		return nil, fmt.Errorf("this command uses the raw SpiceDB API, and only the domain API is known (%s from %s): pass --endpoint HOST:PORT (or %s)", conn.APIURL, conn.Source, EnvEndpoint)
	}
	e, err := f.Dial(ctx, engine.RemoteConfig{
		Endpoint:     conn.Endpoint,
		PresharedKey: conn.Token,
		Insecure:     conn.Insecure,
		CACertPath:   conn.CACert,
		SkipSchema:   true, // the server owns the schema
	})
	if err != nil {
		return nil, &ConnectError{Conn: conn, Detail: err.Error()}
	}
	err = probe(ctx, e, conn)
	if err != nil && !errors.Is(err, errNoSchema) {
		_ = e.Close()
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dialed = e
	if err != nil {
		f.noSchema = conn.Endpoint
	}
	return e, nil
}
