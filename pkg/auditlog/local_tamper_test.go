package auditlog_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/accessgraph/accessgraph/pkg/auditlog"
	"github.com/accessgraph/accessgraph/pkg/engine"
)

// The local audit log's records as pkg/localstore keeps them: key 'a' + big-endian seq holds
// the record's id (uvarint length, bytes) then the entry's JSON; key 'A' + id holds the seq.
// The tests below rewrite them through Pebble, as someone with write access to a stopped
// server's data directory could: the files stay valid, so only the chain can tell.
func recordKey(seq int64) []byte {
	return binary.BigEndian.AppendUint64([]byte{'a'}, uint64(seq)) //nolint:gosec // seq >= 1
}

func recordIDKey(id string) []byte { return append([]byte{'A'}, id...) }

// quietPebble drops Pebble's messages: a failure comes back as an error.
type quietPebble struct{}

func (quietPebble) Infof(string, ...any)  {}
func (quietPebble) Errorf(string, ...any) {}
func (quietPebble) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

// rawRecord is one record as read from the data directory.
type rawRecord struct {
	id    string
	entry auditlog.Entry
}

// recordEditor rewrites a stopped server's audit records through Pebble.
type recordEditor struct {
	t     *testing.T
	db    *pebble.DB
	batch *pebble.Batch
}

func editRecords(t *testing.T, dir string, edit func(r *recordEditor)) {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{ErrorIfNotExists: true, Logger: quietPebble{}})
	if err != nil {
		t.Fatal(err)
	}
	r := &recordEditor{t: t, db: db, batch: db.NewBatch()}
	edit(r)
	if err := r.batch.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func (r *recordEditor) get(seq int64) rawRecord {
	r.t.Helper()
	v, closer, err := r.db.Get(recordKey(seq))
	if err != nil {
		r.t.Fatalf("record %d: %v", seq, err)
	}
	defer closer.Close()
	n, k := binary.Uvarint(v)
	if k <= 0 || uint64(len(v)-k) < n {
		r.t.Fatalf("record %d: malformed value", seq)
	}
	rec := rawRecord{id: string(v[k : k+int(n)])}
	if err := json.Unmarshal(v[k+int(n):], &rec.entry); err != nil {
		r.t.Fatalf("record %d: %v", seq, err)
	}
	return rec
}

// put stores rec at seq with its id index, replacing what was there.
func (r *recordEditor) put(seq int64, rec rawRecord) {
	r.t.Helper()
	body, err := json.Marshal(rec.entry)
	if err != nil {
		r.t.Fatal(err)
	}
	v := binary.AppendUvarint(nil, uint64(len(rec.id)))
	v = append(append(v, rec.id...), body...)
	if err := r.batch.Set(recordKey(seq), v, nil); err != nil {
		r.t.Fatal(err)
	}
	if err := r.batch.Set(recordIDKey(rec.id), binary.BigEndian.AppendUint64(nil, uint64(seq)), nil); err != nil { //nolint:gosec // seq >= 1
		r.t.Fatal(err)
	}
}

// refile keeps rec under the revision it records, as a careful editor would after changing
// it: the old id index goes.
func (r *recordEditor) refile(rec *rawRecord) {
	if rec.id == rec.entry.Revision {
		return
	}
	if err := r.batch.Delete(recordIDKey(rec.id), nil); err != nil {
		r.t.Fatal(err)
	}
	rec.id = rec.entry.Revision
}

// remove deletes the record at seq and its id index.
func (r *recordEditor) remove(seq int64) {
	r.t.Helper()
	rec := r.get(seq)
	if err := r.batch.Delete(recordKey(seq), nil); err != nil {
		r.t.Fatal(err)
	}
	if err := r.batch.Delete(recordIDKey(rec.id), nil); err != nil {
		r.t.Fatal(err)
	}
}

