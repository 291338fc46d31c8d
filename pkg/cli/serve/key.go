package serve

import (
	"go.uber.org/zap"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/engine"
)

// givenKey is the preshared key given with --token, else ACCESSCTL_TOKEN ("" when neither),
// refused as a usage error naming its source when it is too short.
func givenKey(f *factory.Factory) (string, error) {
	key, source := f.Flags.Token, "--token"
	if key == "" {
		key, source = f.Getenv(factory.EnvToken), factory.EnvToken
	}
	if key == "" {
		return "", nil
	}
	if err := engine.CheckKey(key); err != nil {
		return "", cmdutil.Usagef("the key from %s: %v", source, err)
	}
	return key, nil
}

// logAuthFailure logs each refused authentication the engine reports (already rate-limited
// per client host) as a warning; the report never holds the key presented.
func logAuthFailure(log *zap.Logger) func(engine.AuthFailure) {
	return func(f engine.AuthFailure) {
		fields := []zap.Field{zap.String("peer", f.Peer), zap.String("method", f.Method), zap.String("reason", f.Reason)}
		if f.Suppressed > 0 {
			fields = append(fields, zap.Int("suppressed", f.Suppressed))
		}
		if f.OtherSuppressed > 0 {
			fields = append(fields, zap.Int("suppressed_other_peers", f.OtherSuppressed))
		}
		log.Warn("authentication refused", fields...)
	}
}
