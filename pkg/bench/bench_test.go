package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/bench"
	"github.com/accessgraph/accessgraph/pkg/bench/sqlbase"
	"github.com/accessgraph/accessgraph/pkg/gen"
)

// TestBenchSmall runs the whole suite at small scale on the memory datastore, briefly. It
// asserts that every figure is produced and every answer is right, never timings.
func TestBenchSmall(t *testing.T) {
	rep, err := bench.Run(context.Background(), bench.Options{
		Scale: "small", Duration: 50 * time.Millisecond, MinOps: 10, Writes: 5,
	})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if rep.Wrong() != 0 || rep.Errors() != 0 {
		t.Fatalf("%d wrong answers, %d errors", rep.Wrong(), rep.Errors())
	}
	if rep.Import.Relationships == 0 || rep.Import.PerSecond <= 0 || rep.RSSEnd <= 0 || rep.PeakRSS <= 0 || rep.RSSRetained <= 0 {
		t.Errorf("missing import or memory figures: %+v rss %v/%v", rep.Import, rep.RSSEnd, rep.PeakRSS)
	}
	for _, kind := range append(gen.PathKinds, "mixed") {
		for _, clients := range []int{1, 8} {
			for _, group := range []string{"check", "check_raw", "check_first"} {
				f, ok := rep.Find(group, kind, clients)
				if !ok || f.Ops < 10 || (group == "check_first" && f.Ops != 500) || f.P50ms <= 0 || f.P99ms < f.P50ms || f.PerSec <= 0 {
					t.Errorf("%s %s %d clients: figure missing or empty: %+v", group, kind, clients, f)
				}
			}
		}
	}
	for _, want := range []struct {
		group, name string
		results     int
	}{
		{"bulk_check", "100_items", 0}, {"bulk_check_raw", "100_items", 0},
		{"lookup", "admin_cases", 200}, {"lookup_raw", "admin_cases", 200}, {"lookup_first", "admin_cases", 200}, {"lookup_after_role", "admin_cases", 200},
		{"lookup", "district_open_cases", -1}, {"lookup", "partner_member_cases", -1},
		{"write", "grant_partner", 0}, {"write", "revoke_partner", 0}, {"write", "approve_join_request", 0},
	} {
		f, ok := rep.Find(want.group, want.name, 1)
		if !ok || f.Ops == 0 || f.P50ms <= 0 {
			t.Errorf("%s %s: figure missing or empty: %+v", want.group, want.name, f)
		}
		if want.results > 0 && f.Results != want.results {
			t.Errorf("%s %s: %d results, want %d", want.group, want.name, f.Results, want.results)
		}
		if want.results < 0 && f.Results <= 0 {
			t.Errorf("%s %s: no results", want.group, want.name)
		}
	}
	if len(rep.Overheads) == 0 {
		t.Error("no domain overhead figures")
	}
	var table, js bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "admin_cases") || !strings.Contains(table.String(), "domain overhead") {
		t.Errorf("table lacks rows:\n%s", table.String())
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back["figures"] == nil {
		t.Errorf("JSON does not read back: %v", err)
	}
	t.Logf("\n%s", table.String())
}