// shift moves the records from..to (inclusive) by delta places, keeping their values.
func (r *recordEditor) shift(from, to, delta int64) {
	recs := make(map[int64]rawRecord)
	for seq := from; seq <= to; seq++ {
		recs[seq] = r.get(seq)
		if err := r.batch.Delete(recordKey(seq), nil); err != nil {
			r.t.Fatal(err)
		}
	}
	for seq := from; seq <= to; seq++ {
		r.put(seq+delta, recs[seq])
	}
}

// pristineLocalLog is a stopped server's data directory holding a log of n generated entries,
// the entries as stored, and the checkpoint taken after each append (heads[i] after i+1).
type pristineLocalLog struct {
	dir     string
	entries []auditlog.Entry
	heads   []auditlog.Checkpoint
}

func newPristineLocalLog(t *testing.T, rng *rand.Rand, n int) *pristineLocalLog {
	t.Helper()
	ctx := context.Background()
	p := &pristineLocalLog{dir: filepath.Join(t.TempDir(), "pristine")}
	e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{DatastoreURI: engine.LocalURI(p.dir)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = e.Close() }()
	l := auditlog.NewLocalLog(e.LocalStore())
	at := time.Now()
	for i := range n {
		if added, err := l.Append(ctx, auditlog.RandomEntry(rng, i, at.Add(time.Duration(i)*time.Second))); err != nil || !added {
			t.Fatalf("append %d: %v, %v", i, added, err)
		}
		head, err := l.Head(ctx)
		if err != nil || head.Position != int64(i+1) {
			t.Fatalf("head after %d appends: %+v, %v", i+1, head, err)
		}
		p.heads = append(p.heads, head)
	}
	for entry, err := range l.Entries(ctx, auditlog.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		p.entries = append(p.entries, entry)
	}
	if v, err := l.Verify(ctx, &p.heads[n-1]); err != nil || !v.Intact() || v.Entries != int64(n) || len(p.entries) != n {
		t.Fatalf("untouched log of %d: %+v, %d entries read, %v", n, v, len(p.entries), err)
	}
	return p
}

// copyTo copies the pristine directory to dir (which must not exist), keeping file modes.
func (p *pristineLocalLog) copyTo(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(p.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(p.dir, path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), info.Mode().Perm())
		}
		if rel == "LOCK" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// localFinding is what Verify must report first: the start of the problem's text and words
// in its detail. byCheckpointOnly marks a tampering the chain alone cannot show (the log's
// head is its newest record), which Verify with the last checkpoint must report instead.
type localFinding struct {
	prefix, detail   string
	byCheckpointOnly bool
	// withCheckpoint, if set, is reported first with the last checkpoint: the tampering
	// changed the checkpoint's entry before the place the chain breaks.
	withCheckpoint *localFinding
}

func atLocalEntry(pos int, detail string) localFinding {
	return localFinding{prefix: fmt.Sprintf("entry %d (seq %d,", pos, pos), detail: detail}
}

func tailRemoved(n int) localFinding {
	return localFinding{prefix: "the log:", detail: fmt.Sprintf("the checkpoint's entry %d is not in the log", n), byCheckpointOnly: true}
}

func tailRewritten(n int) localFinding {
	f := atLocalEntry(n, "differs from the checkpoint")
	f.byCheckpointOnly = true
	return f
}

const (
	notItsHash    = "does not match its hash"
	doesNotFollow = "does not follow the entry before it"
)

