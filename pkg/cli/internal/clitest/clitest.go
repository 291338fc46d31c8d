// Package clitest runs accessctl command lines in tests: against a real SpiceDB engine in
// this process (no TCP), with fake streams whose "is a terminal" flag each test sets.
package clitest

import (
	"context"
	"io"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/cli/iostreams"
	"github.com/accessgraph/accessgraph/pkg/cli/root"
	"github.com/accessgraph/accessgraph/pkg/demo"
	"github.com/accessgraph/accessgraph/pkg/engine"
)

// Env is one in-process engine that command lines run against.
type Env struct {
	t      testing.TB
	Engine *engine.Embedded
	// Env is the environment the commands see (nothing from the real process).
	Env map[string]string
}

// New starts an empty in-process engine for the test.
func New(t testing.TB) *Env {
	t.Helper()
	e, err := engine.StartEmbedded(context.Background(), engine.EmbeddedConfig{})
	if err != nil {
		t.Fatalf("starting the engine: %v", err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return &Env{t: t, Engine: e, Env: map[string]string{}}
}

// NewDemo starts an in-process engine loaded with the demo portal.
func NewDemo(t testing.TB) *Env {
	t.Helper()
	env := New(t)
	if _, err := demo.Load(context.Background(), access.New(env.Engine.Engine), demo.Options{}); err != nil {
		t.Fatalf("loading the demo: %v", err)
	}
	return env
}

// Result is what one command line produced.
type Result struct {
	Stdout string
	Stderr string
	Code   int
	Err    error
}

// Options adjust one run.
type Options struct {
	// TTY marks standard input, output and error as terminals.
	TTY bool
	// Stdin is what the command reads.
	Stdin string
	// Factory, when set, adjusts the factory before the command is built.
	Factory func(*factory.Factory)
	// Ctx is the command's context (context.Background when nil).
	Ctx context.Context
	// Stdout, when set, receives standard output instead of Result.Stdout: a test of a
	// command that streams until cancelled (history --follow) reads it while it runs.
	Stdout io.Writer
}

// Run runs one command line with piped (non-terminal) streams.
func (e *Env) Run(args ...string) Result { return e.RunWith(Options{}, args...) }

// RunTTY runs one command line as if on a terminal.
func (e *Env) RunTTY(args ...string) Result { return e.RunWith(Options{TTY: true}, args...) }

// RunWith runs one command line.
func (e *Env) RunWith(o Options, args ...string) Result {
	e.t.Helper()
	f := e.Factory(o.TTY)
	ios := f.IOStreams
	ios.In = strings.NewReader(o.Stdin)
	if o.Factory != nil {
		o.Factory(f)
	}
	out, errOut := ios.Out.(*strings.Builder), ios.ErrOut.(*strings.Builder)
	if o.Stdout != nil {
		ios.Out = o.Stdout
	}
	ctx := o.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	err := root.Execute(ctx, root.NewCmdRoot(f), f, args)
	return Result{Stdout: out.String(), Stderr: errOut.String(), Code: cmdutil.ExitCode(err), Err: err}
}

// Factory returns a factory whose engine is this Env's and whose streams are buffers.
func (e *Env) Factory(tty bool) *factory.Factory {
	ios, _, _, _ := iostreams.Test()
	ios.Out, ios.ErrOut = &strings.Builder{}, &strings.Builder{}
	ios.SetTTY(tty)
	f := &factory.Factory{
		IOStreams:     ios,
		Getenv:        func(k string) string { return e.Env[k] },
		Now:           time.Now,
		Build:         factory.BuildInfo{Version: "test"},
		Dial:          engine.Dial,
		StartEmbedded: engine.StartEmbedded,
	}
	f.Engine = f.Connect
	f.RemoteAPI = f.ConnectAPI
	if e.Engine != nil {
		f.RemoteAPI = nil
		f.Engine = func(context.Context) (*engine.Engine, error) { return e.Engine.Engine, nil }
	}
	return f
}

// Offline returns an Env without an engine: commands connect as accessctl would (flags,
// Env, profile), so tests of commands that must not need a server, and of connection
// errors, use it.
func Offline(t testing.TB) *Env { return &Env{t: t, Env: map[string]string{}} }

var (
	// SpiceDB revision tokens are base64 of a protobuf message whose first byte encodes
	// as "Gh".
	tokenLine = regexp.MustCompile(`(?m)^(revision: )?Gh[A-Za-z0-9+/_=-]{14,}$`)
	tokenJSON = regexp.MustCompile(`"(revision|checked_at|expanded_at|reviewed_at)": "[^"]+"`)
	timestamp = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)
)

// Normalize replaces what differs between runs and cannot be asserted exactly: revision
// tokens (they encode the datastore's revision) become TOKEN and timestamps (request and
// grant expiries are computed from the clock) become TIME.
func Normalize(s string) string {
	s = tokenLine.ReplaceAllString(s, "${1}TOKEN")
	s = tokenJSON.ReplaceAllString(s, `"$1": "TOKEN"`)
	return timestamp.ReplaceAllString(s, "TIME")
}

// Must runs a piped command line and fails the test unless it exits 0.
func (e *Env) Must(args ...string) Result {
	e.t.Helper()
	r := e.Run(args...)
	if r.Code != 0 {
		e.t.Fatalf("accessctl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r
}

// Expect runs a piped command line and fails the test unless it exits with code and its
// standard error contains errText.
func (e *Env) Expect(code int, errText string, args ...string) Result {
	e.t.Helper()
	r := e.Run(args...)
	if r.Code != code || !strings.Contains(r.Stderr, errText) {
		e.t.Errorf("accessctl %s: exit %d, stderr %q; want exit %d and %q", strings.Join(args, " "), r.Code, r.Stderr, code, errText)
	}
	return r
}

// Allowed fails the test unless check answers want.
func (e *Env) Allowed(want bool, subject, permission, resource string) {
	e.t.Helper()
	r := e.Run("check", subject, permission, resource)
	answer := map[bool]string{true: "allowed\n", false: "denied\n"}[want]
	if r.Stdout != answer {
		e.t.Errorf("check %s %s %s = %q (stderr %q), want %q", subject, permission, resource, r.Stdout, r.Stderr, answer)
	}
}

// Flags builds a command with newCmd, a NewCmd... function, giving it a run function that
// records the options instead of running; runs args through the command; and fails the test
// unless the options the command would have run with equal want (Factory aside). It tests a
// command's flags and arguments without a server.
func Flags[O any](t testing.TB, newCmd func(*factory.Factory, func(context.Context, *O) error) *cobra.Command, want O, args ...string) {
	t.Helper()
	var got *O
	cmd := newCmd(Offline(t).Factory(false), func(_ context.Context, o *O) error { got = o; return nil })
	cmd.SetArgs(append([]string{}, args...))
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	if err := cmd.Execute(); err != nil {
		t.Fatalf("%s %q: %v", cmd.Name(), args, err)
	}
	if got == nil {
		t.Fatalf("%s %q: the run function was not called", cmd.Name(), args)
	}
	if fv := reflect.ValueOf(got).Elem().FieldByName("Factory"); fv.IsValid() && fv.CanSet() {
		fv.SetZero()
	}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("%s %q: options\n%+v\nwant\n%+v", cmd.Name(), args, *got, want)
	}
}

// With fixes the argument a NewCmd... function takes between the factory and runF (approve
// or deny, add or remove, ...), for Flags.
func With[O, A any](newCmd func(*factory.Factory, A, func(context.Context, *O) error) *cobra.Command, a A) func(*factory.Factory, func(context.Context, *O) error) *cobra.Command {
	return func(f *factory.Factory, runF func(context.Context, *O) error) *cobra.Command {
		return newCmd(f, a, runF)
	}
}
