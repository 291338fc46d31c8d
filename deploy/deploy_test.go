// Static checks of the deployment files under deploy/compose and deploy/kubernetes.
//
// Nothing here starts a container or talks to a network: these machines have no container
// engine. The tests parse the files and hold them against SpiceDB v1.57.1's real command tree
// (github.com/authzed/spicedb/pkg/cmd.BuildRootCommand, the tree cmd/spicedb runs), so a flag or
// SPICEDB_* variable that v1.57.1 does not know, or a value it cannot parse, fails here instead
// of at `docker compose up` or in a crash-looping pod.
package deploy_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	spicedbcmd "github.com/authzed/spicedb/pkg/cmd"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

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

func TestComposeHeaderListsEveryPublishedPort(t *testing.T) {
	c := loadCompose(t)
	header := strings.Join(headerComment(readFile(t, composeYML)), "\n")
	for _, name := range c.names() {
		for _, p := range c.Services[name].Ports {
			host, hostPort, ok := parsePublishedPort(p)
			if !ok {
				t.Errorf("service %s: cannot read port mapping %q", name, p)
				continue
			}
			if host != "127.0.0.1" {
				t.Errorf("service %s: port %q is published on every interface; bind it to 127.0.0.1", name, p)
			}
			if !strings.Contains(header, hostPort) {
				t.Errorf("service %s publishes port %s, but the header's port list does not mention it", name, hostPort)
			}
		}
	}
}

// ---------------------------------------------------------------------------------------------
// Images are pinned.

func TestEveryImageIsPinned(t *testing.T) {
	c := loadCompose(t)
	for _, name := range c.names() {
		s := c.Services[name]
		switch {
		case s.Image != "":
			if err := checkPinned(s.Image); err != nil {
				t.Errorf("compose service %s: %v", name, err)
			}
		case s.Build == nil:
			t.Errorf("compose service %s has neither image nor build", name)
		}
	}

	froms := dockerfileFroms(t, dockerfile)
	if len(froms) < 2 {
		t.Errorf("%s: want a build stage and a runtime stage, found FROM %v", dockerfile, froms)
	}
	for _, ref := range froms {
		if err := checkPinned(ref); err != nil {
			t.Errorf("%s: FROM %s: %v", dockerfile, ref, err)
		}
	}

	k := loadKustomization(t)
	overrides := map[string]kustomizeImage{}
	for _, im := range k.Images {
		overrides[im.Name] = im
		if im.NewTag == "" && im.Digest == "" {
			t.Errorf("%s: images entry %s sets neither newTag nor digest", kustomYML, im.Name)
		}
		if im.NewTag != "" {
			if err := checkPinned(im.Name + ":" + im.NewTag); err != nil {
				t.Errorf("%s: images entry %s: %v", kustomYML, im.Name, err)
			}
		}
	}
	for _, obj := range kubeObjects(t) {
		for _, ref := range podImages(obj.doc) {
			if err := checkPinned(ref); err != nil {
				t.Errorf("%s: %s/%s: %v", obj.file, obj.kind(), obj.name(), err)
			}
			name := ref
			if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
				name = ref[:i]
			}
			if im, ok := overrides[name]; ok && im.NewTag != "" {
				if err := checkPinned(name + ":" + im.NewTag); err != nil {
					t.Errorf("%s: %s after kustomize images: %v", obj.file, ref, err)
				}
			}
		}
	}
}

