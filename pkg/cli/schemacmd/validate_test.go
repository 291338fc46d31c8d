package schemacmd_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
)

// The project's own validation suites must pass through the command, offline.
func TestValidateProjectSuites(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "schema", "validation", "*.yaml"))
	if len(files) == 0 {
		t.Skip("no schema/validation/*.yaml yet; the fixtures below still run")
	}
	r := clitest.Offline(t).Run(append([]string{"schema", "validate"}, files...)...)
	if r.Code != 0 {
		t.Fatalf("code %d, stdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if len(lines) != len(files) {
		t.Errorf("want one summary line per file, got:\n%s", r.Stdout)
	}
	for _, l := range lines {
		if !strings.HasSuffix(l, " expected relations: ok") {
			t.Errorf("summary line %q does not end in \"expected relations: ok\"", l)
		}
	}
}

func TestValidateFixtures(t *testing.T) {
	t.Parallel()
	env := clitest.Offline(t)
	ok := filepath.Join("testdata", "validation", "ok.yaml")
	failing := filepath.Join("testdata", "validation", "failing.yaml")

	r := env.Run("schema", "validate", ok)
	if want := ok + ": 3 assertions, 1 expected relations: ok\n"; r.Code != 0 || r.Stdout != want {
		t.Errorf("ok.yaml: code %d, stdout %q, stderr %q; want %q", r.Code, r.Stdout, r.Stderr, want)
	}

	r = env.Run("schema", "validate", ok, failing)
	want := ok + ": 3 assertions, 1 expected relations: ok\n" +
		failing + ":9: Expected relation or permission doc:plan#owner@user:bob to exist\n" +
		failing + ":11: For object and permission/relation `doc:plan#read`, subject `user:bob` found but not listed in expected subjects\n" +
		failing + ": 2 assertions, 1 expected relations: FAILED (2 problem(s))\n"
	if r.Code != cmdutil.ExitError || r.Stdout != want || r.Stderr != "error: validation failed: 1 of 2 file(s)\n" {
		t.Errorf("failing.yaml: code %d, stdout:\n%s\nstderr: %q\nwant stdout:\n%s", r.Code, r.Stdout, r.Stderr, want)
	}

	r = env.Run("schema", "validate", failing, "-o", "json")
	if r.Code != cmdutil.ExitError || !strings.Contains(r.Stdout, `"ok": false`) || !strings.Contains(r.Stdout, `"line": 9`) {
		t.Errorf("json: code %d, stdout:\n%s", r.Code, r.Stdout)
	}

	r = env.Run("schema", "validate", filepath.Join("testdata", "missing.yaml"))
	if r.Code != cmdutil.ExitError || !strings.Contains(r.Stdout, "missing.yaml: reading:") {
		t.Errorf("missing file: code %d, stdout %q", r.Code, r.Stdout)
	}
}

func TestSchemaShow(t *testing.T) {
	t.Parallel()
	env := clitest.New(t)
	r := env.Run("schema", "show")
	if r.Code != 0 || !strings.Contains(r.Stdout, "\ndefinition account {") {
		t.Errorf("code %d, stderr %q, stdout starts %.200q", r.Code, r.Stderr, r.Stdout)
	}
}
