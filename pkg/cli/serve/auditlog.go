package serve

import (
	"context"
	"fmt"

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

// startAuditLog copies the change stream into the audit log in the background, and returns
// the function that stops it.
func startAuditLog(ctx context.Context, e *engine.Engine, store auditlog.Log, log *zap.Logger) (func(), error) {
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
	log.Info("keeping the audit log")
	return func() {
		cancel()
		<-done
	}, nil
}
