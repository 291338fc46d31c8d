package auditlog

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"sync"
	"time"

	"github.com/accessgraph/accessgraph/pkg/localstore"
)

// LocalLog keeps the audit log in the local datastore, as records beside the relationships
// (see localstore.Datastore.AppendRecord): no separate database, kept for good, carried by
// backups. An entry's Seq is its Position, numbered without gaps. The log's head is its last
// record: entries removed from the end are caught by a checkpoint, not by the log alone.
type LocalLog struct {
	ds *localstore.Datastore
	// pruning serialises this log's prunes.
	pruning sync.Mutex
}

// startRevisionMeta names the record metadata holding where the log began, and
// anchorMeta the anchor of a pruned log (the records' base holds its base).
const (
	startRevisionMeta = "audit-log-start"
	anchorMeta        = "audit-log-anchor"
)

// NewLocalLog keeps the audit log in ds. Closing the log leaves ds open.
func NewLocalLog(ds *localstore.Datastore) *LocalLog { return &LocalLog{ds: ds} }

// Close implements Log; the datastore stays open.
func (l *LocalLog) Close() {}

// Settle implements Log: appends hold the store's write lock from taking their time until
// they are stored, so once the lock is free every entry stamped before now is readable.
func (l *LocalLog) Settle(context.Context) error { return l.ds.SettleRecords() }

// Append implements Log. The entry's time is taken under the store's write lock, so times
// never run backwards along the chain and Settle can wait for every entry stamped before it.
func (l *LocalLog) Append(_ context.Context, e Entry) (bool, error) {
	return l.appendAt(e, time.Time{})
}

// appendAt appends e as recorded at the time given; zero means now, under the lock and
// no earlier than the entry before it.
func (l *LocalLog) appendAt(e Entry, at time.Time) (bool, error) {
	_, added, err := l.ds.AppendRecord(e.Revision, func(last *localstore.Record, seq uint64) ([]byte, error) {
		e.Seq, e.Position = int64(seq), int64(seq) //nolint:gosec // record numbers count entries
		var prev *Entry
		if last != nil {
			p, err := decodeLocalEntry(*last)
			if err != nil {
				return nil, err
			}
			prev = &p
			e.PrevHash = p.Hash
		}
		e.RecordedAt = stampTime(at, prev)
		e.Hash = chainHash(e.Position, e.PrevHash, e)
		return json.Marshal(e)
	})
	if err != nil {
		return false, fmt.Errorf("recording revision %s: %w", e.Revision, err)
	}
	return added, nil
}

func decodeLocalEntry(r localstore.Record) (Entry, error) {
	var e Entry
	if err := json.Unmarshal(r.Value, &e); err != nil {
		return Entry{}, fmt.Errorf("decoding audit entry %d: %w", r.Seq, err)
	}
	// The record's number is where the store keeps the entry, whatever the value claims.
	e.Seq = int64(r.Seq) //nolint:gosec // record numbers count entries
	return e, nil
}

// LastRevision implements Log: after a prune's entry, the newest change it recorded.
func (l *LocalLog) LastRevision(context.Context) (string, error) {
	last, err := l.ds.LastRecord()
	if err != nil || last == nil {
		return "", err
	}
	if !IsPruneRevision(last.ID) {
		return last.ID, nil
	}
	e, err := decodeLocalEntry(*last)
	if err != nil {
		return "", err
	}
	return resumeRevision(e), nil
}

// Anchor implements Log.
func (l *LocalLog) Anchor(context.Context) (*Anchor, error) {
	v, ok, err := l.ds.RecordMeta(anchorMeta)
	if err != nil || !ok {
		return nil, err
	}
	var a Anchor
	if err := json.Unmarshal(v, &a); err != nil {
		return nil, fmt.Errorf("%w: the anchor of the pruned log cannot be read: %v", ErrTampered, err)
	}
	return &a, nil
}

