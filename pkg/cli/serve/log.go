package serve

import (
	"go.uber.org/zap"

	"github.com/accessgraph/accessgraph/pkg/cli/iostreams"
	"github.com/accessgraph/accessgraph/pkg/cli/logging"
)

// newLogger logs to standard error: console lines on a terminal (coloured unless
// NO_COLOR is set), JSON otherwise.
func newLogger(ios *iostreams.IOStreams, level string, getenv func(string) string) (*zap.Logger, error) {
	return logging.New(ios, level, getenv)
}
