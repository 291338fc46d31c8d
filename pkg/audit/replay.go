package audit

import (
	"context"
	"fmt"
	"strings"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/auditlog"
	"github.com/accessgraph/accessgraph/pkg/reltext"
	"github.com/accessgraph/accessgraph/schema"
)

// loggedRelationship is what the durable log last recorded for one relationship.
type loggedRelationship struct {
	// Rel is the relationship without its expiry; ExpiresAt is the expiry the last write
	// gave it (nil: none).
	Rel       *v1.Relationship
	ExpiresAt *time.Time
	// Deleted reports that the last change was a deletion; Entry is the entry of the last
	// change.
	Deleted bool
	Entry   entryRef
}

// entryRef names a log entry.
type entryRef struct {
	Position, Seq int64
	Revision      string
}

// liveAt reports whether the log holds r as written and not expired at t.
func (r *loggedRelationship) liveAt(t time.Time) bool {
	return !r.Deleted && (r.ExpiresAt == nil || r.ExpiresAt.After(t))
}

// replayed is the state a log's entries imply: every relationship any applied entry
// touched, by relationship key, deleted ones included.
type replayed struct {
	Rels map[string]*loggedRelationship
	// Through is the newest entry applied, and Applied how many were.
	Through auditlog.Checkpoint
	Applied int
}

// replayLog applies l's entries oldest first while apply returns true for the next entry
// (and stops at its first false or error). The server's key registry (definitions named
// with schema.ServerPrefix) is no part of the access graph and is skipped. Expiry is left
// to the caller: a relationship is held with the expiry its last write gave it.
//
// A log pruned by retention begins with its base: the relationships the pruned entries
// left written, each as written by its entry.
func replayLog(ctx context.Context, l auditlog.Log, apply func(auditlog.Entry) (bool, error)) (*replayed, error) {
	st := &replayed{Rels: map[string]*loggedRelationship{}}
	anchor, err := l.Anchor(ctx)
	if err != nil {
		return nil, err
	}
	if anchor != nil {
		st.Through = anchor.Checkpoint()
		for b, err := range l.Base(ctx) {
			if err != nil {
				return nil, err
			}
			c, w := b.Change, b.Written
			if isServerObject(c.Resource) || isServerObject(c.Subject) {
				continue
			}
			rel, err := reltext.ParseKey(c.Relationship)
			if err != nil {
				return nil, fmt.Errorf("audit log base (entry %d, revision %s): %w", w.Position, w.Revision, err)
			}
			lr := &loggedRelationship{Rel: rel, Entry: entryRef{Position: w.Position, Seq: w.Seq, Revision: w.Revision}}
			if c.ExpiresAt != nil {
				exp := *c.ExpiresAt
				lr.ExpiresAt = &exp
			}
			st.Rels[c.Relationship] = lr
		}
	}
	for e, err := range l.Entries(ctx, auditlog.Filter{}) {
		if err != nil {
			return nil, err
		}
		ok, err := apply(e)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		at := auditlog.Checkpoint{Position: e.Position, Hash: e.Hash, Revision: e.Revision, RecordedAt: e.RecordedAt}
		for _, c := range e.Changes {
			if isServerObject(c.Resource) || isServerObject(c.Subject) {
				continue
			}
			rel, err := reltext.ParseKey(c.Relationship)
			if err != nil {
				return nil, fmt.Errorf("audit log entry %d (revision %s): %w", e.Position, e.Revision, err)
			}
			lr := &loggedRelationship{Rel: rel, Deleted: c.Operation == "delete", Entry: entryRef{Position: e.Position, Seq: e.Seq, Revision: e.Revision}}
			if !lr.Deleted && c.ExpiresAt != nil {
				exp := *c.ExpiresAt
				lr.ExpiresAt = &exp
			}
			st.Rels[c.Relationship] = lr
		}
		st.Applied++
		st.Through = at
	}
	return st, nil
}

// isServerObject reports whether TYPE:ID (or a bare type) belongs to the server's key
// registry.
func isServerObject(object string) bool { return strings.HasPrefix(object, schema.ServerPrefix) }