// Base implements Log.
func (l *LocalLog) Base(ctx context.Context) iter.Seq2[BaseRelationship, error] {
	return func(yield func(BaseRelationship, error) bool) {
		for v, err := range l.ds.RecordBase(ctx) {
			if err != nil {
				yield(BaseRelationship{}, fmt.Errorf("reading the audit log's base: %w", err))
				return
			}
			var b BaseRelationship
			if err := json.Unmarshal(v.Value, &b); err != nil {
				yield(BaseRelationship{}, fmt.Errorf("%w: the audit log's base holds %q, which cannot be read: %v", ErrTampered, v.Key, err))
				return
			}
			if b.Change.Relationship != v.Key {
				// Filed under another relationship: the digest is over what it holds, so
				// the check sees the order it is filed in.
				b.Change.Relationship = v.Key + " (holding " + b.Change.Relationship + ")"
			}
			if !yield(b, nil) {
				return
			}
		}
	}
}

// commitPrune implements pruner.
func (l *LocalLog) commitPrune(ctx context.Context, was *Anchor, a Anchor, base []BaseRelationship, e Entry) (Anchor, Checkpoint, error) {
	l.pruning.Lock()
	defer l.pruning.Unlock()
	now, err := l.Anchor(ctx)
	if err != nil {
		return Anchor{}, Checkpoint{}, err
	}
	if !sameAnchor(now, was) {
		return Anchor{}, Checkpoint{}, ErrPruneRaced
	}
	values := func(yield func(localstore.BaseValue, error) bool) {
		for _, b := range base {
			v, err := json.Marshal(b)
			if !yield(localstore.BaseValue{Key: b.Change.Relationship, Value: v}, err) || err != nil {
				return
			}
		}
	}
	e.RecordedAt = recordingTime(time.Now())
	_, err = l.ds.TrimRecords(uint64(a.Position), values, e.Revision, func(last *localstore.Record, seq uint64) ([]byte, map[string][]byte, error) { //nolint:gosec // positions count entries
		prev, err := decodeLocalEntry(*last)
		if err != nil {
			return nil, nil, err
		}
		a.ResumeRevision = resumeRevision(prev)
		e.Seq, e.Position, e.PrevHash, e.Anchor = int64(seq), int64(seq), prev.Hash, &a //nolint:gosec // record numbers count entries
		e.Hash = chainHash(e.Position, e.PrevHash, e)
		value, err := json.Marshal(e)
		if err != nil {
			return nil, nil, err
		}
		anchor, err := json.Marshal(a)
		return value, map[string][]byte{anchorMeta: anchor}, err
	})
	if err != nil {
		return Anchor{}, Checkpoint{}, err
	}
	return a, Checkpoint{Position: e.Position, Hash: e.Hash, Revision: e.Revision, RecordedAt: e.RecordedAt}, nil
}

// StartRevision implements Log.
func (l *LocalLog) StartRevision(context.Context) (string, error) {
	v, _, err := l.ds.RecordMeta(startRevisionMeta)
	return string(v), err
}

// SetStartRevision implements Log.
func (l *LocalLog) SetStartRevision(_ context.Context, rev string) error {
	return l.ds.SetRecordMetaOnce(startRevisionMeta, []byte(rev))
}

// SeqOf implements Log.
func (l *LocalLog) SeqOf(_ context.Context, revision string) (int64, error) {
	seq, ok, err := l.ds.RecordSeq(revision)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, fmt.Errorf("%w: no audit entry for revision %s", ErrNotFound, revision)
	}
	return int64(seq), nil //nolint:gosec // record numbers count entries
}

// LastSeq implements Log.
func (l *LocalLog) LastSeq(context.Context) (int64, error) {
	last, err := l.ds.LastRecord()
	if err != nil || last == nil {
		return 0, err
	}
	return int64(last.Seq), nil //nolint:gosec // record numbers count entries
}

