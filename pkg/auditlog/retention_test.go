package auditlog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accessgraph/accessgraph/pkg/auditlog"
	"github.com/accessgraph/accessgraph/pkg/localstore"
)

// retentionStore is a log on one datastore that a test can close, edit underneath as
// someone with write access to the storage could, and open again.
type retentionStore struct {
	t    *testing.T
	open func() auditlog.Log
	// close closes the log and what holds it.
	close func()
	// edit runs raw edits with the log closed (local) or beside it (PostgreSQL).
	edit func(func(raw rawEditor))
	log  auditlog.Log
}

// rawEditor edits what a prune keeps, bypassing the log.
type rawEditor interface {
	setBase(key string, b *auditlog.BaseRelationship) // nil removes
	setAnchor(a *auditlog.Anchor)                     // nil removes
	removeEntry(pos int64)
}

func (s *retentionStore) reopen() {
	s.close()
	s.log = s.open()
}

// retentionStores are the datastores the retention tests run on: the local datastore, and
// PostgreSQL when ACCESSGRAPH_TEST_POSTGRES names a server.
var retentionStores = []struct {
	name string
	new  func(t *testing.T) *retentionStore
}{
	{"local", newLocalRetentionStore},
	{"postgres", newPostgresRetentionStore},
}

func newLocalRetentionStore(t *testing.T) *retentionStore {
	dir := filepath.Join(t.TempDir(), "data")
	var ds *localstore.Datastore
	s := &retentionStore{t: t}
	s.open = func() auditlog.Log {
		var err error
		ds, err = localstore.Open(context.Background(), dir, localstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return auditlog.NewLocalLog(ds)
	}
	s.close = func() {
		s.log.Close()
		if err := ds.Close(); err != nil {
			t.Fatal(err)
		}
		ds = nil
	}
	s.log = s.open()
	s.edit = func(f func(rawEditor)) {
		s.close()
		editRecords(t, dir, func(r *recordEditor) { f(localRaw{r}) })
		s.log = s.open()
	}
	t.Cleanup(func() {
		if ds != nil {
			_ = ds.Close()
		}
	})
	return s
}

type localRaw struct{ r *recordEditor }

func (l localRaw) setBase(key string, b *auditlog.BaseRelationship) {
	k := append([]byte{'B'}, key...)
	if b == nil {
		must(l.r.t, l.r.batch.Delete(k, nil))
		return
	}
	must(l.r.t, l.r.batch.Set(k, mustJSON(l.r.t, b), nil))
}

func (l localRaw) setAnchor(a *auditlog.Anchor) {
	k := append([]byte{'b'}, "audit-log-anchor"...)
	if a == nil {
		must(l.r.t, l.r.batch.Delete(k, nil))
		return
	}
	must(l.r.t, l.r.batch.Set(k, mustJSON(l.r.t, a), nil))
}

func (l localRaw) removeEntry(pos int64) { l.r.remove(pos) }

func newPostgresRetentionStore(t *testing.T) *retentionStore {
	uri := database(t)
	s := &retentionStore{t: t}
	s.open = func() auditlog.Log {
		st, err := auditlog.Open(context.Background(), uri)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	s.close = func() { s.log.Close() }
	s.log = s.open()
	s.edit = func(f func(rawEditor)) {
		conn, err := pgx.Connect(context.Background(), uri)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		f(pgRaw{t, conn})
	}
	t.Cleanup(func() { s.log.Close() })
	return s
}

type pgRaw struct {
	t    *testing.T
	conn *pgx.Conn
}

func (p pgRaw) exec(sql string, args ...any) {
	if _, err := p.conn.Exec(context.Background(), sql, args...); err != nil {
		p.t.Fatal(err)
	}
}

func (p pgRaw) setBase(key string, b *auditlog.BaseRelationship) {
	if b == nil {
		p.exec(`DELETE FROM audit_log_base WHERE relationship = $1`, []byte(key))
		return
	}
	p.exec(`INSERT INTO audit_log_base (relationship, base) VALUES ($1, $2) ON CONFLICT (relationship) DO UPDATE SET base = excluded.base`, []byte(key), string(mustJSON(p.t, b)))
}

func (p pgRaw) setAnchor(a *auditlog.Anchor) {
	if a == nil {
		p.exec(`DELETE FROM audit_log_anchor`)
		return
	}
	p.exec(`UPDATE audit_log_anchor SET anchor = $1`, string(mustJSON(p.t, a)))
}

func (p pgRaw) removeEntry(pos int64) { p.exec(`DELETE FROM audit_log WHERE chain_pos = $1`, pos) }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	must(t, err)
	return b
}

// appendRandom appends n generated entries recorded step apart after at.
func appendRandom(t *testing.T, l auditlog.Log, rng *rand.Rand, from, n int, at time.Time, step time.Duration) []auditlog.Entry {
	t.Helper()
	ctx := context.Background()
	for i := from; i < from+n; i++ {
		e := auditlog.RandomEntry(rng, i, at)
		e.Revision = fmt.Sprintf("rev-%d", i)
		if added, err := auditlog.AppendAt(ctx, l, e, at.Add(time.Duration(i-from+1)*step)); err != nil || !added {
			t.Fatalf("append %d: %v, %v", i, added, err)
		}
	}
	return entriesOf(t, l)
}

func entriesOf(t *testing.T, l auditlog.Log) []auditlog.Entry {
	t.Helper()
	var out []auditlog.Entry
	for e, err := range l.Entries(context.Background(), auditlog.Filter{}) {
		must(t, err)
		out = append(out, e)
	}
	return out
}

func baseOf(t *testing.T, l auditlog.Log) []auditlog.BaseRelationship {
	t.Helper()
	var out []auditlog.BaseRelationship
	for b, err := range l.Base(context.Background()) {
		must(t, err)
		out = append(out, b)
	}
	return out
}

// expectedBase is what a prune up to and including cut must keep, worked out here from the
// entries alone: the base before, then each entry's writes and deletes in order, less what
// had expired by the cut's time.
func expectedBase(before []auditlog.BaseRelationship, entries []auditlog.Entry, cut auditlog.Entry) []auditlog.BaseRelationship {
	m := map[string]auditlog.BaseRelationship{}
	for _, b := range before {
		m[b.Change.Relationship] = b
	}
	for _, e := range entries {
		if e.Position > cut.Position {
			break
		}
		for _, c := range e.Changes {
			if c.Operation == "delete" {
				delete(m, c.Relationship)
				continue
			}
			w := e
			w.Changes, w.PrevHash, w.Hash, w.Anchor = nil, "", "", nil
			m[c.Relationship] = auditlog.BaseRelationship{Change: c, Written: w}
		}
	}
	var out []auditlog.BaseRelationship
	for _, b := range m {
		if b.Change.ExpiresAt == nil || b.Change.ExpiresAt.After(cut.RecordedAt) {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b auditlog.BaseRelationship) int {
		return strings.Compare(a.Change.Relationship, b.Change.Relationship)
	})
	return out
}

func sameBase(a, b []auditlog.BaseRelationship) bool {
	return auditlog.BaseDigest(a) == auditlog.BaseDigest(b) && len(a) == len(b)
}

// Generated logs pruned at random cuts, several times with entries appended between, on
// each datastore: each prune removes exactly the entries recorded before its time, keeps the
// relationships they left (as worked out independently here) with the entry that wrote
// each, leaves the later entries as they were, and records itself at the end of the chain;
// the log verifies intact, against checkpoints taken since the cut and at the cut; a
// checkpoint from before the cut is reported as no longer checkable; all of it survives
// reopening; a prune with nothing older removes nothing; and the change stream resumes at
// the newest change even when the prune's entry is the last.
func TestPruneKeepsWhatTheRemovedEntriesLeft(t *testing.T) {
	for _, store := range retentionStores {
		t.Run(store.name, func(t *testing.T) {
			ctx := context.Background()
			for seed := range uint64(4) {
				s := store.new(t)
				rng := rand.New(rand.NewPCG(seed, 77))
				start := time.Now().Add(-100 * 24 * time.Hour).Truncate(time.Second)
				next := 0
				n := 10 + rng.IntN(60)
				entries := appendRandom(t, s.log, rng, next, n, start, time.Second)
				next += n
				var base []auditlog.BaseRelationship
				var oldHeads []auditlog.Checkpoint
				for round := range 3 {
					head, err := s.log.Head(ctx)
					must(t, err)
					oldHeads = append(oldHeads, head)
					// A cut among the entries (the first kept one's time), or past them all.
					k := 1 + rng.IntN(len(entries))
					var before time.Time
					if k == len(entries) {
						before = entries[k-1].RecordedAt.Add(time.Microsecond)
					} else {
						before = entries[k].RecordedAt
					}
					cut := entries[k-1]
					want := expectedBase(base, entries, cut)
					res, err := auditlog.Prune(ctx, s.log, before, "system:retention", fmt.Sprintf("round %d", round))
					must(t, err)
					if !res.Pruned || res.Removed != int64(k) || res.Anchor.Position != cut.Position || res.Anchor.Hash != cut.Hash {
						t.Fatalf("seed %d round %d: prune before entry %d's time: %+v", seed, round, k+1, res)
					}
					if rng.IntN(2) == 0 {
						s.reopen()
					}
					if got := baseOf(t, s.log); !sameBase(got, want) {
						t.Fatalf("seed %d round %d: kept %d relationships, want %d:\n got %+v\nwant %+v", seed, round, len(got), len(want), got, want)
					}
					kept := entriesOf(t, s.log)
					if len(kept) != len(entries)-k+1 {
						t.Fatalf("seed %d round %d: %d entries kept, want %d and the prune's", seed, round, len(kept), len(entries)-k)
					}
					for i, e := range kept[:len(kept)-1] {
						if e.Hash != entries[k+i].Hash || e.Position != entries[k+i].Position {
							t.Fatalf("seed %d round %d: kept entry %d changed", seed, round, i)
						}
					}
					pe := kept[len(kept)-1]
					if pe.Operation != auditlog.PruneOperation || pe.Anchor == nil || pe.Anchor.Position != cut.Position || pe.Position != head.Position+1 || pe.Actor != "system:retention" {
						t.Fatalf("seed %d round %d: the prune's entry %+v", seed, round, pe)
					}
					last, err := s.log.LastRevision(ctx)
					must(t, err)
					if want := head.Revision; last != want && !(auditlog.IsPruneRevision(head.Revision) && last == pe.Anchor.ResumeRevision) {
						t.Fatalf("seed %d round %d: resumes after %q, want the newest change %q", seed, round, last, want)
					}
					anchorCP := res.Anchor.Checkpoint()
					for _, cp := range append(slices.Clone(oldHeads), anchorCP, res.Entry) {
						v, err := s.log.Verify(ctx, &cp)
						must(t, err)
						switch {
						case cp.Position < res.Anchor.Position:
							if v.Intact() || !strings.Contains(v.Problems[0].Detail, "removed by the retention policy") {
								t.Fatalf("seed %d round %d: checkpoint %d before the cut %d: %+v", seed, round, cp.Position, res.Anchor.Position, v.Problems)
							}
						case !v.Intact():
							t.Fatalf("seed %d round %d: checkpoint %d, cut %d: %+v", seed, round, cp.Position, res.Anchor.Position, v.Problems)
						}
					}
					again, err := auditlog.Prune(ctx, s.log, before, "system:retention", "again")
					must(t, err)
					if again.Pruned || len(entriesOf(t, s.log)) != len(kept) {
						t.Fatalf("seed %d round %d: a second prune at the same time: %+v", seed, round, again)
					}
					base = want
					// Later entries are recorded after the prune's (and before the next
					// prune's), as a running log's are.
					m := rng.IntN(30)
					entries = appendRandom(t, s.log, rng, next, m, res.Entry.RecordedAt, time.Microsecond)
					next += m
				}
			}
		})
	}
}

// What a prune keeps is covered by the chain: editing, removing or adding a kept
// relationship, moving or removing the anchor (even with a base forged to match its
// digest), or removing the prune's entry, is each reported by Verify, on each datastore.
func TestVerifyCatchesTamperingWithWhatAPruneKept(t *testing.T) {
	type tamper struct {
		name   string
		detail string
		do     func(raw rawEditor, a auditlog.Anchor, base []auditlog.BaseRelationship, entries []auditlog.Entry, rng *rand.Rand)
	}
	pick := func(rng *rand.Rand, base []auditlog.BaseRelationship) auditlog.BaseRelationship {
		return base[rng.IntN(len(base))]
	}
	const notKept = "not the ones the prune recorded"
	tampers := []tamper{
		{"a kept relationship's origin edited", notKept, func(raw rawEditor, _ auditlog.Anchor, base []auditlog.BaseRelationship, _ []auditlog.Entry, rng *rand.Rand) {
			b := pick(rng, base)
			b.Written.Actor = "user:mallory"
			raw.setBase(b.Change.Relationship, &b)
		}},
		{"a kept relationship's expiry moved", notKept, func(raw rawEditor, _ auditlog.Anchor, base []auditlog.BaseRelationship, _ []auditlog.Entry, rng *rand.Rand) {
			b := pick(rng, base)
			far := time.Date(2999, 1, 1, 0, 0, 0, 0, time.UTC)
			b.Change.ExpiresAt = &far
			raw.setBase(b.Change.Relationship, &b)
		}},
		{"a kept relationship removed", notKept, func(raw rawEditor, _ auditlog.Anchor, base []auditlog.BaseRelationship, _ []auditlog.Entry, rng *rand.Rand) {
			raw.setBase(pick(rng, base).Change.Relationship, nil)
		}},
		{"a relationship added to what was kept", notKept, func(raw rawEditor, _ auditlog.Anchor, base []auditlog.BaseRelationship, _ []auditlog.Entry, rng *rand.Rand) {
			b := pick(rng, base)
			b.Change.Relationship = "account:acme#admin@user:mallory"
			raw.setBase(b.Change.Relationship, &b)
		}},
		{"the anchor's digest forged to match an edited base", "the anchor was changed", func(raw rawEditor, a auditlog.Anchor, base []auditlog.BaseRelationship, _ []auditlog.Entry, rng *rand.Rand) {
			i := rng.IntN(len(base))
			base = slices.Delete(slices.Clone(base), i, i+1)
			raw.setBase(pick(rng, base).Change.Relationship, nil)
			raw.setBase(pick(rng, base).Change.Relationship, nil) // the same or another: recomputed below
			a.Base, a.Relationships = auditlog.BaseDigest(base), int64(len(base))
			for _, b := range base {
				raw.setBase(b.Change.Relationship, &b)
			}
			raw.setAnchor(&a)
		}},
		{"the anchor moved past the next entry", "the anchor was changed", func(raw rawEditor, a auditlog.Anchor, _ []auditlog.BaseRelationship, entries []auditlog.Entry, _ *rand.Rand) {
			next := entries[0]
			raw.removeEntry(next.Position)
			a.Position, a.Hash, a.Revision = next.Position, next.Hash, next.Revision
			raw.setAnchor(&a)
		}},
		{"the anchor removed", "keeps no anchor", func(raw rawEditor, _ auditlog.Anchor, _ []auditlog.BaseRelationship, _ []auditlog.Entry, _ *rand.Rand) {
			raw.setAnchor(nil)
		}},
		{"the prune's entry removed", "no entry in the chain records that prune", func(raw rawEditor, _ auditlog.Anchor, _ []auditlog.BaseRelationship, entries []auditlog.Entry, _ *rand.Rand) {
			for _, e := range entries {
				if e.Anchor != nil {
					raw.removeEntry(e.Position)
				}
			}
		}},
	}
	for _, store := range retentionStores {
		t.Run(store.name, func(t *testing.T) {
			ctx := context.Background()
			for i, tc := range tampers {
				t.Run(tc.name, func(t *testing.T) {
					rng := rand.New(rand.NewPCG(uint64(i), 5)) //nolint:gosec // small
					s := store.new(t)
					start := time.Now().Add(-10 * 24 * time.Hour).Truncate(time.Second)
					var base []auditlog.BaseRelationship
					var entries []auditlog.Entry
					var a *auditlog.Anchor
					for base == nil {
						n := 20 + rng.IntN(40)
						entries = appendRandom(t, s.log, rng, 0, n, start, time.Second)
						res, err := auditlog.Prune(ctx, s.log, entries[n/2].RecordedAt, "system:retention", "")
						must(t, err)
						a, base = res.Anchor, baseOf(t, s.log)
						if len(base) == 0 {
							s = store.new(t)
						}
					}
					after := appendRandom(t, s.log, rng, 1000, 3, time.Now(), time.Microsecond)
					v, err := s.log.Verify(ctx, nil)
					must(t, err)
					if !v.Intact() {
						t.Fatalf("untouched: %+v", v.Problems)
					}
					s.edit(func(raw rawEditor) { tc.do(raw, *a, base, after, rng) })
					v, err = s.log.Verify(ctx, nil)
					must(t, err)
					found := false
					for _, p := range v.Problems {
						found = found || strings.Contains(p.Detail, tc.detail)
					}
					if !found {
						t.Fatalf("%s: want a problem saying %q, got %+v", tc.name, tc.detail, v.Problems)
					}
				})
			}
		})
	}
}

// A table written before retention existed (no anchor column or tables) reads and verifies
// through OpenReader, which creates nothing; opened for writing, it gains them and prunes.
func TestLogFromBeforeRetentionReadsAndMigrates(t *testing.T) {
	uri := database(t)
	ctx := context.Background()
	w, err := auditlog.Open(ctx, uri)
	must(t, err)
	rng := rand.New(rand.NewPCG(9, 9))
	entries := appendRandom(t, w, rng, 0, 12, time.Now().Add(-time.Hour), time.Second)
	w.Close()
	conn, err := pgx.Connect(ctx, uri)
	must(t, err)
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `ALTER TABLE audit_log DROP COLUMN anchor; DROP TABLE audit_log_anchor; DROP TABLE audit_log_base`); err != nil {
		t.Fatal(err)
	}
	r, err := auditlog.OpenReader(ctx, uri)
	must(t, err)
	if got := entriesOf(t, r); len(got) != len(entries) {
		t.Fatalf("read %d entries, want %d", len(got), len(entries))
	}
	v, err := r.Verify(ctx, nil)
	must(t, err)
	a, err := r.Anchor(ctx)
	must(t, err)
	if !v.Intact() || a != nil || len(baseOf(t, r)) != 0 {
		t.Fatalf("before retention: %+v, anchor %v", v, a)
	}
	r.Close()
	var exists bool
	must(t, conn.QueryRow(ctx, `SELECT to_regclass('audit_log_anchor') IS NOT NULL`).Scan(&exists))
	if exists {
		t.Fatal("OpenReader created the anchor table")
	}
	w, err = auditlog.Open(ctx, uri)
	must(t, err)
	defer w.Close()
	res, err := auditlog.Prune(ctx, w, entries[6].RecordedAt, "system:retention", "")
	must(t, err)
	v, err = w.Verify(ctx, nil)
	must(t, err)
	if !res.Pruned || res.Removed != 6 || !v.Intact() {
		t.Fatalf("after migrating: %+v, %+v", res, v)
	}
}
