package serve_test

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
)

// Someone with write access to a stopped server's data directory edits one entry of the
// audit log (its reason), leaving every file valid: the server starts, and `accessctl history
// verify` through it exits 4 naming that entry.
func TestHistoryVerifyNamesAnEntryEditedInTheDataDirectory(t *testing.T) {
	t.Parallel()
	env := clitest.Offline(t)
	env.Env["ACCESSCTL_CONFIG_DIR"] = t.TempDir()
	dataDir := t.TempDir()
	env.Env["ACCESSCTL_DATA_DIR"] = dataDir
	stop := startServe(t, env, "--demo")
	changes := waitLoggedCLI(t, env)
	if r := env.Must("history", "verify"); !strings.Contains(r.Stdout, "intact") {
		t.Fatalf("history verify before the edit:\n%s", r.Stdout)
	}
	stop()
	if len(changes) < 10 {
		t.Fatalf("the demo left %d changes: too few to prove anything", len(changes))
	}
	edited := changes[len(changes)/2].ChainPosition

	db, err := pebble.Open(dataDir, &pebble.Options{ErrorIfNotExists: true, Logger: quietPebble{t}})
	if err != nil {
		t.Fatal(err)
	}
	// A record is key 'a' + big-endian seq, holding uvarint(len id), id, then the entry's JSON.
	key := binary.BigEndian.AppendUint64([]byte{'a'}, uint64(edited)) //nolint:gosec // positions start at 1
	v, closer, err := db.Get(key)
	if err != nil {
		t.Fatalf("record %d: %v", edited, err)
	}
	n, k := binary.Uvarint(v)
	prefix := append([]byte{}, v[:k+int(n)]...)
	var entry map[string]any
	if err := json.Unmarshal(v[k+int(n):], &entry); err != nil {
		t.Fatal(err)
	}
	_ = closer.Close()
	entry["reason"] = fmt.Sprint(entry["reason"]) + " (approved by the CEO)"
	body, err := json.Marshal(entry)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Set(key, append(prefix, body...), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	defer startServe(t, env)()
	r := env.Run("history", "verify")
	if r.Code != cmdutil.ExitTampered || !strings.Contains(r.Stdout+r.Stderr, fmt.Sprintf("entry %d ", edited)) {
		t.Fatalf("history verify after editing entry %d: exit %d\nstdout: %s\nstderr: %s", edited, r.Code, r.Stdout, r.Stderr)
	}
}

// quietPebble keeps Pebble's routine messages out of the test's output; errors fail it.
type quietPebble struct{ t *testing.T }

func (quietPebble) Infof(string, ...any)                {}
func (q quietPebble) Errorf(format string, args ...any) { q.t.Errorf(format, args...) }
func (q quietPebble) Fatalf(format string, args ...any) { q.t.Fatalf(format, args...) }