func TestImageVersionsMatchTheModuleGraph(t *testing.T) {
	// The SpiceDB images must run the version whose command tree these tests check, the
	// version go.mod links into accessctl.
	if v := linkedModuleVersion(t, spicedbModule); v != spicedbVersion {
		t.Fatalf("go.mod links %s %s but the deployment files and this test target %s: update both", spicedbModule, v, spicedbVersion)
	}
	c := loadCompose(t)
	for _, name := range c.names() {
		img := c.Services[name].Image
		switch repo, tag := splitImage(img); repo {
		case spicedbImage:
			if tag != spicedbVersion {
				t.Errorf("compose service %s runs %s, want %s:%s", name, img, spicedbImage, spicedbVersion)
			}
		case cockroachImage:
			if !regexp.MustCompile(`^v\d+\.\d+\.\d+$`).MatchString(tag) {
				t.Errorf("compose service %s: %s: want an exact release tag vX.Y.Z", name, img)
			}
		case haproxyImage:
			if !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(tag) {
				t.Errorf("compose service %s: %s: want an exact release tag X.Y.Z", name, img)
			}
		}
	}

	goMin := goDirective(t)
	for _, ref := range dockerfileFroms(t, dockerfile) {
		if repo, tag := splitImage(ref); repo == "golang" {
			m := regexp.MustCompile(`^(\d+\.\d+\.\d+)`).FindStringSubmatch(tag)
			if m == nil {
				t.Errorf("%s: FROM %s: want an exact Go release (x.y.z)", dockerfile, ref)
				continue
			}
			if compareVersions(m[1], goMin) < 0 {
				t.Errorf("%s: FROM %s is older than go.mod's go %s", dockerfile, ref, goMin)
			}
		}
	}

	sc := spiceDBCluster(t)
	if v := str(dig(sc.doc, "spec", "version")); v != spicedbVersion {
		t.Errorf("%s: spec.version = %q, want %s", sc.file, v, spicedbVersion)
	}
}

// ---------------------------------------------------------------------------------------------
// Compose start-up order.

func TestComposeStartsInOrder(t *testing.T) {
	c := loadCompose(t)
	r := classify(t, c)
	if len(r.nodes) < 3 {
		t.Fatalf("want at least 3 CockroachDB nodes (cockroach start), found %v", r.nodes)
	}
	if len(r.inits) != 1 || len(r.migrates) != 1 || len(r.lbs) != 1 || len(r.accessctl) != 1 {
		t.Fatalf("want one init, one migrate, one load balancer and one accessctl service; found init %v, migrate %v, lb %v, accessctl %v",
			r.inits, r.migrates, r.lbs, r.accessctl)
	}
	if len(r.replicas) < 2 {
		t.Fatalf("want at least 2 SpiceDB serve replicas, found %v", r.replicas)
	}
	init, migrate, lb, ctl := r.inits[0], r.migrates[0], r.lbs[0], r.accessctl[0]

	want := []struct{ from, to, cond string }{}
	for _, n := range r.nodes {
		want = append(want, struct{ from, to, cond string }{init, n, "service_healthy"})
		want = append(want, struct{ from, to, cond string }{lb, n, "service_healthy"})
	}
	want = append(want, struct{ from, to, cond string }{init, lb, "service_started"})
	want = append(want, struct{ from, to, cond string }{migrate, init, "service_completed_successfully"})
	for _, rep := range r.replicas {
		want = append(want, struct{ from, to, cond string }{rep, migrate, "service_completed_successfully"})
		want = append(want, struct{ from, to, cond string }{ctl, rep, "service_healthy"})
	}
	for _, w := range want {
		deps := c.dependsOn(t, w.from)
		got, ok := deps[w.to]
		switch {
		case !ok:
			t.Errorf("%s must depend on %s (condition: %s)", w.from, w.to, w.cond)
		case got != w.cond:
			t.Errorf("%s depends on %s with condition %q, want %q", w.from, w.to, got, w.cond)
		}
	}

	// Every dependency names a service; service_healthy needs a healthcheck; one-shot jobs
	// are not restarted after they succeed.
	for _, name := range c.names() {
		for dep, cond := range c.dependsOn(t, name) {
			target, ok := c.Services[dep]
			if !ok {
				t.Errorf("%s depends on unknown service %s", name, dep)
				continue
			}
			if cond == "service_healthy" && len(target.Healthcheck) == 0 {
				t.Errorf("%s waits for %s to be healthy, but %s has no healthcheck", name, dep, dep)
			}
		}
	}
	for _, job := range []string{init, migrate, ctl} {
		if rs := c.Services[job].Restart; rs != "no" && !strings.HasPrefix(rs, "on-failure") {
			t.Errorf("one-shot service %s has restart %q; want \"no\" (or on-failure) so it stays completed", job, rs)
		}
	}

	// The full chain, transitively: accessctl comes after everything else.
	closure := c.transitiveDeps(t, ctl)
	for _, s := range slices.Concat(r.nodes, []string{lb, init, migrate}, r.replicas) {
		if !closure[s] {
			t.Errorf("%s does not (transitively) wait for %s", ctl, s)
		}
	}
	for _, name := range c.names() {
		if c.transitiveDeps(t, name)[name] {
			t.Errorf("dependency cycle through %s", name)
		}
	}
}

