package keycmd_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
	"github.com/accessgraph/accessgraph/pkg/cli/profile"
	"github.com/accessgraph/accessgraph/pkg/engine"
)

// server starts an embedded server on a loopback port; env connects to it with key as a
// remote accessctl would.
func server(t *testing.T) *engine.Embedded {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	e, err := engine.StartEmbedded(context.Background(), engine.EmbeddedConfig{ListenAddress: addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func envWith(t *testing.T, e *engine.Embedded, key string) *clitest.Env {
	env := clitest.Offline(t)
	env.Env["ACCESSCTL_ENDPOINT"] = e.Target()
	env.Env["ACCESSCTL_INSECURE"] = "true"
	env.Env["ACCESSCTL_TOKEN"] = key
	env.Env["ACCESSCTL_CONFIG_DIR"] = t.TempDir()
	return env
}

// TestKeyLifecycle makes keys of every kind with the serve key, lists them (never the
// keys), uses one, rotates and revokes: a revoked or rotated-out key is refused on the
// next command, and keys of other kinds cannot manage keys.
func TestKeyLifecycle(t *testing.T) {
	e := server(t)
	op := envWith(t, e, e.PresharedKey())

	made := map[string]string{}
	for _, args := range [][]string{
		{"--kind", "auditor", "--name", "compliance"},
		{"--kind", "user", "--user", "bill", "--name", "bill-laptop", "--expires", "720h"},
		{"--kind", "service", "--name", "portal"},
	} {
		r := op.Must(append([]string{"key", "create"}, args...)...)
		key := strings.TrimSpace(r.Stdout)
		if !strings.HasPrefix(key, "agk_") || !strings.Contains(r.Stderr, "shown once") {
			t.Fatalf("key create %v: stdout %q stderr %q", args, r.Stdout, r.Stderr)
		}
		made[args[len(args)-1]] = key
	}
	made["bill-laptop"] = strings.TrimSpace(op.Must("key", "create", "--kind", "operator", "--name", "ops-alice").Stdout)

	list := op.Must("key", "list")
	for _, want := range []string{"compliance\tauditor\t\t", "bill-laptop\t", "\tuser\tbill\t", "portal\tservice", "serve\toperator", "ops-alice\toperator"} {
		if !strings.Contains(list.Stdout, want) {
			t.Errorf("key list lacks %q:\n%s", want, list.Stdout)
		}
	}
	for _, key := range made {
		if strings.Contains(list.Stdout, key) || strings.Contains(op.Must("key", "list", "-o", "json").Stdout, key) {
			t.Fatal("key list shows a key")
		}
	}
	op.Expect(1, "already exists", "key", "create", "--kind", "auditor", "--name", "compliance")

	// The auditor reads but cannot manage keys; nor can a user or service.
	aud := envWith(t, e, made["compliance"])
	aud.Must("schema", "show")
	for _, name := range []string{"compliance", "portal"} {
		envWith(t, e, made[name]).Expect(1, "refused", "key", "list")
		envWith(t, e, made[name]).Expect(1, "refused", "key", "create", "--kind", "operator", "--name", "escalated")
	}

	rot := op.Must("key", "rotate", "compliance")
	newKey := strings.TrimSpace(rot.Stdout)
	aud.Expect(1, "refused the key (unknown, expired or revoked key)", "schema", "show")
	envWith(t, e, newKey).Must("schema", "show")

	op.Must("key", "revoke", "compliance")
	envWith(t, e, newKey).Expect(1, "refused the key (unknown, expired or revoked key)", "schema", "show")
	op.Expect(1, "no such principal", "key", "revoke", "compliance")
}

// TestLoginStoresTheKeyInTheProfile and logout removes it.
func TestLoginStoresTheKeyInTheProfile(t *testing.T) {
	e := server(t)
	env := clitest.Offline(t)
	dir := t.TempDir()
	env.Env["ACCESSCTL_CONFIG_DIR"] = dir
	keyFile := filepath.Join(t.TempDir(), "k")
	if err := os.WriteFile(keyFile, []byte(e.PresharedKey()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env.Must("login", "--key-file", keyFile, "--endpoint", e.Target(), "--insecure")
	p, err := profile.Read(filepath.Join(dir, profile.FileName))
	if err != nil || p.Token != e.PresharedKey() || p.Endpoint != e.Target() {
		t.Fatalf("profile %+v, %v", p, err)
	}
	env.Must("schema", "show")
	env.Must("logout")
	if p, _ := profile.Read(filepath.Join(dir, profile.FileName)); p.Token != "" {
		t.Fatal("logout left the key")
	}
	env.Expect(2, "give one of --key-file and --key", "login")
}
