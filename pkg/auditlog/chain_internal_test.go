package auditlog

import (
	"fmt"
	"iter"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// randomChain builds n chained entries with random content.
func randomChain(rng *rand.Rand, n int) []Entry {
	var out []Entry
	prev, seq := "", int64(0)
	base := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		e := randomEntry(rng, i, base.Add(time.Duration(i)*time.Minute))
		seq += 1 + int64(rng.IntN(3)) // sequences have gaps: rolled-back inserts use numbers
		e.Seq, e.Position, e.PrevHash = seq, int64(i), prev
		e.Hash = chainHash(e.Position, prev, e)
		prev = e.Hash
		out = append(out, e)
	}
	return out
}

func randomEntry(rng *rand.Rand, i int, at time.Time) Entry {
	users := []string{"bill", "joan", "vera", "carol", "ünïcode", "a b", ""}
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	e := Entry{
		Revision:     fmt.Sprintf("rev-%d-%d", i, rng.IntN(1000)),
		RecordedAt:   recordingTime(at.Add(time.Duration(rng.IntN(1e9)))),
		Actor:        "user:" + pick(users),
		Reason:       pick([]string{"", "new customer", "ticket 42", "line\nbreak"}),
		Operation:    pick([]string{"grant-partner", "add-member", "expire", "raw-write", "import"}),
		Principal:    pick([]string{"", "operator:ops", "user:bill", "service:portal"}),
		ClaimedActor: pick([]string{"", "user:mallory"}),
	}
	for range 1 + rng.IntN(4) {
		c := Change{
			Operation:    pick([]string{"touch", "create", "delete"}),
			Resource:     "account:" + pick([]string{"acme", "globex"}),
			Subject:      "user:" + pick(users),
			Relationship: fmt.Sprintf("account:acme#member@user:%d", rng.IntN(100)),
		}
		if rng.IntN(3) == 0 {
			t := recordingTime(at.Add(time.Duration(rng.IntN(1e6)) * time.Second))
			c.ExpiresAt = &t
		}
		e.Changes = append(e.Changes, c)
	}
	return e
}

func headOf(entries []Entry) Checkpoint {
	if len(entries) == 0 {
		return Checkpoint{}
	}
	last := entries[len(entries)-1]
	return Checkpoint{Position: last.Position, Hash: last.Hash}
}

func verifyEntries(t *testing.T, entries []Entry, head Checkpoint, cp *Checkpoint) Verification {
	t.Helper()
	src := chainSource{
		after: func(pos int64) iter.Seq2[Entry, error] {
			return func(yield func(Entry, error) bool) {
				for _, e := range entries {
					if e.Position > pos && !yield(e, nil) {
						return
					}
				}
			}
		},
		head: func() (Checkpoint, error) { return head, nil },
		outside: func(yield func(Entry, error) bool) {
			for _, e := range entries {
				if e.Position == 0 && !yield(e, nil) {
					return
				}
			}
		},
	}
	v, err := verifyChain(src, cp)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// edits are the ways one field of a stored entry can be changed in place.
var edits = map[string]func(e *Entry){
	"actor":         func(e *Entry) { e.Actor += "x" },
	"reason":        func(e *Entry) { e.Reason = "covered up" },
	"operation":     func(e *Entry) { e.Operation = "noop" },
	"principal":     func(e *Entry) { e.Principal = "operator:root" },
	"claimed actor": func(e *Entry) { e.ClaimedActor = "user:someone-else" },
	"revision":      func(e *Entry) { e.Revision += "0" },
	"recorded at":   func(e *Entry) { e.RecordedAt = e.RecordedAt.Add(time.Microsecond) },
	"a change's relationship": func(e *Entry) {
		e.Changes[0].Relationship = strings.Replace(e.Changes[0].Relationship, "member", "admin", 1)
	},
	"a change's operation": func(e *Entry) {
		e.Changes[0].Operation = map[string]string{"touch": "delete", "create": "delete", "delete": "touch"}[e.Changes[0].Operation]
	},
	"a change's expiry": func(e *Entry) {
		if e.Changes[0].ExpiresAt == nil {
			t := e.RecordedAt.Add(time.Hour)
			e.Changes[0].ExpiresAt = &t
		} else {
			e.Changes[0].ExpiresAt = nil
		}
	},
	"a change removed": func(e *Entry) { e.Changes = e.Changes[1:] },
	"a change added":   func(e *Entry) { e.Changes = append(e.Changes, e.Changes[0]) },
}

// TestVerifyFindsTheFirstBrokenEntry tampers with generated chains in every way an editor of
// the table could (an edited field, a removed, inserted or moved entry, a lost end, an edited
// head) and expects Verify to name the entry where the chain first breaks.
func TestVerifyFindsTheFirstBrokenEntry(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 19))
	editNames := make([]string, 0, len(edits))
	for name := range edits {
		editNames = append(editNames, name)
	}
	slices.Sort(editNames)
	for round := range 300 {
		n := 2 + rng.IntN(30)
		entries := randomChain(rng, n)
		if v := verifyEntries(t, entries, headOf(entries), nil); !v.Intact() || v.Entries != int64(n) {
			t.Fatalf("round %d: an untouched chain of %d is reported broken: %v", round, n, v.Problems)
		}
		head := headOf(entries)
		i := rng.IntN(n) // index of the entry tampered with
		pos := int64(i + 1)
		var want, detail string
		switch kind := rng.IntN(6); kind {
		case 0:
			name := editNames[rng.IntN(len(editNames))]
			edits[name](&entries[i])
			want, detail = fmt.Sprintf("entry %d ", pos), "does not match its hash"
			t.Logf("round %d: %s of entry %d edited", round, name, pos)
		case 1: // removed from the middle, or from the end
			entries = slices.Delete(entries, i, i+1)
			if i == n-1 {
				want, detail = "the log", "entries at the end were removed"
			} else {
				want, detail = "the log", fmt.Sprintf("entries %d to %d are missing", pos, pos)
			}
		case 2: // removed, and the positions after it renumbered to hide the gap
			entries = slices.Delete(entries, i, i+1)
			for j := i; j < len(entries); j++ {
				entries[j].Position--
			}
			if i == n-1 {
				want, detail = "the log", "entries at the end were removed"
			} else {
				want, detail = fmt.Sprintf("entry %d ", pos), "does not follow the entry before it"
			}
		case 3: // a forged entry inserted before entry i, hashed as if it belonged there
			forged := randomEntry(rng, 1000, entries[i].RecordedAt)
			forged.Seq = entries[n-1].Seq + 1 // the table's sequence hands out the next number
			forged.Position, forged.PrevHash = pos, entries[i].PrevHash
			forged.Hash = chainHash(forged.Position, forged.PrevHash, forged)
			entries = slices.Insert(entries, i, forged)
			for j := i + 1; j < len(entries); j++ {
				entries[j].Position++
			}
			want, detail = fmt.Sprintf("entry %d ", pos+1), "does not follow the entry before it"
		case 4: // two entries swap places
			if n < 2 {
				continue
			}
			j := (i + 1 + rng.IntN(n-1)) % n
			lo := min(i, j)
			entries[i], entries[j] = entries[j], entries[i]
			entries[i].Position, entries[j].Position = entries[j].Position, entries[i].Position
			want, detail = fmt.Sprintf("entry %d ", lo+1), ""
		case 5: // the head moved back, as if the last entries were never written
			head = Checkpoint{Position: pos - 1}
			if i > 0 {
				head.Hash = entries[i-1].Hash
			}
			want, detail = "the log", "entries at the end were removed, or the head was changed"
		}
		v := verifyEntries(t, entries, head, nil)
		if v.Intact() {
			t.Fatalf("round %d: tampering not detected (want %q %q)", round, want, detail)
		}
		first := v.Problems[0].String()
		if !strings.HasPrefix(first, want) || !strings.Contains(first, detail) {
			t.Fatalf("round %d: first problem %q, want one starting %q saying %q", round, first, want, detail)
		}
	}
}

