package root_test

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
	"github.com/accessgraph/accessgraph/pkg/cli/profile"
	"github.com/accessgraph/accessgraph/pkg/cli/root"
)

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

const startAdvice = "start one with `make run` (in the accessgraph folder) or `accessctl serve` in another terminal, " +
	"or point --endpoint/--token (ACCESSCTL_ENDPOINT/ACCESSCTL_TOKEN) at a running server\n"

func TestUnreachableServer(t *testing.T) {
	t.Parallel()
	addr := closedPort(t)
	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		source string
	}{
		{"flags", nil, []string{"--endpoint", addr, "--token", "k", "--insecure"}, "--endpoint"},
		{"environment", map[string]string{"ACCESSCTL_ENDPOINT": addr, "ACCESSCTL_TOKEN": "k", "ACCESSCTL_INSECURE": "true"}, nil, "ACCESSCTL_ENDPOINT"},
		{"stale profile", nil, nil, "PROFILE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := clitest.Offline(t)
			dir := t.TempDir()
			env.Env["ACCESSCTL_CONFIG_DIR"] = dir
			for k, v := range tt.env {
				env.Env[k] = v
			}
			source := tt.source
			want := fmt.Sprintf("error: cannot reach an access server at %s (from %s): connection refused\n%s", addr, source, startAdvice)
			if source == "PROFILE" {
				source = filepath.Join(dir, profile.FileName)
				started := time.Date(2026, 12, 4, 9, 30, 0, 0, time.UTC)
				if err := profile.Write(source, &profile.Profile{Endpoint: addr, Token: "k", Insecure: true, PID: 4242, StartedAt: started}); err != nil {
					t.Fatal(err)
				}
				want = fmt.Sprintf("error: the connection profile %s is stale: it names a server at %s that does not answer (connection refused); "+
					"accessctl serve (pid 4242, started 2026-12-04T09:30:00Z) wrote it and stopped without removing it, as after a crash\n"+
					"start the server again (`make run` in the accessgraph folder, or `accessctl serve`), which rewrites the profile; "+
					"or delete %s and point --endpoint/--token at a running server\n", source, addr, source)
			}
			r := env.Run(append([]string{"member", "list", "account:acme", "--as", "user:bill"}, tt.args...)...)
			if r.Code != cmdutil.ExitError || r.Stderr != want || r.Stdout != "" {
				t.Errorf("code %d, stderr:\n%s\nwant code 1, stderr:\n%s", r.Code, r.Stderr, want)
			}
		})
	}
}

func TestNoServerConfigured(t *testing.T) {
	t.Parallel()
	env := clitest.Offline(t)
	env.Env["ACCESSCTL_CONFIG_DIR"] = t.TempDir()
	r := env.Run("check", "user:bill", "view", "case:101")
	want := "error: no access server configured: " + startAdvice
	if r.Code != cmdutil.ExitError || r.Stderr != want {
		t.Errorf("code %d, stderr:\n%s\nwant:\n%s", r.Code, r.Stderr, want)
	}
	r = env.Run("check", "user:bill", "view", "case:101", "--endpoint", "127.0.0.1:1")
	want = "error: no key for 127.0.0.1:1 (from --endpoint): pass --token, set ACCESSCTL_TOKEN or run accessctl login\n"
	if r.Code != cmdutil.ExitError || r.Stderr != want {
		t.Errorf("no token: code %d, stderr %q; want %q", r.Code, r.Stderr, want)
	}
}

