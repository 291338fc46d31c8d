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
	env.Env["ACCESSCTL_DATA_DIR"] = t.TempDir()
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
	want := "error: the domain API at " + p.APIURL + " refused the key (unknown, expired or revoked key): the profile " + path + " is stale: restart `accessctl serve`, or pass a valid key with --token, ACCESSCTL_TOKEN or accessctl login\n"
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
	// Standard error is not a terminal here: log lines are JSON, and the first names the
	// default datastore, the local one, and its directory.
	first, _, _ := strings.Cut(res.Stderr, "\n")
	var entry map[string]any
	if err := json.Unmarshal([]byte(first), &entry); err != nil || entry["level"] != "info" || entry["datastore"] != "local" || entry["data_dir"] != env.Env["ACCESSCTL_DATA_DIR"] {
		t.Errorf("first log line = %q, want a JSON line naming the local datastore in %s", first, env.Env["ACCESSCTL_DATA_DIR"])
	}
	if !strings.Contains(res.Stderr, "accessctl is serving on "+p.Endpoint) {
		t.Errorf("serve did not say how to connect:\n%s", res.Stderr)
	}
}

func TestServeRefusesNonLoopbackWithoutKey(t *testing.T) {
	t.Parallel()
	env := clitest.Offline(t)
	env.Env["ACCESSCTL_CONFIG_DIR"] = t.TempDir()
	env.Env["ACCESSCTL_DATA_DIR"] = t.TempDir()
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

// startServe runs `accessctl serve` in the background until the returned stop is called,
// once its connection profile exists.
func startServe(t *testing.T, env *clitest.Env, args ...string) (stop func() clitest.Result) {
	t.Helper()
	path := filepath.Join(env.Env["ACCESSCTL_CONFIG_DIR"], profile.FileName)
	_ = os.Remove(path)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan clitest.Result, 1)
	go func() {
		done <- env.RunWith(clitest.Options{Ctx: ctx}, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := profile.Read(path); err == nil {
			break
		}
		select {
		case r := <-done:
			cancel()
			t.Fatalf("serve stopped early: code %d, stderr:\n%s", r.Code, r.Stderr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatal("no profile after 60s")
		}
	}
	return func() clitest.Result {
		cancel()
		select {
		case r := <-done:
			return r
		case <-time.After(30 * time.Second):
			t.Fatal("serve did not stop")
			return clitest.Result{}
		}
	}
}

// The default datastore keeps every acknowledged change across a restart, and --demo does
// not load the demo twice.
func TestServeKeepsDataAcrossRestarts(t *testing.T) {
	t.Parallel()
	env := clitest.Offline(t)
	env.Env["ACCESSCTL_CONFIG_DIR"] = t.TempDir()
	env.Env["ACCESSCTL_DATA_DIR"] = filepath.Join(t.TempDir(), "data")

	stop := startServe(t, env, "--demo")
	r := env.Run("member", "request", "account:acme", "viewer", "--as", "user:erin")
	if r.Code != 0 {
		t.Fatalf("request: code %d, stderr %q", r.Code, r.Stderr)
	}
	if r = env.Run("member", "approve", "account:acme", "user:erin", "--as", "user:bill"); r.Code != 0 {
		t.Fatalf("approve: code %d, stderr %q", r.Code, r.Stderr)
	}
	if res := stop(); res.Code != 0 {
		t.Fatalf("first serve: code %d, stderr:\n%s", res.Code, res.Stderr)
	}

	stop = startServe(t, env, "--demo")
	// A second server on the same directory is refused, naming it.
	other := env.Run("serve", "--addr", "127.0.0.1:0")
	if other.Code != cmdutil.ExitError || !strings.Contains(other.Stderr, env.Env["ACCESSCTL_DATA_DIR"]) {
		t.Errorf("a second server on the same data directory: code %d, stderr %q", other.Code, other.Stderr)
	}
	// The change history, with its actor, survives the restart too.
	h := env.Run("history", "--object", "account:acme", "-o", "json")
	if h.Code != 0 || !strings.Contains(h.Stdout, `"member.approve"`) || !strings.Contains(h.Stdout, `"user:bill"`) {
		t.Errorf("history after the restart lacks bill's approval: code %d, stderr %q, stdout %.400s", h.Code, h.Stderr, h.Stdout)
	}
	r = env.Run("member", "list", "account:acme", "--as", "user:bill")
	if r.Code != 0 || !strings.Contains(r.Stdout, "user:erin\tviewer\n") || !strings.Contains(r.Stdout, "user:sally\tstandard\n") {
		t.Errorf("after the restart: code %d, members %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	res := stop()
	if res.Code != 0 || !strings.Contains(res.Stderr, "demo not loaded again") {
		t.Errorf("second serve: code %d, want a note that the demo was not loaded again; stderr:\n%s", res.Code, res.Stderr)
	}
}

// --data-dir belongs to the local datastore; with another datastore it is an error.
func TestServeDataDirOnlyWithTheLocalDatastore(t *testing.T) {
	t.Parallel()
	env := clitest.Offline(t)
	env.Env["ACCESSCTL_CONFIG_DIR"] = t.TempDir()
	r := env.Run("serve", "--data-dir", t.TempDir(), "--datastore", "memory")
	if r.Code != cmdutil.ExitUsage || !strings.Contains(r.Stderr, "--data-dir") {
		t.Errorf("code %d, stderr %q", r.Code, r.Stderr)
	}
	r = env.Run("serve") // no HOME, no data directory
	if r.Code != cmdutil.ExitUsage || !strings.Contains(r.Stderr, "--data-dir") {
		t.Errorf("no data directory: code %d, stderr %q", r.Code, r.Stderr)
	}
}