// TestCheckpointCatchesARewrittenChain rewrites a chain from some entry on with fresh, valid
// hashes (what someone with write access to the table and this code can do): only a checkpoint
// taken before the rewrite, and kept elsewhere, shows it.
func TestCheckpointCatchesARewrittenChain(t *testing.T) {
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 20))
	for round := range 200 {
		n := 2 + rng.IntN(20)
		entries := randomChain(rng, n)
		cpAt := rng.IntN(n)
		cp := Checkpoint{Position: entries[cpAt].Position, Hash: entries[cpAt].Hash}
		from := rng.IntN(n)
		entries[from].Reason = "rewritten"
		for j := from; j < n; j++ {
			if j > 0 {
				entries[j].PrevHash = entries[j-1].Hash
			}
			entries[j].Hash = chainHash(entries[j].Position, entries[j].PrevHash, entries[j])
		}
		if v := verifyEntries(t, entries, headOf(entries), nil); !v.Intact() {
			t.Fatalf("round %d: a consistent rewrite is reported without a checkpoint: %v", round, v.Problems)
		}
		v := verifyEntries(t, entries, headOf(entries), &cp)
		switch {
		case from <= cpAt && v.Intact():
			t.Fatalf("round %d: entry %d rewritten, checkpoint at %d did not catch it", round, from+1, cpAt+1)
		case from <= cpAt && !strings.Contains(v.Problems[0].String(), "differs from the checkpoint"):
			t.Fatalf("round %d: problem %q", round, v.Problems[0])
		case from > cpAt && !v.Intact():
			t.Fatalf("round %d: entry %d rewritten after the checkpoint at %d, yet the checkpoint fails: %v", round, from+1, cpAt+1, v.Problems)
		}
		// A checkpoint past the end: the log lost entries it once had.
		beyond := Checkpoint{Position: int64(n + 1), Hash: "ff"}
		if v := verifyEntries(t, entries, headOf(entries), &beyond); v.Intact() {
			t.Fatalf("round %d: a checkpoint beyond the log's end passes", round)
		}
	}
}

func TestUnchainedRowIsReported(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	entries := randomChain(rng, 5)
	stray := randomEntry(rng, 99, time.Now())
	stray.Seq = 1000
	entries = append(entries, stray)
	v := verifyEntries(t, entries, headOf(entries[:5]), nil)
	if v.Intact() || !strings.Contains(v.Problems[0].String(), "not in the chain") {
		t.Fatalf("problems = %v", v.Problems)
	}
}
