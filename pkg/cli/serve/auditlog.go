package serve

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/accessgraph/accessgraph/pkg/auditlog"
	"github.com/accessgraph/accessgraph/pkg/engine"
)

// openAuditLog opens the durable audit log of the server's datastore: records in the local
// datastore, or the audit_log table of a PostgreSQL or CockroachDB database.
func openAuditLog(ctx context.Context, emb *engine.Embedded, datastoreURI string) (auditlog.Log, error) {
	if ds := emb.LocalStore(); ds != nil {
		return auditlog.NewLocalLog(ds), nil
	}
	_, driverURI, err := engine.DatastoreEngine(datastoreURI)
	if err != nil {
		return nil, err
	}
	store, err := auditlog.Open(ctx, driverURI)
	if err != nil {
		return nil, fmt.Errorf("starting the audit log: %w", err)
	}
	return store, nil
}

// auditSchedule is the audit log's periodic work: logging its head every checkpointEvery,
// pruning entries older than retention (each 0: never).
type auditSchedule struct {
	checkpointEvery time.Duration
	retention       time.Duration
}

// startAuditLog copies the change stream into the audit log in the background, logs its
// head and prunes it on schedule, and returns the function that stops them.
func startAuditLog(ctx context.Context, e *engine.Engine, store auditlog.Log, sched auditSchedule, log *zap.Logger) (func(), error) {
	consumer, err := auditlog.NewConsumer(ctx, e, store)
	if err != nil {
		return nil, fmt.Errorf("starting the audit log: %w", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = consumer.Run(cctx, log.Named("audit"))
	}()
	checkpoints := make(chan struct{})
	go func() {
		defer close(checkpoints)
		logCheckpoints(cctx, store, sched.checkpointEvery, log.Named("audit"))
	}()
	pruning := make(chan struct{})
	go func() {
		defer close(pruning)
		auditlog.PruneOnSchedule(cctx, store, sched.retention, log.Named("audit"))
	}()
	if sched.retention > 0 {
		log.Info("keeping the audit log", zap.Duration("retention", sched.retention))
	} else {
		log.Info("keeping the audit log for good")
	}
	return func() {
		cancel()
		<-done
		<-checkpoints
		<-pruning
	}, nil
}

// logCheckpoints logs the audit log's head every interval until ctx ends: logs shipped off
// the machine are checkpoints kept apart from the log, which history verify --checkpoint
// takes ({"position": ..., "hash": ...}). A head unchanged since the last one is not logged
// again.
func logCheckpoints(ctx context.Context, store auditlog.Log, interval time.Duration, log *zap.Logger) {
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	var last auditlog.Checkpoint
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		head, err := store.Head(ctx)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("reading the audit log's head for a checkpoint", zap.Error(err))
			}
			continue
		}
		if head.Position == 0 || head == last {
			continue
		}
		last = head
		log.Info("audit log checkpoint", zap.Int64("position", head.Position), zap.String("hash", head.Hash),
			zap.String("revision", head.Revision), zap.Time("recorded_at", head.RecordedAt))
	}
}
