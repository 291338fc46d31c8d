package serve

import (
	"strings"

	"github.com/spf13/pflag"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/engine"
)

// Limits are serve's request limit flags. Each limit, its flag, default and range are
// declared once, in engine.LimitSpecs; the values are kept in the EmbeddedConfig fields
// they set.
type Limits struct {
	// Config holds the limit values in its Max... fields; nothing else of it is used.
	Config engine.EmbeddedConfig
}

// bind registers the limit flags with their defaults.
func (l *Limits) bind(fl *pflag.FlagSet) {
	for _, v := range l.Config.LimitValues() {
		fl.IntVar(v.Value, v.Flag, v.Default, v.Usage)
	}
}

// apply copies the limits into cfg.
func (l *Limits) apply(cfg *engine.EmbeddedConfig) {
	to := cfg.LimitValues()
	for i, v := range l.Config.LimitValues() {
		*to[i].Value = *v.Value
	}
}

// check refuses limits out of range as a usage error naming the flag. Zero is refused
// too: on the command line the default is the flag's own default.
func (l *Limits) check() error {
	for _, v := range l.Config.LimitValues() {
		if *v.Value <= 0 {
			return cmdutil.Usagef("--%s %d: give a positive number (default %d)", v.Flag, *v.Value, v.Default)
		}
	}
	if _, err := l.Config.Limits(); err != nil {
		return cmdutil.Usagef("%s", l.flagNames(err.Error()))
	}
	return nil
}

// flagNames rewrites the engine's field names in msg as serve's flag names.
func (l *Limits) flagNames(msg string) string {
	for _, v := range l.Config.LimitValues() {
		msg = strings.ReplaceAll(msg, "limit "+v.Field+" =", "--"+v.Flag)
		msg = strings.ReplaceAll(msg, v.Field, "--"+v.Flag)
	}
	return msg
}

// field logs the limits under "limits", by flag name.
func (l *Limits) field() zap.Field {
	return zap.Object("limits", zapcore.ObjectMarshalerFunc(func(enc zapcore.ObjectEncoder) error {
		for _, v := range l.Config.LimitValues() {
			enc.AddInt(v.Flag, *v.Value)
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