// localEdits change one field of an entry, as an edit of the record's JSON would.
var localEdits = []struct {
	name string
	edit func(e *auditlog.Entry)
}{
	{"actor", func(e *auditlog.Entry) { e.Actor = "user:mallory" }},
	{"reason", func(e *auditlog.Entry) { e.Reason += "." }},
	{"operation", func(e *auditlog.Entry) { e.Operation = "noop" }},
	{"principal", func(e *auditlog.Entry) { e.Principal += "x" }},
	{"claimed actor", func(e *auditlog.Entry) { e.ClaimedActor = "user:someone-else" }},
	{"revision", func(e *auditlog.Entry) { e.Revision += "9" }},
	{"recorded at", func(e *auditlog.Entry) { e.RecordedAt = e.RecordedAt.Add(-24 * time.Hour) }},
	{"a change's relationship", func(e *auditlog.Entry) {
		e.Changes[0].Relationship = "account:acme#admin@user:mallory"
	}},
	{"a change's expiry", func(e *auditlog.Entry) {
		if e.Changes[0].ExpiresAt == nil {
			t := e.RecordedAt.Add(time.Hour)
			e.Changes[0].ExpiresAt = &t
		} else {
			e.Changes[0].ExpiresAt = nil
		}
	}},
	{"changes emptied", func(e *auditlog.Entry) { e.Changes = nil }},
	{"a change added", func(e *auditlog.Entry) { e.Changes = append(e.Changes, e.Changes[0]) }},
}

// localTamperings rewrite the records of a log of n entries at position k (1..n). Each returns
// what Verify must report, and the first position the tampering changed (for checking
// earlier checkpoints: one at or after it must fail, one before it must pass; 0 when the
// kind makes no such claim).
var localTamperings = []struct {
	name   string
	tamper func(r *recordEditor, rng *rand.Rand, n, k int) (localFinding, int)
}{
	{"a field edited in place", func(r *recordEditor, _ *rand.Rand, _, k int) (localFinding, int) {
		rec := r.get(int64(k))
		localEdits[k%len(localEdits)].edit(&rec.entry)
		r.put(int64(k), rec)
		return atLocalEntry(k, notItsHash), 0
	}},
	{"a field edited and the entry rehashed", func(r *recordEditor, _ *rand.Rand, n, k int) (localFinding, int) {
		rec := r.get(int64(k))
		localEdits[k%len(localEdits)].edit(&rec.entry)
		rec.entry.Hash = auditlog.ChainHash(rec.entry.Position, rec.entry.PrevHash, rec.entry)
		r.refile(&rec)
		r.put(int64(k), rec)
		if k == n {
			return tailRewritten(n), k
		}
		return atLocalEntry(k+1, doesNotFollow), 0
	}},
	{"its recorded position edited", func(r *recordEditor, _ *rand.Rand, n, k int) (localFinding, int) {
		rec := r.get(int64(k))
		rec.entry.Position = int64(k%n + 1)
		r.put(int64(k), rec)
		return atLocalEntry(k, "records position"), 0
	}},
	{"its record filed under another revision", func(r *recordEditor, _ *rand.Rand, _, k int) (localFinding, int) {
		r.remove(int64(k))
		rec := r.get(int64(k))
		rec.id += "9"
		r.put(int64(k), rec)
		return atLocalEntry(k, "is stored under revision"), 0
	}},
	{"its value replaced by bytes that are not an entry", func(r *recordEditor, _ *rand.Rand, _, k int) (localFinding, int) {
		rec := r.get(int64(k))
		v := binary.AppendUvarint(nil, uint64(len(rec.id)))
		v = append(append(v, rec.id...), `{"revision":`...)
		if err := r.batch.Set(recordKey(int64(k)), v, nil); err != nil {
			r.t.Fatal(err)
		}
		return atLocalEntry(k, "cannot be read"), 0
	}},
	{"an entry deleted", func(r *recordEditor, _ *rand.Rand, n, k int) (localFinding, int) {
		r.remove(int64(k))
		if k == n {
			return tailRemoved(n), k
		}
		return localFinding{prefix: "the log:", detail: fmt.Sprintf("entries %d to %d are missing", k, k)}, 0
	}},
	{"an entry deleted and the later records renumbered", func(r *recordEditor, _ *rand.Rand, n, k int) (localFinding, int) {
		r.remove(int64(k))
		r.shift(int64(k+1), int64(n), -1)
		if k == n {
			return tailRemoved(n), k
		}
		return atLocalEntry(k, doesNotFollow), 0
	}},
	{"the entries from it to the end deleted", func(r *recordEditor, _ *rand.Rand, n, k int) (localFinding, int) {
		for seq := k; seq <= n; seq++ {
			r.remove(int64(seq))
		}
		return tailRemoved(n), k
	}},
	{"two entries swapped", func(r *recordEditor, rng *rand.Rand, n, k int) (localFinding, int) {
		j := (k + rng.IntN(n-1)) % n // another entry, 0-based
		j++
		a, b := r.get(int64(k)), r.get(int64(j))
		r.put(int64(k), b)
		r.put(int64(j), a)
		return atLocalEntry(min(k, j), doesNotFollow), 0
	}},
	{"a forged entry inserted before it, hashed to fit", func(r *recordEditor, rng *rand.Rand, n, k int) (localFinding, int) {
		r.shift(int64(k), int64(n), 1)
		forged := forgedEntry(rng, k)
		if k > 1 {
			forged.PrevHash = r.get(int64(k - 1)).entry.Hash
		}
		forged.Hash = auditlog.ChainHash(forged.Position, forged.PrevHash, forged)
		r.put(int64(k), rawRecord{id: forged.Revision, entry: forged})
		f := atLocalEntry(k+1, doesNotFollow)
		if k == n {
			f.withCheckpoint = &localFinding{prefix: fmt.Sprintf("entry %d (seq %d, revision forged-", n, n), detail: "differs from the checkpoint"}
		}
		return f, 0
	}},
	{"a forged entry inserted after it, without the log's hash", func(r *recordEditor, rng *rand.Rand, n, k int) (localFinding, int) {
		r.shift(int64(k+1), int64(n), 1)
		forged := forgedEntry(rng, k+1)
		forged.PrevHash = r.get(int64(k)).entry.Hash
		forged.Hash = strings.Repeat("0", 64)
		r.put(int64(k+1), rawRecord{id: forged.Revision, entry: forged})
		return atLocalEntry(k+1, notItsHash), 0
	}},
	{"the history from it rewritten with fresh hashes", func(r *recordEditor, _ *rand.Rand, n, k int) (localFinding, int) {
		prev := ""
		if k > 1 {
			prev = r.get(int64(k - 1)).entry.Hash
		}
		for seq := k; seq <= n; seq++ {
			rec := r.get(int64(seq))
			if seq == k {
				localEdits[k%len(localEdits)].edit(&rec.entry)
				r.refile(&rec)
			}
			rec.entry.PrevHash = prev
			rec.entry.Hash = auditlog.ChainHash(rec.entry.Position, prev, rec.entry)
			prev = rec.entry.Hash
			r.put(int64(seq), rec)
		}
		return tailRewritten(n), k
	}},
}

