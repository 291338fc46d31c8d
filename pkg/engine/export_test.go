package engine

// WithoutBulkGate returns cfg with the bulk check gate turned off, for benchmarks comparing
// with and without it.
func WithoutBulkGate(cfg EmbeddedConfig) EmbeddedConfig {
	cfg.noBulkGate = true
	return cfg
}
