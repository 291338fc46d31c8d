// Package devcmd holds developer commands: `accessctl dev generate` (a generated portal at
// scale, printed or bulk loaded into a server) and `accessctl bench` (the performance suite).
package devcmd

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/bench"
	"github.com/accessgraph/accessgraph/pkg/bench/sqlbase"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/gen"
	"github.com/accessgraph/accessgraph/pkg/reltext"
)

// NewCmdDev builds `accessctl dev`.
func NewCmdDev(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dev <command>",
		Short: "Developer tools: generated portals at scale",
		Args:  cobra.ArbitraryArgs,
		RunE:  cmdutil.GroupRun,
	}
	cmd.AddCommand(NewCmdGenerate(f, nil))
	return cmd
}

// GenerateOptions are the inputs of `accessctl dev generate`.
type GenerateOptions struct {
	Factory   *factory.Factory
	Scale     string
	Seed      uint64
	Load      bool
	BatchSize int
}

// NewCmdGenerate builds `accessctl dev generate`.
func NewCmdGenerate(f *factory.Factory, runF func(context.Context, *GenerateOptions) error) *cobra.Command {
	o := &GenerateOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Generate a realistic portal (small ~10k, medium ~1M, large ~10M relationships)",
		Long: `Generate a portal deterministically from a seed, in the shapes the domain layer writes:
accounts with admins, standard and view-only contacts, open and closed cases, products and
install base items, partners with organisation grants and individual overrides, expiring
vendor-staff grants, districts of schools read by super customers, custom roles.

Without --load the relationships are printed in tuple notation, one a line. With --load
they are streamed into the connected server through SpiceDB's bulk import, which has
create semantics: load into an EMPTY store (a server started without --demo). Each stream
of 100,000 relationships is one transaction (a server ends an import stream after 30 s), so
a failure keeps the streams before it. Progress and throughput go to stderr.`,
		Example: `  $ accessctl dev generate --scale small | head
  $ accessctl dev generate --scale medium --load`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.Run(cmd.Context(), runF, runGenerate, o)
		},
	}
	cmd.Flags().StringVar(&o.Scale, "scale", "small", "portal size: small, medium or large")
	cmd.Flags().Uint64Var(&o.Seed, "seed", 1, "seed; the same seed gives the same portal")
	cmd.Flags().BoolVar(&o.Load, "load", false, "bulk load into the connected server (its store must be empty)")
	cmd.Flags().IntVar(&o.BatchSize, "batch-size", 2000, "relationships per bulk import message")
	return cmd
}

func runGenerate(ctx context.Context, o *GenerateOptions) error {
	cfg, err := gen.Scale(o.Scale)
	if err != nil {
		return cmdutil.AsUsage(err)
	}
	cfg.Seed = o.Seed
	g, err := gen.New(cfg)
	if err != nil {
		return err
	}
	ios := o.Factory.IOStreams
	if !o.Load {
		w := bufio.NewWriterSize(ios.Out, 1<<16)
		for r := range g.Relationships() {
			if _, err := fmt.Fprintln(w, reltext.Format(r)); err != nil {
				return err
			}
		}
		if err := w.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(ios.ErrOut, "generated %d relationships (scale %s, seed %d)\n", g.Expected().Relationships, cfg.Name, cfg.Seed)
		return nil
	}
	e, err := o.Factory.Engine(ctx)
	if err != nil {
		return err
	}
	st, err := gen.Load(ctx, e.Permissions(), g.Relationships(), gen.LoadOptions{BatchSize: o.BatchSize, Progress: ios.ErrOut})
	if err != nil {
		return err
	}
	e.ObserveToken(st.Token)
	h := g.Hot()
	fmt.Fprintf(ios.ErrOut, "hot subjects: admin user:%s (account:%s), super customer user:%s (group:%s), partner member user:%s, override user:%s\n",
		h.Admin, h.AdminAccount, h.SuperCustomer, h.District, h.PartnerMember, h.OverrideUser)
	fmt.Fprintf(ios.Out, "%s\n", st.Token.GetToken())
	return nil
}

// BenchOptions are the inputs of `accessctl bench`.
type BenchOptions struct {
	Factory    *factory.Factory
	Scale      string
	Datastores []string
	Fresh      bool
	Duration   time.Duration
	Writes     int
	JSON       bool
	JSONFile   string
	// FullRelationCache turns on SpiceDB's experimental full relation cache.
	FullRelationCache bool
	// DispatchConcurrency is the engine's dispatch concurrency (zero: SpiceDB's default).
	DispatchConcurrency uint16
	// DispatchChunkSize is the engine's dispatch chunk size (zero: SpiceDB's default).
	DispatchChunkSize uint16
	// NoReachIndex runs the engine without its case reachability index.
	NoReachIndex bool
	// LookupResourcesV3 and QueryPlan turn on SpiceDB's experimental engines.
	LookupResourcesV3 bool
	QueryPlan         []string
	// SQLBaseline is a PostgreSQL URI: the same portal is loaded there as relational tables
	// and every check and listing is also answered with one SQL query, for a ratio.
	SQLBaseline string
	// ProfileDir receives CPU and allocation profiles of the uncached check and listing
	// paths (one set per datastore), each profiled for ProfileDuration.
	ProfileDir      string
	ProfileDuration time.Duration

	sql *sqlbase.Baseline // loaded by runBench from SQLBaseline
}

