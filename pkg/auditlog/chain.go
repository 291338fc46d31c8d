package auditlog

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"iter"
	"strconv"
	"time"
)

// The audit log is a hash chain. Entry N (its Position, counted from 1) stores PrevHash, the
// Hash of entry N-1 ("" for the first), and Hash, SHA-256 over chainDomain, its position,
// PrevHash and the canonical form of its content. An entry edited in place no longer matches
// its Hash; one removed, inserted or moved breaks the next entry's PrevHash or the positions;
// entries removed from the end are caught by the stored head, and a rewrite of the whole tail
// with fresh hashes by a Checkpoint taken earlier and kept elsewhere.

// chainDomain separates these hashes from any other SHA-256 use; it changes with the format.
const chainDomain = "accessgraph audit chain v1"

// Checkpoint is the head of the chain at some moment: publish or keep it apart from the
// database, and Verify proves later that no entry up to it changed.
type Checkpoint struct {
	Position   int64     `json:"position"`
	Hash       string    `json:"hash"`
	Revision   string    `json:"revision,omitempty"`
	RecordedAt time.Time `json:"recorded_at,omitzero"`
}

// Problem is one place where the stored log departs from the chain.
type Problem struct {
	// Position and Seq locate the entry at fault (0 when the fault is missing entries or
	// the head).
	Position int64  `json:"position,omitempty"`
	Seq      int64  `json:"seq,omitempty"`
	Revision string `json:"revision,omitempty"`
	// Detail says what is wrong, in words.
	Detail string `json:"detail"`
}

func (p Problem) String() string {
	where := "the log"
	switch {
	case p.Position != 0:
		where = fmt.Sprintf("entry %d (seq %d, revision %s)", p.Position, p.Seq, p.Revision)
	case p.Seq != 0:
		where = fmt.Sprintf("the entry with seq %d (revision %s)", p.Seq, p.Revision)
	}
	return where + ": " + p.Detail
}

// Verification is what Verify found.
type Verification struct {
	// Entries is how many entries were read.
	Entries int64 `json:"entries"`
	// Head is the last entry of the chain as read (zero for an empty log).
	Head Checkpoint `json:"head"`
	// Checkpoint is the checkpoint checked against, if one was given.
	Checkpoint *Checkpoint `json:"checkpoint,omitempty"`
	// Anchor is where the log begins when the retention policy pruned it (nil: never).
	Anchor *Anchor `json:"anchor,omitempty"`
	// Problems lists the departures found, the first broken entry first, then the
	// differences from the stored relationships; empty when the log is intact.
	Problems []Problem `json:"problems"`
	// StateChecked reports that the relationships the log implies were compared with the
	// ones the datastore holds; StateNote says at which revision, or why they could not be.
	// StateDifferences counts the differences found (the first MaxStateProblems of them are
	// listed in Problems).
	StateChecked     bool   `json:"state_checked"`
	StateNote        string `json:"state_note,omitempty"`
	StateDifferences int    `json:"state_differences,omitempty"`
}

// MaxStateProblems bounds how many differences from the stored relationships Problems
// lists; one more problem counts the rest.
const MaxStateProblems = 20

// Intact reports whether no problem was found.
func (v Verification) Intact() bool { return len(v.Problems) == 0 }

// maxProblems bounds the list: after the first break, later entries usually fail too.
const maxProblems = 20

// canonicalEntry is the hashed content of an entry: every field an auditor relies on, in a
// fixed order, times in UTC.
type canonicalEntry struct {
	Revision     string            `json:"revision"`
	RecordedAt   string            `json:"recorded_at"`
	Actor        string            `json:"actor"`
	Reason       string            `json:"reason"`
	Operation    string            `json:"operation"`
	Principal    string            `json:"principal"`
	ClaimedActor string            `json:"claimed_actor"`
	Changes      []canonicalChange `json:"changes"`
	// Anchor is only on a prune's entry: absent, entries hash as before pruning existed.
	Anchor *canonicalAnchor `json:"anchor,omitempty"`
}

type canonicalAnchor struct {
	Position       int64  `json:"position"`
	Hash           string `json:"hash"`
	Revision       string `json:"revision"`
	RecordedAt     string `json:"recorded_at"`
	ResumeRevision string `json:"resume_revision"`
	Base           string `json:"base"`
	Relationships  int64  `json:"relationships"`
}

type canonicalChange struct {
	Operation    string `json:"operation"`
	Relationship string `json:"relationship"`
	ExpiresAt    string `json:"expires_at"`
	Resource     string `json:"resource"`
	Subject      string `json:"subject"`
}

