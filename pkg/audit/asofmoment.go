package audit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/auditlog"
)

// AsOf names a past moment of the access graph: a time, or the change with a revision
// token (the graph just after that change). The zero value is the present.
type AsOf struct {
	Time     time.Time
	Revision access.Token
}

// At is the moment of a time.
func At(t time.Time) AsOf { return AsOf{Time: t} }

// AtRevision is the moment just after the change with a revision token.
func AtRevision(rev access.Token) AsOf { return AsOf{Revision: rev} }

// IsZero reports whether m is the present.
func (m AsOf) IsZero() bool { return m.Time.IsZero() && m.Revision == "" }

// String is the moment in words: the time in RFC 3339, or "revision TOKEN".
func (m AsOf) String() string {
	switch {
	case m.Revision != "":
		return "revision " + string(m.Revision)
	case !m.Time.IsZero():
		return m.Time.UTC().Format(time.RFC3339Nano)
	}
	return "the present"
}

// validate refuses a moment naming both a time and a revision.
func (m AsOf) validate() error {
	if !m.Time.IsZero() && m.Revision != "" {
		return fmt.Errorf("%w: ask as of a time or as of a revision, not both", access.ErrInvalidArgument)
	}
	return nil
}

// logBound resolves a moment against the log: past reports whether an entry was recorded
// after the moment, and at is the moment's time (for a revision, when its entry was
// recorded). The present bounds nothing.
func logBound(ctx context.Context, l auditlog.Log, m AsOf) (past func(auditlog.Entry) bool, at time.Time, err error) {
	if err := m.validate(); err != nil {
		return nil, time.Time{}, err
	}
	if m.Revision == "" {
		if m.Time.IsZero() {
			return func(auditlog.Entry) bool { return false }, time.Time{}, nil
		}
		// An append in progress may have taken a time at or before t and not be readable
		// yet: wait for it, so that an answer as of t never changes once given.
		if err := l.Settle(ctx); err != nil {
			return nil, time.Time{}, err
		}
		t := m.Time
		return func(e auditlog.Entry) bool { return e.RecordedAt.After(t) }, t, nil
	}
	seq, err := l.SeqOf(ctx, string(m.Revision))
	if errors.Is(err, auditlog.ErrNotFound) {
		pruned := ""
		if a, aerr := l.Anchor(ctx); aerr == nil && a != nil {
			pruned = fmt.Sprintf(" (the retention policy removed the changes up to %s)", a.RecordedAt.UTC().Format(time.RFC3339))
		}
		return nil, time.Time{}, fmt.Errorf("%w: revision %s is not in the audit log%s: use a revision history lists (the \"revision\" of a change)", access.ErrInvalidArgument, m.Revision, pruned)
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	for e, err := range l.Entries(ctx, auditlog.Filter{AfterSeq: seq - 1}) {
		if err != nil {
			return nil, time.Time{}, err
		}
		at = e.RecordedAt
		break
	}
	return func(e auditlog.Entry) bool { return e.Seq > seq }, at, nil
}