// The profile's key is only sent to the profile's own endpoint.
func TestProfileKeyStaysWithItsEndpoint(t *testing.T) {
	t.Parallel()
	env := clitest.Offline(t)
	dir := t.TempDir()
	env.Env["ACCESSCTL_CONFIG_DIR"] = dir
	if err := profile.Write(filepath.Join(dir, profile.FileName), &profile.Profile{Endpoint: "127.0.0.1:50051", Token: "local-key", Insecure: true}); err != nil {
		t.Fatal(err)
	}
	r := env.Run("check", "user:bill", "view", "case:101", "--endpoint", "remote.example:443")
	want := "error: no key for remote.example:443 (from --endpoint): pass --token, set ACCESSCTL_TOKEN or run accessctl login\n"
	if r.Stderr != want {
		t.Errorf("stderr %q; want %q", r.Stderr, want)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	env := clitest.Offline(t)
	tests := []struct {
		args       []string
		wantStderr string
	}{
		{[]string{"frobnicate"}, "error: unknown command \"frobnicate\" for \"accessctl\"\nRun 'accessctl --help' for usage.\n"},
		{[]string{"member", "aprove"}, "error: unknown command \"aprove\" for \"accessctl member\"; did you mean \"approve\"?\nRun 'accessctl member --help' for usage.\n"},
		{[]string{"member", "list"}, "error: accessctl member list: missing ACCOUNT (usage: accessctl member list ACCOUNT --as USER [flags])\nRun 'accessctl member list --help' for usage.\n"},
		{[]string{"member", "list", "account:acme", "--as", "user:bill", "-o", "yaml"}, "error: unknown output format \"yaml\" (table, json, csv)\nRun 'accessctl member list --help' for usage.\n"},
		{[]string{"member", "role", "account:acme", "user:sally", "boss", "--as", "user:bill"}, "error: invalid argument: unknown role \"boss\" (admin, standard, viewer)\nRun 'accessctl member role --help' for usage.\n"},
		{[]string{"partner", "grant", "account:acme", "partner:integrator", "look", "--expires", "soon", "--as", "user:bill"}, "error: --expires \"soon\" is neither an RFC 3339 time (2025-07-01T00:00:00Z) nor a duration (72h)\nRun 'accessctl partner grant --help' for usage.\n"},
		{[]string{"partner", "grant", "account:acme", "group:x", "look", "--as", "user:bill"}, "error: invalid argument: a partner grant is for partner:ID or user:ID, not group:x\nRun 'accessctl partner grant --help' for usage.\n"},
		{[]string{"case", "create", "case:1", "user:sally", "--as", "user:sally"}, "error: invalid argument: user:sally is a user; a account is needed here\nRun 'accessctl case create --help' for usage.\n"},
		{[]string{"relationship", "write", "feature:entitlement_view#participant@user:*", "--as", "user:vera"}, "error: relationship \"feature:entitlement_view#participant@user:*\": invalid argument: \"user:*\" is a wildcard subject, which grants to everyone and cannot be written by hand: use `accessctl feature release` to open a rollout to every user\nRun 'accessctl relationship write --help' for usage.\n"},
		{[]string{"serve", "--addr", "0.0.0.0:0"}, "error: refusing to serve on 0.0.0.0:0 without a preshared key: pass --token or set ACCESSCTL_TOKEN (a key is generated only for loopback addresses such as 127.0.0.1)\nRun 'accessctl serve --help' for usage.\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			r := env.Run(tt.args...)
			if r.Code != cmdutil.ExitUsage || r.Stderr != tt.wantStderr || r.Stdout != "" {
				t.Errorf("code %d, stdout %q, stderr:\n%s\nwant code 2, stderr:\n%s", r.Code, r.Stdout, r.Stderr, tt.wantStderr)
			}
		})
	}
}

func TestHelpAndVersion(t *testing.T) {
	t.Parallel()
	env := clitest.Offline(t)
	r := env.Run("member")
	if r.Code != 0 || !strings.Contains(r.Stdout, "accessctl member [command]") {
		t.Errorf("group without subcommand: code %d, stdout:\n%s", r.Code, r.Stdout)
	}
	r = env.Run("member", "approve", "--help")
	if r.Code != 0 || !strings.Contains(r.Stdout, "  $ accessctl member approve account:acme user:dave --as user:bill") {
		t.Errorf("help has no example: code %d, stdout:\n%s", r.Code, r.Stdout)
	}
	r = env.Run("version", "-o", "json")
	if r.Code != 0 || !strings.Contains(r.Stdout, `"version": "test"`) || !strings.Contains(r.Stdout, `"spicedb": `) {
		t.Errorf("version: code %d, stdout:\n%s", r.Code, r.Stdout)
	}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		r = env.Run("completion", shell)
		if r.Code != 0 || !strings.Contains(r.Stdout, "accessctl") {
			t.Errorf("completion %s: code %d, stderr %q", shell, r.Code, r.Stderr)
		}
	}
}

