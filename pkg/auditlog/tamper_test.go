package auditlog_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accessgraph/accessgraph/pkg/auditlog"
)

// tamperings are edits made to the tables directly, as someone with write access to the
// database could. Each returns the start of the first problem Verify must report, given the
// log's n entries and the chosen position k.
var tamperings = []struct {
	name string
	sql  func(n, k int) []string
	want func(n, k int, stray int64) string
}{
	{"actor edited", func(_, k int) []string {
		return []string{fmt.Sprintf(`UPDATE audit_log SET actor = 'user:mallory' WHERE chain_pos = %d`, k)}
	}, atEntry},
	{"reason edited", func(_, k int) []string {
		return []string{fmt.Sprintf(`UPDATE audit_log SET reason = reason || '.' WHERE chain_pos = %d`, k)}
	}, atEntry},
	{"principal edited", func(_, k int) []string {
		return []string{fmt.Sprintf(`UPDATE audit_log SET principal = principal || 'x' WHERE chain_pos = %d`, k)}
	}, atEntry},
	{"time moved", func(_, k int) []string {
		return []string{fmt.Sprintf(`UPDATE audit_log SET recorded_at = recorded_at - interval '1 day' WHERE chain_pos = %d`, k)}
	}, atEntry},
	{"revision edited", func(_, k int) []string {
		return []string{fmt.Sprintf(`UPDATE audit_log SET revision = revision || '9' WHERE chain_pos = %d`, k)}
	}, atEntry},
	{"a change's relationship edited", func(_, k int) []string {
		return []string{fmt.Sprintf(`UPDATE audit_log SET changes = jsonb_set(changes, '{0,relationship}', '"account:acme#admin@user:mallory"') WHERE chain_pos = %d`, k)}
	}, atEntry},
	{"changes emptied", func(_, k int) []string {
		return []string{fmt.Sprintf(`UPDATE audit_log SET changes = '[]' WHERE chain_pos = %d`, k)}
	}, atEntry},
	{"entry deleted", func(_, k int) []string {
		return []string{fmt.Sprintf(`DELETE FROM audit_log WHERE chain_pos = %d`, k)}
	}, func(n, k int, _ int64) string {
		if k == n {
			return "the log: the chain ends at entry"
		}
		return fmt.Sprintf("the log: entries %d to %d are missing", k, k)
	}},
	{"entry deleted and the rest renumbered", func(_, k int) []string {
		return []string{
			fmt.Sprintf(`DELETE FROM audit_log WHERE chain_pos = %d`, k),
			fmt.Sprintf(`UPDATE audit_log SET chain_pos = -chain_pos + 1 WHERE chain_pos > %d`, k),
			`UPDATE audit_log SET chain_pos = -chain_pos WHERE chain_pos < 0`,
		}
	}, func(n, k int, _ int64) string {
		if k == n {
			return "the log: the chain ends at entry"
		}
		return fmt.Sprintf("entry %d (", k)
	}},
	{"two entries swapped", func(n, k int) []string {
		j := k%n + 1
		return []string{
			fmt.Sprintf(`UPDATE audit_log SET chain_pos = -1 WHERE chain_pos = %d`, k),
			fmt.Sprintf(`UPDATE audit_log SET chain_pos = %d WHERE chain_pos = %d`, k, j),
			fmt.Sprintf(`UPDATE audit_log SET chain_pos = %d WHERE chain_pos = -1`, j),
		}
	}, func(n, k int, _ int64) string { return fmt.Sprintf("entry %d (", min(k, k%n+1)) }},
	{"row inserted outside the log", func(_, k int) []string {
		return []string{fmt.Sprintf(`INSERT INTO audit_log (revision, actor, reason, operation, objects, changes)
			SELECT 'forged-' || revision, 'user:mallory', '', 'grant', objects, changes FROM audit_log WHERE chain_pos = %d`, k)}
	}, func(_, _ int, stray int64) string { return fmt.Sprintf("the entry with seq %d", stray) }},
	{"head moved back", func(_, k int) []string {
		return []string{fmt.Sprintf(`UPDATE audit_log_head SET pos = %d - 1`, k)}
	}, func(int, int, int64) string { return "the log: the chain ends at entry" }},
}

func atEntry(_, k int, _ int64) string { return fmt.Sprintf("entry %d (", k) }

