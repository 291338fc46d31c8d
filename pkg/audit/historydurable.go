package audit

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/auditlog"
)

// WithDurableLog makes History (and Follow from a revision) read the durable audit log
// first, then the change stream after the log's newest entry. The log is written by a
// consumer of the same change stream a moment after each commit, so the stream covers what
// the log has not recorded yet and nothing is missed or repeated; the log covers what the
// stream no longer holds (older than the garbage-collection window).
func WithDurableLog(l auditlog.Log) Option {
	return func(a *Auditor) { a.log = NewLogHistory(l) }
}

// ErrNoDurableLog reports an Auditor (or a server) without a durable audit log: the memory
// datastore, or serve --no-audit-log.
var ErrNoDurableLog = fmt.Errorf("%w: this server keeps no durable audit log (it runs on the memory datastore, or with --no-audit-log)", access.ErrNotFound)

// VerifyHistory implements Service. Besides the chain, it compares the relationships the log
// implies with the ones the datastore holds (VerifyState).
func (a *Auditor) VerifyHistory(ctx context.Context, cp *auditlog.Checkpoint) (auditlog.Verification, error) {
	if a.log == nil {
		return auditlog.Verification{}, ErrNoDurableLog
	}
	v, err := a.log.store.Verify(ctx, cp)
	if err != nil {
		return v, err
	}
	if a.engine == nil {
		v.StateNote = "not compared with the stored relationships: no engine to read them"
		return v, nil
	}
	return v, VerifyState(ctx, a.engine, a.log.store, &v)
}

// HistoryCheckpoint implements Service.
func (a *Auditor) HistoryCheckpoint(ctx context.Context) (auditlog.Checkpoint, error) {
	if a.log == nil {
		return auditlog.Checkpoint{}, ErrNoDurableLog
	}
	return a.log.store.Head(ctx)
}

func (a *Auditor) durable(ctx context.Context, filter HistoryFilter, follow bool) iter.Seq2[Change, error] {
	return func(yield func(Change, error) bool) {
		store := a.log.store
		// The newest entry bounds the log's part, and the revision it has recorded through
		// starts the stream's: read together, so an entry appended meanwhile is read once.
		// After a prune the newest entry may be the prune's, whose change is gone.
		lastSeq, err := store.LastSeq(ctx)
		if err != nil {
			yield(Change{}, err)
			return
		}
		if lastSeq == 0 {
			// Nothing recorded yet: all there is, is in the stream.
			a.stream(ctx, filter, follow, yield)
			return
		}
		var lastRev string
		for e, err := range store.Entries(ctx, auditlog.Filter{AfterSeq: lastSeq - 1}) {
			if err != nil {
				yield(Change{}, err)
				return
			}
			lastRev = e.StreamRevision()
			break
		}
		if filter.Since != "" {
			if _, err := store.SeqOf(ctx, string(filter.Since)); errors.Is(err, auditlog.ErrNotFound) {
				// A revision the log has not recorded (yet): the stream knows it.
				a.stream(ctx, filter, follow, yield)
				return
			}
		}
		for c, err := range a.log.read(ctx, filter, false, lastSeq) {
			if !yield(c, err) || err != nil {
				return
			}
		}
		after := filter
		after.Since = access.Token(lastRev)
		a.stream(ctx, after, follow, yield)
	}
}

func (a *Auditor) stream(ctx context.Context, filter HistoryFilter, follow bool, yield func(Change, error) bool) {
	for c, err := range a.watch(ctx, filter, follow) {
		if !yield(c, err) || err != nil {
			return
		}
	}
}
