package audit

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/auditlog"
	"github.com/accessgraph/accessgraph/pkg/ref"
	"github.com/accessgraph/accessgraph/pkg/reltext"
	"github.com/accessgraph/accessgraph/pkg/spice"
)

// HistorySource is where history is read from: SpiceDB's change stream (*Auditor, bounded
// by the datastore's GC window) or the durable audit log (*LogHistory, kept for good). Both
// give the same Change values, so a program reads and prints them alike.
type HistorySource interface {
	// History streams the changes after filter.Since, oldest first, up to the newest at the
	// time of the call, then ends.
	History(ctx context.Context, filter HistoryFilter) iter.Seq2[Change, error]
	// Follow streams the changes after filter.Since (or from now) as they happen, until ctx
	// is cancelled, which ends the stream without an error.
	Follow(ctx context.Context, filter HistoryFilter) iter.Seq2[Change, error]
}

var (
	_ HistorySource = (*Auditor)(nil)
	_ HistorySource = (*LogHistory)(nil)
)

// LogHistory reads history from the durable audit log that pkg/auditlog keeps (in a
// PostgreSQL or CockroachDB database, or in the local datastore). A change's time is when
// the log recorded it (TimeFromRevision false).
type LogHistory struct {
	store auditlog.Log
	// PollInterval is how often Follow looks for new entries; zero means one second.
	PollInterval time.Duration
}

// NewLogHistory reads history from store.
func NewLogHistory(store auditlog.Log) *LogHistory { return &LogHistory{store: store} }

// History implements HistorySource. filter.Since must be a revision the log recorded.
func (l *LogHistory) History(ctx context.Context, filter HistoryFilter) iter.Seq2[Change, error] {
	if !filter.Account.IsZero() {
		return scopeToAccount(filter, true, baseUpdates(ctx, l.store), func(f HistoryFilter) iter.Seq2[Change, error] { return l.read(ctx, f, false, 0) })
	}
	return l.read(ctx, filter, false, 0)
}

// Follow implements HistorySource.
func (l *LogHistory) Follow(ctx context.Context, filter HistoryFilter) iter.Seq2[Change, error] {
	if !filter.Account.IsZero() {
		return errorSeq(errFollowAccount)
	}
	return l.read(ctx, filter, true, 0)
}

// read streams entries after filter.Since; upTo, when not zero, is the last sequence number
// read (without follow).
func (l *LogHistory) read(ctx context.Context, filter HistoryFilter, follow bool, upTo int64) iter.Seq2[Change, error] {
	return func(yield func(Change, error) bool) {
		object, actor, err := validateHistoryFilter(filter)
		if err != nil {
			yield(Change{}, err)
			return
		}
		after, err := l.start(ctx, filter.Since, follow)
		if err != nil {
			if !follow || ctx.Err() == nil {
				yield(Change{}, err)
			}
			return
		}
		lf := auditlog.Filter{Actor: actor}
		if !object.IsZero() {
			lf.Object = object.String()
		}
		poll := cmp.Or(l.PollInterval, time.Second)
		for {
			lf.AfterSeq = after
			for e, err := range l.store.Entries(ctx, lf) {
				if err != nil {
					if follow && ctx.Err() != nil {
						return
					}
					yield(Change{}, err)
					return
				}
				if upTo != 0 && e.Seq > upTo {
					return
				}
				after = e.Seq
				c, err := entryChange(e)
				if err != nil {
					yield(Change{}, err)
					return
				}
				if filter.keepsWhole(c) && keepChange(&c, object, "", filter.Principal, filter.Operation != "") && !yield(c, nil) {
					return
				}
			}
			if !follow {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(poll):
			}
		}
	}
}

