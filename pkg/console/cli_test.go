package console_test

import (
	"context"
	"strings"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/cli/iostreams"
	"github.com/accessgraph/accessgraph/pkg/cli/root"
)

// accessctl runs one accessctl command line against the test server's domain API with key,
// through the CLI's own commands (not the Go client), and returns what it printed; it fails
// the test unless the command exits with code.
func accessctl(t *testing.T, s *server, key string, code int, args ...string) string {
	t.Helper()
	ios, _, _, _ := iostreams.Test()
	out, errOut := &strings.Builder{}, &strings.Builder{}
	ios.Out, ios.ErrOut = out, errOut
	env := map[string]string{factory.EnvAPIURL: s.url, factory.EnvToken: key}
	f := factory.New(factory.BuildInfo{Version: "test"})
	f.IOStreams, f.Getenv = ios, func(k string) string { return env[k] }
	err := root.Execute(context.Background(), root.NewCmdRoot(f), f, args)
	if got := cmdutil.ExitCode(err); got != code {
		t.Fatalf("accessctl %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), got, code, out, errOut)
	}
	return out.String()
}

// lines splits a command's output into its non-empty lines.
func lines(s string) []string {
	var out []string
	for l := range strings.Lines(s) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
