package deploy_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// ---------------------------------------------------------------------------------------------
// Kubernetes wiring.

func TestKubernetesObjectsAreWired(t *testing.T) {
	k := loadKustomization(t)
	generated := map[string][]string{}
	for _, g := range k.SecretGenerator {
		for _, f := range g.Files {
			key, _, ok := strings.Cut(f, "=")
			if !ok {
				key = filepath.Base(f)
			}
			generated[g.Name] = append(generated[g.Name], key)
		}
	}

	sc := spiceDBCluster(t)
	secret := str(dig(sc.doc, "spec", "secretName"))
	for _, key := range []string{"datastore_uri", "preshared_key"} {
		if !slices.Contains(generated[secret], key) {
			t.Errorf("%s names Secret %q, but the secretGenerator gives it no key %s", sc.file, secret, key)
		}
	}

	var consumer *kubeObject
	for _, obj := range kubeObjects(t) {
		for _, e := range podEnv(obj.doc) {
			if ref, ok := dig(e, "valueFrom", "secretKeyRef").(map[string]any); ok {
				if !slices.Contains(generated[str(ref["name"])], str(ref["key"])) {
					t.Errorf("%s: env %s reads Secret %s key %s, which the secretGenerator does not make", obj.file, str(e["name"]), str(ref["name"]), str(ref["key"]))
				}
			}
		}
		if obj.kind() == "Deployment" && strings.Contains(obj.name(), "audit") {
			o := obj
			consumer = &o
		}
	}
	if consumer == nil {
		t.Fatal("no audit consumer Deployment")
	}
	ctr := mainContainer(consumer.doc)
	argv := slices.Concat(asStrings(t, ctr["command"]), asStrings(t, ctr["args"]))
	if len(argv) > 0 {
		argv[0] = filepath.Base(argv[0])
	}
	if got := strings.Join(argv, " "); !strings.HasPrefix(got, "accessctl audit consume --datastore ") {
		t.Errorf("%s: runs %q, want accessctl audit consume --datastore ...", consumer.file, got)
	}
	env := map[string]map[string]any{}
	for _, e := range podEnv(consumer.doc) {
		env[str(e["name"])] = e
	}
	if ep := str(env["ACCESSCTL_ENDPOINT"]["value"]); ep != str(dig(sc.doc, "metadata", "name"))+":50051" {
		t.Errorf("%s: ACCESSCTL_ENDPOINT %q, want the operator's Service %s:50051", consumer.file, ep, str(dig(sc.doc, "metadata", "name")))
	}
	if ref := str(dig(env["ACCESSCTL_TOKEN"], "valueFrom", "secretKeyRef", "name")); ref != secret {
		t.Errorf("%s: ACCESSCTL_TOKEN comes from Secret %q, want SpiceDB's %q", consumer.file, ref, secret)
	}
	if n, _ := dig(consumer.doc, "spec", "replicas").(int); n != 1 {
		t.Errorf("%s: %d replicas; a Watch consumer must run alone", consumer.file, n)
	}
	if s := str(dig(consumer.doc, "spec", "strategy", "type")); s != "Recreate" {
		t.Errorf("%s: strategy %q; want Recreate so two consumers never overlap", consumer.file, s)
	}
}
