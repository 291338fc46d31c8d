package root_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
)

// referencePath runs one bad reference through one command path.
type referencePath struct {
	name  string
	stdin string   // with %s for the reference, or ""
	args  []string // with %s for the reference
}

// referencePaths are every way a reference reaches accessctl: raw write and delete, import,
// check --file, and domain commands. The subject position is the one under test.
var referencePaths = []referencePath{
	{name: "relationship write", args: []string{"relationship", "write", "account:acme#viewer@%s", "--as", "user:vera"}},
	{name: "relationship delete", args: []string{"relationship", "delete", "account:acme#viewer@%s", "--as", "user:vera", "--yes"}},
	{name: "import", stdin: "account:acme#viewer@user:ok1\naccount:acme#viewer@%s\n", args: []string{"import", "--as", "user:vera", "--yes"}},
	{name: "check --file", stdin: "user:bill view_members account:acme\n%s view_members account:acme\n", args: []string{"check", "--file", "-"}},
	{name: "check", args: []string{"check", "%s", "view_members", "account:acme"}},
	{name: "partner grant", args: []string{"partner", "grant", "account:acme", "%s", "look", "--as", "user:bill"}},
}

// Every malformed reference gets the same precise message and the usage exit code on every
// path: the message pkg/ref gives for it, whether it arrives as an argument, inside a
// relationship, or on a line of a file (with the file position in front). Nothing is written.
func TestBadReferencesOnEveryPath(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	before := env.Must("export").Stdout
	long := "user:" + strings.Repeat("y", 1025)
	tests := []struct {
		ref string
		// msg is the message on every path, after the path's position prefix.
		msg string
		// shown is how a relationship excerpt shows ref ("" for ref itself, %q-escaped).
		shown string
		// byPath replaces the whole expected start of stderr on one path ("-": not a
		// mistake there).
		byPath map[string]string
	}{
		{ref: "user:", msg: "invalid argument: user id is empty"},
		{ref: ":x", msg: `invalid argument: unknown object type ""`},
		{ref: "us er:x", msg: `invalid argument: unknown object type "us er"`,
			byPath: map[string]string{"check --file": `error: standard input:2: want SUBJECT PERMISSION RESOURCE, got "us er:x view_members account:acme"`}},
		{ref: "user:x#y", msg: `invalid argument: user has no relation or permission "y"`,
			byPath: map[string]string{"partner grant": `error: invalid argument: "user:x#y" names a relation; an object is TYPE:ID`}},
		{ref: long, msg: "invalid argument: user id is 1025 characters long, the limit is 1024",
			shown: "user:" + strings.Repeat("y", 55) + "..."}, // the relationship cut to 80 characters
		{ref: "user:bi\x00ll", msg: `invalid argument: user id "bi\x00ll" may only contain letters, digits and / _ - = +`, shown: `user:bi\x00ll`},
		{ref: "usr:x", msg: `invalid argument: unknown object type "usr"`},
		{ref: "partner:p", msg: "invalid argument: account#viewer does not take partner (it takes: user)",
			byPath: map[string]string{"check": "-", "check --file": "-", "partner grant": "-"}}, // a valid subject there
	}
	for _, tt := range tests {
		for _, p := range referencePaths {
			t.Run(fmt.Sprintf("%s/%.12q", p.name, tt.ref), func(t *testing.T) {
				shown := tt.shown
				if shown == "" {
					shown = tt.ref
				}
				want := map[string]string{
					"relationship write":  `error: relationship "account:acme#viewer@` + shown + `": ` + tt.msg,
					"relationship delete": `error: relationship "account:acme#viewer@` + shown + `": ` + tt.msg,
					"import":              `error: standard input:2:21: relationship "account:acme#viewer@` + shown + `": ` + tt.msg,
					"check --file":        "error: standard input:2:1: " + tt.msg,
					"check":               "error: " + tt.msg,
					"partner grant":       "error: " + tt.msg,
				}[p.name]
				if w, ok := tt.byPath[p.name]; ok {
					want = w
				}
				if want == "-" {
					return
				}
				args := make([]string, len(p.args))
				for i, a := range p.args {
					args[i] = strings.ReplaceAll(a, "%s", tt.ref)
				}
				r := env.RunWith(clitest.Options{Stdin: strings.ReplaceAll(p.stdin, "%s", tt.ref)}, args...)
				if r.Code != cmdutil.ExitUsage || !strings.HasPrefix(r.Stderr, want) {
					t.Errorf("code %d, stderr %.400q\nwant code 2, stderr starting %.400q", r.Code, r.Stderr, want)
				}
				if len(r.Stderr) > 600 {
					t.Errorf("%d bytes of stderr: the reference is echoed whole", len(r.Stderr))
				}
			})
		}
	}
	// Unknown relations and permissions: named with the type and the valid names.
	for _, tt := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", []string{"relationship", "write", "account:acme#nonsense@user:x", "--as", "user:vera"}, `error: relationship "account:acme#nonsense@user:x": invalid argument: account has no relation "nonsense" (its relations: platform, admin, standard, viewer,`},
		{"", []string{"relationship", "delete", "account:acme#nonsense@user:x", "--as", "user:vera", "--yes"}, `error: relationship "account:acme#nonsense@user:x": invalid argument: account has no relation "nonsense" (its relations: platform, admin, standard, viewer,`},
		{"", []string{"relationship", "write", "account:acme#view_members@user:x", "--as", "user:vera"}, `error: relationship "account:acme#view_members@user:x": invalid argument: account#view_members is a permission, computed from relations, so no relationship can be written to it: write one of the relations of account (platform, admin,`},
		{"account:acme#nonsense@user:x\n", []string{"import", "--as", "user:vera", "--yes"}, `error: standard input:1:14: relationship "account:acme#nonsense@user:x": invalid argument: account has no relation "nonsense" (its relations: platform, admin, standard, viewer,`},
		{"user:x nonsense account:acme\n", []string{"check", "--file", "-"}, `error: standard input:1:8: invalid argument: account has no permission "nonsense"`},
		{"", []string{"check", "user:x", "nonsense", "account:acme"}, `error: invalid argument: account has no permission "nonsense"`},
	} {
		r := env.RunWith(clitest.Options{Stdin: tt.stdin}, tt.args...)
		if r.Code != cmdutil.ExitUsage || !strings.HasPrefix(r.Stderr, tt.want) {
			t.Errorf("%q: code %d, stderr %q; want 2, %q", tt.args, r.Code, r.Stderr, tt.want)
		}
	}
	if env.Must("export").Stdout != before {
		t.Fatal("a refused command changed the store")
	}
}

