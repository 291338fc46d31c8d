package root_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
	"github.com/accessgraph/accessgraph/pkg/engine"
)

// A fuzzed command line is its arguments joined by NUL, which no real argument can hold.
const argSep = "\x00"

// maxFuzzArgs bounds a fuzzed command line; longer ones add nothing but time.
const maxFuzzArgs = 16

// cmdlineSeeds are command lines good and hostile: every command group with valid
// references, and the shapes argument parsing must refuse (wildcards, relations where an
// object is expected, control characters, NUL-free binary, over-long ids, unknown types,
// permissions, flags and output formats, flags without values, repeated flags).
var cmdlineSeeds = [][]string{
	{"check", "user:bill", "view_all_cases", "account:acme"},
	{"check", "user:bill", "view", "case:101", "--exit-code", "--consistency", "full"},
	{"check", "user:bill", "view", "case:101", "--consistency", "at-least", "--revision", "GhUKEzE3MDAwMDAwMDAwMDAwMDAwMDA="},
	{"explain", "user:joan", "view", "case:101", "-o", "json"},
	{"expand", "view_all_cases", "account:acme", "--format", "mermaid"},
	{"who-can", "view", "case:101"},
	{"access-review", "account:acme", "--format", "csv"},
	{"lookup", "resources", "user:bill", "view", "case"},
	{"lookup", "subjects", "case:101", "view", "user"},
	{"member", "add", "account:acme", "user:sally", "--role", "standard", "--as", "user:bill", "--reason", "new hire"},
	{"member", "remove", "account:acme", "user:sally", "--as", "user:bill", "--yes"},
	{"member", "list", "account:acme", "--as", "user:bill"},
	{"group", "add", "group:district", "user:sally", "--as", "user:bill"},
	{"partner", "list", "account:acme", "--as", "user:bill"},
	{"case", "create", "case:102", "--account", "account:acme", "--as", "user:bill"},
	{"relationship", "read", "account:acme#admin"},
	{"relationship", "write", "account:acme#admin@user:bill", "--as", "user:bill"},
	{"relationship", "delete", "account:acme#admin@user:bill", "--yes"},
	{"serve", "--addr", "0.0.0.0:0"},
	{"serve", "--addr", "127.0.0.1:0", "--max-request-bytes", "0"},
	{"serve", "--tls-cert", "x.crt"},
	{"completion", "bash"},
	{"version"},
	{"help", "check"},
	{"--endpoint", "127.0.0.1:1", "--token", "k", "--insecure", "check", "user:bill", "view", "case:1"},
	{"--endpoint", "::::", "check", "user:bill", "view", "case:1"},
	{"-o", "yaml", "member", "list", "account:acme"},
	{"check", "user:*", "view", "case:101"},
	{"check", "group:g#member", "view", "case:101"},
	{"check", "user:bill", "view", "case:*"},
	{"check", "user:bill", "nope", "case:101"},
	{"check", "usr:bill", "view", "case:101"},
	{"check", "user:bi\x1b[31mll", "view", "case:101"},
	{"check", "user:bill", "vi\x07ew", "case:101"},
	{"check", "user:bill\n", "view", "case:101"},
	{"check", "user:sálly", "view", "case:101"},
	{"check", "user:" + strings.Repeat("a", 1025), "view", "case:101"},
	{"check", "user:bill", "view"},
	{"check", "--consistency", "eventually", "user:bill", "view", "case:1"},
	{"member", "add", "account:acme", "user:sally", "--as", "user:*"},
	{"member", "add", "account:acme", "user:sally", "--as"},
	{"member", "add", "account:acme", "account:acme", "--as", "user:bill"},
	{"relationship", "write", "account:acme#admin@user:*", "--as", "user:bill"},
	{"relationship", "write", "account:acme#admin@user:bill[caveat]", "--as", "user:bill"},
	{"relationship", "read", "account:acme#ad\tmin"},
	{"check\x1b[2J", "user:bill"},
	{"--bogus"},
	{"--bo\x1b[31mgus", "check"},
	{"-\x1bx", "check"},
	{"-", "--", "---"},
	{"\xff\xfe", "\u202e"},
}

// fuzzArgs splits a fuzzed line into arguments, or reports false for a line not worth
// running: too long, or naming a command or flag that reads or writes files or opens
// databases, which the fuzzer must not do with arbitrary paths and URIs.
func fuzzArgs(line string) ([]string, bool) {
	args := strings.Split(line, argSep)
	if len(args) > maxFuzzArgs {
		return nil, false
	}
	for _, a := range args {
		switch a {
		case "migrate", "export", "import", "backup", "restore", "bench", "dev", "audit", "history", "schema", "demo":
			return nil, false
		}
		if strings.HasPrefix(a, "-") && (strings.Contains(a, "file") || strings.Contains(a, "datastore") || strings.Contains(a, "dir")) {
			return nil, false
		}
	}
	return args, true
}

