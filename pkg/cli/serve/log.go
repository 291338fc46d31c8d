package serve

import (
	"go.uber.org/zap"

	"github.com/accessgraph/accessgraph/pkg/cli/iostreams"
	"github.com/accessgraph/accessgraph/pkg/cli/logging"
)

// newLogger logs to standard error: console lines on a terminal, JSON otherwise.
func newLogger(ios *iostreams.IOStreams, level string) (*zap.Logger, error) {
	return logging.New(ios, level)
}
