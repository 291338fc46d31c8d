package auditlog

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"
)

// RetentionActor is the actor of the entries that record a prune by the retention policy.
const RetentionActor = "system:retention"

// pruneInterval is how often entries older than the retention are pruned: a quarter of
// it, between a second and an hour.
func pruneInterval(retention time.Duration) time.Duration {
	return min(max(retention/4, time.Second), time.Hour)
}

// PruneOnSchedule prunes the entries recorded more than retention ago, at once and then
// every quarter of the retention (between a second and an hour), until ctx ends; retention
// 0 prunes nothing. Each prune is logged with its entry (a checkpoint), a failure as a
// warning (the next round tries again).
func PruneOnSchedule(ctx context.Context, l Log, retention time.Duration, log *zap.Logger) {
	if retention <= 0 {
		return
	}
	if log == nil {
		log = zap.NewNop()
	}
	t := time.NewTicker(pruneInterval(retention))
	defer t.Stop()
	for {
		before := time.Now().Add(-retention)
		res, err := Prune(ctx, l, before, RetentionActor, fmt.Sprintf("retention %s: entries recorded before %s removed", retention, before.UTC().Format(time.RFC3339)))
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("pruning the audit log", zap.Error(err))
		case err == nil && res.Pruned:
			log.Info("audit log pruned", zap.Int64("removed", res.Removed), zap.Int64("kept_from", res.Anchor.Position+1),
				zap.Int64("relationships_kept", res.Anchor.Relationships), zap.Int64("position", res.Entry.Position), zap.String("hash", res.Entry.Hash))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