// TestVerifyNamesTheEntryTamperedWithInPostgreSQL records generated histories through the
// store, edits, deletes, reorders and inserts rows with SQL, and expects history verification
// to name the first entry (or gap, or head) where the chain breaks.
func TestVerifyNamesTheEntryTamperedWithInPostgreSQL(t *testing.T) {
	uri := database(t)
	ctx := context.Background()
	store, err := auditlog.Open(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	conn, err := pgx.Connect(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	exec := func(sql string) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 21))
	for round := range 3 * len(tamperings) {
		tamper := tamperings[round%len(tamperings)]
		exec(`TRUNCATE audit_log`)
		exec(`UPDATE audit_log_head SET pos = 0, hash = ''`)
		n := 2 + rng.IntN(12)
		for i := range n {
			if _, err := store.Append(ctx, auditlog.RandomEntry(rng, round*100+i, time.Now())); err != nil {
				t.Fatal(err)
			}
		}
		v, err := store.Verify(ctx, nil)
		if err != nil || !v.Intact() || v.Entries != int64(n) {
			t.Fatalf("round %d: untouched log of %d: %+v, %v", round, n, v, err)
		}
		head, err := store.Head(ctx)
		if err != nil || head != v.Head {
			t.Fatalf("round %d: head %+v, verification's %+v, %v", round, head, v.Head, err)
		}
		k := 1 + rng.IntN(n)
		for _, sql := range tamper.sql(n, k) {
			exec(sql)
		}
		var stray int64
		_ = conn.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM audit_log WHERE chain_pos IS NULL`).Scan(&stray)
		v, err = store.Verify(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := tamper.want(n, k, stray)
		if v.Intact() {
			t.Fatalf("round %d: %s at entry %d of %d not detected", round, tamper.name, k, n)
		}
		if got := v.Problems[0].String(); !strings.HasPrefix(got, want) {
			t.Fatalf("round %d: %s at entry %d of %d: first problem %q, want it to start %q", round, tamper.name, k, n, got, want)
		}
	}
}

// TestCheckpointCatchesRemovedTailInPostgreSQL removes the newest entries and moves the head
// back to match, which the chain alone cannot show; a checkpoint taken before can.
func TestCheckpointCatchesRemovedTailInPostgreSQL(t *testing.T) {
	uri := database(t)
	ctx := context.Background()
	store, err := auditlog.Open(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 6 {
		if _, err := store.Append(ctx, auditlog.RandomEntry(rng, i, time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	cp, err := store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, sql := range []string{
		`DELETE FROM audit_log WHERE chain_pos = 6`,
		`UPDATE audit_log_head SET pos = 5, hash = (SELECT chain_hash FROM audit_log WHERE chain_pos = 5)`,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := store.Verify(ctx, nil); err != nil || !v.Intact() {
		t.Fatalf("without a checkpoint: %+v, %v", v, err)
	}
	v, err := store.Verify(ctx, &cp)
	if err != nil {
		t.Fatal(err)
	}
	if v.Intact() || !strings.Contains(v.Problems[0].String(), "the checkpoint's entry 6 is not in the log") {
		t.Fatalf("with the checkpoint: %v", v.Problems)
	}
}

// TestConcurrentAppendsFormOneChain appends from many goroutines (as two consumers on one
// database would) and expects one unbroken chain with every entry in it.
func TestConcurrentAppendsFormOneChain(t *testing.T) {
	uri := database(t)
	ctx := context.Background()
	store, err := auditlog.Open(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	const writers, each = 8, 25
	// Verification while the log grows never mistakes the new entries for tampering.
	verifying, verified := make(chan struct{}), make(chan int)
	go func() {
		n := 0
		defer func() { verified <- n }()
		for {
			select {
			case <-verifying:
				return
			default:
			}
			v, err := store.Verify(ctx, nil)
			if err != nil || !v.Intact() {
				t.Errorf("verify while appending: %v, %v", v.Problems, err)
				return
			}
			n++
		}
	}()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 5))
			for i := range each {
				e := auditlog.RandomEntry(rng, i, time.Now())
				e.Revision = fmt.Sprintf("w%d-%d", w, i)
				if _, err := store.Append(ctx, e); err != nil {
					t.Error(err)
				}
				// The same revision again, as a retried consumer would: never a second entry.
				if added, err := store.Append(ctx, e); err != nil || added {
					t.Errorf("second append of %s: added %v, %v", e.Revision, added, err)
				}
			}
		})
	}
	wg.Wait()
	close(verifying)
	t.Logf("%d verifications while appending", <-verified)
	v, err := store.Verify(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Intact() || v.Entries != writers*each || v.Head.Position != writers*each {
		t.Fatalf("%d entries, head %d, problems %v", v.Entries, v.Head.Position, v.Problems)
	}
}

// TestLogRecordedBeforeTheChainIsChainedOnOpen turns a chained log back into one recorded
// before chaining existed: a reader says so, and the next Open chains it.
func TestLogRecordedBeforeTheChainIsChainedOnOpen(t *testing.T) {
	uri := database(t)
	ctx := context.Background()
	store, err := auditlog.Open(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(6, 7))
	for i := range 5 {
		if _, err := store.Append(ctx, auditlog.RandomEntry(rng, i, time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	store.Close()
	conn, err := pgx.Connect(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `DROP TABLE audit_log_head; UPDATE audit_log SET chain_pos = NULL, prev_hash = NULL, chain_hash = NULL`); err != nil {
		t.Fatal(err)
	}
	reader, err := auditlog.OpenReader(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reader.Verify(ctx, nil); !errors.Is(err, auditlog.ErrNotChained) {
		t.Fatalf("verify before chaining: %v", err)
	}
	reader.Close()
	store, err = auditlog.Open(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if v, err := store.Verify(ctx, nil); err != nil || !v.Intact() || v.Entries != 5 {
		t.Fatalf("after Open: %+v, %v", v, err)
	}
}
