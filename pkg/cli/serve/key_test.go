package serve_test

import (
	"path/filepath"
	"time"

	"github.com/accessgraph/accessgraph/pkg/cli/profile"

	"strings"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/engine"
)

// TestServeRefusesShortKeys tries keys of every length around the minimum, from the flag and
// from the environment, on loopback and other addresses: below 16 characters nothing starts
// and the error names the source and how to generate a key, never the key.
func TestServeRefusesShortKeys(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"127.0.0.1:0", "0.0.0.0:0"} {
		for _, source := range []string{"--token", "ACCESSCTL_TOKEN"} {
			for n := 1; n <= 24; n++ {
				// Distinctive letters, so any echo of the key is found.
				key := strings.Repeat("Qz", n)[:n]
				env := offlineEnv(t)
				fake := &fakeStart{}
				args := []string{"serve", "--addr", addr}
				if source == "--token" {
					args = append(args, "--token", key)
				} else {
					env.Env["ACCESSCTL_TOKEN"] = key
				}
				r := env.RunWith(fake.options(), args...)
				if n < engine.MinKeyLength {
					want := "the key from " + source + ": preshared key too short: "
					if r.Code != cmdutil.ExitUsage || len(fake.cfgs) != 0 || !strings.Contains(r.Stderr, want) || !strings.Contains(r.Stderr, "openssl rand -hex 24") {
						t.Errorf("serve --addr %s, %d-character key from %s: code %d, starts %d, stderr %q; want a usage error %q... naming openssl", addr, n, source, r.Code, len(fake.cfgs), r.Stderr, want)
					}
					if n >= 2 && strings.Contains(r.Stderr+r.Stdout, key) {
						t.Errorf("serve, %d-character key from %s: the key is shown: %q", n, source, r.Stderr)
					}
					continue
				}
				if len(fake.cfgs) != 1 || fake.cfgs[0].PresharedKey != key {
					t.Errorf("serve --addr %s, %d-character key from %s: code %d, stderr %q; want it to start with that key", addr, n, source, r.Code, r.Stderr)
				}
			}
		}
	}
}

// TestServeGeneratedKeyIsLongEnough starts serve without a key many times: each generated key
// passes the engine's check (the fake start records the key serve would use).
func TestServeGeneratedKeyIsLongEnough(t *testing.T) {
	t.Parallel()
	for range 20 {
		key, err := engine.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		if err := engine.CheckKey(key); err != nil || len(key) < engine.MinKeyLength {
			t.Fatalf("generated key of %d characters: %v", len(key), err)
		}
	}
	env := offlineEnv(t)
	fake := &fakeStart{}
	env.RunWith(fake.options(), "serve", "--addr", "127.0.0.1:0")
	if len(fake.cfgs) != 1 || engine.CheckKey(fake.cfgs[0].PresharedKey) != nil {
		t.Fatalf("serve without a key started %d times; want one start with a generated key of at least %d characters", len(fake.cfgs), engine.MinKeyLength)
	}
}

// TestServeLogsRefusedKeysBounded runs accepted commands, then a flood of commands with a
// wrong key or none: serve logs the refusals as warnings naming the peer, method and reason,
// at most one line per client host per interval, and no part of either key.
func TestServeLogsRefusedKeysBounded(t *testing.T) {
	t.Parallel()
	env := offlineEnv(t)
	const wrongKey = "Wv-Wrong-Guess-Value-Jz"
	stop := startServe(t, env, "--token", secretKey, "--datastore", "memory")
	start := time.Now()
	for range 3 {
		if r := env.Run("check", "user:bill", "view", "case:1"); r.Code != 0 {
			t.Fatalf("check with the right key: code %d, stderr %q", r.Code, r.Stderr)
		}
	}
	p, err := profile.Read(filepath.Join(env.Env["ACCESSCTL_CONFIG_DIR"], profile.FileName))
	if err != nil {
		t.Fatal(err)
	}
	const flood = 30
	for i := range flood {
		args := []string{"--endpoint", p.Endpoint, "--insecure", "--token", wrongKey, "schema", "show"} // the raw API
		if i%2 == 1 {
			args = []string{"--endpoint", p.Endpoint, "--insecure", "--token", " ", "schema", "show"}
		}
		if r := env.Run(args...); r.Code != cmdutil.ExitError {
			t.Fatalf("check with a wrong key: code %d, want 1", r.Code)
		}
	}
	elapsed := time.Since(start)
	res := stop()
	var lines []string
	for _, line := range strings.Split(res.Stderr, "\n") {
		if strings.Contains(line, "authentication refused") {
			lines = append(lines, line)
		}
	}
	if max := 1 + int(elapsed/engine.AuthFailureInterval); len(lines) < 1 || len(lines) > max {
		t.Fatalf("%d refused commands logged %d lines, want 1 to %d:\n%s", flood, len(lines), max, res.Stderr)
	}
	if l := lines[0]; !strings.Contains(l, `"peer":"127.0.0.1:`) || !strings.Contains(l, `"method":"/authzed.api.v1.`) || !strings.Contains(l, `"reason":"`) || !strings.Contains(l, `"level":"warn"`) {
		t.Errorf("refusal logged as %s; want a warning with peer, method and reason", l)
	}
	for _, key := range []string{secretKey, wrongKey} {
		for i := 0; i+5 <= len(key); i++ {
			if strings.Contains(strings.Join(lines, "\n"), key[i:i+5]) {
				t.Fatalf("serve's refusal lines hold %q, part of a key:\n%s", key[i:i+5], strings.Join(lines, "\n"))
			}
		}
	}
}
