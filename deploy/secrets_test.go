package deploy_test

import (
	"bytes"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// ---------------------------------------------------------------------------------------------
// Secrets.

var secretName = regexp.MustCompile(`(?i)(key|token|password|secret|license)`)

func TestNoSecretIsHardCoded(t *testing.T) {
	c := loadCompose(t)
	interp := regexp.MustCompile(`^\$\{[A-Z0-9_]+(:?[-?][^}]*)?\}$`)
	for _, name := range c.names() {
		for k, v := range c.environment(t, name) {
			if secretName.MatchString(k) && v != "" && !interp.MatchString(v) {
				t.Errorf("compose service %s: %s is a literal; take it from the environment, e.g. ${VAR:?set it}", name, k)
			}
			if u, err := url.Parse(v); err == nil && u.User != nil {
				if _, has := u.User.Password(); has && !strings.Contains(v, "${") {
					t.Errorf("compose service %s: %s holds a password", name, k)
				}
			}
		}
		for _, tok := range c.command(t, name) {
			for _, f := range []string{"--grpc-preshared-key", "--token", "--datastore-conn-uri"} {
				if strings.HasPrefix(tok, f) {
					t.Errorf("compose service %s passes %s on the command line (visible in ps); use the environment", name, f)
				}
			}
		}
	}
	if s := string(readFile(t, composeDir+"/.gitignore")); !regexp.MustCompile(`(?m)^\.env$`).MatchString(s) {
		t.Errorf("%s/.gitignore does not ignore .env", composeDir)
	}

	k := loadKustomization(t)
	if len(k.SecretGenerator) == 0 {
		t.Errorf("%s: no secretGenerator", kustomYML)
	}
	for _, g := range k.SecretGenerator {
		if len(g.Literals) > 0 {
			t.Errorf("%s: secretGenerator %s has literals: secrets must come from uncommitted files", kustomYML, g.Name)
		}
		for _, f := range g.Files {
			_, path, _ := strings.Cut(f, "=")
			if path == "" {
				path = f
			}
			ex := filepath.Join(kubeDir, path+".example")
			b, err := os.ReadFile(ex)
			if err != nil {
				t.Errorf("%s: secretGenerator %s file %s has no placeholder %s: %v", kustomYML, g.Name, path, ex, err)
				continue
			}
			if !bytes.Contains(b, []byte("REPLACE_ME")) {
				t.Errorf("%s is not clearly marked REPLACE_ME", ex)
			}
		}
	}
	ignore := string(readFile(t, kubeDir+"/secrets/.gitignore"))
	if !regexp.MustCompile(`(?m)^\*$`).MatchString(ignore) || !strings.Contains(ignore, "!*.example") {
		t.Errorf("%s/secrets/.gitignore must ignore everything but the *.example placeholders", kubeDir)
	}
	for _, obj := range kubeObjects(t) {
		if obj.kind() == "Secret" && (obj.doc["data"] != nil || obj.doc["stringData"] != nil) {
			t.Errorf("%s: Secret %s with data in a committed file; use the secretGenerator", obj.file, obj.name())
		}
		for _, e := range podEnv(obj.doc) {
			name := str(e["name"])
			if secretName.MatchString(name) || strings.HasSuffix(name, "_URI") {
				if dig(e, "valueFrom", "secretKeyRef") == nil {
					t.Errorf("%s: %s/%s env %s must come from a secretKeyRef", obj.file, obj.kind(), obj.name(), name)
				}
			}
		}
	}
}
