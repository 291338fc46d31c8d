package auditlog

import (
	"context"
	"fmt"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"go.uber.org/zap"

	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/reltext"
	"github.com/accessgraph/accessgraph/pkg/spice"
)

// Consumer copies SpiceDB's change stream into a store. Build it with NewConsumer, which
// fixes where the copy starts, then Run it.
type Consumer struct {
	engine *engine.Engine
	store  Log
}

// NewConsumer prepares a consumer. The first consumer of a store records the current
// revision as where the log starts, so every change made after NewConsumer returns is
// recorded however late Run connects, even if it is stopped before recording anything; later
// consumers resume after the last entry.
func NewConsumer(ctx context.Context, e *engine.Engine, s Log) (*Consumer, error) {
	start, err := resumeAfter(ctx, s)
	if err != nil {
		return nil, err
	}
	if start == "" {
		resp, err := e.ReadSchemaSince(ctx, nil)
		if err != nil {
			return nil, fmt.Errorf("finding where the audit log starts: %w", err)
		}
		if err := s.SetStartRevision(ctx, resp.GetReadAt().GetToken()); err != nil {
			return nil, err
		}
	}
	return &Consumer{engine: e, store: s}, nil
}

// Run copies changes until ctx ends, reconnecting with back-off when the stream breaks.
// Entries are idempotent per revision, so a restart loses and duplicates nothing as long as
// SpiceDB still has the history since the last stored revision (its GC window, 24 h by
// default).
func (c *Consumer) Run(ctx context.Context, log *zap.Logger) error {
	if log == nil {
		log = zap.NewNop()
	}
	backoff := 100 * time.Millisecond
	for {
		err := c.consumeOnce(ctx, log)
		if ctx.Err() != nil {
			return nil
		}
		log.Warn("audit log stream interrupted; reconnecting", zap.Error(err), zap.Duration("after", backoff))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

func (c *Consumer) consumeOnce(ctx context.Context, log *zap.Logger) error {
	last, err := resumeAfter(ctx, c.store)
	if err != nil {
		return err
	}
	req := &v1.WatchRequest{}
	if last != "" {
		req.OptionalStartCursor = &v1.ZedToken{Token: last}
	}
	for resp, err := range spice.Watch(ctx, c.engine.Watch(), req) {
		if err != nil {
			return err
		}
		if len(resp.GetUpdates()) == 0 {
			continue
		}
		entry := EntryFromWatch(resp)
		added, err := c.store.Append(ctx, entry)
		if err != nil {
			return err
		}
		if added {
			log.Debug("audit entry recorded", zap.String("actor", entry.Actor), zap.String("operation", entry.Operation), zap.Int("changes", len(entry.Changes)))
		}
	}
	return spice.ErrChangeStreamEnded
}

// EntryFromWatch turns one change-stream message into an entry.
func EntryFromWatch(resp *v1.WatchResponse) Entry {
	change := spice.ChangeFromMetadata(resp.GetOptionalTransactionMetadata().AsMap())
	entry := Entry{
		Revision:  resp.GetChangesThrough().GetToken(),
		Actor:     change.Actor,
		Reason:    change.Reason,
		Operation: change.Operation,
		Principal: change.Principal,
	}
	entry.ClaimedActor, _ = resp.GetOptionalTransactionMetadata().AsMap()[spice.KeyClaimedActor].(string)
	for _, u := range resp.GetUpdates() {
		r := u.GetRelationship()
		c := Change{
			Operation: map[v1.RelationshipUpdate_Operation]string{v1.RelationshipUpdate_OPERATION_TOUCH: "touch", v1.RelationshipUpdate_OPERATION_CREATE: "create", v1.RelationshipUpdate_OPERATION_DELETE: "delete"}[u.GetOperation()],
			Resource:  r.GetResource().GetObjectType() + ":" + r.GetResource().GetObjectId(),
			Subject:   r.GetSubject().GetObject().GetObjectType() + ":" + r.GetSubject().GetObject().GetObjectId(),
			// The expiry has its own field.
			Relationship: reltext.FormatKey(r),
		}
		if exp := r.GetOptionalExpiresAt(); exp != nil {
			t := exp.AsTime()
			c.ExpiresAt = &t
		}
		entry.Changes = append(entry.Changes, c)
	}
	return entry
}
