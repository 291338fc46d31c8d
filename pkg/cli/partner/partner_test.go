package partner_test

import (
	"context"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
	"github.com/accessgraph/accessgraph/pkg/cli/partner"
)

func TestList(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	args := []string{"partner", "list", "account:acme", "--as", "user:bill"}
	// The consultant's grant expires 30 days after the demo was loaded.
	tests := []struct {
		name  string
		tty   bool
		extra []string
		want  string
	}{
		{"terminal", true, nil, "" +
			"GRANTEE             LEVEL   EXPIRES\n" +
			"partner:integrator  look    -\n" +
			"user:pete           cc      -\n" +
			"user:tara           update  TIME\n"},
		{"piped", false, nil, "partner:integrator\tlook\t\nuser:pete\tcc\t\nuser:tara\tupdate\tTIME\n"},
		{"json", false, []string{"-o", "json"}, `[
  {
    "grantee": "partner:integrator",
    "level": "look",
    "expires_at": null
  },
  {
    "grantee": "user:pete",
    "level": "cc",
    "expires_at": null
  },
  {
    "grantee": "user:tara",
    "level": "update",
    "expires_at": "TIME"
  }
]
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := env.RunWith(clitest.Options{TTY: tt.tty}, append(args, tt.extra...)...)
			if got := clitest.Normalize(r.Stdout); got != tt.want || r.Code != 0 || r.Stderr != "" {
				t.Errorf("code %d, stderr %q, stdout:\n%s\nwant:\n%s", r.Code, r.Stderr, got, tt.want)
			}
		})
	}
}

func TestGrantRevoke(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	r := env.Run("partner", "grant", "account:acme", "user:quinn", "look", "--expires", "72h", "--as", "user:bill")
	if r.Code != 0 || clitest.Normalize(r.Stderr) != "granted user:quinn look on account:acme until TIME\n" {
		t.Fatalf("grant: code %d, stderr %q", r.Code, r.Stderr)
	}
	if c := env.Run("check", "user:quinn", "view", "case:101"); c.Stdout != "allowed\n" {
		t.Errorf("after grant: %q", c.Stdout)
	}
	r = env.Run("partner", "grant", "account:acme", "user:quinn", "full_admin", "--as", "user:pam")
	if r.Code != cmdutil.ExitError || r.Stderr != "error: permission denied: user:pam lacks manage_partners on account:acme\n" {
		t.Errorf("partner granting: code %d, stderr %q", r.Code, r.Stderr)
	}
	r = env.Run("partner", "revoke", "account:acme", "user:quinn", "--as", "user:bill")
	if r.Code != cmdutil.ExitUsage {
		t.Errorf("revoke without --yes: code %d", r.Code)
	}
	r = env.Run("partner", "revoke", "account:acme", "user:quinn", "--as", "user:bill", "--yes")
	if r.Code != 0 || r.Stderr != "revoked the grant of user:quinn on account:acme\n" {
		t.Fatalf("revoke: code %d, stderr %q", r.Code, r.Stderr)
	}
	if c := env.Run("check", "user:quinn", "view", "case:101", "--revision", r.Stdout[:len(r.Stdout)-1]); c.Stdout != "denied\n" {
		t.Errorf("after revoke: %q %q", c.Stdout, c.Stderr)
	}
}

func TestRequests(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	if r := env.Run("partner", "request", "account:acme", "partner:integrator", "update", "--as", "user:pam"); r.Code != 0 {
		t.Fatal(r.Stderr)
	}
	r := env.RunTTY("partner", "requests", "account:acme", "--as", "user:bill")
	if got := clitest.Normalize(r.Stdout); got != "GRANTEE             LEVEL   EXPIRES\npartner:integrator  update  TIME\n" {
		t.Errorf("requests:\n%s", got)
	}
	if r := env.Run("partner", "approve", "account:acme", "partner:integrator", "--as", "user:bill"); r.Code != 0 {
		t.Fatal(r.Stderr)
	}
	if c := env.Run("check", "user:pam", "update", "case:101"); c.Stdout != "allowed\n" {
		t.Errorf("after approval pam cannot update: %q", c.Stdout)
	}
	r = env.Run("partner", "deny", "account:acme", "partner:integrator", "--as", "user:bill")
	if r.Code != cmdutil.ExitError {
		t.Errorf("deny after approval: code %d", r.Code)
	}
}

// Flag parsing is tested without a server by replacing the run function.
func TestGrantExpiresFlag(t *testing.T) {
	t.Parallel()
	f := clitest.Offline(t).Factory(false)
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	f.Now = func() time.Time { return now }
	var got *partner.Options
	cmd := partner.NewCmdGrant(f, func(_ context.Context, o *partner.Options) error { got = o; return nil })
	cmd.SetArgs([]string{"account:acme", "user:tara", "update", "--expires", "2025-07-01T00:00:00Z", "--as", "user:bill"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Account != "account:acme" || got.Grantee != "user:tara" || got.Level != "update" || got.Expires != "2025-07-01T00:00:00Z" || got.Actor.As != "user:bill" {
		t.Errorf("options = %+v", got)
	}
	for in, want := range map[string]time.Time{
		"72h":                  now.Add(72 * time.Hour),
		"2025-07-01T00:00:00Z": time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC),
		"":                     {},
	} {
		if at, err := cmdutil.ParseExpiry(in, now); err != nil || !at.Equal(want) {
			t.Errorf("ParseExpiry(%q) = %v, %v; want %v", in, at, err, want)
		}
	}
	if _, err := cmdutil.ParseExpiry("-1h", now); err == nil {
		t.Error("a negative duration: want an error")
	}
}
