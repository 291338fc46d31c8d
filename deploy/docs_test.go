package deploy_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// ---------------------------------------------------------------------------------------------
// docs/deploy.md.

func TestDeployDocCoversTheTopicsAndNamesRealFlags(t *testing.T) {
	doc := string(readFile(t, deployDoc))
	for _, topic := range []string{
		"Single machine", "Cluster", "Sizing", "Consistency", "new-enemy", "gc.ttlseconds",
		"rangefeed", "quantization", "Backups", "accessctl export", "accessctl import",
		"Upgrades", "migrate head", "Monitoring", "What is tested",
		"deploy/local-postgres/pg.sh", "deploy/compose/compose.yaml", "deploy/kubernetes",
	} {
		if !strings.Contains(doc, topic) {
			t.Errorf("%s does not cover %q", deployDoc, topic)
		}
	}

	root := buildSpiceDBRoot(t)
	var sets []*pflag.FlagSet
	for _, path := range [][]string{{"serve"}, {"datastore", "migrate"}} {
		c, _, err := root.Find(path)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.InheritedFlags()
		sets = append(sets, c.Flags())
	}
	lookup := func(name string) *pflag.Flag {
		for _, fs := range sets {
			if f := fs.Lookup(name); f != nil {
				return f
			}
		}
		return nil
	}
	// Flags with these prefixes are SpiceDB's (accessctl's own flags do not use them).
	for _, m := range regexp.MustCompile(`--((?:datastore|dispatch|grpc|metrics|telemetry|ns-cache)-[a-z0-9-]+)`).FindAllStringSubmatch(doc, -1) {
		if f := lookup(m[1]); f == nil {
			t.Errorf("%s mentions --%s, which SpiceDB %s does not have", deployDoc, m[1], spicedbVersion)
		} else if f.Deprecated != "" {
			t.Errorf("%s recommends --%s, deprecated in %s", deployDoc, m[1], spicedbVersion)
		}
	}
	for _, m := range regexp.MustCompile(`\bSPICEDB_[A-Z0-9_]+\b`).FindAllString(doc, -1) {
		if m == "SPICEDB_PRESHARED_KEY" { // compose's own variable (deploy/compose/.env)
			continue
		}
		if lookup(flagNameForEnv(m)) == nil {
			t.Errorf("%s mentions %s, which maps to no SpiceDB %s flag", deployDoc, m, spicedbVersion)
		}
	}
}