// NewCmdBench builds `accessctl bench`.
func NewCmdBench(f *factory.Factory, runF func(context.Context, *BenchOptions) error) *cobra.Command {
	o := &BenchOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure checks, lookups, writes and bulk import at portal scale",
		Long: `Generate a portal (see "accessctl dev generate"), bulk import it into SpiceDB embedded in
this process, and measure: checks per path kind (half allowed, half denied) with 1 and 8
clients, a bulk check of 100 items, fully paginated lookups, writes, import throughput and
resident memory, each through the domain API and through raw SpiceDB calls. Every answer
is checked against the generated data; a wrong answer fails the command.

Without --datastore the memory datastore is used (small scale only: it is not built for
more). With postgres://..., a fresh database is created on that server and dropped
afterwards; with file:DIR, a fresh directory is created inside DIR and removed afterwards
(--fresh-database=false uses the named database or directory as is; it must be empty).
Repeat --datastore to run the same portal on several datastores one after the other and
print them side by side; durable datastores are also timed restarting on their data.
JSON output is an array with one report per datastore.

With --sql-baseline postgres://..., the same portal is also loaded into PostgreSQL as
relational tables (in a fresh database unless --fresh-database=false), and every check and
listing is answered there too, with one SQL query each, right after the engine's: the
report adds the SQL figures and the engine/SQL ratio per path kind, client count and
listing. With --profile-dir, each run ends with profiled phases of uncached checks and
uncached listings, whose CPU and allocation profiles go to that directory with a CPU
profile of the import.`,
		Example: `  $ accessctl bench --scale small
  $ accessctl bench --scale medium --datastore file:.data/bench --datastore "$(deploy/local-postgres/pg.sh start)" --json-file bench.json
  $ accessctl bench --scale medium --datastore file:.data/bench --sql-baseline "$(deploy/local-postgres/pg.sh start)" --profile-dir profiles`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.Run(cmd.Context(), runF, runBench, o)
		},
	}
	cmd.Flags().StringVar(&o.Scale, "scale", "small", "portal size: small, medium or large")
	cmd.Flags().StringArrayVar(&o.Datastores, "datastore", nil, "datastore URI: memory, file:DIR or postgres://...; repeat to compare datastores")
	cmd.Flags().BoolVar(&o.Fresh, "fresh-database", true, "create a fresh database (PostgreSQL) or directory (file:) for each run and remove it afterwards")
	cmd.Flags().DurationVar(&o.Duration, "duration", 3*time.Second, "how long each latency measurement runs")
	cmd.Flags().IntVar(&o.Writes, "writes", 50, "how many of each write to measure")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON (an array, one report per datastore) instead of the table")
	cmd.Flags().StringVar(&o.JSONFile, "json-file", "", "also write the JSON reports to this file")
	cmd.Flags().BoolVar(&o.FullRelationCache, "full-relation-cache", false, "turn on SpiceDB's experimental full relation cache in the embedded engine")
	cmd.Flags().BoolVar(&o.NoReachIndex, "no-reach-index", false, "run the engine without its case reachability index: case listings and checks ask SpiceDB")
	cmd.Flags().BoolVar(&o.LookupResourcesV3, "lookup-resources-v3", false, "answer listings with SpiceDB's experimental third LookupResources implementation")
	cmd.Flags().StringSliceVar(&o.QueryPlan, "query-plan", nil, "route these operations through SpiceDB's experimental query plan engine: check, lr, ls (comma-separated)")
	cmd.Flags().Uint16Var(&o.DispatchConcurrency, "dispatch-concurrency", 0, "sub-problems of one check or lookup the engine works on at once (at least 2); 0 picks the number of CPUs, at least 2 and at most 50 (SpiceDB's own default is 50)")
	cmd.Flags().Uint16Var(&o.DispatchChunkSize, "dispatch-chunk-size", 0, "object ids one dispatched sub-problem carries, and the most ids one datastore query filters on; 0 keeps SpiceDB's default of 100")
	cmd.Flags().StringVar(&o.SQLBaseline, "sql-baseline", "", "PostgreSQL URI (postgres://...): also answer every check and listing with one SQL query on the same portal, and report the ratio")
	cmd.Flags().StringVar(&o.ProfileDir, "profile-dir", "", "write CPU and allocation profiles of uncached checks and listings, and a CPU profile of the import, to this directory")
	cmd.Flags().DurationVar(&o.ProfileDuration, "profile-duration", 10*time.Second, "how long each profiled phase runs")
	return cmd
}