// Entries implements Log. The filter is applied while reading.
func (l *LocalLog) Entries(ctx context.Context, f Filter) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		for e, err := range l.all(ctx, max(f.AfterSeq, 0)) {
			if err != nil {
				yield(Entry{}, fmt.Errorf("reading the audit log: %w", err))
				return
			}
			if f.matches(e) && !yield(e, nil) {
				return
			}
		}
	}
}

func (l *LocalLog) all(ctx context.Context, after int64) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		for r, err := range l.ds.Records(ctx, uint64(after)) { //nolint:gosec // after >= 0
			if err != nil {
				yield(Entry{}, err)
				return
			}
			e, err := decodeLocalEntry(r)
			if err != nil {
				yield(Entry{}, err)
				return
			}
			if !yield(e, nil) {
				return
			}
		}
	}
}

// Head implements Log.
func (l *LocalLog) Head(context.Context) (Checkpoint, error) {
	last, err := l.ds.LastRecord()
	if err != nil || last == nil {
		return Checkpoint{}, err
	}
	e, err := decodeLocalEntry(*last)
	if err != nil {
		return Checkpoint{}, err
	}
	// The head is where the store keeps the newest entry, whatever position it claims.
	return Checkpoint{Position: e.Seq, Hash: e.Hash, Revision: e.Revision, RecordedAt: e.RecordedAt}, nil
}

// Verify implements Log. An entry is verified where the store keeps it; one recording
// another position (moved, or its position edited), one filed under another revision than
// it records, and one that cannot be decoded are reported too.
func (l *LocalLog) Verify(ctx context.Context, cp *Checkpoint) (Verification, error) {
	found := map[int64]recordFlaws{}
	return verifyChain(chainSource{
		after: func(pos int64) iter.Seq2[Entry, error] {
			return func(yield func(Entry, error) bool) {
				for r, err := range l.ds.Records(ctx, uint64(pos)) { //nolint:gosec // pos >= 0
					if err != nil {
						yield(Entry{}, fmt.Errorf("reading the audit log: %w", err))
						return
					}
					e, f := checkLocalRecord(r)
					if len(f.details) > 0 {
						found[e.Seq] = f
					}
					if !yield(e, nil) {
						return
					}
				}
			}
		},
		head: func() (Checkpoint, error) {
			last, err := l.ds.LastRecord()
			if err != nil || last == nil {
				return Checkpoint{}, err
			}
			e, _ := checkLocalRecord(*last)
			return Checkpoint{Position: e.Seq, Hash: e.Hash, Revision: e.Revision, RecordedAt: e.RecordedAt}, nil
		},
		flaws: func(e Entry) ([]string, bool) {
			f := found[e.Seq]
			delete(found, e.Seq)
			return f.details, f.unreadable
		},
		anchor: func() (*Anchor, error) { return l.Anchor(ctx) },
		base:   l.Base(ctx),
	}, cp)
}

// recordFlaws is what is wrong with a stored record beyond the chain.
type recordFlaws struct {
	details    []string
	unreadable bool
}

// checkLocalRecord decodes a record for verification: the entry at the record's place, and
// what is wrong with the record beyond the chain.
func checkLocalRecord(r localstore.Record) (Entry, recordFlaws) {
	var f recordFlaws
	e, err := decodeLocalEntry(r)
	seq := int64(r.Seq) //nolint:gosec // record numbers count entries
	if err != nil {
		f.details, f.unreadable = []string{fmt.Sprintf("cannot be read (%v): it was changed after it was recorded", err)}, true
		return Entry{Seq: seq, Position: seq, Revision: r.ID}, f
	}
	if e.Position != seq {
		f.details = append(f.details, fmt.Sprintf("records position %d but is stored at %d: it was moved, or its position edited", e.Position, seq))
		e.Position = seq
	}
	if e.Revision != r.ID {
		f.details = append(f.details, fmt.Sprintf("is stored under revision %s: its revision or its record was changed", r.ID))
	}
	return e, f
}
