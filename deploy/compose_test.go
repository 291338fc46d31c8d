package deploy_test

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
)

// ---------------------------------------------------------------------------------------------
// deploy/compose: published ports, start-up order, the CockroachDB cluster, migration, dispatch.

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
