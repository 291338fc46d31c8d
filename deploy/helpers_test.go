// Static checks of the deployment files under deploy/compose and deploy/kubernetes.
//
// Nothing here starts a container or talks to a network: these machines have no container
// engine. The tests parse the files and hold them against SpiceDB v1.57.1's real command tree
// (github.com/authzed/spicedb/pkg/cmd.BuildRootCommand, the tree cmd/spicedb runs), so a flag or
// SPICEDB_* variable that v1.57.1 does not know, or a value it cannot parse, fails here instead
// of at `docker compose up` or in a crash-looping pod.
package deploy_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The paths and versions the tests check, and the helpers several test files share (the
// compose and Kubernetes models, file and YAML access). Helpers about one subject live with
// its tests: the SpiceDB command tree in spicedbflags_test.go, image references in
// images_test.go, HAProxy and SQL parsing in crdb_test.go.

const (
	spicedbModule  = "github.com/authzed/spicedb"
	spicedbVersion = "v1.57.1"
	spicedbImage   = "authzed/spicedb"
	cockroachImage = "cockroachdb/cockroach"
	haproxyImage   = "haproxy"

	composeDir = "compose"
	kubeDir    = "kubernetes"
	composeYML = "compose/compose.yaml"
	dockerfile = "compose/Dockerfile"
	haproxyCfg = "compose/haproxy.cfg"
	initSQL    = "compose/crdb-init.sql"
	initScript = "compose/crdb-init.sh"
	kustomYML  = "kubernetes/kustomization.yaml"
	deployDoc  = "../docs/deploy.md"

	cockroachSQLPort = 26257
)

// =============================================================================================
// Compose model.

type composeFile struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image       string         `yaml:"image"`
	Build       any            `yaml:"build"`
	Command     any            `yaml:"command"`
	Entrypoint  any            `yaml:"entrypoint"`
	Environment any            `yaml:"environment"`
	DependsOn   any            `yaml:"depends_on"`
	Healthcheck map[string]any `yaml:"healthcheck"`
	Restart     string         `yaml:"restart"`
	Volumes     []string       `yaml:"volumes"`
	Ports       []string       `yaml:"ports"`
	Networks    any            `yaml:"networks"`
}

func loadCompose(t *testing.T) *composeFile {
	t.Helper()
	var c composeFile
	if err := yaml.Unmarshal(readFile(t, composeYML), &c); err != nil {
		t.Fatalf("%s: %v", composeYML, err)
	}
	if len(c.Services) == 0 {
		t.Fatalf("%s: no services", composeYML)
	}
	return &c
}

func (c *composeFile) names() []string {
	names := make([]string, 0, len(c.Services))
	for n := range c.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (c *composeFile) command(t *testing.T, name string) []string {
	t.Helper()
	return asStrings(t, c.Services[name].Command)
}

// environment reads both compose forms: a mapping, or a list of KEY=VALUE.
func (c *composeFile) environment(t *testing.T, name string) map[string]string {
	t.Helper()
	env := map[string]string{}
	switch e := c.Services[name].Environment.(type) {
	case nil:
	case map[string]any:
		for k, v := range e {
			if v != nil {
				env[k] = fmt.Sprint(v)
			} else {
				env[k] = ""
			}
		}
	case []any:
		for _, item := range e {
			k, v, _ := strings.Cut(fmt.Sprint(item), "=")
			env[k] = v
		}
	default:
		t.Fatalf("service %s: environment is %T", name, e)
	}
	return env
}

// dependsOn maps each dependency to its condition ("" for the short list form).
func (c *composeFile) dependsOn(t *testing.T, name string) map[string]string {
	t.Helper()
	deps := map[string]string{}
	switch d := c.Services[name].DependsOn.(type) {
	case nil:
	case []any:
		for _, item := range d {
			deps[fmt.Sprint(item)] = ""
		}
	case map[string]any:
		for k, v := range d {
			m, _ := v.(map[string]any)
			deps[k] = str(m["condition"])
		}
	default:
		t.Fatalf("service %s: depends_on is %T", name, d)
	}
	return deps
}

func (c *composeFile) transitiveDeps(t *testing.T, name string) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	var walk func(string)
	walk = func(n string) {
		for d := range c.dependsOn(t, n) {
			if !seen[d] {
				seen[d] = true
				walk(d)
			}
		}
	}
	walk(name)
	return seen
}

