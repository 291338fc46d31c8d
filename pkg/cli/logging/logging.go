// Package logging builds the zap logger of long-running commands (serve, audit consume):
// console lines on a terminal, JSON lines otherwise, on standard error.
package logging

import (
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/iostreams"
)

// Levels are the values --log-level accepts.
var Levels = []string{"debug", "info", "warn", "error"}

// New logs to standard error at level: human-readable console lines when standard error
// is a terminal, JSON otherwise (for log collectors). Console levels are coloured unless
// NO_COLOR is set to anything but the empty string (no-color.org); getenv reads it. An
// unknown level is a usage error.
func New(ios *iostreams.IOStreams, level string, getenv func(string) string) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, cmdutil.Usagef("--log-level %q: use debug, info, warn or error", level)
	}
	var enc zapcore.Encoder
	if ios.IsStderrTTY() {
		cfg := zap.NewDevelopmentEncoderConfig()
		cfg.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05")
		cfg.EncodeLevel = zapcore.CapitalColorLevelEncoder
		if getenv("NO_COLOR") != "" {
			cfg.EncodeLevel = zapcore.CapitalLevelEncoder
		}
		enc = zapcore.NewConsoleEncoder(cfg)
	} else {
		cfg := zap.NewProductionEncoderConfig()
		cfg.EncodeTime = zapcore.ISO8601TimeEncoder
		enc = zapcore.NewJSONEncoder(cfg)
	}
	core := zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(ios.ErrOut)), lvl)
	return zap.New(core).Named("accessctl"), nil
}
