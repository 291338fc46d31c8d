package deploy_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"unicode"

	spicedbcmd "github.com/authzed/spicedb/pkg/cmd"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// ---------------------------------------------------------------------------------------------
// SpiceDB flags and environment variables exist in v1.57.1.

func TestComposeSpiceDBFlagsAndEnvExistInV156(t *testing.T) {
	c := loadCompose(t)
	n := 0
	for _, name := range c.names() {
		s := c.Services[name]
		if repo, _ := splitImage(s.Image); repo != spicedbImage {
			continue
		}
		n++
		inv := checkSpiceDBInvocation(t, "compose service "+name, c.command(t, name), c.environment(t, name))
		if inv == nil {
			continue
		}
		if inv.value("datastore-engine") != "cockroachdb" {
			t.Errorf("compose service %s: datastore engine %q, want cockroachdb", name, inv.value("datastore-engine"))
		}
	}
	if n < 3 {
		t.Fatalf("found %d SpiceDB services, want a migrate job and two replicas", n)
	}
}

func TestKubernetesSpiceDBClusterConfigIsSpiceDBFlags(t *testing.T) {
	sc := spiceDBCluster(t)
	if av, k := str(sc.doc["apiVersion"]), sc.kind(); av != "authzed.com/v1alpha1" || k != "SpiceDBCluster" {
		t.Fatalf("%s: %s %s, want authzed.com/v1alpha1 SpiceDBCluster", sc.file, av, k)
	}
	cfg, _ := dig(sc.doc, "spec", "config").(map[string]any)
	if cfg == nil {
		t.Fatalf("%s: no spec.config", sc.file)
	}
	if e := str(cfg["datastoreEngine"]); e != "cockroachdb" {
		t.Errorf("%s: datastoreEngine %q, want cockroachdb", sc.file, e)
	}
	if _, ok := cfg["image"]; ok {
		t.Errorf("%s: config.image overrides spec.version and the operator's update channel; remove it", sc.file)
	}
	for _, k := range []string{"datastoreConnUri", "grpcPresharedKey", "presharedKey", "preshared_key", "datastore_uri"} {
		if _, ok := cfg[k]; ok {
			t.Errorf("%s: config.%s is a secret: it belongs in the Secret named by spec.secretName", sc.file, k)
		}
	}

	root := buildSpiceDBRoot(t)
	serve, _, err := root.Find([]string{"serve"})
	if err != nil {
		t.Fatal(err)
	}
	_ = serve.InheritedFlags()
	fs := serve.Flags()
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if operatorOwnKeys[k] {
			continue
		}
		env := operatorEnvName("SPICEDB", k)
		f := fs.Lookup(flagNameForEnv(env))
		switch {
		case f == nil:
			t.Errorf("%s: config.%s becomes %s, which is no `spicedb serve` flag in %s", sc.file, k, env, spicedbVersion)
		case f.Deprecated != "":
			t.Errorf("%s: config.%s (--%s) is deprecated in %s: %s", sc.file, k, f.Name, spicedbVersion, f.Deprecated)
		default:
			if err := fs.Set(f.Name, fmt.Sprint(cfg[k])); err != nil {
				t.Errorf("%s: config.%s = %v: --%s rejects it: %v", sc.file, k, cfg[k], f.Name, err)
			}
		}
	}
}

// =============================================================================================
// SpiceDB command tree.

// buildSpiceDBRoot builds SpiceDB's complete command tree, as cmd/spicedb does. A fresh tree
// per call: parsing flags mutates it.
func buildSpiceDBRoot(t *testing.T) *cobra.Command {
	t.Helper()
	root, err := spicedbcmd.BuildRootCommand()
	if err != nil {
		t.Fatalf("building SpiceDB's command tree: %v", err)
	}
	return root
}

type spicedbInvocation struct {
	cmd    *cobra.Command
	args   []string
	values map[string]string // flag name -> value set by the command line or SPICEDB_* env
}