func TestComposeCockroachNodesFormOneCluster(t *testing.T) {
	c := loadCompose(t)
	r := classify(t, c)
	for _, n := range r.nodes {
		argv := c.command(t, n)
		join := flagValue(argv, "--join")
		var joined []string
		for _, hp := range strings.Split(join, ",") {
			joined = append(joined, strings.Split(hp, ":")[0])
		}
		sort.Strings(joined)
		if !slices.Equal(joined, r.nodes) {
			t.Errorf("%s: --join=%s, want every node %v", n, join, r.nodes)
		}
		if adv := flagValue(argv, "--advertise-addr"); adv != fmt.Sprintf("%s:%d", n, cockroachSQLPort) {
			t.Errorf("%s: --advertise-addr=%q, want %s:%d", n, adv, n, cockroachSQLPort)
		}
		if len(c.Services[n].Volumes) == 0 {
			t.Errorf("%s: no data volume: the cluster would not survive `docker compose down`", n)
		}
	}
}

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

func TestComposeMigrateRunsDatastoreMigrateHead(t *testing.T) {
	c := loadCompose(t)
	r := classify(t, c)
	for _, m := range r.migrates {
		inv := checkSpiceDBInvocation(t, m, c.command(t, m), c.environment(t, m))
		if inv == nil {
			continue
		}
		if got := inv.cmd.CommandPath(); got != "spicedb datastore migrate" {
			t.Errorf("%s runs `%s`, want `spicedb datastore migrate` (top-level `migrate` is deprecated in %s)", m, got, spicedbVersion)
		}
		if !slices.Equal(inv.args, []string{"head"}) {
			t.Errorf("%s migrates to %v, want [head]", m, inv.args)
		}
		if inv.value("datastore-conn-uri") == "" {
			t.Errorf("%s: no datastore URI (flag or SPICEDB_DATASTORE_CONN_URI)", m)
		}
	}
}

