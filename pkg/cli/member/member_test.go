package member_test

import (
	"testing"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
)

func TestList(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	args := []string{"member", "list", "account:acme", "--as", "user:bill"}
	tests := []struct {
		name  string
		tty   bool
		extra []string
		want  string
	}{
		{"terminal: aligned with a header", true, nil, "" +
			"USER        ROLE\n" +
			"user:bill   admin\n" +
			"user:sally  standard\n" +
			"user:joan   viewer\n" +
			"user:leo    viewer\n"},
		{"piped: tab-separated, no header", false, nil, "" +
			"user:bill\tadmin\n" +
			"user:sally\tstandard\n" +
			"user:joan\tviewer\n" +
			"user:leo\tviewer\n"},
		{"json", true, []string{"-o", "json"}, `[
  {
    "user": "user:bill",
    "role": "admin"
  },
  {
    "user": "user:sally",
    "role": "standard"
  },
  {
    "user": "user:joan",
    "role": "viewer"
  },
  {
    "user": "user:leo",
    "role": "viewer"
  }
]
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := env.RunWith(clitest.Options{TTY: tt.tty}, append(args, tt.extra...)...)
			if r.Stdout != tt.want || r.Stderr != "" || r.Code != 0 {
				t.Errorf("code %d, stderr %q, stdout:\n%s\nwant:\n%s", r.Code, r.Stderr, r.Stdout, tt.want)
			}
		})
	}
}

func TestListDenied(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	r := env.Run("member", "list", "account:acme", "--as", "user:sally")
	want := "error: permission denied: user:sally lacks view_members on account:acme\n"
	if r.Code != cmdutil.ExitError || r.Stderr != want || r.Stdout != "" {
		t.Errorf("code %d, stdout %q, stderr %q; want code 1, stderr %q", r.Code, r.Stdout, r.Stderr, want)
	}
}

func TestMissingAs(t *testing.T) {
	t.Parallel()
	env := clitest.Offline(t)
	for _, args := range [][]string{
		{"member", "approve", "account:acme", "user:dave"},
		{"member", "list", "account:acme"},
		{"member", "remove", "account:acme", "user:joan", "--yes"},
	} {
		r := env.Run(args...)
		want := "error: --as is required: every change is made by a named user, for example --as user:bill\n" +
			"Run 'accessctl member " + args[1] + " --help' for usage.\n"
		if r.Code != cmdutil.ExitUsage || r.Stderr != want {
			t.Errorf("%v: code %d, stderr %q; want code 2, stderr %q", args, r.Code, r.Stderr, want)
		}
	}
	r := env.Run("member", "approve", "account:acme", "user:dave", "--as", "sally")
	if r.Code != cmdutil.ExitUsage || r.Stderr != "error: --as: invalid argument: \"sally\" is not a reference: write TYPE:ID, for example user:sally\nRun 'accessctl member approve --help' for usage.\n" {
		t.Errorf("--as sally: code %d, stderr %q", r.Code, r.Stderr)
	}
}

// A change prints a confirmation on stderr and the revision on stdout, in a form that
// depends on where stdout goes.
func TestApproveChange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		tty        bool
		extra      []string
		wantStdout string
	}{
		{"terminal", true, nil, "revision: TOKEN\n"},
		{"piped", false, nil, "TOKEN\n"},
		{"json", false, []string{"-o", "json"}, "{\n  \"revision\": \"TOKEN\"\n}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := clitest.NewDemo(t)
			r := env.RunWith(clitest.Options{TTY: tt.tty}, append([]string{"member", "approve", "account:acme", "user:dave", "--as", "user:bill", "--reason", "new engineer"}, tt.extra...)...)
			// The revision token encodes the datastore revision, which differs per run.
			if got := clitest.Normalize(r.Stdout); got != tt.wantStdout || r.Stderr != "approved the request of user:dave on account:acme\n" || r.Code != 0 {
				t.Errorf("code %d, stderr %q, stdout %q; want stdout %q", r.Code, r.Stderr, got, tt.wantStdout)
			}
			token := r.Stdout
			if tt.tty {
				token = token[len("revision: "):]
			}
			if tt.extra == nil {
				// Reading at that revision from "another process" sees the change.
				c := env.Run("check", "user:dave", "create_case", "account:acme", "--revision", token[:len(token)-1], "--exit-code")
				if c.Stdout != "allowed\n" {
					t.Errorf("check at the approval's revision: %q %q", c.Stdout, c.Stderr)
				}
			}
			again := env.Run("member", "approve", "account:acme", "user:dave", "--as", "user:bill")
			want := "error: approving the request of user:dave on account:acme: not found: there is no pending request (it was decided, withdrawn or expired)\n"
			if again.Code != cmdutil.ExitError || again.Stderr != want {
				t.Errorf("second approval: code %d, stderr %q; want %q", again.Code, again.Stderr, want)
			}
		})
	}
}

func TestPending(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	r := env.RunTTY("member", "pending", "account:acme", "--as", "user:bill")
	// The request's expiry is 30 days after the demo was loaded.
	want := "USER       ROLE      EXPIRES\nuser:dave  standard  TIME\n"
	if got := clitest.Normalize(r.Stdout); got != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", got, want)
	}
	r = env.Run("member", "approvers", "account:acme", "user:dave", "--as", "user:dave")
	if r.Stdout != "user:bill\tadmin\n" {
		t.Errorf("approvers = %q", r.Stdout)
	}
}

func TestRemoveNeedsConfirmation(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	args := []string{"member", "remove", "account:acme", "user:joan", "--as", "user:carol"}

	r := env.Run(args...)
	want := "error: member remove needs confirmation: pass --yes when not running interactively\nRun 'accessctl member remove --help' for usage.\n"
	if r.Code != cmdutil.ExitUsage || r.Stderr != want {
		t.Errorf("piped without --yes: code %d, stderr %q; want %q", r.Code, r.Stderr, want)
	}

	r = env.RunWith(clitest.Options{TTY: true, Stdin: "n\n"}, args...)
	want = "Remove user:joan from account:acme? [y/N] error: cancelled: nothing was changed\n"
	if r.Code != cmdutil.ExitError || r.Stderr != want || r.Stdout != "" {
		t.Errorf("answered no: code %d, stderr %q; want %q", r.Code, r.Stderr, want)
	}

	r = env.RunWith(clitest.Options{TTY: true, Stdin: "y\n"}, args...)
	want = "Remove user:joan from account:acme? [y/N] removed user:joan from account:acme\n"
	if r.Code != 0 || r.Stderr != want || clitest.Normalize(r.Stdout) != "revision: TOKEN\n" {
		t.Errorf("answered yes: code %d, stdout %q, stderr %q; want %q", r.Code, r.Stdout, r.Stderr, want)
	}

	r = env.Run("member", "remove", "account:acme", "user:sally", "--as", "user:bill", "--yes")
	want = "error: permission denied: user:bill lacks remove_members on account:acme\n"
	if r.Code != cmdutil.ExitError || r.Stderr != want {
		t.Errorf("admin removing: code %d, stderr %q; want %q", r.Code, r.Stderr, want)
	}
}

func TestLastAdminCannotLeave(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	r := env.Run("member", "leave", "account:acme", "--as", "user:bill")
	want := "error: removing admin role of user:bill on account:acme: last administrator: promote another admin first, or ask Customer Care\n"
	if r.Code != cmdutil.ExitError || r.Stderr != want {
		t.Errorf("code %d, stderr %q; want %q", r.Code, r.Stderr, want)
	}
}
