package serve_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
	"github.com/accessgraph/accessgraph/pkg/cli/profile"
	"github.com/accessgraph/accessgraph/pkg/cli/serve"
)

// TestServe runs `accessctl serve --demo` on a free loopback port, connects another
// command through the profile it writes, then stops it the way SIGINT would.
func TestServe(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "config")
	env := clitest.Offline(t)
	env.Env["ACCESSCTL_CONFIG_DIR"] = dir
	path := filepath.Join(dir, profile.FileName)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan clitest.Result, 1)
	go func() { done <- env.RunWith(clitest.Options{Ctx: ctx}, "serve", "--demo", "--addr", "127.0.0.1:0") }()

	var p *profile.Profile
	deadline := time.Now().Add(60 * time.Second)
	for {
		var err error
		if p, err = profile.Read(path); err == nil {
			break
		}
		select {
		case r := <-done:
			t.Fatalf("serve stopped early: code %d, stderr:\n%s", r.Code, r.Stderr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no profile after 60s")
		}
	}

	for file, want := range map[string]os.FileMode{path: 0o600, dir: 0o700} {
		st, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != want {
			t.Errorf("%s has mode %o, want %o", file, got, want)
		}
	}
	if !strings.HasPrefix(p.Endpoint, "127.0.0.1:") || strings.HasSuffix(p.Endpoint, ":0") || !p.Insecure || !strings.HasPrefix(p.Token, "ag_") {
		t.Errorf("profile = %+v, want a loopback endpoint with its real port, insecure, a generated key", p)
	}

	// Another command connects with no flags, through the profile and TCP.
	r := env.Run("member", "list", "account:acme", "--as", "user:bill")
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "user:bill\tadmin\n") {
		t.Errorf("member list through the profile: code %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	r = env.Run("check", "user:joan", "view_all_cases", "account:acme", "--exit-code")
	if r.Code != cmdutil.ExitDenied {
		t.Errorf("check through the profile: code %d, stderr %q", r.Code, r.Stderr)
	}
	r = env.Run("check", "user:bill", "view", "case:101", "--token", "wrong")
	want := "error: the server at " + p.Endpoint + " refused the preshared key: the profile " + path + " is stale: restart `accessctl serve`, or pass the server's key with --token or ACCESSCTL_TOKEN\n"
	if r.Code != cmdutil.ExitError || r.Stderr != want {
		t.Errorf("wrong key: code %d, stderr %q; want %q", r.Code, r.Stderr, want)
	}

	cancel() // what SIGINT does
	var res clitest.Result
	select {
	case res = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	if res.Code != 0 {
		t.Errorf("serve exit code %d, stderr:\n%s", res.Code, res.Stderr)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the profile is still there after a clean shutdown (err %v)", err)
	}
	if strings.Contains(res.Stderr, p.Token) {
		t.Error("the preshared key appears on standard error")
	}
	// Standard error is not a terminal here: log lines are JSON, and the first warns that
	// the memory datastore is not durable.
	first, _, _ := strings.Cut(res.Stderr, "\n")
	var entry map[string]any
	if err := json.Unmarshal([]byte(first), &entry); err != nil || entry["level"] != "warn" || !strings.Contains(entry["msg"].(string), "not durable") {
		t.Errorf("first log line = %q, want a JSON warning that memory is not durable", first)
	}
	if !strings.Contains(res.Stderr, "accessctl is serving on "+p.Endpoint) {
		t.Errorf("serve did not say how to connect:\n%s", res.Stderr)
	}
}

func TestServeRefusesNonLoopbackWithoutKey(t *testing.T) {
	t.Parallel()
	env := clitest.Offline(t)
	env.Env["ACCESSCTL_CONFIG_DIR"] = t.TempDir()
	for _, addr := range []string{"0.0.0.0:0", ":50051", "[::]:0", "192.0.2.1:50051"} {
		r := env.Run("serve", "--addr", addr)
		if r.Code != cmdutil.ExitUsage || !strings.Contains(r.Stderr, "without a preshared key") {
			t.Errorf("serve --addr %s: code %d, stderr %q", addr, r.Code, r.Stderr)
		}
	}
	r := env.Run("serve", "--tls-cert", "x.crt")
	if r.Code != cmdutil.ExitUsage || !strings.Contains(r.Stderr, "--tls-cert and --tls-key go together") {
		t.Errorf("half TLS: code %d, stderr %q", r.Code, r.Stderr)
	}
	r = env.Run("serve", "--datastore", "mysql://x")
	if r.Code != cmdutil.ExitUsage || !strings.Contains(r.Stderr, "unknown datastore") {
		t.Errorf("unknown datastore: code %d, stderr %q", r.Code, r.Stderr)
	}
}

func TestIsLoopback(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{"127.0.0.1": true, "::1": true, "localhost": true, "127.0.0.2": true, "0.0.0.0": false, "": false, "::": false, "10.0.0.1": false, "example.com": false} {
		if got := serve.IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}