// An expiry that is not in the future is a usage error however it is written, before any
// server call; so is one that is neither a time nor a duration.
func TestBadExpiriesAreUsageErrors(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	for _, tt := range []struct{ expires, want string }{
		{"2020-01-01T00:00:00Z", "error: --expires 2020-01-01T00:00:00Z is not in the future: give a later time, or a duration from now such as 72h\n"},
		{"-5m", "error: --expires -5m is not in the future: give a positive duration such as 72h, or a later time\n"},
		{"0s", "error: --expires 0s is not in the future: give a positive duration such as 72h, or a later time\n"},
		{"tomorrow", `error: --expires "tomorrow" is neither an RFC 3339 time (2025-07-01T00:00:00Z) nor a duration (72h)` + "\n"},
	} {
		r := env.Run("partner", "grant", "account:acme", "user:pete", "look", "--expires", tt.expires, "--as", "user:bill")
		if r.Code != cmdutil.ExitUsage || !strings.HasPrefix(r.Stderr, tt.want) {
			t.Errorf("--expires %s: code %d, stderr %q; want 2, %q", tt.expires, r.Code, r.Stderr, tt.want)
		}
	}
	env.Must("partner", "grant", "account:acme", "user:pete", "look", "--expires", "2h", "--as", "user:bill")
}

// A check through a loop in the data exceeds SpiceDB's dispatch depth: a limit (exit 1) whose
// message says how to find and remove the loop, never a "conflict".
func TestMaxDepthIsALimit(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	env.Must("relationship", "write", "group:district#direct_member@group:district#member", "--as", "user:vera")
	r := env.Run("check", "user:nobody", "member", "group:district")
	want := "error: checking user:nobody member group:district: request over a server limit: max depth exceeded: answering needs more nested relationships than the server allows, which almost always means a loop (a group nested in itself, directly or through others): find it with `accessctl expand` and remove it"
	if r.Code != cmdutil.ExitError || !strings.HasPrefix(r.Stderr, want) || strings.Contains(r.Stderr, "conflict") {
		t.Errorf("code %d, stderr %q; want 1, %q", r.Code, r.Stderr, want)
	}
}