// value is the flag's effective value: what the command line or environment set, else the
// default.
func (inv *spicedbInvocation) value(name string) string {
	if v, ok := inv.values[name]; ok {
		return v
	}
	if f := inv.cmd.Flags().Lookup(name); f != nil {
		return f.DefValue
	}
	return ""
}

// envNameForFlag is the variable cobrautil.SyncViperPreRunE binds to a flag (prefix "spicedb").
func envNameForFlag(flag string) string {
	return "SPICEDB_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

func flagNameForEnv(env string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(env, "SPICEDB_"), "_", "-"))
}

// checkSpiceDBInvocation resolves argv (without the program name) in SpiceDB's command tree and
// reports every flag or SPICEDB_* variable that does not exist, is deprecated, or whose value
// does not parse. Values taken from ${...} interpolation are only looked up, not parsed.
func checkSpiceDBInvocation(t *testing.T, who string, argv []string, env map[string]string) *spicedbInvocation {
	t.Helper()
	root := buildSpiceDBRoot(t)
	sub, rest, err := root.Find(argv)
	if err != nil || sub == root || !sub.Runnable() {
		t.Errorf("%s: `spicedb %s` is no SpiceDB %s command (%v)", who, strings.Join(argv, " "), spicedbVersion, err)
		return nil
	}
	if sub.Hidden || sub.Deprecated != "" {
		t.Errorf("%s: `%s` is hidden or deprecated in %s", who, sub.CommandPath(), spicedbVersion)
	}
	_ = sub.InheritedFlags() // merges the root's persistent flags into sub.Flags()
	fs := sub.Flags()
	inv := &spicedbInvocation{cmd: sub, values: map[string]string{}}

	set := func(f *pflag.Flag, val, origin string) {
		if strings.Contains(val, "${") {
			inv.values[f.Name] = val
			return
		}
		if err := fs.Set(f.Name, val); err != nil {
			t.Errorf("%s: %s: --%s rejects %q: %v", who, origin, f.Name, val, err)
			return
		}
		inv.values[f.Name] = val
	}

	for i := 0; i < len(rest); i++ {
		tok := rest[i]
		switch {
		case tok == "--":
			inv.args = append(inv.args, rest[i+1:]...)
			i = len(rest)
		case strings.HasPrefix(tok, "--"):
			name, val, hasVal := strings.Cut(strings.TrimPrefix(tok, "--"), "=")
			f := fs.Lookup(name)
			if f == nil {
				t.Errorf("%s: flag --%s does not exist for `%s` in SpiceDB %s", who, name, sub.CommandPath(), spicedbVersion)
				continue
			}
			if f.Deprecated != "" {
				t.Errorf("%s: flag --%s is deprecated in SpiceDB %s: %s", who, name, spicedbVersion, f.Deprecated)
			}
			if !hasVal {
				if f.NoOptDefVal != "" {
					val = f.NoOptDefVal
				} else if i+1 < len(rest) {
					i++
					val = rest[i]
				} else {
					t.Errorf("%s: flag --%s needs a value", who, name)
					continue
				}
			}
			set(f, val, "command")
		case strings.HasPrefix(tok, "-") && len(tok) > 1:
			t.Errorf("%s: short flag %s: spell flags out (--name) so they can be checked", who, tok)
		default:
			inv.args = append(inv.args, tok)
		}
	}

	names := make([]string, 0, len(env))
	for k := range env {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !strings.HasPrefix(k, "SPICEDB_") {
			continue
		}
		f := fs.Lookup(flagNameForEnv(k))
		if f == nil || envNameForFlag(f.Name) != k {
			t.Errorf("%s: environment variable %s matches no flag of `%s` in SpiceDB %s", who, k, sub.CommandPath(), spicedbVersion)
			continue
		}
		if f.Deprecated != "" {
			t.Errorf("%s: %s sets --%s, deprecated in SpiceDB %s: %s", who, k, f.Name, spicedbVersion, f.Deprecated)
		}
		if _, dup := inv.values[f.Name]; dup {
			t.Errorf("%s: --%s is set both on the command line and as %s (the command line wins)", who, f.Name, k)
			continue
		}
		set(f, env[k], k)
	}

	fs.VisitAll(func(f *pflag.Flag) {
		if _, required := f.Annotations[cobra.BashCompOneRequiredFlag]; required {
			if _, ok := inv.values[f.Name]; !ok {
				t.Errorf("%s: required flag --%s (or %s) is not set", who, f.Name, envNameForFlag(f.Name))
			}
		}
	})
	return inv
}