// Every command's help must carry real examples: "$ accessctl ..." lines with a comment.
func TestEveryCommandHasExamples(t *testing.T) {
	t.Parallel()
	f := clitest.Offline(t).Factory(false)
	leaves := 0
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.HasSubCommands() {
			for _, sub := range c.Commands() {
				walk(sub)
			}
			return
		}
		if c.Hidden || c.Name() == "help" {
			return
		}
		leaves++
		if !strings.Contains(c.Example, "$ accessctl ") || !strings.Contains(c.Example, "#") && !strings.HasPrefix(strings.TrimSpace(c.Example), "$") {
			t.Errorf("%s: help has no \"$ accessctl\" example", c.CommandPath())
		}
		if c.Short == "" {
			t.Errorf("%s: no short description", c.CommandPath())
		}
	}
	walk(root.NewCmdRoot(f))
	if leaves < 60 {
		t.Errorf("found %d leaf commands, expected at least 60", leaves)
	}
}

func TestCompletion(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"__complete", "check", "us"}, []string{"user:"}},
		{[]string{"__complete", "member", "list", "account:"}, []string{"account:acme", "account:valley"}},
		{[]string{"__complete", "lookup", "subjects", "account:acme", "manage_m"}, []string{"manage_members"}},
		{[]string{"__complete", "lookup", "resources", "user:sue", "group_view", "ca"}, []string{"case"}},
		{[]string{"__complete", "member", "role", "account:acme", "user:sally", ""}, []string{"admin", "standard", "viewer"}},
	}
	for _, tt := range tests {
		r := env.Run(tt.args...)
		for _, w := range tt.want {
			if !strings.Contains("\n"+r.Stdout, "\n"+w+"\n") {
				t.Errorf("%v: completions lack %q:\n%s", tt.args[1:], w, r.Stdout)
			}
		}
	}
}

// A profile left by a server that no longer runs is called stale, with what it records of
// the server that wrote it, on every command that connects.
func TestStaleProfile(t *testing.T) {
	t.Parallel()
	addr := closedPort(t)
	started := time.Date(2026, 12, 4, 9, 30, 0, 0, time.FixedZone("CET", 3600))
	variants := []struct {
		name   string
		p      profile.Profile
		writer string
	}{
		{"pid and start time", profile.Profile{PID: 4242, StartedAt: started}, "accessctl serve (pid 4242, started 2026-12-04T08:30:00Z) wrote it"},
		{"pid only", profile.Profile{PID: 7}, "accessctl serve (pid 7) wrote it"},
		{"neither", profile.Profile{}, "accessctl serve wrote it"},
	}
	commands := [][]string{
		{"check", "user:bill", "view", "case:101"},
		{"member", "list", "account:acme", "--as", "user:bill"},
		{"who-can", "case:101", "view"},
		{"schema", "show"},
		{"export"},
	}
	for _, v := range variants {
		env := clitest.Offline(t)
		dir := t.TempDir()
		env.Env["ACCESSCTL_CONFIG_DIR"] = dir
		path := filepath.Join(dir, profile.FileName)
		p := v.p
		p.Endpoint, p.Token, p.Insecure = addr, "k", true
		if err := profile.Write(path, &p); err != nil {
			t.Fatal(err)
		}
		for _, args := range commands {
			r := env.Run(args...)
			for _, want := range []string{"the connection profile " + path + " is stale", "a server at " + addr + " that does not answer", v.writer, "start the server again", "or delete " + path} {
				if !strings.Contains(r.Stderr, want) {
					t.Errorf("%s, %v: stderr lacks %q:\n%s", v.name, args, want, r.Stderr)
				}
			}
			if r.Code != cmdutil.ExitError || r.Stdout != "" {
				t.Errorf("%s, %v: code %d, stdout %q", v.name, args, r.Code, r.Stdout)
			}
		}
	}
}