func runBench(ctx context.Context, o *BenchOptions) error {
	if _, err := gen.Scale(o.Scale); err != nil {
		return cmdutil.AsUsage(err)
	}
	datastores := o.Datastores
	if len(datastores) == 0 {
		datastores = []string{""}
	}
	for _, uri := range datastores {
		kind, _, err := engine.DatastoreEngine(uri)
		if err != nil {
			return cmdutil.AsUsage(err)
		}
		if o.Scale != "small" && kind == "memory" {
			return cmdutil.Usagef("scale %s needs --datastore file:DIR or postgres://...: the memory datastore is unusable near 1M relationships", o.Scale)
		}
	}
	if o.SQLBaseline != "" && !bench.IsPostgres(o.SQLBaseline) {
		return cmdutil.Usagef("--sql-baseline needs a PostgreSQL URI (postgres://...), not %q", o.SQLBaseline)
	}
	if o.ProfileDuration <= 0 {
		return cmdutil.Usagef("--profile-duration must be positive, not %s", o.ProfileDuration)
	}
	ios := o.Factory.IOStreams
	if o.SQLBaseline != "" {
		sql, done, err := loadSQLBaseline(ctx, o)
		if err != nil {
			return err
		}
		defer done()
		o.sql = sql
	}
	var reps []*bench.Report
	var runErr error
	for _, uri := range datastores {
		rep, err := benchOne(ctx, o, uri)
		if rep != nil {
			reps = append(reps, rep)
		}
		if err != nil {
			runErr = err
			break
		}
	}
	if o.JSONFile != "" {
		if err := writeJSONFile(o.JSONFile, reps); err != nil {
			return err
		}
	}
	var perr error
	switch {
	case o.JSON:
		perr = bench.WriteJSONList(ios.Out, reps)
	case len(reps) == 1:
		perr = reps[0].WriteTable(ios.Out)
	default:
		for _, r := range reps {
			if perr = r.WriteTable(ios.Out); perr != nil {
				break
			}
			fmt.Fprintln(ios.Out)
		}
		if perr == nil {
			perr = bench.WriteComparison(ios.Out, reps)
		}
	}
	if perr != nil {
		return perr
	}
	return runErr
}

// benchOne runs the benchmark on one datastore, in a fresh database or directory unless
// told otherwise.
func benchOne(ctx context.Context, o *BenchOptions, uri string) (*bench.Report, error) {
	ios := o.Factory.IOStreams
	if o.Fresh {
		fresh, drop, err := bench.FreshDatastore(ctx, uri)
		if err != nil {
			return nil, err
		}
		defer func() {
			if err := drop(); err != nil {
				fmt.Fprintf(ios.ErrOut, "warning: removing the benchmark datastore: %v\n", err)
			}
		}()
		uri = fresh
	}
	profiles := o.ProfileDir
	if profiles != "" && len(o.Datastores) > 1 {
		kind, _, _ := engine.DatastoreEngine(uri)
		profiles = filepath.Join(profiles, kind)
	}
	return bench.Run(ctx, bench.Options{Scale: o.Scale, DatastoreURI: uri, Duration: o.Duration, Writes: o.Writes, Progress: ios.ErrOut,
		FullRelationCache: o.FullRelationCache, DispatchConcurrency: o.DispatchConcurrency, DispatchChunkSize: o.DispatchChunkSize, LookupResourcesV3: o.LookupResourcesV3, QueryPlan: o.QueryPlan, NoReachIndex: o.NoReachIndex, SQL: o.sql, ProfileDir: profiles, ProfileDuration: o.ProfileDuration})
}

// loadSQLBaseline loads the run's portal into the SQL baseline's database (a fresh one
// unless told otherwise); done closes it and drops what was created.
func loadSQLBaseline(ctx context.Context, o *BenchOptions) (*sqlbase.Baseline, func(), error) {
	ios := o.Factory.IOStreams
	uri, drop := o.SQLBaseline, func() error { return nil }
	if o.Fresh {
		var err error
		if uri, drop, err = bench.FreshDatabase(ctx, o.SQLBaseline); err != nil {
			return nil, nil, fmt.Errorf("creating the SQL baseline's database: %w", err)
		}
	}
	dropWarn := func() {
		if err := drop(); err != nil {
			fmt.Fprintf(ios.ErrOut, "warning: removing the SQL baseline's database: %v\n", err)
		}
	}
	cfg, err := gen.Scale(o.Scale)
	if err != nil {
		dropWarn()
		return nil, nil, err
	}
	g, err := gen.New(cfg)
	if err != nil {
		dropWarn()
		return nil, nil, err
	}
	sql, err := sqlbase.Open(ctx, uri, 8)
	if err != nil {
		dropWarn()
		return nil, nil, err
	}
	fmt.Fprintf(ios.ErrOut, "loading the %s portal into the SQL baseline\n", cfg.Name)
	st, err := sql.Load(ctx, g)
	if err != nil {
		sql.Close()
		dropWarn()
		return nil, nil, fmt.Errorf("loading the SQL baseline: %w", err)
	}
	fmt.Fprintf(ios.ErrOut, "SQL baseline loaded: %d relationships as %d rows in %.1fs\n", st.Relationships, st.Rows, st.Seconds)
	return sql, func() { sql.Close(); dropWarn() }, nil
}

func writeJSONFile(path string, reps []*bench.Report) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	werr := bench.WriteJSONList(fh, reps)
	if cerr := fh.Close(); werr == nil {
		werr = cerr
	}
	return werr
}
