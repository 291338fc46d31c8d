package auditlog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Retention. A log kept for a limited time is pruned from its start: Prune removes the
// entries recorded before a time and keeps, in their place, the base: every relationship
// those entries left written (not deleted, not expired by the last of them), each with the
// entry that last wrote it, so answers "as of" any later time, and the provenance of what
// was granted before, stay exact. The anchor names the last entry removed (its position
// and hash, which the first kept entry chains to) and commits to the base by its digest.
// The prune itself is an entry at the end of the chain that records the anchor, so the
// chain's hashes cover the anchor, and through it the base: Verify checks that the stored
// anchor is the one the newest prune recorded and that the base matches its digest.

// PruneOperation is the operation of the entry a prune appends.
const PruneOperation = "history.prune"

// pruneRevisionPrefix starts the revision of a prune's entry: it records no change of the
// relationships, and no revision of a datastore starts so.
const pruneRevisionPrefix = "retention:"

// IsPruneRevision reports whether a revision is that of a prune's entry rather than of a
// change to the relationships.
func IsPruneRevision(rev string) bool { return strings.HasPrefix(rev, pruneRevisionPrefix) }

// baseDomain separates the base's digest from any other SHA-256 use.
const baseDomain = "accessgraph audit base v1"

// Anchor is where a pruned log begins.
type Anchor struct {
	// Position, Hash, Revision and RecordedAt are those of the last entry removed.
	Position   int64     `json:"position"`
	Hash       string    `json:"hash"`
	Revision   string    `json:"revision"`
	RecordedAt time.Time `json:"recorded_at"`
	// ResumeRevision is the newest change the log had recorded when pruned: where the
	// change stream resumes if no change was recorded after the prune.
	ResumeRevision string `json:"resume_revision"`
	// Base is the digest of the base and Relationships how many relationships it holds.
	Base          string `json:"base"`
	Relationships int64  `json:"relationships"`
}

// Checkpoint is the anchor as the chain's head at the last entry removed.
func (a Anchor) Checkpoint() Checkpoint {
	return Checkpoint{Position: a.Position, Hash: a.Hash, Revision: a.Revision, RecordedAt: a.RecordedAt}
}

// BaseRelationship is one relationship of the base: written, in the pruned entries, by
// the change Change of entry Written (whose Changes are left out).
type BaseRelationship struct {
	Change  Change `json:"change"`
	Written Entry  `json:"written"`
}

// canonicalBase is the hashed form of a base relationship: times in UTC, the entry
// without its changes or hashes.
func canonicalBase(b BaseRelationship) []byte {
	type written struct {
		Position     int64  `json:"position"`
		Seq          int64  `json:"seq"`
		Revision     string `json:"revision"`
		RecordedAt   string `json:"recorded_at"`
		Actor        string `json:"actor"`
		Reason       string `json:"reason"`
		Operation    string `json:"operation"`
		Principal    string `json:"principal"`
		ClaimedActor string `json:"claimed_actor"`
	}
	w := b.Written
	c := struct {
		Change  canonicalChange `json:"change"`
		Written written         `json:"written"`
	}{
		Change: canonicalChange{Operation: b.Change.Operation, Relationship: b.Change.Relationship, Resource: b.Change.Resource, Subject: b.Change.Subject},
		Written: written{Position: w.Position, Seq: w.Seq, Revision: w.Revision, RecordedAt: w.RecordedAt.UTC().Format(time.RFC3339Nano),
			Actor: w.Actor, Reason: w.Reason, Operation: w.Operation, Principal: w.Principal, ClaimedActor: w.ClaimedActor},
	}
	if b.Change.ExpiresAt != nil {
		c.Change.ExpiresAt = b.Change.ExpiresAt.UTC().Format(time.RFC3339Nano)
	}
	body, err := json.Marshal(c)
	if err != nil {
		// Strings and numbers always encode.
		panic(err)
	}
	return body
}

// baseDigest hashes base relationships in the order given (ordered by relationship,
// bytewise, as stored).
type baseDigest struct {
	h    interface{ Write([]byte) (int, error) }
	sum  func() []byte
	n    int64
	last string
	// outOfOrder is the first relationship found out of order or repeated.
	outOfOrder string
}

func newBaseDigest() *baseDigest {
	h := sha256.New()
	h.Write([]byte(baseDomain + "\n"))
	return &baseDigest{h: h, sum: func() []byte { return h.Sum(nil) }}
}

func (d *baseDigest) add(b BaseRelationship) {
	if d.n > 0 && b.Change.Relationship <= d.last && d.outOfOrder == "" {
		d.outOfOrder = b.Change.Relationship
	}
	d.n++
	d.last = b.Change.Relationship
	_, _ = d.h.Write(canonicalBase(b))
	_, _ = d.h.Write([]byte("\n"))
}

func (d *baseDigest) hex() string { return hex.EncodeToString(d.sum()) }

