package auditcmd_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/accessgraph/accessgraph/pkg/auditlog"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
)

// Changes recorded by `audit consume` verify intact; a checkpoint taken then still matches;
// an entry edited in the database afterwards makes `history verify` exit 4 naming it.
func TestHistoryVerifyAndCheckpoint(t *testing.T) {
	uri := auditDatabase(t)
	env := clitest.NewDemo(t)
	ctx := context.Background()
	store, err := auditlog.Open(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	env.Expect(cmdutil.ExitError, "the audit log is empty", "history", "checkpoint", "--datastore", uri)
	cctx, stopConsumer := context.WithCancel(ctx)
	consumed := make(chan clitest.Result, 1)
	go func() { consumed <- env.RunWith(clitest.Options{Ctx: cctx}, "audit", "consume", "--datastore", uri) }()
	waitFor(t, "the consumer to start", func() bool {
		start, err := store.StartRevision(ctx)
		return err == nil && start != ""
	})
	env.Must("member", "request", "account:acme", "viewer", "--as", "user:hank", "--reason", "new hire")
	env.Must("member", "approve", "account:acme", "user:hank", "--as", "user:bill", "--reason", "known contact")
	waitFor(t, "two entries", func() bool {
		seq, err := store.LastSeq(ctx)
		return err == nil && seq >= 2
	})
	stopConsumer()
	<-consumed

	r := env.Must("history", "verify", "--datastore", uri)
	if !strings.HasPrefix(r.Stdout, "intact: 2 entries, head at entry 2 (hash ") {
		t.Fatalf("verify: %q", r.Stdout)
	}
	cp := env.Must("history", "checkpoint", "--datastore", uri)
	file := filepath.Join(t.TempDir(), "checkpoint.json")
	if err := os.WriteFile(file, []byte(cp.Stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := env.Must("history", "verify", "--datastore", uri, "--checkpoint", file); !strings.Contains(r.Stdout, "matches the checkpoint at entry 2") {
		t.Fatalf("verify --checkpoint: %q", r.Stdout)
	}

	conn, err := pgx.Connect(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `UPDATE audit_log SET actor = 'user:someone-else' WHERE chain_pos = 2`); err != nil {
		t.Fatal(err)
	}
	r = env.Run("history", "verify", "--datastore", uri)
	if r.Code != cmdutil.ExitTampered || !strings.Contains(r.Stdout, "TAMPERED") || !strings.Contains(r.Stdout, "entry 2 (seq ") || !strings.Contains(r.Stdout, "does not match its hash") {
		t.Fatalf("verify after an edit: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	r = env.Run("history", "verify", "--datastore", uri, "-o", "json")
	var v auditlog.Verification
	if err := json.Unmarshal([]byte(r.Stdout), &v); err != nil || r.Code != cmdutil.ExitTampered || v.Intact() || v.Problems[0].Position != 2 {
		t.Fatalf("verify -o json: exit %d, %+v, %v\n%s", r.Code, v, err, r.Stdout)
	}

	env.Expect(cmdutil.ExitUsage, "not a checkpoint", "history", "verify", "--datastore", uri, "--checkpoint", writeFile(t, "{"))
	env.Expect(cmdutil.ExitUsage, "64-digit hash", "history", "verify", "--datastore", uri, "--checkpoint", writeFile(t, `{"position": 1, "hash": "ab"}`))
	env.Expect(cmdutil.ExitError, "keeps no durable audit log", "history", "verify")
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// --at is answered by the server, through the domain API; a bad or future time is a usage
// error before any call.
func TestAtNeedsTheDomainAPI(t *testing.T) {
	env := clitest.NewDemo(t)
	for _, args := range [][]string{
		{"who-can", "account:acme", "member"},
		{"check", "user:bill", "member", "account:acme"},
		{"explain", "user:bill", "member", "account:acme"},
		{"expand", "account:acme", "member"},
		{"lookup", "resources", "user:bill", "member", "account"},
		{"lookup", "subjects", "account:acme", "member", "user"},
		{"access-review", "account:acme", "--as", "user:bill"},
	} {
		env.Expect(cmdutil.ExitUsage, "through its domain API", append(args, "--at", "1h")...)
		env.Expect(cmdutil.ExitUsage, "not in the past", append(args, "--at", "2099-01-01")...)
		env.Expect(cmdutil.ExitUsage, "neither an RFC 3339 time", append(args, "--at", "last tuesday")...)
	}
	env.Expect(cmdutil.ExitUsage, "is not before --to", "history", "--from", "2026-11-02", "--to", "2026-11-01")
	env.Expect(cmdutil.ExitUsage, `--from "soon" is neither`, "history", "--from", "soon")
	env.Expect(cmdutil.ExitUsage, `--to "-1h" is neither`, "history", "--to", "-1h")
	// Provenance comes from the server's audit log too.
	env.Expect(cmdutil.ExitError, "keeps no durable audit log", "explain", "user:bill", "member", "account:acme", "--provenance")
	env.Expect(cmdutil.ExitError, "keeps no durable audit log", "who-can", "account:acme", "member", "--provenance")
}
