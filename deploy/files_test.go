package deploy_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ---------------------------------------------------------------------------------------------
// Every YAML file parses.

func TestEveryYAMLFileParses(t *testing.T) {
	files := deployFiles(t, func(p string) bool { return isYAML(p) })
	if len(files) < 5 {
		t.Fatalf("found only %d YAML files under deploy/compose and deploy/kubernetes: %v", len(files), files)
	}
	for _, p := range files {
		docs := yamlDocs(t, p)
		if len(docs) == 0 {
			t.Errorf("%s: no YAML document", p)
		}
		for i, d := range docs {
			if _, ok := d.(map[string]any); !ok {
				t.Errorf("%s: document %d is %T, want a mapping", p, i, d)
			}
		}
	}
}

// ---------------------------------------------------------------------------------------------
// Runbook headers.

// requiredHeaderPhrases are what a reader must find in the header comment of these files.
var requiredHeaderPhrases = map[string][]string{
	composeYML: {
		"What it starts", "Order", "Ports", "Connect", "Tear down",
		"docker compose up", "docker compose down",
		"accessctl --endpoint localhost:50051 --insecure --token",
	},
	kustomYML: {
		"What it creates", "Prerequisites", "Apply", "Connect", "Tear down",
		"kubectl apply -k deploy/kubernetes", "kubectl delete -k deploy/kubernetes",
	},
	"kubernetes/audit-consumer.yaml": {"accessctl audit consume --datastore", "audit_log", "SIGTERM"},
	"kubernetes/spicedbcluster.yaml": {spicedbVersion, "cockroachdb", "tlsSecretName"},
	"compose/crdb-init.sql":          {"kv.rangefeed.enabled", "gc.ttlseconds", "RANGE default"},
	dockerfile:                       {"docker build -f deploy/compose/Dockerfile"},
	haproxyCfg:                       {"26257", "/health?ready=1"},
}

func TestEveryFileStartsWithARunbookHeader(t *testing.T) {
	files := deployFiles(t, func(p string) bool {
		// Secret placeholders become Secret values byte for byte: no comments there.
		return !strings.HasPrefix(p, kubeDir+"/secrets/")
	})
	for _, p := range files {
		base := filepath.Base(p)
		min := 5
		if base == ".gitignore" || strings.HasSuffix(base, ".dockerignore") {
			min = 1
		}
		header := headerComment(readFile(t, p))
		if n := len(header); n < min {
			t.Errorf("%s: header comment has %d lines, want at least %d (what it is, order, how to use it)", p, n, min)
			continue
		}
		text := strings.Join(header, "\n")
		for _, phrase := range requiredHeaderPhrases[p] {
			if !strings.Contains(text, phrase) {
				t.Errorf("%s: header does not mention %q", p, phrase)
			}
		}
	}
	for p := range requiredHeaderPhrases {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}
