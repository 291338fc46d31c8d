package auditlog

import (
	"context"
	"iter"
)

// Log is a durable, hash-chained audit log: the audit_log table of a PostgreSQL or
// CockroachDB database (Store), or records kept in the local datastore (LocalLog). The
// consumer writes it and history reads it the same way on either.
type Log interface {
	// Append records an entry at the end of the chain once per revision, reporting whether
	// it was added.
	Append(ctx context.Context, e Entry) (bool, error)
	// LastRevision is the newest entry's revision ("" for an empty log).
	LastRevision(ctx context.Context) (string, error)
	// StartRevision is where the log began ("" if unset); SetStartRevision sets it once.
	StartRevision(ctx context.Context) (string, error)
	SetStartRevision(ctx context.Context, rev string) error
	// SeqOf is the sequence number of the entry for a revision (ErrNotFound if none).
	SeqOf(ctx context.Context, revision string) (int64, error)
	// LastSeq is the newest entry's sequence number (0 for an empty log).
	LastSeq(ctx context.Context) (int64, error)
	// Entries streams matching entries oldest first.
	Entries(ctx context.Context, f Filter) iter.Seq2[Entry, error]
	// Head is the newest entry as a checkpoint (zero for an empty log).
	Head(ctx context.Context) (Checkpoint, error)
	// Verify checks the whole chain, and a checkpoint when cp is not nil.
	Verify(ctx context.Context, cp *Checkpoint) (Verification, error)
	// Anchor is where a pruned log begins (nil: never pruned), and Base the relationships
	// the pruned entries left written, ordered by relationship; see Prune.
	Anchor(ctx context.Context) (*Anchor, error)
	Base(ctx context.Context) iter.Seq2[BaseRelationship, error]
	// Settle returns once every entry whose time was taken before the call is readable,
	// so that the entries up to a past time, read after Settle, are all there will be.
	Settle(ctx context.Context) error
	// Close releases the log.
	Close()
}

var (
	_ Log = (*Store)(nil)
	_ Log = (*LocalLog)(nil)
)

// resumeAfter is the revision the change stream resumes after: the last entry, else the start.
func resumeAfter(ctx context.Context, l Log) (string, error) {
	last, err := l.LastRevision(ctx)
	if err != nil || last != "" {
		return last, err
	}
	return l.StartRevision(ctx)
}

// matches reports whether an entry passes a filter's actor and object.
func (f Filter) matches(e Entry) bool {
	if f.Actor != "" && e.Actor != f.Actor {
		return false
	}
	if f.Object == "" {
		return true
	}
	for _, c := range e.Changes {
		if c.Resource == f.Object || c.Subject == f.Object {
			return true
		}
	}
	return false
}
