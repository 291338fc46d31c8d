package serve_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
	"github.com/accessgraph/accessgraph/pkg/cli/profile"
	"github.com/accessgraph/accessgraph/pkg/cli/root"
)

// serveDemo runs serve --demo on free ports until the test ends, and returns an Env that
// connects through its profile (the operator's key) and the profile's folder.
func serveDemo(t *testing.T) (*clitest.Env, *profile.Profile, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "config")
	env := clitest.Offline(t)
	env.Env["ACCESSCTL_CONFIG_DIR"] = dir
	env.Env["ACCESSCTL_DATA_DIR"] = t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan clitest.Result, 1)
	go func() { done <- env.RunWith(clitest.Options{Ctx: ctx}, "serve", "--demo", "--addr", "127.0.0.1:0") }()
	t.Cleanup(func() { cancel(); <-done })
	for deadline := time.Now().Add(60 * time.Second); ; {
		if p, err := profile.Read(filepath.Join(dir, profile.FileName)); err == nil {
			return env, p, dir
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
}

// as returns an Env on the same server that presents key instead of the profile's.
func as(t *testing.T, dir, key string) *clitest.Env {
	env := clitest.Offline(t)
	env.Env["ACCESSCTL_CONFIG_DIR"] = dir
	env.Env["ACCESSCTL_TOKEN"] = key
	return env
}

func newKey(t *testing.T, op *clitest.Env, args ...string) string {
	t.Helper()
	return strings.TrimSpace(op.Must(append([]string{"key", "create"}, args...)...).Stdout)
}

// The CLI talks to a server through its domain API: serve writes the API's URL in the
// profile; a user key acts as its user (--as implied, anyone else refused before any call,
// for every domain command that takes --as); an auditor key reads but changes nothing; and
// the raw commands tell user and auditor keys they need an operator key, changing nothing.
func TestCLIUsesTheDomainAPIWithEachKindOfKey(t *testing.T) {
	op, p, dir := serveDemo(t)
	if !strings.HasPrefix(p.APIURL, "http://127.0.0.1:") {
		t.Fatalf("the profile's API URL is %q, want http://127.0.0.1:PORT", p.APIURL)
	}
	bill := as(t, dir, newKey(t, op, "--kind", "user", "--user", "bill", "--name", "bill-laptop"))
	dave := as(t, dir, newKey(t, op, "--kind", "user", "--user", "dave", "--name", "dave-phone"))
	auditor := as(t, dir, newKey(t, op, "--kind", "auditor", "--name", "compliance"))

	if got := bill.Must("whoami").Stdout; got != "user:bill-laptop (acts as user:bill)\n" {
		t.Errorf("whoami with bill's key = %q", got)
	}
	if got := auditor.Must("whoami").Stdout; got != "auditor:compliance\n" {
		t.Errorf("whoami with the auditor's key = %q", got)
	}

	// dave's pending request (demo) is approved by bill's key, acting as bill.
	dave.Must("member", "approvers", "account:acme", "user:dave", "--as", "user:dave") // naming itself is fine
	bill.Must("member", "approve", "account:acme", "user:dave")
	op.Allowed(true, "user:dave", "create_case", "account:acme")
	hist := op.Must("history", "--object", "account:acme", "--principal", "user:bill-laptop").Stdout
	if !strings.Contains(hist, "user:bill") || !strings.Contains(hist, "(by user:bill-laptop)") {
		t.Errorf("history of bill's approval lacks user:bill (by user:bill-laptop):\n%s", hist)
	}
	dave.Expect(1, "permission denied", "member", "remove", "account:acme", "user:sally", "--yes")

	// An auditor reads and explains, and is refused every change.
	auditor.Must("explain", "user:bill", "view_all_cases", "account:acme")
	auditor.Must("who-can", "account:acme", "view_all_cases")
	auditor.Must("member", "list", "account:acme", "--as", "user:bill")
	auditor.Expect(1, "only reads", "member", "approve", "account:acme", "user:sally", "--as", "user:bill")

	// --as naming someone else with a user key: a usage error for every command that
	// takes it, before any domain call.
	for _, path := range actingCommands(t) {
		args := append(append([]string{}, path...), "--as", "user:vera")
		r := bill.Run(args...)
		if r.Code != 2 || !strings.Contains(r.Stderr, "acts as user:bill only") {
			t.Errorf("accessctl %s with bill's key: exit %d, stderr %q; want exit 2 and \"acts as user:bill only\"", strings.Join(args, " "), r.Code, r.Stderr)
		}
	}

	// The raw commands: a user key may not use the raw API at all, an auditor may not write.
	before := op.Must("relationship", "read", "account:acme").Stdout
	for _, c := range []struct {
		env  *clitest.Env
		args []string
	}{
		{bill, []string{"relationship", "read", "account:acme"}},
		{bill, []string{"relationship", "write", "account:acme#viewer@user:dave", "--as", "user:bill"}},
		{bill, []string{"schema", "show"}},
		{auditor, []string{"relationship", "write", "account:acme#viewer@user:dave", "--as", "user:vera"}},
		{auditor, []string{"relationship", "delete", "account:acme#admin@user:bill", "--as", "user:vera", "--yes"}},
	} {
		r := c.env.Run(c.args...)
		if r.Code != 1 || !strings.Contains(r.Stderr, "uses the raw SpiceDB API, which needs an operator key (an auditor key for reads)") {
			t.Errorf("accessctl %s: exit %d, stderr %q; want exit 1 and the operator-key message", strings.Join(c.args, " "), r.Code, r.Stderr)
		}
	}
	if after := op.Must("relationship", "read", "account:acme").Stdout; after != before {
		t.Errorf("refused raw writes changed account:acme:\n%s\nwas\n%s", after, before)
	}
}

// actingCommands lists, from the command tree, every command that takes --as and acts
// through the domain API, with as many placeholder arguments as its usage names. The raw
// relationship writes and import also take --as; they are the raw API's.
func actingCommands(t *testing.T) [][]string {
	t.Helper()
	var out [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		for _, sub := range c.Commands() {
			p := append(append([]string{}, path...), sub.Name())
			walk(sub, p)
			if sub.Flags().Lookup("as") == nil || p[0] == "relationship" || p[0] == "import" {
				continue
			}
			args := p
			for _, w := range strings.Fields(sub.Use)[1:] {
				if strings.HasPrefix(w, "-") || strings.HasPrefix(w, "[") {
					break
				}
				args = append(args, "x")
			}
			out = append(out, args)
		}
	}
	walk(root.NewCmdRoot(factory.New(factory.BuildInfo{})), nil)
	if len(out) < 30 {
		t.Fatalf("only %d commands take --as: %v", len(out), out)
	}
	return out
}
