package audit

import (
	"context"
	"fmt"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/auditlog"
	"github.com/accessgraph/accessgraph/pkg/engine"
)

// PastGraph is the access graph as it stood at a past time, rebuilt from the durable audit
// log into an in-process engine of its own: ask it with access.New(g.Engine) or
// audit.New(access.New(g.Engine)) as you would the live one, with access.Fresh() (which
// reads at least as fresh as the rebuild's writes; Full may read before the last of them),
// then Close it.
//
// What it holds: every relationship the log records as written at or before At and not
// deleted by then (expiry deletions included: the sweep's deletions are changes like any
// other), evaluated under the current schema. A grant whose expiry came at or before At is
// left out. The engine evaluates expiry against the present clock, so every expiry is held
// moved forward by ExpiryShift (the time from At to the rebuild, plus PastGraphLife): a
// grant live at At stays live in the rebuilt graph for at least PastGraphLife, whether or
// not it has expired since, so answers do not change while the graph is asked (a who-can
// as of a time takes minutes on a large account). Read the graph through Auditor, which
// moves the expiries back, so answers name the real times.
type PastGraph struct {
	*engine.Embedded
	// At is the time asked about; Through is the newest log entry applied (its position,
	// hash and time), and Applied how many entries were replayed.
	At      time.Time
	Through auditlog.Checkpoint
	Applied int
	// ExpiryShift is how far every expiry in the rebuilt graph lies after the real one.
	ExpiryShift time.Duration
}

// Auditor is the audit layer over the past graph c (access.New(g.Engine)): its clock
// stands at At, so review flags read as they would have then, and the expiries it reads
// are the real ones, not the rebuilt graph's shifted ones.
func (g *PastGraph) Auditor(c *access.Client, opts ...Option) *Auditor {
	return New(c, append([]Option{WithClock(func() time.Time { return g.At }), withExpiryShift(g.ExpiryShift)}, opts...)...)
}

// PastGraphLife is how long a rebuilt graph keeps answering as of its moment: every grant
// live at At expires in it no sooner than this after the rebuild. A past graph is meant for
// the questions of one request, not to be kept.
const PastGraphLife = 24 * time.Hour

// maxExpiry is the latest expiry a relationship can carry (protobuf timestamps end with
// year 9999).
var maxExpiry = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// replayBatch is how many relationship updates one rebuild write carries.
const replayBatch = 1000

// RebuildAt replays the log's entries recorded at or before at into a new in-process
// engine on the memory datastore. It fails with access.ErrInvalidArgument for a time in
// the future or before the log's first entry: the log knows nothing of the graph before it
// began, nor, once the retention policy pruned it, before the last entry removed.
func RebuildAt(ctx context.Context, l auditlog.Log, at time.Time) (*PastGraph, error) {
	return Rebuild(ctx, l, At(at))
}

// Rebuild is RebuildAt for any moment: a time, or the change with a revision (the graph
// just after it, whose At is when that change was recorded).
func Rebuild(ctx context.Context, l auditlog.Log, m AsOf) (*PastGraph, error) {
	now := time.Now()
	if m.IsZero() {
		return nil, fmt.Errorf("%w: no past moment given: ask the live graph", access.ErrInvalidArgument)
	}
	if m.Time.After(now) {
		return nil, fmt.Errorf("%w: %s is in the future: ask the live graph", access.ErrInvalidArgument, m.Time.UTC().Format(time.RFC3339))
	}
	past, at, err := logBound(ctx, l, m)
	if err != nil {
		return nil, err
	}
	anchor, err := l.Anchor(ctx)
	if err != nil {
		return nil, err
	}
	first := true
	if anchor != nil {
		if at.Before(anchor.RecordedAt) {
			return nil, prunedBefore(anchor, at)
		}
		first = false
	}
	st, err := replayLog(ctx, l, func(e auditlog.Entry) (bool, error) {
		if first && past(e) {
			return false, fmt.Errorf("%w: the audit log begins at %s, after %s: it knows nothing of the graph before", access.ErrInvalidArgument, e.RecordedAt.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
		}
		first = false
		return !past(e), nil
	})
	if err != nil {
		return nil, err
	}
	if first {
		return nil, fmt.Errorf("%w: the audit log is empty: there is no past to rebuild", access.ErrInvalidArgument)
	}
	g := &PastGraph{At: at, Through: st.Through, Applied: st.Applied, ExpiryShift: now.Sub(at) + PastGraphLife}
	// The state at `at`: what was written and not deleted, less what had expired by then.
	// Every expiry moves forward by the shift: live at `at` means after `at`, so, once
	// moved, at least PastGraphLife after the present clock the engine evaluates with (a
	// relation may allow only subjects with an expiry, so an expired-since grant cannot
	// simply lose it).
	net := make(map[string]*v1.Relationship, len(st.Rels))
	for key, lr := range st.Rels {
		if !lr.liveAt(at) {
			continue
		}
		rel := lr.Rel
		if lr.ExpiresAt != nil {
			moved := lr.ExpiresAt.Add(g.ExpiryShift)
			if moved.After(maxExpiry) {
				moved = maxExpiry
			}
			rel.OptionalExpiresAt = timestamppb.New(moved)
		}
		net[key] = rel
	}
	emb, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{})
	if err != nil {
		return nil, fmt.Errorf("starting the engine for %s: %w", at.UTC().Format(time.RFC3339), err)
	}
	updates := make([]*v1.RelationshipUpdate, 0, replayBatch)
	flush := func() error {
		if len(updates) == 0 {
			return nil
		}
		_, err := emb.Engine.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: updates})
		updates = updates[:0]
		return err
	}
	for _, rel := range net {
		updates = append(updates, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: rel})
		if len(updates) == replayBatch {
			if err := flush(); err != nil {
				_ = emb.Close()
				return nil, fmt.Errorf("rebuilding the graph at %s: %w", at.UTC().Format(time.RFC3339), err)
			}
		}
	}
	if err := flush(); err != nil {
		_ = emb.Close()
		return nil, fmt.Errorf("rebuilding the graph at %s: %w", at.UTC().Format(time.RFC3339), err)
	}
	g.Embedded = emb
	return g, nil
}

// prunedBefore is the error for a moment before what a pruned log keeps.
func prunedBefore(a *auditlog.Anchor, at time.Time) error {
	return fmt.Errorf("%w: the retention policy removed the history before %s (entries up to %d): %s cannot be answered; ask about a later time",
		access.ErrInvalidArgument, a.RecordedAt.UTC().Format(time.RFC3339), a.Position, at.UTC().Format(time.RFC3339))
}
