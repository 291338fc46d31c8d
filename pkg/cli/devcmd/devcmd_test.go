package devcmd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/cli/devcmd"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/cli/iostreams"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

func newFactory(e *engine.Engine) (*factory.Factory, *bytes.Buffer, *bytes.Buffer) {
	ios, _, out, errOut := iostreams.Test()
	f := &factory.Factory{IOStreams: ios, Now: time.Now, Getenv: func(string) string { return "" }}
	f.Engine = func(context.Context) (*engine.Engine, error) { return e, nil }
	return f, out, errOut
}

func TestGeneratePrintsTuples(t *testing.T) {
	t.Parallel()
	f, out, errOut := newFactory(nil)
	cmd := devcmd.NewCmdDev(f)
	cmd.SetArgs([]string{"generate", "--scale", "small"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) < 8000 || !strings.Contains(out.String(), "account:acc-000000#admin@user:u-0-0") {
		t.Errorf("%d lines; first %q", len(lines), lines[0])
	}
	if !strings.Contains(errOut.String(), "generated ") {
		t.Errorf("stderr %q", errOut.String())
	}
}

func TestGenerateLoadsIntoTheServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	f, out, errOut := newFactory(e.Engine)
	cmd := devcmd.NewCmdGenerate(f, nil)
	cmd.SetArgs([]string{"--load", "--batch-size", "1000"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), "relationships/s") {
		t.Errorf("no throughput on stderr: %q", errOut.String())
	}
	tok := access.Token(strings.TrimSpace(out.String()))
	d, err := access.New(e.Engine).Check(ctx, ref.Subject{Object: ref.Object{Type: "user", ID: "u-0-0"}}, "view", ref.Object{Type: "case", ID: "c-0-7"}, access.AtLeast(tok))
	if err != nil || !d.Allowed {
		t.Errorf("the hot admin cannot view their case after the load: %v %v", d, err)
	}
}

func TestBenchFlagsReachTheRun(t *testing.T) {
	t.Parallel()
	f, _, _ := newFactory(nil)
	var got *devcmd.BenchOptions
	cmd := devcmd.NewCmdBench(f, func(_ context.Context, o *devcmd.BenchOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--scale", "medium", "--datastore", "postgres://x@127.0.0.1/db", "--datastore", "file:bench", "--duration", "2s", "--json-file", "out.json",
		"--sql-baseline", "postgres://x@127.0.0.1/sql", "--profile-dir", "profiles", "--profile-duration", "5s"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Scale != "medium" || !slices.Equal(got.Datastores, []string{"postgres://x@127.0.0.1/db", "file:bench"}) || got.Duration != 2*time.Second || !got.Fresh || got.JSONFile != "out.json" {
		t.Errorf("options %+v", got)
	}
	if got.SQLBaseline != "postgres://x@127.0.0.1/sql" || got.ProfileDir != "profiles" || got.ProfileDuration != 5*time.Second {
		t.Errorf("SQL baseline and profile options %+v", got)
	}
}

func TestBenchRefusesASQLBaselineThatIsNotPostgreSQL(t *testing.T) {
	t.Parallel()
	f, _, _ := newFactory(nil)
	cmd := devcmd.NewCmdBench(f, nil)
	cmd.SetArgs([]string{"--scale", "small", "--sql-baseline", "file:sql"})
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	if err == nil || err.Error() != `--sql-baseline needs a PostgreSQL URI (postgres://...), not "file:sql"` {
		t.Errorf("error = %v", err)
	}
}

func TestBenchSmallThroughTheCommand(t *testing.T) {
	t.Parallel()
	f, out, _ := newFactory(nil)
	cmd := devcmd.NewCmdBench(f, nil)
	cmd.SetArgs([]string{"--scale", "small", "--duration", "20ms", "--writes", "2", "--json"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	var reps []map[string]any
	if err := json.Unmarshal(out.Bytes(), &reps); err != nil || len(reps) != 1 {
		t.Fatalf("JSON is not an array of one report (%v): %.300s", err, out.String())
	}
	if !strings.Contains(out.String(), `"admin_cases"`) {
		t.Errorf("JSON lacks the lookups: %.300s", out.String())
	}
}

func TestBenchRefusesMediumOnMemory(t *testing.T) {
	t.Parallel()
	f, _, _ := newFactory(nil)
	cmd := devcmd.NewCmdBench(f, nil)
	cmd.SetArgs([]string{"--scale", "medium"})
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "--datastore") {
		t.Errorf("error = %v", err)
	}
	cmd = devcmd.NewCmdBench(f, nil)
	cmd.SetArgs([]string{"--scale", "medium", "--datastore", "memory"})
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "--datastore") {
		t.Errorf("explicit memory at medium scale: error = %v", err)
	}
}