func TestComposeReplicasFormADispatchCluster(t *testing.T) {
	c := loadCompose(t)
	r := classify(t, c)
	keys := map[string]bool{}
	for _, rep := range r.replicas {
		inv := checkSpiceDBInvocation(t, rep, c.command(t, rep), c.environment(t, rep))
		if inv == nil {
			continue
		}
		if inv.value("dispatch-cluster-enabled") != "true" {
			t.Errorf("%s: --dispatch-cluster-enabled is %q, want true", rep, inv.value("dispatch-cluster-enabled"))
		}
		up := inv.value("dispatch-upstream-addr")
		u, err := url.Parse(up)
		if err != nil || u.Scheme != "dns" || u.Host != "" || !strings.HasPrefix(u.Path, "/") {
			t.Errorf("%s: --dispatch-upstream-addr=%q, want dns:///NAME:PORT", rep, up)
			continue
		}
		host, port, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), ":")
		if _, dport, _ := strings.Cut(inv.value("dispatch-cluster-addr"), ":"); port != dport {
			t.Errorf("%s: dispatch upstream port %q differs from --dispatch-cluster-addr %q", rep, port, inv.value("dispatch-cluster-addr"))
		}
		// The upstream name must resolve to every replica: a network alias they all carry.
		for _, other := range r.replicas {
			if !slices.Contains(c.aliases(t, other), host) {
				t.Errorf("%s dispatches to %s, but replica %s does not answer to that alias", rep, host, other)
			}
		}
		if inv.value("telemetry-endpoint") != "" {
			t.Errorf("%s: telemetry to the vendor is on (--telemetry-endpoint=%q); set it empty", rep, inv.value("telemetry-endpoint"))
		}
		// Dispatch authenticates with the first preshared key: every replica needs the same one.
		keys[inv.value("grpc-preshared-key")] = true
		if len(c.Services[rep].Healthcheck) == 0 {
			t.Errorf("%s has no healthcheck", rep)
		}
	}
	if len(keys) != 1 {
		t.Errorf("the replicas get different preshared keys %v; dispatch between them needs one key", keys)
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

// ---------------------------------------------------------------------------------------------
// CockroachDB preparation and the load balancer.

func TestCockroachInitPreparesRangefeedsDatabaseAndGC(t *testing.T) {
	sql := normalizeSQL(readFile(t, initSQL))
	for _, re := range []string{
		`set cluster setting kv\.rangefeed\.enabled = true;`,
		`create database if not exists spicedb;`,
	} {
		if !regexp.MustCompile(re).MatchString(sql) {
			t.Errorf("%s: missing statement /%s/", initSQL, re)
		}
	}
	rangeTTL := sqlTTL(t, sql, `alter range default configure zone using gc\.ttlseconds = (\d+);`)
	dbTTL := sqlTTL(t, sql, `alter database spicedb configure zone using gc\.ttlseconds = (\d+);`)
	if rangeTTL != dbTTL {
		t.Errorf("%s: gc.ttlseconds RANGE default %d != DATABASE spicedb %d; SpiceDB reads the database's (its table inherits it), RANGE default when that read fails", initSQL, rangeTTL, dbTTL)
	}

	// SpiceDB v1.57 lowers its GC window to its relationship table's gc.ttlseconds (inherited
	// from the database): the TTL must cover the window configured everywhere.
	ttl := time.Duration(min(rangeTTL, dbTTL)) * time.Second
	c := loadCompose(t)
	r := classify(t, c)
	for _, rep := range r.replicas {
		if inv := checkSpiceDBInvocation(t, rep, c.command(t, rep), c.environment(t, rep)); inv != nil {
			w, err := time.ParseDuration(inv.value("datastore-gc-window"))
			if err != nil {
				t.Errorf("%s: datastore-gc-window: %v", rep, err)
			} else if ttl < w {
				t.Errorf("%s: GC window %s exceeds gc.ttlseconds %s: SpiceDB would silently shrink it", rep, w, ttl)
			}
		}
	}
	sc := spiceDBCluster(t)
	if w := str(dig(sc.doc, "spec", "config", "datastoreGcWindow")); w != "" {
		if d, err := time.ParseDuration(w); err != nil || ttl < d {
			t.Errorf("%s: datastoreGcWindow %q is not covered by gc.ttlseconds %s", sc.file, w, ttl)
		}
	}

	script := string(readFile(t, initScript))
	for _, want := range []string{"cockroach init", "crdb-init.sql", "already been initialized"} {
		if !strings.Contains(script, want) {
			t.Errorf("%s does not contain %q", initScript, want)
		}
	}
	init := r.inits[0]
	vols := strings.Join(c.Services[init].Volumes, " ")
	for _, f := range []string{"./crdb-init.sh:", "./crdb-init.sql:"} {
		if !strings.Contains(vols, f) {
			t.Errorf("%s does not mount %s", init, strings.TrimSuffix(f, ":"))
		}
	}
	if ep := strings.Join(asStrings(t, c.Services[init].Entrypoint), " "); !strings.Contains(ep, "crdb-init.sh") {
		t.Errorf("%s: entrypoint %q does not run crdb-init.sh", init, ep)
	}
}

func TestHAProxyBalancesTheThreeCockroachNodes(t *testing.T) {
	c := loadCompose(t)
	r := classify(t, c)
	cfg := parseHAProxy(t, haproxyCfg)

	var front *haproxySection
	for i := range cfg {
		if cfg[i].kind == "frontend" && slices.Contains(cfg[i].binds, strconv.Itoa(cockroachSQLPort)) {
			front = &cfg[i]
		}
	}
	if front == nil {
		t.Fatalf("%s: no frontend binds :%d", haproxyCfg, cockroachSQLPort)
	}
	var back *haproxySection
	for i := range cfg {
		if cfg[i].kind == "backend" && cfg[i].name == front.defaultBackend {
			back = &cfg[i]
		}
	}
	if back == nil {
		t.Fatalf("%s: frontend %s has no default_backend defined", haproxyCfg, front.name)
	}
	var hosts []string
	for _, s := range back.servers {
		host, port, _ := strings.Cut(s.addr, ":")
		hosts = append(hosts, host)
		if port != strconv.Itoa(cockroachSQLPort) {
			t.Errorf("%s: server %s uses port %s, want %d", haproxyCfg, s.name, port, cockroachSQLPort)
		}
		if !s.check && !back.defaultCheck {
			t.Errorf("%s: server %s is not health-checked", haproxyCfg, s.name)
		}
	}
	sort.Strings(hosts)
	if !slices.Equal(hosts, r.nodes) {
		t.Errorf("%s: backend %s names %v, want the CockroachDB nodes %v", haproxyCfg, back.name, hosts, r.nodes)
	}
	if !strings.Contains(back.body, "/health?ready=1") {
		t.Errorf("%s: backend %s does not check readiness (/health?ready=1)", haproxyCfg, back.name)
	}

	lb := r.lbs[0]
	if vols := strings.Join(c.Services[lb].Volumes, " "); !strings.Contains(vols, "./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg") {
		t.Errorf("%s does not mount ./haproxy.cfg where the haproxy image reads it", lb)
	}

	// Every SpiceDB service reaches CockroachDB through the load balancer, database spicedb.
	for _, s := range slices.Concat(r.migrates, r.replicas) {
		inv := checkSpiceDBInvocation(t, s, c.command(t, s), c.environment(t, s))
		if inv == nil {
			continue
		}
		u, err := url.Parse(inv.value("datastore-conn-uri"))
		if err != nil {
			t.Errorf("%s: datastore URI: %v", s, err)
			continue
		}
		if u.Host != fmt.Sprintf("%s:%d", lb, cockroachSQLPort) || u.Path != "/spicedb" {
			t.Errorf("%s: datastore URI %s, want %s:%d/spicedb (the load balancer)", s, u.Redacted(), lb, cockroachSQLPort)
		}
	}
}

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

// =============================================================================================
// HAProxy.

type haproxyServer struct {
	name, addr string
	check      bool
}

type haproxySection struct {
	kind, name, body string
	binds            []string // ports
	defaultBackend   string
	servers          []haproxyServer
	defaultCheck     bool
}

func parseHAProxy(t *testing.T, path string) []haproxySection {
	t.Helper()
	var out []haproxySection
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, path)))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "global", "defaults", "frontend", "backend", "listen", "resolvers", "userlist", "peers":
			s := haproxySection{kind: f[0]}
			if len(f) > 1 {
				s.name = f[1]
			}
			out = append(out, s)
			continue
		}
		if len(out) == 0 {
			t.Fatalf("%s: %q outside any section", path, line)
		}
		s := &out[len(out)-1]
		s.body += strings.Join(f, " ") + "\n"
		switch f[0] {
		case "bind":
			if len(f) > 1 {
				_, port, _ := strings.Cut(f[1], ":")
				s.binds = append(s.binds, port)
			}
		case "default_backend":
			if len(f) > 1 {
				s.defaultBackend = f[1]
			}
		case "default-server":
			s.defaultCheck = slices.Contains(f[1:], "check")
		case "server":
			if len(f) < 3 {
				t.Errorf("%s: incomplete server line %q", path, line)
				continue
			}
			s.servers = append(s.servers, haproxyServer{name: f[1], addr: f[2], check: slices.Contains(f[3:], "check")})
		}
	}
	return out
}

