package auditcmd_test

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accessgraph/accessgraph/pkg/auditlog"
	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
)

// auditDatabase creates an empty database for the audit log and drops it after the test.
// The audit log lives in PostgreSQL: `make test-postgres` sets ACCESSGRAPH_TEST_POSTGRES.
func auditDatabase(t *testing.T) string {
	t.Helper()
	base := os.Getenv("ACCESSGRAPH_TEST_POSTGRES")
	if base == "" {
		t.Skip("set ACCESSGRAPH_TEST_POSTGRES (make test-postgres) to run the audit log tests")
	}
	const name = "accessgraph_cli_auditlog"
	ctx := context.Background()
	exec := func(sql string) {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	exec("CREATE DATABASE " + name)
	t.Cleanup(func() { exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// `audit consume` copies the change stream into the audit log, and `history --datastore`
// reads it back with the same filters and the same output as the change stream.
func TestHistoryFromTheAuditLog(t *testing.T) {
	uri := auditDatabase(t)
	env := clitest.NewDemo(t)
	ctx := context.Background()

	// Create the table before the consumer starts, and watch where its log begins.
	store, err := auditlog.Open(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	cctx, stopConsumer := context.WithCancel(ctx)
	consumed := make(chan clitest.Result, 1)
	go func() {
		consumed <- env.RunWith(clitest.Options{Ctx: cctx}, "audit", "consume", "--datastore", uri, "--log-level", "debug")
	}()
	waitFor(t, "the consumer to start", func() bool {
		start, err := store.StartRevision(ctx)
		return err == nil && start != ""
	})

	request := env.Must("member", "request", "account:acme", "viewer", "--as", "user:hank", "--reason", "new hire")
	env.Must("member", "approve", "account:acme", "user:hank", "--as", "user:bill", "--reason", "known contact")

	var fromLog clitest.Result
	waitFor(t, "both changes in the audit log", func() bool {
		fromLog = env.Must("history", "--datastore", uri, "--object", "user:hank")
		return strings.Count(fromLog.Stdout, "\n~") == 1 && strings.HasPrefix(fromLog.Stdout, "~")
	})

	// Text: the same lines as the change stream's, the time marked "~" (recorded, not committed).
	fromWatch := env.Must("history", "--object", "user:hank")
	unmarked := strings.ReplaceAll("\n"+fromLog.Stdout, "\n~", "\n")[1:]
	if got, want := clitest.Normalize(unmarked), clitest.Normalize(fromWatch.Stdout); got != want {
		t.Errorf("audit log text:\n%s\nchange stream text:\n%s", got, want)
	}

	// JSON Lines: the same objects, but for the time.
	logJSON := decodeLines(t, env.Must("history", "--datastore", uri, "--object", "user:hank", "-o", "json").Stdout)
	watchJSON := decodeLines(t, env.Must("history", "--object", "user:hank", "-o", "json").Stdout)
	if len(logJSON) != 2 {
		t.Fatalf("audit log JSON: %d lines, want 2", len(logJSON))
	}
	for i, c := range logJSON {
		if c["time_from_revision"] != false {
			t.Errorf("an audit log entry's time is when it was recorded: %v", c)
		}
		// Only the audit log is a hash chain: each entry carries its place in it.
		if hash, _ := c["chain_hash"].(string); c["chain_position"] != float64(i+1) || len(hash) != 64 {
			t.Errorf("entry %d's chain: position %v, hash %q", i+1, c["chain_position"], hash)
		}
	}
	for _, list := range [][]map[string]any{logJSON, watchJSON} {
		for _, c := range list {
			delete(c, "time")
			delete(c, "time_from_revision")
			delete(c, "chain_position")
			delete(c, "chain_hash")
		}
	}
	if !reflect.DeepEqual(logJSON, watchJSON) {
		t.Errorf("audit log JSON:\n%v\nchange stream JSON:\n%v", logJSON, watchJSON)
	}

	// --since a change's revision, and --actor.
	r := env.Must("history", "--datastore", uri, "--object", "user:hank", "--since", strings.TrimSpace(request.Stdout))
	want := "" +
		"~TIME  user:bill  member.approve  \"known contact\"\n" +
		"    delete account:acme#join_request_viewer@user:hank (expires TIME)\n" +
		"    touch  account:acme#viewer@user:hank\n"
	if got := clitest.Normalize(r.Stdout); got != want {
		t.Errorf("--since:\n%s\nwant:\n%s", got, want)
	}
	r = env.Must("history", "--datastore", uri, "--actor", "user:hank")
	want = "" +
		"~TIME  user:hank  member.request  \"new hire\"\n" +
		"    touch  account:acme#join_request_viewer@user:hank (expires TIME)\n"
	if got := clitest.Normalize(r.Stdout); got != want {
		t.Errorf("--actor:\n%s\nwant:\n%s", got, want)
	}
	r = env.Run("history", "--datastore", uri, "--since", "Gh8KnotARevision")
	if r.Code != 2 || !strings.Contains(r.Stderr, "no change with this revision is in the audit log") {
		t.Errorf("unknown --since: code %d, stderr %q", r.Code, r.Stderr)
	}

	// --follow: only new entries, polled until interrupted.
	out := newStreamBuffer()
	fctx, stopFollow := context.WithCancel(ctx)
	followed := make(chan clitest.Result, 1)
	go func() {
		followed <- env.RunWith(clitest.Options{Ctx: fctx, Stdout: out}, "history", "--datastore", uri, "--follow", "--object", "account:valley")
	}()
	time.Sleep(500 * time.Millisecond) // let it find the end of the log
	env.Must("member", "request", "account:valley", "viewer", "--as", "user:ivy", "--reason", "following the log")
	waitFor(t, "the followed entry", func() bool { return out.has("user:ivy") })
	stopFollow()
	if r := <-followed; r.Code != 0 || r.Stderr != "" {
		t.Errorf("--follow ended with code %d, stderr %q", r.Code, r.Stderr)
	}
	want = "" +
		"~TIME  user:ivy  member.request  \"following the log\"\n" +
		"    touch  account:valley#join_request_viewer@user:ivy (expires TIME)\n"
	if got := clitest.Normalize(out.String()); got != want {
		t.Errorf("--follow:\n%s\nwant:\n%s", got, want)
	}

	stopConsumer()
	r = <-consumed
	if r.Code != 0 || !strings.Contains(r.Stderr, `"msg":"copying the change stream into the audit log"`) || !strings.Contains(r.Stderr, `"msg":"stopped"`) ||
		strings.Contains(r.Stderr, `"level":"error"`) {
		t.Errorf("audit consume: code %d, log:\n%s", r.Code, r.Stderr)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func decodeLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range lines(s) {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		out = append(out, m)
	}
	return out
}