func (c *composeFile) aliases(t *testing.T, name string) []string {
	t.Helper()
	var out []string
	if nets, ok := c.Services[name].Networks.(map[string]any); ok {
		for _, n := range nets {
			if m, ok := n.(map[string]any); ok {
				out = append(out, asStrings(t, m["aliases"])...)
			}
		}
	}
	return out
}

type composeRoles struct {
	nodes, inits, lbs, migrates, replicas, accessctl []string
}

// classify finds each service's role from what it runs, not from its name.
func classify(t *testing.T, c *composeFile) composeRoles {
	t.Helper()
	var r composeRoles
	for _, name := range c.names() {
		s := c.Services[name]
		repo, _ := splitImage(s.Image)
		argv := c.command(t, name)
		switch {
		case repo == cockroachImage && len(argv) > 0 && argv[0] == "start":
			r.nodes = append(r.nodes, name)
		case repo == cockroachImage:
			r.inits = append(r.inits, name)
		case repo == haproxyImage:
			r.lbs = append(r.lbs, name)
		case repo == spicedbImage:
			root := buildSpiceDBRoot(t)
			sub, _, err := root.Find(argv)
			if err != nil {
				t.Fatalf("service %s: %v", name, err)
			}
			switch sub.Name() {
			case "migrate":
				r.migrates = append(r.migrates, name)
			case "serve":
				r.replicas = append(r.replicas, name)
			default:
				t.Errorf("service %s runs `%s`", name, sub.CommandPath())
			}
		case s.Build != nil:
			r.accessctl = append(r.accessctl, name)
		default:
			t.Errorf("service %s (%s) has no known role", name, s.Image)
		}
	}
	return r
}

func parsePublishedPort(p string) (host, hostPort string, ok bool) {
	parts := strings.Split(strings.TrimSuffix(strings.TrimSuffix(p, "/tcp"), "/udp"), ":")
	switch len(parts) {
	case 3:
		return parts[0], parts[1], true
	case 2:
		return "", parts[0], true
	}
	return "", "", false
}

// flagValue returns the value of --name=value or --name value in argv.
func flagValue(argv []string, name string) string {
	for i, a := range argv {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
		if a == name && i+1 < len(argv) {
			return argv[i+1]
		}
	}
	return ""
}

// =============================================================================================
// Kubernetes model.

type kustomizeImage struct {
	Name    string `yaml:"name"`
	NewName string `yaml:"newName"`
	NewTag  string `yaml:"newTag"`
	Digest  string `yaml:"digest"`
}

type kustomization struct {
	Namespace       string   `yaml:"namespace"`
	Resources       []string `yaml:"resources"`
	SecretGenerator []struct {
		Name     string   `yaml:"name"`
		Files    []string `yaml:"files"`
		Literals []string `yaml:"literals"`
		Envs     []string `yaml:"envs"`
	} `yaml:"secretGenerator"`
	Images []kustomizeImage `yaml:"images"`
}

func loadKustomization(t *testing.T) *kustomization {
	t.Helper()
	var k kustomization
	if err := yaml.Unmarshal(readFile(t, kustomYML), &k); err != nil {
		t.Fatalf("%s: %v", kustomYML, err)
	}
	if len(k.Resources) == 0 {
		t.Fatalf("%s: no resources", kustomYML)
	}
	return &k
}

type kubeObject struct {
	file string
	doc  map[string]any
}

func (o kubeObject) kind() string { return str(o.doc["kind"]) }
func (o kubeObject) name() string { return str(dig(o.doc, "metadata", "name")) }

// kubeObjects are the documents of every resource kustomization.yaml lists; each resource
// file must exist and hold Kubernetes objects.
func kubeObjects(t *testing.T) []kubeObject {
	t.Helper()
	var out []kubeObject
	for _, r := range loadKustomization(t).Resources {
		p := filepath.Join(kubeDir, r)
		for _, d := range yamlDocs(t, p) {
			m, _ := d.(map[string]any)
			if str(m["apiVersion"]) == "" || str(m["kind"]) == "" || str(dig(m, "metadata", "name")) == "" {
				t.Errorf("%s: a document without apiVersion, kind or metadata.name", p)
				continue
			}
			out = append(out, kubeObject{file: p, doc: m})
		}
	}
	return out
}