// =============================================================================================
// SQL.

func normalizeSQL(b []byte) string {
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if i := strings.Index(l, "--"); i >= 0 {
			l = l[:i]
		}
		lines = append(lines, l)
	}
	return strings.Join(strings.Fields(strings.ToLower(strings.Join(lines, " "))), " ")
}

func sqlTTL(t *testing.T, sql, re string) int {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(sql)
	if m == nil {
		t.Errorf("%s: missing statement /%s/", initSQL, re)
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// =============================================================================================
// Images.

var floatingTags = map[string]bool{"latest": true, "stable": true, "edge": true, "nightly": true, "main": true, "master": true, "dev": true}

// checkPinned accepts a reference with a sha256 digest, or with a tag that is not a moving
// alias like latest.
func checkPinned(ref string) error {
	if ref == "" {
		return errors.New("empty image reference")
	}
	if strings.Contains(ref, "$") {
		return fmt.Errorf("%s: image chosen by a variable is not pinned", ref)
	}
	name, digest, hasDigest := strings.Cut(ref, "@")
	if hasDigest && !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(digest) {
		return fmt.Errorf("%s: malformed digest", ref)
	}
	_, tag := splitImage(name)
	if tag == "" && !hasDigest {
		return fmt.Errorf("%s: no tag or digest (means latest)", ref)
	}
	if tag != "" && (floatingTags[strings.ToLower(tag)] || strings.Contains(strings.ToLower(tag), "latest")) {
		return fmt.Errorf("%s: tag %q moves; pin a release", ref, tag)
	}
	return nil
}

// splitImage splits "repo:tag" (a registry port is not a tag; a digest is dropped).
func splitImage(ref string) (repo, tag string) {
	ref, _, _ = strings.Cut(ref, "@")
	i := strings.LastIndex(ref, ":")
	if i < 0 || i < strings.LastIndex(ref, "/") {
		return ref, ""
	}
	return ref[:i], ref[i+1:]
}

// dockerfileFroms returns the image of every FROM that is not an earlier stage.
func dockerfileFroms(t *testing.T, path string) []string {
	t.Helper()
	var out []string
	stages := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, path)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || !strings.EqualFold(f[0], "FROM") {
			continue
		}
		args := f[1:]
		for len(args) > 0 && strings.HasPrefix(args[0], "--") {
			args = args[1:]
		}
		if len(args) == 0 {
			t.Errorf("%s: FROM without an image", path)
			continue
		}
		if !stages[strings.ToLower(args[0])] {
			out = append(out, args[0])
		}
		if len(args) >= 3 && strings.EqualFold(args[1], "AS") {
			stages[strings.ToLower(args[2])] = true
		}
	}
	return out
}

// linkedModuleVersion is the version go.mod requires of path (test binaries carry no module
// list in their build info). A replace directive for it fails the test: the tree checked
// here would then not be the released one.
func linkedModuleVersion(t *testing.T, path string) string {
	t.Helper()
	mod := string(readFile(t, "../go.mod"))
	if regexp.MustCompile(`(?m)^\s*(replace\s+)?` + regexp.QuoteMeta(path) + `(\s+v\S+)?\s*=>`).MatchString(mod) {
		t.Fatalf("../go.mod replaces %s", path)
	}
	m := regexp.MustCompile(`(?m)^\s*(?:require\s+)?` + regexp.QuoteMeta(path) + `\s+(v\S+)`).FindStringSubmatch(mod)
	if m == nil {
		t.Fatalf("../go.mod does not require %s", path)
	}
	return m[1]
}

func goDirective(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+(?:\.\d+)?)\s*$`).FindSubmatch(readFile(t, "../go.mod"))
	if m == nil {
		t.Fatal("../go.mod has no go directive")
	}
	return string(m[1])
}

func compareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(pa), len(pb)); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
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