var errFuzzNoServer = errors.New("no server while fuzzing")

// offlineFactory lets commands resolve their connection as usual but fails every dial and
// every start of a server, and counts the dials.
func offlineFactory(dials *int) clitest.Options {
	return clitest.Options{Factory: func(f *factory.Factory) {
		f.Dial = func(context.Context, engine.RemoteConfig) (*engine.Engine, error) {
			*dials++
			return nil, errFuzzNoServer
		}
		f.StartEmbedded = func(context.Context, engine.EmbeddedConfig) (*engine.Embedded, error) {
			return nil, errFuzzNoServer
		}
	}}
}

// noDNS makes every name lookup fail for the rest of f, so that fuzzed host names (serve
// --addr HOST:0 binds a port on HOST) never reach the network.
func noDNS(f *testing.F) {
	saved := net.DefaultResolver
	net.DefaultResolver = &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errFuzzNoServer
	}}
	f.Cleanup(func() { net.DefaultResolver = saved })
}

// unprintable finds a character a terminal would act on instead of showing: a control
// character other than newline and tab, or a bidirectional override. It returns -1 if
// there is none.
func unprintable(s string) int {
	return strings.IndexFunc(s, func(r rune) bool {
		if r == '\n' || r == '\t' {
			return false
		}
		return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == utf8.RuneError
	})
}

// FuzzCommandLine runs arbitrary command lines with no server: parsing never panics, every
// failure exits 1 or 2 with an "error: " message on standard error, a usage error (2)
// never reached the server, and nothing printed carries a raw control character.
func FuzzCommandLine(f *testing.F) {
	for _, args := range cmdlineSeeds {
		f.Add(strings.Join(args, argSep))
	}
	configDir := f.TempDir()
	noDNS(f)
	f.Fuzz(func(t *testing.T, line string) {
		args, ok := fuzzArgs(line)
		if !ok {
			return
		}
		env := clitest.Offline(t)
		env.Env["ACCESSCTL_CONFIG_DIR"] = configDir
		dials := 0
		r := env.RunWith(offlineFactory(&dials), args...)
		checkRun(t, args, r, dials)
	})
}

func checkRun(t *testing.T, args []string, r clitest.Result, dials int) {
	t.Helper()
	switch r.Code {
	case cmdutil.ExitOK:
		return
	case cmdutil.ExitError, cmdutil.ExitUsage:
	default:
		t.Fatalf("%q: exit %d, want 0, 1 or 2 without a server; stderr %q", args, r.Code, r.Stderr)
	}
	// Long-running commands (serve) may log before they fail; the error line comes last.
	if !strings.HasPrefix(r.Stderr, "error: ") && !strings.Contains(r.Stderr, "\nerror: ") {
		t.Fatalf("%q: exit %d with stderr %q, want an \"error: \" message", args, r.Code, r.Stderr)
	}
	if r.Code == cmdutil.ExitUsage && dials > 0 {
		t.Fatalf("%q: a usage error after dialling the server: arguments must be checked first; stderr %q", args, r.Stderr)
	}
	if i := unprintable(r.Stderr); i >= 0 {
		t.Fatalf("%q: standard error carries a raw control or invisible character at byte %d: %q", args, i, r.Stderr)
	}
	if i := unprintable(r.Stdout); i >= 0 {
		t.Fatalf("%q: standard output carries a raw control or invisible character at byte %d: %q", args, i, r.Stdout)
	}
}

// An unknown flag is echoed in the error, escaped: typed escape sequences never reach the
// terminal raw.
func TestUnknownFlagIsEchoedEscaped(t *testing.T) {
	for _, args := range [][]string{
		{"--bad\x1b[31m"},
		{"check", "-\x07"},
		{"version", "--x\u202e"},
	} {
		env := clitest.Offline(t)
		dials := 0
		r := env.RunWith(offlineFactory(&dials), args...)
		if r.Code != cmdutil.ExitUsage {
			t.Errorf("%q: exit %d, want a usage error; stderr %q", args, r.Code, r.Stderr)
		}
		if i := unprintable(r.Stderr); i >= 0 {
			t.Errorf("%q: stderr carries a raw control character at byte %d: %q", args, i, r.Stderr)
		}
		if !strings.Contains(r.Stderr, `\x1b`) && !strings.Contains(r.Stderr, `\a`) && !strings.Contains(r.Stderr, `\u202e`) {
			t.Errorf("%q: the escaped flag is missing from stderr %q", args, r.Stderr)
		}
	}
}
