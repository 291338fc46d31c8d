package engine

// WithoutBulkGate returns cfg with the bulk check gate turned off, for benchmarks comparing
// with and without it.
func WithoutBulkGate(cfg EmbeddedConfig) EmbeddedConfig {
	cfg.noBulkGate = true
	return cfg
}

// BulkPiecesSent counts the pieces e's bulk check gate has sent.
func BulkPiecesSent(e *Embedded) int64 { return e.gate.pieces.Load() }