// TestBenchScale runs the suite at a real scale when asked, until `accessctl bench` is
// registered: ACCESSGRAPH_BENCH_SCALE=medium and ACCESSGRAPH_TEST_POSTGRES=postgres://...
// (a fresh database is created there and dropped afterwards); the table goes to the test
// log and, with ACCESSGRAPH_BENCH_OUT=PATH, the JSON to PATH.
func TestBenchScale(t *testing.T) {
	scale, base := os.Getenv("ACCESSGRAPH_BENCH_SCALE"), os.Getenv("ACCESSGRAPH_TEST_POSTGRES")
	if scale == "" || base == "" {
		t.Skip("set ACCESSGRAPH_BENCH_SCALE and ACCESSGRAPH_TEST_POSTGRES to run")
	}
	ctx := context.Background()
	uri, drop, err := bench.FreshDatabase(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := drop(); err != nil {
			t.Errorf("dropping the benchmark database: %v", err)
		}
	}()
	d := 3 * time.Second
	if s := os.Getenv("ACCESSGRAPH_BENCH_DURATION"); s != "" {
		if d, err = time.ParseDuration(s); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := bench.Run(ctx, bench.Options{Scale: scale, DatastoreURI: uri, Duration: d, Progress: os.Stderr})
	if rep != nil {
		var table bytes.Buffer
		_ = rep.WriteTable(&table)
		t.Logf("\n%s", table.String())
		if out := os.Getenv("ACCESSGRAPH_BENCH_OUT"); out != "" {
			var js bytes.Buffer
			_ = rep.WriteJSON(&js)
			if werr := os.WriteFile(out, js.Bytes(), 0o644); werr != nil {
				t.Error(werr)
			}
			_ = os.WriteFile(out+".txt", table.Bytes(), 0o644)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestBenchSmallWithSQLBaseline runs the suite at small scale with the SQL baseline on a
// private PostgreSQL (ACCESSGRAPH_TEST_POSTGRES) and profiles: every SQL figure, every ratio
// and every profile file is produced, and every answer is right.
func TestBenchSmallWithSQLBaseline(t *testing.T) {
	ctx := context.Background()
	sql := sqlBaseline(t, 8)
	cfg, _ := gen.Scale("small")
	g, err := gen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sql.Load(ctx, g); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rep, err := bench.Run(ctx, bench.Options{
		Scale: "small", Duration: 50 * time.Millisecond, MinOps: 10, Writes: 5,
		SQL: sql, ProfileDir: dir, ProfileDuration: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if rep.SQLBaseline == nil || rep.SQLBaseline.Rows == 0 {
		t.Fatalf("no SQL baseline load in the report: %+v", rep.SQLBaseline)
	}
	ratio := func(group, name string, clients int) {
		t.Helper()
		for _, q := range rep.Ratios {
			if q.Group == group && q.Name == name && q.Clients == clients {
				if q.SQLP50 <= 0 || q.EngineP50 <= 0 || q.P50Ratio <= 0 || q.PerSecRatio <= 0 {
					t.Errorf("%s %s %d clients: empty ratio %+v", group, name, clients, q)
				}
				return
			}
		}
		t.Errorf("%s %s %d clients: no ratio", group, name, clients)
	}
	for _, kind := range append(gen.PathKinds, "mixed") {
		for _, clients := range []int{1, 8} {
			for _, group := range []string{"sql_check_first", "sql_check"} {
				if f, ok := rep.Find(group, kind, clients); !ok || f.Ops < 10 || f.Wrong != 0 {
					t.Errorf("%s %s %d clients: figure missing or wrong: %+v", group, kind, clients, f)
				}
			}
			ratio("check_first", kind, clients)
			ratio("check", kind, clients)
		}
	}
	for _, name := range []string{"admin_cases", "district_open_cases", "partner_member_cases"} {
		if f, ok := rep.Find("sql_lookup", name, 1); !ok || f.Ops == 0 || f.Results <= 0 {
			t.Errorf("sql_lookup %s: figure missing or empty: %+v", name, f)
		}
		ratio("lookup_first", name, 1)
		ratio("lookup_after_role", name, 1)
		ratio("lookup", name, 1)
	}
	if len(rep.Profiles) != 2 {
		t.Fatalf("%d profiled phases, want check_first and lookup_first", len(rep.Profiles))
	}
	for _, p := range rep.Profiles {
		if p.Ops == 0 || p.ProcessCPUms <= 0 || p.AllocBytesPerOp <= 0 {
			t.Errorf("profile %s: empty figures %+v", p.Name, p)
		}
		for _, f := range []string{p.CPUFile, p.AllocsFile, p.AllocsBaseFile} {
			if st, err := os.Stat(f); err != nil || st.Size() == 0 {
				t.Errorf("profile %s: file %s missing or empty: %v", p.Name, f, err)
			}
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "import.cpu.pprof")); err != nil || st.Size() == 0 {
		t.Errorf("the import's CPU profile is missing or empty: %v", err)
	}
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SQL baseline: PostgreSQL", "against the SQL baseline", "sql_check_first", "check_first.cpu.pprof"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	var cmp bytes.Buffer
	if err := bench.WriteComparison(&cmp, []*bench.Report{rep, rep}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cmp.String(), "memory / SQL") {
		t.Errorf("comparison lacks the ratio table:\n%s", cmp.String())
	}
	t.Logf("\n%s", table.String())
}

// TestBenchRefusesASQLBaselineOfAnotherPortal: a baseline loaded with another seed is
// refused before anything is imported or measured.
func TestBenchRefusesASQLBaselineOfAnotherPortal(t *testing.T) {
	ctx := context.Background()
	sql := sqlBaseline(t, 1)
	cfg, _ := gen.Scale("small")
	cfg.Seed = 2
	g, err := gen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sql.Load(ctx, g); err != nil {
		t.Fatal(err)
	}
	rep, err := bench.Run(ctx, bench.Options{Scale: "small", SQL: sql})
	if err == nil || !strings.Contains(err.Error(), "the SQL baseline holds the small portal of seed 2") || rep != nil {
		t.Errorf("run with a baseline of seed 2: report %v, error %v", rep != nil, err)
	}
}

// sqlBaseline opens an empty SQL baseline of maxConns connections in a fresh database on the
// private PostgreSQL ACCESSGRAPH_TEST_POSTGRES names, closed and dropped after the test;
// without it the test is skipped.
func sqlBaseline(t *testing.T, maxConns int) *sqlbase.Baseline {
	t.Helper()
	base := os.Getenv("ACCESSGRAPH_TEST_POSTGRES")
	if base == "" {
		t.Skip("set ACCESSGRAPH_TEST_POSTGRES=postgres://... (deploy/local-postgres/pg.sh start prints one) to run with the SQL baseline")
	}
	ctx := context.Background()
	uri, drop, err := bench.FreshDatabase(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Errorf("dropping the SQL baseline's database: %v", err)
		}
	})
	sql, err := sqlbase.Open(ctx, uri, maxConns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sql.Close)
	return sql
}
