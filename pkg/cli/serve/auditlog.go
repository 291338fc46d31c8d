package serve

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/accessgraph/accessgraph/pkg/auditlog"
	"github.com/accessgraph/accessgraph/pkg/engine"
)

// startAuditLog copies the change stream into the datastore's audit_log table in the
// background, and returns the function that stops it.
func startAuditLog(ctx context.Context, e *engine.Engine, datastoreURI string, log *zap.Logger) (func(), error) {
	_, driverURI, err := engine.DatastoreEngine(datastoreURI)
	if err != nil {
		return nil, err
	}
	store, err := auditlog.Open(ctx, driverURI)
	if err != nil {
		return nil, fmt.Errorf("starting the audit log: %w", err)
	}
	consumer, err := auditlog.NewConsumer(ctx, e, store)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("starting the audit log: %w", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = consumer.Run(cctx, log.Named("audit"))
	}()
	log.Info("keeping the audit log", zap.String("table", "audit_log"))
	return func() {
		cancel()
		<-done
		store.Close()
	}, nil
}
