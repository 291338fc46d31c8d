package localstore

import (
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"go.uber.org/zap"
)

// pebbleLogger hands Pebble's log to ours: its routine messages at debug level, its
// errors at error level. Fatalf logs, then panics: Pebble calls it when it cannot
// continue (a failed write-ahead log write, a broken invariant) and does not expect
// it to return.
type pebbleLogger struct{ log *zap.Logger }

func (l pebbleLogger) Infof(format string, args ...any) {
	if ce := l.log.Check(zap.DebugLevel, "pebble"); ce != nil {
		ce.Write(zap.String("msg", fmt.Sprintf(format, args...)))
	}
}

func (l pebbleLogger) Errorf(format string, args ...any) {
	l.log.Error("pebble: " + fmt.Sprintf(format, args...))
}

func (l pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.log.Error("pebble: fatal: " + msg)
	panic(fmt.Sprintf("localstore: the storage engine stopped: %s", msg))
}

// corruptionLog records data corruption Pebble reports while serving (a compaction
// reading a damaged table). Pebble's default is Fatalf; a damaged table must not
// crash the server, which keeps serving from memory and reports the damage here,
// in its log, and at the next Open.
type corruptionLog struct {
	mu    sync.Mutex
	first error
}

func (c *corruptionLog) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.first
}

// eventListener logs Pebble's background errors, corruption and stalls.
func eventListener(log *zap.Logger, corrupt *corruptionLog) *pebble.EventListener {
	return &pebble.EventListener{
		BackgroundError: func(err error) {
			log.Error("storage engine background error", zap.Error(err))
		},
		DataCorruption: func(info pebble.DataCorruptionInfo) {
			log.Error("storage engine found damaged data", zap.String("file", info.Path), zap.Error(info.Details))
			corrupt.mu.Lock()
			if corrupt.first == nil {
				corrupt.first = fmt.Errorf("%s: %w", info.Path, info.Details)
			}
			corrupt.mu.Unlock()
		},
		WriteStallBegin: func(info pebble.WriteStallBeginInfo) {
			log.Warn("storage engine stalled writes", zap.String("reason", info.Reason))
		},
		DiskSlow: func(info pebble.DiskSlowInfo) {
			log.Warn("slow disk", zap.String("file", info.Path), zap.Duration("duration", info.Duration))
		},
	}
}
