package query_test

import (
	"testing"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	tests := []struct {
		name       string
		tty        bool
		args       []string
		wantStdout string
		wantCode   int
	}{
		{"allowed on a terminal", true, []string{"check", "user:bill", "view_all_cases", "account:acme"}, "allowed\n", cmdutil.ExitOK},
		{"allowed piped", false, []string{"check", "user:bill", "view_all_cases", "account:acme"}, "allowed\n", cmdutil.ExitOK},
		{"denied exits 0 without --exit-code", false, []string{"check", "user:joan", "view_all_cases", "account:acme"}, "denied\n", cmdutil.ExitOK},
		{"denied exits 3 with --exit-code", false, []string{"check", "user:joan", "view_all_cases", "account:acme", "--exit-code"}, "denied\n", cmdutil.ExitDenied},
		{"allowed exits 0 with --exit-code", true, []string{"check", "user:pete", "view", "case:102", "--exit-code"}, "allowed\n", cmdutil.ExitOK},
		{"fully consistent", false, []string{"check", "user:leo", "view_all_cases", "account:acme", "--consistency", "full"}, "allowed\n", cmdutil.ExitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := env.RunWith(clitest.Options{TTY: tt.tty}, tt.args...)
			if r.Stdout != tt.wantStdout || r.Stderr != "" || r.Code != tt.wantCode {
				t.Errorf("got code %d, stdout %q, stderr %q; want code %d, stdout %q, no stderr", r.Code, r.Stdout, r.Stderr, tt.wantCode, tt.wantStdout)
			}
		})
	}
}

func TestCheckJSON(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	r := env.Run("check", "user:joan", "view_all_cases", "account:acme", "-o", "json", "--exit-code")
	// checked_at is a revision token: it changes with every datastore revision.
	want := `{
  "subject": "user:joan",
  "permission": "view_all_cases",
  "resource": "account:acme",
  "allowed": false,
  "checked_at": "TOKEN"
}
`
	if got := clitest.Normalize(r.Stdout); got != want || r.Code != cmdutil.ExitDenied {
		t.Errorf("code %d, stdout:\n%s\nwant code 3, stdout:\n%s", r.Code, got, want)
	}
}

// Mistakes in arguments are usage errors found before any server call, with the message
// of the reference parser, never a silent "denied".
func TestCheckUsageErrors(t *testing.T) {
	t.Parallel()
	env := clitest.Offline(t) // no engine: these must fail before connecting
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"bad reference", []string{"check", "usr:sally", "view", "case:101"},
			"error: invalid argument: unknown object type \"usr\" (known: user, platform, feature, group, partner, service_org, role, account, sold_product, install_base, case)\n" +
				"Run 'accessctl check --help' for usage.\n"},
		{"unknown permission", []string{"check", "user:sally", "viw", "case:101"},
			"error: case has no permission \"viw\"; did you mean \"view\"?\nRun 'accessctl check --help' for usage.\n"},
		{"missing argument", []string{"check", "user:sally", "view"},
			"error: accessctl check: missing RESOURCE (usage: accessctl check SUBJECT PERMISSION RESOURCE [flags])\nRun 'accessctl check --help' for usage.\n"},
		{"malformed reference", []string{"check", "sally", "view", "case:101"},
			"error: invalid argument: \"sally\" is not a reference: write TYPE:ID, for example user:sally\nRun 'accessctl check --help' for usage.\n"},
		{"unknown consistency", []string{"check", "user:sally", "view", "case:101", "--consistency", "eventual"},
			"error: invalid argument: unknown consistency \"eventual\" (fresh, at-least, full, fastest)\nRun 'accessctl check --help' for usage.\n"},
		{"unknown flag", []string{"check", "user:sally", "view", "case:101", "--exitcode"},
			"error: unknown flag: --exitcode\nRun 'accessctl check --help' for usage.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := env.Run(tt.args...)
			if r.Code != cmdutil.ExitUsage || r.Stdout != "" || r.Stderr != tt.wantStderr {
				t.Errorf("got code %d, stdout %q, stderr:\n%s\nwant code 2, stderr:\n%s", r.Code, r.Stdout, r.Stderr, tt.wantStderr)
			}
		})
	}
}

func TestCheckFile(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	stdin := "# super customer\nuser:sue view case:201\n\nuser:sue view case:204\n"
	r := env.RunWith(clitest.Options{TTY: true, Stdin: stdin}, "check", "--file", "-", "--exit-code")
	want := "" +
		"SUBJECT   PERMISSION  RESOURCE  ANSWER\n" +
		"user:sue  view        case:201  allowed\n" +
		"user:sue  view        case:204  denied\n"
	if r.Stdout != want || r.Code != cmdutil.ExitDenied {
		t.Errorf("code %d, stdout:\n%s\nwant code 3, stdout:\n%s", r.Code, r.Stdout, want)
	}
	r = env.RunWith(clitest.Options{Stdin: "user:sue view\n"}, "check", "--file", "-")
	if r.Code != cmdutil.ExitUsage || r.Stderr != "error: standard input:1: want SUBJECT PERMISSION RESOURCE, got \"user:sue view\"\nRun 'accessctl check --help' for usage.\n" {
		t.Errorf("bad line: code %d, stderr %q", r.Code, r.Stderr)
	}
}

func TestLookupResources(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	args := []string{"lookup", "resources", "user:sue", "group_view", "case"}
	tests := []struct {
		name  string
		tty   bool
		extra []string
		want  string
	}{
		{"terminal", true, nil, "RESOURCE\ncase:201\ncase:202\ncase:203\n"},
		{"piped", false, nil, "case:201\ncase:202\ncase:203\n"},
		{"json", false, []string{"-o", "json"}, "[\n  \"case:201\",\n  \"case:202\",\n  \"case:203\"\n]\n"},
		{"fully consistent", false, []string{"--consistency", "full"}, "case:201\ncase:202\ncase:203\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := env.RunWith(clitest.Options{TTY: tt.tty}, append(args, tt.extra...)...)
			if r.Stdout != tt.want || r.Code != 0 || r.Stderr != "" {
				t.Errorf("code %d, stderr %q, stdout:\n%s\nwant:\n%s", r.Code, r.Stderr, r.Stdout, tt.want)
			}
		})
	}
	r := env.Run("lookup", "resources", "user:sue", "group_view_closed", "case")
	if r.Stdout != "case:202\n" {
		t.Errorf("closed group cases = %q, want case:202", r.Stdout)
	}
	r = env.Run("lookup", "resources", "user:nobody", "view", "case", "-o", "json")
	if r.Stdout != "[]\n" {
		t.Errorf("empty JSON listing = %q, want []", r.Stdout)
	}
}

func TestLookupSubjects(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	r := env.RunTTY("lookup", "subjects", "account:acme", "manage_members")
	if want := "SUBJECT\nuser:bill\n"; r.Stdout != want || r.Code != 0 {
		t.Errorf("code %d, stdout:\n%s\nwant:\n%s", r.Code, r.Stdout, want)
	}
	r = env.Run("lookup", "subjects", "case:102", "view", "user")
	for _, u := range []string{"user:joan", "user:pete", "user:bill", "user:leo", "user:pam", "user:tara"} {
		if !contains(r.Stdout, u) {
			t.Errorf("subjects of case:102 view lack %s:\n%s", u, r.Stdout)
		}
	}
}

func contains(lines, line string) bool {
	for start := 0; start < len(lines); {
		end := start
		for end < len(lines) && lines[end] != '\n' {
			end++
		}
		if lines[start:end] == line {
			return true
		}
		start = end + 1
	}
	return false
}
