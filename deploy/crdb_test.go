package deploy_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

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
