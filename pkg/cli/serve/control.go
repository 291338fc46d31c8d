package serve

import (
	"context"

	"go.uber.org/zap"

	"github.com/accessgraph/accessgraph/pkg/control"
	"github.com/accessgraph/accessgraph/pkg/engine"
)

// startControl opens the control socket in the local datastore's directory, through
// which `accessctl backup` backs up this server's data while it serves. The socket
// closes when ctx ends (before the datastore closes) or when the returned function is
// called. A socket that cannot be opened is a warning, not a failure: the server serves,
// and only online backup is unavailable.
func startControl(ctx context.Context, dataDir string, emb *engine.Embedded, version string, log *zap.Logger) (stop func()) {
	store := emb.LocalStore()
	if store == nil {
		return func() {}
	}
	srv, err := control.Listen(dataDir, store, control.Config{AccessGraphVersion: version, SpiceDBVersion: engine.SpiceDBVersion()})
	if err != nil {
		log.Warn("online backup unavailable: `accessctl backup` cannot reach this server; stop it to back up", zap.Error(err))
		return func() {}
	}
	log.Info("control socket open, for accessctl backup", zap.String("socket", srv.Path()))
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
		}
		if err := srv.Close(); err != nil {
			log.Warn("closing the control socket", zap.Error(err))
		}
	}()
	return func() {
		close(done)
		// Close is idempotent; this waits for it whichever side triggered it.
		_ = srv.Close()
	}
}