// operatorOwnKeys are SpiceDBCluster spec.config keys the SpiceDB operator consumes itself
// instead of passing them to SpiceDB as SPICEDB_* variables (spicedb-operator pkg/config).
var operatorOwnKeys = map[string]bool{
	"image": true, "projectLabels": true, "projectAnnotations": true, "tlsSecretName": true,
	"dispatchUpstreamCASecretName": true, "dispatchUpstreamCAFilePath": true,
	"dispatchEnabled": true, "telemetryCASecretName": true, "envPrefix": true, "cmd": true,
	"skipMigrations": true, "targetMigration": true, "migrationLogLevel": true,
	"spannerCredentials": true, "datastoreTLSSecretName": true, "replicas": true,
	"extraPodLabels": true, "extraPodAnnotations": true, "extraServiceAccountAnnotations": true,
	"serviceAccountName": true, "skipTLSWarning": true,
}

// operatorEnvName converts a config key the way the operator does (camelcase split, upper-cased,
// joined by "_"): datastoreGCWindow and datastoreGcWindow both become SPICEDB_DATASTORE_GC_WINDOW.
func operatorEnvName(prefix, key string) string {
	parts := []string{strings.ToUpper(strings.TrimSuffix(prefix, "_"))}
	for _, p := range camelSplit(key) {
		parts = append(parts, strings.ToUpper(p))
	}
	return strings.Join(parts, "_")
}

// camelSplit splits like github.com/fatih/camelcase: runs of one character class, with the
// last capital of a capital run moved to a following lower-case run ("GCWindow" -> GC, Window).
func camelSplit(s string) []string {
	class := func(r rune) int {
		switch {
		case unicode.IsLower(r):
			return 1
		case unicode.IsUpper(r):
			return 2
		case unicode.IsDigit(r):
			return 3
		}
		return 4
	}
	var runs [][]rune
	last := 0
	for _, r := range s {
		c := class(r)
		if c == last && len(runs) > 0 {
			runs[len(runs)-1] = append(runs[len(runs)-1], r)
		} else {
			runs = append(runs, []rune{r})
		}
		last = c
	}
	for i := 0; i+1 < len(runs); i++ {
		if len(runs[i]) > 0 && class(runs[i][0]) == 2 && class(runs[i+1][0]) == 1 {
			runs[i+1] = append([]rune{runs[i][len(runs[i])-1]}, runs[i+1]...)
			runs[i] = runs[i][:len(runs[i])-1]
		}
	}
	out := make([]string, 0, len(runs))
	for _, r := range runs {
		if len(r) > 0 {
			out = append(out, string(r))
		}
	}
	return out
}

func TestOperatorEnvNameMatchesTheOperator(t *testing.T) {
	for key, want := range map[string]string{
		"datastoreGcWindow":        "SPICEDB_DATASTORE_GC_WINDOW",
		"datastoreGCWindow":        "SPICEDB_DATASTORE_GC_WINDOW",
		"dispatchUpstreamCAPath":   "SPICEDB_DISPATCH_UPSTREAM_CA_PATH",
		"telemetryEndpoint":        "SPICEDB_TELEMETRY_ENDPOINT",
		"datastoreEngine":          "SPICEDB_DATASTORE_ENGINE",
		"grpcTLSKeyPath":           "SPICEDB_GRPC_TLS_KEY_PATH",
		"datastoreConnPoolReadMax": "SPICEDB_DATASTORE_CONN_POOL_READ_MAX",
	} {
		if got := operatorEnvName("SPICEDB", key); got != want {
			t.Errorf("operatorEnvName(%q) = %s, want %s", key, got, want)
		}
	}
}
