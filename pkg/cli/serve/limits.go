package serve

import (
	"strings"

	"github.com/spf13/pflag"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/engine"
)

// Limits are serve's request limit flags; each maps to the EmbeddedConfig field of the
// same meaning.
type Limits struct {
	RequestBytes       int
	UpdatesPerWrite    int
	Preconditions      int
	LookupLimit        int
	ReadLimit          int
	CaveatContextBytes int
}

// limitFlag ties a flag to its EmbeddedConfig field, for binding and for error messages.
type limitFlag struct {
	name, field, usage string
	value              *int
	def                int
}

func (l *Limits) flags() []limitFlag {
	return []limitFlag{
		{"max-request-bytes", "MaxRequestBytes", "largest request message accepted, in bytes (at most 4 MiB; schema writes exempt)", &l.RequestBytes, engine.DefaultMaxRequestBytes},
		{"max-updates-per-write", "MaxUpdatesPerWrite", "most relationship updates in one write", &l.UpdatesPerWrite, engine.DefaultMaxUpdatesPerWrite},
		{"max-preconditions", "MaxPreconditions", "most preconditions in one write", &l.Preconditions, engine.DefaultMaxPreconditions},
		{"max-lookup-limit", "MaxLookupResourcesLimit", "largest page a resource lookup may ask for", &l.LookupLimit, engine.DefaultMaxLookupResourcesLimit},
		{"max-read-limit", "MaxReadRelationshipsLimit", "largest page a relationship read may ask for", &l.ReadLimit, engine.DefaultMaxReadRelationshipsLimit},
		{"max-caveat-context-bytes", "MaxCaveatContextBytes", "largest caveat context a check may carry, in bytes", &l.CaveatContextBytes, engine.DefaultMaxCaveatContextBytes},
	}
}

// bind registers the limit flags with their defaults.
func (l *Limits) bind(fl *pflag.FlagSet) {
	for _, f := range l.flags() {
		fl.IntVar(f.value, f.name, f.def, f.usage)
	}
}

// apply copies the limits into cfg.
func (l *Limits) apply(cfg *engine.EmbeddedConfig) {
	cfg.MaxRequestBytes = l.RequestBytes
	cfg.MaxUpdatesPerWrite = l.UpdatesPerWrite
	cfg.MaxPreconditions = l.Preconditions
	cfg.MaxLookupResourcesLimit = l.LookupLimit
	cfg.MaxReadRelationshipsLimit = l.ReadLimit
	cfg.MaxCaveatContextBytes = l.CaveatContextBytes
}

// check refuses limits out of range as a usage error naming the flag. Zero is refused
// too: on the command line the default is the flag's own default.
func (l *Limits) check() error {
	for _, f := range l.flags() {
		if *f.value <= 0 {
			return cmdutil.Usagef("--%s %d: give a positive number (default %d)", f.name, *f.value, f.def)
		}
	}
	var cfg engine.EmbeddedConfig
	l.apply(&cfg)
	if _, err := cfg.Limits(); err != nil {
		return cmdutil.Usagef("%s", l.flagNames(err.Error()))
	}
	return nil
}

// flagNames rewrites the engine's field names in msg as serve's flag names.
func (l *Limits) flagNames(msg string) string {
	for _, f := range l.flags() {
		msg = strings.ReplaceAll(msg, "limit "+f.field+" =", "--"+f.name)
		msg = strings.ReplaceAll(msg, f.field, "--"+f.name)
	}
	return msg
}

// field logs the limits under "limits", by flag name.
func (l *Limits) field() zap.Field {
	return zap.Object("limits", zapcore.ObjectMarshalerFunc(func(enc zapcore.ObjectEncoder) error {
		for _, f := range l.flags() {
			enc.AddInt(f.name, *f.value)
		}
		return nil
	}))
}

// checkTLS refuses missing, unreadable or mismatched certificate files before anything
// starts, naming the file and the flag.
func checkTLS(cert, key string) error {
	if (cert == "") != (key == "") {
		return cmdutil.Usagef("--tls-cert and --tls-key go together")
	}
	if err := engine.CheckTLSFiles(cert, key); err != nil {
		return cmdutil.Usagef("--tls-cert %s --tls-key %s: %v", cert, key, err)
	}
	return nil
}