// chainHash is the hash of e at position pos after an entry whose hash is prev.
func chainHash(pos int64, prev string, e Entry) string {
	c := canonicalEntry{
		Revision:     e.Revision,
		RecordedAt:   e.RecordedAt.UTC().Format(time.RFC3339Nano),
		Actor:        e.Actor,
		Reason:       e.Reason,
		Operation:    e.Operation,
		Principal:    e.Principal,
		ClaimedActor: e.ClaimedActor,
		Changes:      make([]canonicalChange, len(e.Changes)),
	}
	if a := e.Anchor; a != nil {
		c.Anchor = &canonicalAnchor{Position: a.Position, Hash: a.Hash, Revision: a.Revision, RecordedAt: a.RecordedAt.UTC().Format(time.RFC3339Nano),
			ResumeRevision: a.ResumeRevision, Base: a.Base, Relationships: a.Relationships}
	}
	for i, ch := range e.Changes {
		c.Changes[i] = canonicalChange{Operation: ch.Operation, Relationship: ch.Relationship, Resource: ch.Resource, Subject: ch.Subject}
		if ch.ExpiresAt != nil {
			c.Changes[i].ExpiresAt = ch.ExpiresAt.UTC().Format(time.RFC3339Nano)
		}
	}
	body, err := json.Marshal(c)
	if err != nil {
		// Strings and slices of strings always encode.
		panic(err)
	}
	h := sha256.New()
	h.Write([]byte(chainDomain + "\n" + strconv.FormatInt(pos, 10) + "\n" + prev + "\n"))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// recordingTime is the time an entry records: the database keeps microseconds, and the hash
// must be computed over what a reader will get back.
func recordingTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// stampTime is an appended entry's time: at when given (an import or a test replaying
// history), else now, but never before the previous entry's, so that a clock stepping back
// cannot make a later entry look earlier to "as of" questions.
func stampTime(at time.Time, prev *Entry) time.Time {
	if !at.IsZero() {
		return recordingTime(at)
	}
	t := recordingTime(time.Now())
	if prev != nil && t.Before(prev.RecordedAt) {
		return prev.RecordedAt
	}
	return t
}

// chainSource is what verifyChain reads: the chained entries after a position in chain
// order, the head as the log records it now, and the entries that have no place in the
// chain (read once, last; nil when a log has none). flaws, when not nil, names what the
// store found wrong with an entry it just yielded beyond the chain (an entry recording
// another position than where it is stored, say); unreadable means the stored entry could
// not be decoded, so only its place in the store is known and its hashes are not checked.
type chainSource struct {
	after   func(pos int64) iter.Seq2[Entry, error]
	head    func() (Checkpoint, error)
	outside iter.Seq2[Entry, error]
	flaws   func(e Entry) (details []string, unreadable bool)
	// anchor is where a pruned log begins (nil: never pruned), and base the relationships
	// kept for the entries pruned.
	anchor func() (*Anchor, error)
	base   iter.Seq2[BaseRelationship, error]
}

// maxVerifyPasses bounds how often verification reads on while entries keep being appended.
const maxVerifyPasses = 100

// verifyChain checks the chain against the stored head and an optional checkpoint. The log
// may grow while it is read: the head is read after the entries, and while it is ahead of
// them and new entries keep arriving, the entries after the last one read are read too.
func verifyChain(src chainSource, cp *Checkpoint) (Verification, error) {
	v := Verification{Checkpoint: cp, Problems: []Problem{}}
	report := func(p Problem) {
		if len(v.Problems) < maxProblems {
			v.Problems = append(v.Problems, p)
		}
	}
	var prev, lastPrune Entry
	var lastSeq int64
	cpSeen, prevUnreadable := false, false
	var anchor *Anchor
	if src.anchor != nil {
		a, err := src.anchor()
		if err != nil {
			return v, err
		}
		anchor = a
	}
	if anchor != nil {
		// The chain goes on from the last entry pruned; the base must be what the prune kept.
		v.Anchor = anchor
		prev = Entry{Position: anchor.Position, Hash: anchor.Hash, Revision: anchor.Revision}
		if err := checkBase(src.base, *anchor, report); err != nil {
			return v, err
		}
		if cp != nil && cp.Position <= anchor.Position {
			cpSeen = true
			switch {
			case cp.Position < anchor.Position:
				report(Problem{Detail: fmt.Sprintf("the checkpoint's entry %d was removed by the retention policy (the log keeps the entries after %d): it can no longer be checked; check a checkpoint taken since", cp.Position, anchor.Position)})
			case cp.Hash != anchor.Hash:
				report(Problem{Detail: fmt.Sprintf("the last entry pruned (entry %d, hash %s) differs from the checkpoint (hash %s): the history up to it was rewritten", anchor.Position, anchor.Hash, cp.Hash)})
			}
		}
	}
	check := func(e Entry) {
		v.Entries++
		at := Problem{Position: e.Position, Seq: e.Seq, Revision: e.Revision}
		var flaws []string
		unreadable := false
		if src.flaws != nil {
			flaws, unreadable = src.flaws(e)
		}
		switch {
		case e.Position > prev.Position+1:
			report(Problem{Detail: fmt.Sprintf("entries %d to %d are missing: removed from the log", prev.Position+1, e.Position-1)})
		case unreadable || prevUnreadable:
			// What it or the entry before it chained to is unknown: its own problem says so.
		case e.PrevHash != prev.Hash:
			at.Detail = "does not follow the entry before it: an entry before it was changed, removed or inserted"
			report(at)
		}
		if !unreadable && chainHash(e.Position, e.PrevHash, e) != e.Hash {
			at.Detail = "does not match its hash: it was changed after it was recorded"
			report(at)
		}
		for _, d := range flaws {
			at.Detail = d
			report(at)
		}
		prevUnreadable = unreadable
		if e.Seq < lastSeq {
			at.Detail = fmt.Sprintf("is out of order: its seq %d comes before the previous entry's %d", e.Seq, lastSeq)
			report(at)
		}
		if e.Anchor != nil {
			lastPrune = e
			if e.Anchor.Position >= e.Position {
				at.Detail = fmt.Sprintf("records a prune up to entry %d, at or after itself", e.Anchor.Position)
				report(at)
			}
		}
		if cp != nil && e.Position == cp.Position {
			cpSeen = true
			if e.Hash != cp.Hash {
				at.Detail = fmt.Sprintf("differs from the checkpoint (hash %s): the history up to it was rewritten", cp.Hash)
				report(at)
			}
		}
		lastSeq = max(lastSeq, e.Seq)
		prev = e
	}
	var head Checkpoint
	for pass := 0; ; pass++ {
		read := 0
		for e, err := range src.after(prev.Position) {
			if err != nil {
				return v, err
			}
			check(e)
			read++
		}
		h, err := src.head()
		if err != nil {
			return v, err
		}
		head = h
		if head.Position <= prev.Position || read == 0 || pass == maxVerifyPasses {
			break
		}
	}
	v.Head = Checkpoint{Position: prev.Position, Hash: prev.Hash, Revision: prev.Revision, RecordedAt: prev.RecordedAt}
	if head.Position != prev.Position || head.Hash != prev.Hash {
		report(Problem{Detail: fmt.Sprintf("the chain ends at entry %d but the log's head records entry %d (hash %s): entries at the end were removed, or the head was changed", prev.Position, head.Position, head.Hash)})
	}
	checkAnchor(anchor, lastPrune, report)
	if cp != nil && !cpSeen {
		report(Problem{Detail: fmt.Sprintf("the checkpoint's entry %d is not in the log: entries up to it were removed", cp.Position)})
	}
	if src.outside != nil {
		for e, err := range src.outside {
			if err != nil {
				return v, err
			}
			v.Entries++
			report(Problem{Seq: e.Seq, Revision: e.Revision, Detail: "is not in the chain: it was added outside the audit log"})
		}
	}
	return v, nil
}

// checkBase reports a base that is not the one the anchor's digest names.
func checkBase(base iter.Seq2[BaseRelationship, error], a Anchor, report func(Problem)) error {
	d := newBaseDigest()
	for b, err := range base {
		if err != nil {
			return err
		}
		d.add(b)
	}
	if d.outOfOrder != "" {
		report(Problem{Detail: fmt.Sprintf("the relationships kept for the entries pruned up to entry %d are out of order at %s: they were changed after the prune", a.Position, d.outOfOrder)})
	}
	if got := d.hex(); got != a.Base || d.n != a.Relationships {
		report(Problem{Detail: fmt.Sprintf("the relationships kept for the entries pruned up to entry %d (%d, digest %s) are not the ones the prune recorded (%d, digest %s): they were changed after the prune", a.Position, d.n, got, a.Relationships, a.Base)})
	}
	return nil
}

// checkAnchor reports a stored anchor that is not the one the newest prune in the chain
// recorded (lastPrune, zero if none).
func checkAnchor(anchor *Anchor, lastPrune Entry, report func(Problem)) {
	at := Problem{Position: lastPrune.Position, Seq: lastPrune.Seq, Revision: lastPrune.Revision}
	switch {
	case anchor != nil && lastPrune.Anchor == nil:
		report(Problem{Detail: fmt.Sprintf("the log begins after entry %d, as if pruned, but no entry in the chain records that prune: its anchor was forged, or the prune's entry removed", anchor.Position)})
	case anchor == nil && lastPrune.Anchor != nil:
		at.Detail = fmt.Sprintf("records a prune up to entry %d, but the log keeps no anchor for it: the anchor and the relationships kept were removed", lastPrune.Anchor.Position)
		report(at)
	case anchor != nil && !sameAnchor(anchor, lastPrune.Anchor):
		at.Detail = fmt.Sprintf("records a prune up to entry %d (digest %s), but the log's anchor is entry %d (digest %s): the anchor was changed", lastPrune.Anchor.Position, lastPrune.Anchor.Base, anchor.Position, anchor.Base)
		report(at)
	}
}
