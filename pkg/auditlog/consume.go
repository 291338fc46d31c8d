package auditlog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"go.uber.org/zap"

	"github.com/accessgraph/accessgraph/pkg/engine"
)

// Consume copies SpiceDB's change stream into the store until ctx ends, resuming after the
// last stored revision and reconnecting (with back-off) when the stream breaks. Entries are
// idempotent per revision, so a restart loses and duplicates nothing as long as SpiceDB
// still has the history since the last stored revision (its GC window, 24 h by default).
func Consume(ctx context.Context, e *engine.Engine, s *Store, log *zap.Logger) error {
	if log == nil {
		log = zap.NewNop()
	}
	backoff := 100 * time.Millisecond
	for {
		err := consumeOnce(ctx, e, s, log)
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

func consumeOnce(ctx context.Context, e *engine.Engine, s *Store, log *zap.Logger) error {
	last, err := s.LastRevision(ctx)
	if err != nil {
		return err
	}
	req := &v1.WatchRequest{}
	if last != "" {
		req.OptionalStartCursor = &v1.ZedToken{Token: last}
	}
	stream, err := e.Watch().Watch(ctx, req)
	if err != nil {
		return fmt.Errorf("opening the change stream: %w", err)
	}
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return errors.New("the change stream ended")
		}
		if err != nil {
			return fmt.Errorf("reading the change stream: %w", err)
		}
		if len(resp.GetUpdates()) == 0 {
			continue
		}
		entry := EntryFromWatch(resp)
		added, err := s.Append(ctx, entry)
		if err != nil {
			return err
		}
		if added {
			log.Debug("audit entry recorded", zap.String("actor", entry.Actor), zap.String("operation", entry.Operation), zap.Int("changes", len(entry.Changes)))
		}
	}
}

// EntryFromWatch turns one change-stream message into an entry.
func EntryFromWatch(resp *v1.WatchResponse) Entry {
	meta := resp.GetOptionalTransactionMetadata().AsMap()
	str := func(k string) string {
		if v, ok := meta[k].(string); ok {
			return v
		}
		return ""
	}
	entry := Entry{
		Revision:  resp.GetChangesThrough().GetToken(),
		Actor:     str("actor"),
		Reason:    str("reason"),
		Operation: str("operation"),
	}
	for _, u := range resp.GetUpdates() {
		r := u.GetRelationship()
		c := Change{
			Operation: map[v1.RelationshipUpdate_Operation]string{v1.RelationshipUpdate_OPERATION_TOUCH: "touch", v1.RelationshipUpdate_OPERATION_CREATE: "create", v1.RelationshipUpdate_OPERATION_DELETE: "delete"}[u.GetOperation()],
			Resource:  r.GetResource().GetObjectType() + ":" + r.GetResource().GetObjectId(),
			Subject:   r.GetSubject().GetObject().GetObjectType() + ":" + r.GetSubject().GetObject().GetObjectId(),
		}
		c.Relationship = c.Resource + "#" + r.GetRelation() + "@" + c.Subject
		if sr := r.GetSubject().GetOptionalRelation(); sr != "" {
			c.Relationship += "#" + sr
		}
		if exp := r.GetOptionalExpiresAt(); exp != nil {
			t := exp.AsTime()
			c.ExpiresAt = &t
		}
		entry.Changes = append(entry.Changes, c)
	}
	return entry
}
