package engine_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// privateCluster is a PostgreSQL cluster of a test's own, for tests that stop, restart or
// reconfigure the server under a running engine, which the suite's shared cluster must not.
type privateCluster struct {
	t      *testing.T
	script string
	env    []string
	data   string
	uri    string
}

// startPrivateCluster starts a cluster under .data/NAME on a port the kernel has just handed
// out. A fixed port would sit in the ephemeral range, where any outgoing connection of a busy
// test run may hold it; a port taken between choosing and starting is retried with a new one.
// The cluster is destroyed when the test ends.
func startPrivateCluster(t *testing.T, name string) *privateCluster {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	c := &privateCluster{t: t, script: filepath.Join(root, "deploy/local-postgres/pg.sh"), data: filepath.Join(root, ".data", name)}
	t.Cleanup(func() {
		if _, err := c.run("destroy"); err != nil {
			t.Errorf("destroying the private cluster: %v", err)
		}
	})
	var failures []string
	for attempt := 0; attempt < 3; attempt++ {
		c.env = append(os.Environ(), "PGDATA_DIR="+c.data, "PGPORT_LOCAL="+strconv.Itoa(freePort(t)))
		uri, err := c.run("start")
		if err == nil {
			c.uri = uri
			return c
		}
		failures = append(failures, err.Error())
		if _, err := c.run("destroy"); err != nil {
			t.Fatalf("destroying a cluster that did not start: %v", err)
		}
	}
	t.Fatalf("private PostgreSQL cluster did not start:\n%s", strings.Join(failures, "\n---\n"))
	return nil
}

// do runs pg.sh with arg and fails the test, with the script's and the server's own words, if
// it fails. A restart keeps the cluster's port, so it is tried again for a while in case an
// outgoing connection holds the port for a moment.
func (c *privateCluster) do(arg string) string {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := c.run(arg)
		if err == nil {
			return out
		}
		if arg != "start" || time.Now().After(deadline) {
			c.t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// run runs pg.sh with arg; its error carries the script's standard error and the end of the
// server's log.
func (c *privateCluster) run(arg string) (string, error) {
	cmd := exec.Command(c.script, arg)
	cmd.Env = c.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("pg.sh %s: %v\nstderr: %s\nserver log (end):\n%s", arg, err, strings.TrimSpace(stderr.String()), logTail(filepath.Join(c.data, "server.log"), 20))
	}
	return strings.TrimSpace(string(out)), nil
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func logTail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}