// start returns the sequence number to read after: the entry of since, the newest entry
// when following without since, or 0 (everything).
func (l *LogHistory) start(ctx context.Context, since access.Token, follow bool) (int64, error) {
	switch {
	case since != "":
		seq, err := l.store.SeqOf(ctx, string(since))
		if errors.Is(err, auditlog.ErrNotFound) {
			pruned := ""
			if a, aerr := l.store.Anchor(ctx); aerr == nil && a != nil {
				pruned = fmt.Sprintf("; the retention policy removed the changes up to %s", a.RecordedAt.UTC().Format(time.RFC3339))
			}
			return 0, fmt.Errorf("%w: no change with revision %q is in the audit log (pass the revision of a change history printed%s)", access.ErrNotFound, since, pruned)
		}
		return seq, err
	case follow:
		return l.store.LastSeq(ctx)
	}
	return 0, nil
}

// validateHistoryFilter checks the object and returns the actor as SpiceDB notation
// ("bill" becomes "user:bill").
func validateHistoryFilter(filter HistoryFilter) (ref.Object, string, error) {
	actor := filter.Actor
	if actor != "" && !strings.Contains(actor, ":") {
		actor = "user:" + actor
	}
	if !filter.Object.IsZero() {
		if _, err := ref.New(filter.Object.Type, filter.Object.ID); err != nil {
			return ref.Object{}, "", err
		}
	}
	return filter.Object, actor, nil
}

// entryChange turns an audit log entry into a change as the change stream reports it.
func entryChange(e auditlog.Entry) (Change, error) {
	meta := spice.Change{Actor: e.Actor, Reason: e.Reason, Operation: e.Operation}
	c := Change{Revision: access.Token(e.Revision), Time: e.RecordedAt.UTC(), Actor: meta.Actor, Reason: meta.Reason, Operation: meta.Operation, Principal: e.Principal, ClaimedActor: e.ClaimedActor, ChainPosition: e.Position, ChainHash: e.Hash}
	for k, v := range map[string]string{spice.KeyActor: e.Actor, spice.KeyReason: e.Reason, spice.KeyOperation: e.Operation, spice.KeyPrincipal: e.Principal, spice.KeyClaimedActor: e.ClaimedActor} {
		if v != "" {
			if c.Metadata == nil {
				c.Metadata = map[string]any{}
			}
			c.Metadata[k] = v
		}
	}
	for _, ch := range e.Changes {
		rel, err := reltext.ParseKey(ch.Relationship)
		if err != nil {
			return Change{}, fmt.Errorf("audit log entry %d (revision %s): %w", e.Seq, e.Revision, err)
		}
		u := Update{
			Operation:    ch.Operation,
			Relationship: reltext.FormatKey(rel),
			Resource:     fromObjectRef(rel.GetResource()),
			Relation:     rel.GetRelation(),
			Subject:      fromSubjectRef(rel.GetSubject()),
		}
		if ch.ExpiresAt != nil {
			u.ExpiresAt = ch.ExpiresAt.UTC()
		}
		c.Updates = append(c.Updates, u)
	}
	// The change stream's order within a transaction is not promised; sort as toChange does.
	slices.SortStableFunc(c.Updates, func(x, y Update) int {
		return cmp.Or(strings.Compare(x.Relationship, y.Relationship), strings.Compare(x.Operation, y.Operation))
	})
	return c, nil
}

// baseUpdates are the relationships a log pruned by retention kept of the removed entries,
// as the writes that made them.
func baseUpdates(ctx context.Context, l auditlog.Log) iter.Seq2[Update, error] {
	return func(yield func(Update, error) bool) {
		for b, err := range l.Base(ctx) {
			if err != nil {
				yield(Update{}, err)
				return
			}
			rel, err := reltext.ParseKey(b.Change.Relationship)
			if err != nil {
				yield(Update{}, fmt.Errorf("audit log base (entry %d): %w", b.Written.Position, err))
				return
			}
			u := Update{Operation: b.Change.Operation, Relationship: reltext.FormatKey(rel), Resource: fromObjectRef(rel.GetResource()),
				Relation: rel.GetRelation(), Subject: fromSubjectRef(rel.GetSubject())}
			if !yield(u, nil) {
				return
			}
		}
	}
}