func spiceDBCluster(t *testing.T) kubeObject {
	t.Helper()
	var found []kubeObject
	for _, o := range kubeObjects(t) {
		if o.kind() == "SpiceDBCluster" {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one SpiceDBCluster in %s's resources, found %d", kustomYML, len(found))
	}
	return found[0]
}

func podSpec(doc map[string]any) map[string]any {
	switch str(doc["kind"]) {
	case "Pod":
		m, _ := doc["spec"].(map[string]any)
		return m
	case "CronJob":
		m, _ := dig(doc, "spec", "jobTemplate", "spec", "template", "spec").(map[string]any)
		return m
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job":
		m, _ := dig(doc, "spec", "template", "spec").(map[string]any)
		return m
	}
	return nil
}

func podContainers(doc map[string]any) []map[string]any {
	spec := podSpec(doc)
	var out []map[string]any
	for _, key := range []string{"initContainers", "containers"} {
		list, _ := spec[key].([]any)
		for _, c := range list {
			if m, ok := c.(map[string]any); ok {
				out = append(out, m)
			}
		}
	}
	return out
}

// mainContainer is the pod's first (non-init) container.
func mainContainer(doc map[string]any) map[string]any {
	list, _ := podSpec(doc)["containers"].([]any)
	if len(list) > 0 {
		if m, ok := list[0].(map[string]any); ok {
			return m
		}
	}
	return map[string]any{}
}

func podImages(doc map[string]any) []string {
	var out []string
	for _, c := range podContainers(doc) {
		out = append(out, str(c["image"]))
	}
	return out
}

func podEnv(doc map[string]any) []map[string]any {
	var out []map[string]any
	for _, c := range podContainers(doc) {
		list, _ := c["env"].([]any)
		for _, e := range list {
			if m, ok := e.(map[string]any); ok {
				out = append(out, m)
			}
		}
	}
	return out
}

// ---------------------------------------------------------------------------------------------
// Images.
// splitImage splits "repo:tag" (a registry port is not a tag; a digest is dropped).
func splitImage(ref string) (repo, tag string) {
	ref, _, _ = strings.Cut(ref, "@")
	i := strings.LastIndex(ref, ":")
	if i < 0 || i < strings.LastIndex(ref, "/") {
		return ref, ""
	}
	return ref[:i], ref[i+1:]
}

// =============================================================================================
// Files.

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func isYAML(p string) bool {
	return strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")
}

// deployFiles lists the files under deploy/compose and deploy/kubernetes (paths relative to
// deploy/) that keep returns true for.
func deployFiles(t *testing.T, keep func(string) bool) []string {
	t.Helper()
	var out []string
	for _, dir := range []string{composeDir, kubeDir} {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && keep(filepath.ToSlash(p)) {
				out = append(out, filepath.ToSlash(p))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func yamlDocs(t *testing.T, path string) []any {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(readFile(t, path)))
	var docs []any
	for {
		var d any
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
}

// headerComment returns the comment lines a file starts with (after a shebang or a Dockerfile
// parser directive): "#" lines, or "--" lines for SQL.
func headerComment(b []byte) []string {
	var out []string
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if i == 0 && (strings.HasPrefix(l, "#!") || strings.HasPrefix(l, "# syntax=")) {
			continue
		}
		switch {
		case strings.HasPrefix(l, "#"):
			out = append(out, strings.TrimSpace(strings.TrimPrefix(l, "#")))
		case strings.HasPrefix(l, "--"):
			out = append(out, strings.TrimSpace(strings.TrimPrefix(l, "--")))
		default:
			return out
		}
	}
	return out
}

// =============================================================================================
// Generic YAML access.

func dig(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func str(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// asStrings reads a compose command/entrypoint or a YAML list: a list of scalars, or one string
// split on white space.
func asStrings(t *testing.T, v any) []string {
	t.Helper()
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return strings.Fields(x)
	case []any:
		out := make([]string, 0, len(x))
		for _, item := range x {
			out = append(out, str(item))
		}
		return out
	}
	t.Fatalf("want a string or a list, got %T", v)
	return nil
}