// PruneResult is what a prune did.
type PruneResult struct {
	// Pruned reports whether entries were removed; nothing was recorded before the time
	// otherwise.
	Pruned bool `json:"pruned"`
	// Removed is how many entries were removed and Anchor where the log now begins.
	Removed int64   `json:"removed"`
	Anchor  *Anchor `json:"anchor,omitempty"`
	// Entry is the prune's own entry.
	Entry Checkpoint `json:"entry"`
}

// ErrPruneRaced reports a prune that found the log pruned by another meanwhile.
var ErrPruneRaced = errors.New("the audit log was pruned by another process meanwhile")

// pruner is what a log provides for Prune.
type pruner interface {
	Log
	// commitPrune removes the entries up to a.Position unless the stored anchor is no
	// longer was (another prune came first: ErrPruneRaced), sets a.ResumeRevision from the
	// newest entry, stores base and a as the new base and anchor, and appends e recording
	// a, all in one transaction. It returns the anchor stored and e as appended.
	commitPrune(ctx context.Context, was *Anchor, a Anchor, base []BaseRelationship, e Entry) (Anchor, Checkpoint, error)
}

// Prune removes the entries recorded before the time given, keeping in their place the
// relationships they left written (see Anchor), and records the prune as an entry by actor
// with reason. Every entry recorded at or after before is kept; when none is older,
// nothing changes. Entries are read twice (once here, once by the store as it removes
// them), never held in memory all at once; the base is.
func Prune(ctx context.Context, l Log, before time.Time, actor, reason string) (PruneResult, error) {
	p, ok := l.(pruner)
	if !ok {
		return PruneResult{}, fmt.Errorf("auditlog: %T cannot be pruned", l)
	}
	was, err := l.Anchor(ctx)
	if err != nil {
		return PruneResult{}, err
	}
	rels := map[string]BaseRelationship{}
	if was != nil {
		for b, err := range l.Base(ctx) {
			if err != nil {
				return PruneResult{}, err
			}
			rels[b.Change.Relationship] = b
		}
	}
	var cut Entry
	removed := int64(0)
	for e, err := range l.Entries(ctx, Filter{}) {
		if err != nil {
			return PruneResult{}, err
		}
		if !e.RecordedAt.Before(before) {
			break
		}
		cut = e
		removed++
		for _, c := range e.Changes {
			if c.Operation == "delete" {
				delete(rels, c.Relationship)
				continue
			}
			w := e
			w.Changes, w.PrevHash, w.Hash, w.Anchor = nil, "", "", nil
			rels[c.Relationship] = BaseRelationship{Change: c, Written: w}
		}
	}
	if removed == 0 {
		return PruneResult{Anchor: was}, nil
	}
	keys := make([]string, 0, len(rels))
	for k, b := range rels {
		// Expired by the last entry removed: held at no time an answer may still be asked about.
		if b.Change.ExpiresAt != nil && !b.Change.ExpiresAt.After(cut.RecordedAt) {
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	base := make([]BaseRelationship, len(keys))
	d := newBaseDigest()
	for i, k := range keys {
		base[i] = rels[k]
		d.add(base[i])
	}
	a := Anchor{Position: cut.Position, Hash: cut.Hash, Revision: cut.Revision, RecordedAt: cut.RecordedAt, Base: d.hex(), Relationships: d.n}
	e := Entry{
		Revision:  pruneRevisionPrefix + strconv.FormatInt(cut.Position, 10),
		Actor:     actor,
		Reason:    reason,
		Operation: PruneOperation,
		Changes:   []Change{},
	}
	a, head, err := p.commitPrune(ctx, was, a, base, e)
	if err != nil {
		return PruneResult{}, fmt.Errorf("pruning the audit log up to entry %d: %w", cut.Position, err)
	}
	return PruneResult{Pruned: true, Removed: removed, Anchor: &a, Entry: head}, nil
}

// resumeRevision is where the change stream resumes after last, the newest entry: its
// revision, or for a prune's entry the newest change it recorded.
func resumeRevision(last Entry) string { return last.StreamRevision() }

// StreamRevision is the change-stream revision the log has recorded through at this entry:
// its own, or for a prune's entry (which records no change) the newest change recorded
// before it.
func (e Entry) StreamRevision() string {
	if e.Anchor != nil && IsPruneRevision(e.Revision) {
		return e.Anchor.ResumeRevision
	}
	return e.Revision
}

// sameAnchor reports whether two anchors are equal, times compared as instants.
func sameAnchor(a, b *Anchor) bool {
	if a == nil || b == nil {
		return a == b
	}
	x, y := *a, *b
	x.RecordedAt, y.RecordedAt = time.Time{}, time.Time{}
	return x == y && a.RecordedAt.Equal(b.RecordedAt)
}

// sliceSeq yields a slice's elements.
func sliceSeq[T any](s []T) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for _, v := range s {
			if !yield(v, nil) {
				return
			}
		}
	}
}