func forgedEntry(rng *rand.Rand, pos int) auditlog.Entry {
	e := auditlog.RandomEntry(rng, 1000+pos, time.Now())
	e.Revision = fmt.Sprintf("forged-%d", pos)
	e.Actor = "user:mallory"
	e.Seq, e.Position = int64(pos), int64(pos)
	return e
}

// TestVerifyNamesTheRecordTamperedWithInTheLocalDatastore records a log of generated entries
// on the local datastore, then, for every kind of tampering and every position, copies the
// stopped server's data directory, rewrites its audit records through Pebble (an edited
// field, an entry deleted with or without renumbering the rest, the end deleted, two entries
// swapped, a forged entry inserted with or without a fitting hash, a rehashed edit, a history
// rewritten with fresh hashes), starts a server on the copy and expects Verify to name the
// entry (or the gap, or the checkpoint) where the chain first breaks. What the chain alone
// cannot show (the end removed, the last entry or the history rewritten with fresh hashes)
// the checkpoint taken before must show; every earlier checkpoint shows it exactly when the
// tampering reaches back to it.
func TestVerifyNamesTheRecordTamperedWithInTheLocalDatastore(t *testing.T) {
	const n = 20
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 22))
	pristine := newPristineLocalLog(t, rng, n)
	ctx := context.Background()
	cases := 0
	for _, tampering := range localTamperings {
		for k := 1; k <= n; k++ {
			name := fmt.Sprintf("%s at entry %d of %d", tampering.name, k, n)
			dir := filepath.Join(t.TempDir(), "data")
			pristine.copyTo(t, dir)
			var want localFinding
			var from int
			editRecords(t, dir, func(r *recordEditor) { want, from = tampering.tamper(r, rng, n, k) })

			e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{DatastoreURI: engine.LocalURI(dir)})
			if err != nil {
				t.Fatalf("%s: the server refuses the directory: %v", name, err)
			}
			l := auditlog.NewLocalLog(e.LocalStore())
			expect := func(cp *auditlog.Checkpoint, want localFinding) {
				t.Helper()
				v, err := l.Verify(ctx, cp)
				if err != nil {
					t.Fatalf("%s: verify: %v", name, err)
				}
				at := "without a checkpoint"
				if cp != nil {
					at = fmt.Sprintf("with the checkpoint at %d", cp.Position)
				}
				switch {
				case want.prefix == "" && !v.Intact():
					t.Fatalf("%s: verify %s: %v, want it intact", name, at, v.Problems)
				case want.prefix == "":
				case v.Intact():
					t.Fatalf("%s: verify %s: not detected", name, at)
				case !strings.HasPrefix(v.Problems[0].String(), want.prefix) || !strings.Contains(v.Problems[0].Detail, want.detail):
					t.Fatalf("%s: verify %s: first problem %q, want one starting %q saying %q", name, at, v.Problems[0], want.prefix, want.detail)
				}
			}
			if want.byCheckpointOnly {
				expect(nil, localFinding{})
			} else {
				expect(nil, want)
			}
			if want.withCheckpoint != nil {
				expect(&pristine.heads[n-1], *want.withCheckpoint)
			} else {
				expect(&pristine.heads[n-1], want)
			}
			for c := 1; from > 0 && c <= n; c++ {
				var atC localFinding
				if c >= from {
					// A checkpoint is matched by position: if the tampered log still has an
					// entry there (a rewrite keeps positions, even where it edited the
					// revision), that entry differs; if not, the checkpoint's entry is gone.
					atC = localFinding{prefix: "the log:", detail: fmt.Sprintf("the checkpoint's entry %d is not in the log", c)}
					if hasPosition(ctx, t, l, int64(c)) {
						atC = atLocalEntry(c, "differs from the checkpoint")
					}
				}
				expect(&pristine.heads[c-1], atC)
			}
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			if err := os.RemoveAll(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
				t.Fatal(err)
			}
			cases++
		}
	}
	t.Logf("%d tamperings detected", cases)

	// The pristine directory itself still verifies, with every checkpoint taken.
	e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{DatastoreURI: engine.LocalURI(pristine.dir)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = e.Close() }()
	l := auditlog.NewLocalLog(e.LocalStore())
	for _, cp := range pristine.heads {
		if v, err := l.Verify(ctx, &cp); err != nil || !v.Intact() || v.Entries != n {
			t.Fatalf("untouched log with the checkpoint at %d: %+v, %v", cp.Position, v, err)
		}
	}
	var stored [][]byte
	for entry, err := range l.Entries(ctx, auditlog.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(entry)
		stored = append(stored, b)
	}
	for i, entry := range pristine.entries {
		if b, _ := json.Marshal(entry); i >= len(stored) || !bytes.Equal(b, stored[i]) {
			t.Fatalf("the pristine log changed at entry %d", i+1)
		}
	}
}

// hasPosition reports whether the log holds an entry at chain position pos.
func hasPosition(ctx context.Context, t *testing.T, l *auditlog.LocalLog, pos int64) bool {
	t.Helper()
	for e, err := range l.Entries(ctx, auditlog.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Position == pos {
			return true
		}
	}
	return false
}
