package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accessgraph/accessgraph/pkg/engine"
)

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the report as aligned text tables.
func (r *Report) WriteTable(w io.Writer) error {
	cache := ""
	if r.FullRelationCache {
		cache = ", full relation cache on"
	}
	if r.DispatchConcurrency != 0 {
		cache += fmt.Sprintf(", dispatch concurrency %d", r.DispatchConcurrency)
	}
	if r.DispatchChunkSize != 0 {
		cache += fmt.Sprintf(", dispatch chunk size %d", r.DispatchChunkSize)
	}
	if r.LookupResourcesV3 {
		cache += ", lookup resources v3"
	}
	if len(r.QueryPlan) > 0 {
		cache += ", query plan for " + strings.Join(r.QueryPlan, ",")
	}
	fmt.Fprintf(w, "accessgraph benchmark, %s, scale %s (%d relationships), datastore %s, SpiceDB %s%s\n", r.Date, r.Scale, r.Relationships, r.Datastore, r.SpiceDB, cache)
	fmt.Fprintf(w, "machine: %s, %d CPUs, %s memory, %s %s\n", r.Machine.CPU, r.Machine.CPUs, r.Machine.MemTotal, r.Machine.GoVersion, r.Machine.OS)
	fmt.Fprintf(w, "import: %d relationships in %.1fs = %.0f relationships/s (batches of %d)\n",
		r.Import.Relationships, r.Import.Seconds, r.Import.PerSecond, r.Import.BatchSize)
	fmt.Fprintf(w, "resident memory: %.0f MiB before the engine, %.0f MiB after import (+%.0f MiB per million relationships), %.0f MiB retained once the import's garbage is collected (+%.0f per million), %.0f MiB at the end, peak %.0f MiB\n", r.RSSBefore, r.RSSAfterLoad, r.RSSPerMillion(), r.RSSRetained, r.RetainedPerMillion(), r.RSSEnd, r.PeakRSS)
	if r.Restart != nil {
		fmt.Fprintf(w, "restart on the same data until the first correct check: %.1fs\n", r.Restart.Seconds)
	}
	if x := r.ReachIndex; x != nil {
		fmt.Fprintf(w, "case reachability index: %d relationships, current %.1fs after the import; %d listings and checks answered, %d left to SpiceDB",
			x.Stats.Relationships, x.CurrentAfterImport, x.Stats.Answered, x.Stats.Declined)
		if x.CurrentAfterRestart > 0 {
			fmt.Fprintf(w, "; loaded and current %.1fs after a restart began", x.CurrentAfterRestart)
		}
		fmt.Fprintln(w)
	} else if r.Datastore == "local" || r.Datastore == "memory" {
		fmt.Fprintln(w, "case reachability index: off")
	}
	if q := r.SQLBaseline; q != nil {
		fmt.Fprintf(w, "SQL baseline: PostgreSQL %s, %d relationships as %d rows in %.1fs = %.0f relationships/s (generation and COPY %.1fs, indexes %.1fs, group closure of %d rows %.1fs, VACUUM ANALYZE and checkpoint %.1fs), database %.0f MiB\n",
			q.Server, q.Relationships, q.Rows, q.Seconds, q.PerSecond(), q.CopySeconds, q.IndexSeconds, q.ClosureRows, q.ClosureSeconds, q.AnalyzeSeconds, q.DatabaseMiB)
		if q.Checkpoint != "" {
			fmt.Fprintf(w, "SQL baseline: no checkpoint after the load (%s); the server may still be writing it out\n", q.Checkpoint)
		}
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "group\tname\tclients\tops\tresults\tp50 ms\tp95 ms\tp99 ms\tper s\terrors\twrong\t")
	for _, f := range r.Figures {
		res := ""
		if f.Results > 0 {
			res = fmt.Sprint(f.Results)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%.2f\t%.2f\t%.2f\t%.0f\t%d\t%d\t\n",
			f.Group, f.Name, f.Clients, f.Ops, res, f.P50ms, f.P95ms, f.P99ms, f.PerSec, f.Errors, f.Wrong)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "domain overhead (1 client)\tdomain p50 ms\traw p50 ms\toverhead\t")
	for _, o := range r.Overheads {
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%+.1f%%\t\n", o.Name, o.DomainP50, o.RawP50, o.Percent)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := r.writeRatios(w); err != nil {
		return err
	}
	if len(r.Profiles) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "profile\tclients\tops\ts\tCPU ms per op\tbytes per op\tallocations per op\tGC share\tCPU profile\t")
		for _, p := range r.Profiles {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.3f\t%.0f\t%.0f\t%.0f%%\t%s\t\n", p.Name, p.Clients, p.Ops, p.Seconds, p.ProcessCPUms, p.AllocBytesPerOp, p.AllocObjectsPerOp, p.GCShare*100, p.CPUFile)
		}
		return tw.Flush()
	}
	return nil
}

// writeRatios writes the engine against the SQL baseline, when the run had one.
func (r *Report) writeRatios(w io.Writer) error {
	if len(r.Ratios) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nengine (%s) against the SQL baseline, same probes, clients and durations (ratio above 1: the engine is slower, or for per s faster)\n", r.Datastore)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "group\tname\tclients\tengine p50 ms\tSQL p50 ms\tp50 ratio\tengine p99 ms\tSQL p99 ms\tengine per s\tSQL per s\tper s ratio\t")
	for _, q := range r.Ratios {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.0f\t%.0f\t%.2f\t\n",
			q.Group, q.Name, q.Clients, q.EngineP50, q.SQLP50, q.P50Ratio, q.EngineP99, q.SQLP99, q.EnginePerSec, q.SQLPerSec, q.PerSecRatio)
	}
	return tw.Flush()
}

// WriteComparison writes runs of the same scale on different datastores side by side: per
// figure, p50, p99 and throughput for each datastore, then import, restart and memory.
func WriteComparison(w io.Writer, reps []*Report) error {
	if len(reps) == 0 {
		return nil
	}
	first := reps[0]
	fmt.Fprintf(w, "accessgraph benchmark comparison, %s, scale %s (%d relationships)\n", first.Date, first.Scale, first.Relationships)
	fmt.Fprintf(w, "machine: %s, %d CPUs, %s memory, %s %s\n\n", first.Machine.CPU, first.Machine.CPUs, first.Machine.MemTotal, first.Machine.GoVersion, first.Machine.OS)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "group\tname\tclients\t"
	for _, r := range reps {
		head += fmt.Sprintf("%s p50 ms\t%s p99 ms\t%s per s\t", r.Datastore, r.Datastore, r.Datastore)
	}
	fmt.Fprintln(tw, head)
	for _, f := range first.Figures {
		row := fmt.Sprintf("%s\t%s\t%d\t", f.Group, f.Name, f.Clients)
		for _, r := range reps {
			if g, ok := r.Find(f.Group, f.Name, f.Clients); ok {
				row += fmt.Sprintf("%.2f\t%.2f\t%.0f\t", g.P50ms, g.P99ms, g.PerSec)
			} else {
				row += "-\t-\t-\t"
			}
		}
		fmt.Fprintln(tw, row)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "datastore\timport per s\trestart s\tRSS after import MiB\t+MiB per 1M relationships\tpeak RSS MiB\twrong\terrors\t")
	for _, r := range reps {
		restart := "-"
		if r.Restart != nil {
			restart = fmt.Sprintf("%.1f", r.Restart.Seconds)
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%.0f\t%.0f\t%.0f\t%d\t%d\t\n", r.Datastore, r.Import.PerSecond, restart, r.RSSAfterLoad, r.RSSPerMillion(), r.PeakRSS, r.Wrong(), r.Errors())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nPeak RSS is the process's: runs share one process, so later runs include earlier peaks.")
	if len(first.Ratios) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\np50 of each datastore over the SQL baseline's p50 measured in the same run (above 1: slower than SQL)")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head = "group\tname\tclients\t"
	for _, r := range reps {
		head += r.Datastore + " / SQL\t"
	}
	fmt.Fprintln(tw, head)
	for _, q := range first.Ratios {
		row := fmt.Sprintf("%s\t%s\t%d\t", q.Group, q.Name, q.Clients)
		for _, r := range reps {
			cell := "-"
			for _, o := range r.Ratios {
				if o.Group == q.Group && o.Name == q.Name && o.Clients == q.Clients {
					cell = fmt.Sprintf("%.2f", o.P50Ratio)
				}
			}
			row += cell + "\t"
		}
		fmt.Fprintln(tw, row)
	}
	return tw.Flush()
}

// FreshDatabase creates an empty database on the PostgreSQL server named by base (a URI of
// any database there, as a user allowed to create databases) and returns its URI and a
// function that drops it. The benchmark imports with create semantics, so it needs one.
func FreshDatabase(ctx context.Context, base string) (string, func() error, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, fmt.Errorf("parsing the datastore URI: %w", err)
	}
	name := fmt.Sprintf("accessgraph_bench_%d", time.Now().UnixNano())
	exec := func(sql string) error {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec("CREATE DATABASE " + name); err != nil {
		return "", nil, fmt.Errorf("%w: creating database %s: %v", engine.ErrDatastoreUnavailable, name, err)
	}
	u.Path = "/" + name
	drop := func() error { return exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)") }
	return u.String(), drop, nil
}

// WriteJSONList writes reports as one indented JSON array.
func WriteJSONList(w io.Writer, reps []*Report) error {
	if reps == nil {
		reps = []*Report{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(reps)
}

// FreshDatastore prepares an empty datastore for one run: a new database on a PostgreSQL
// server, or a new directory inside the directory of a file: URI. The memory datastore is
// always fresh. cleanup removes what was created.
func FreshDatastore(ctx context.Context, uri string) (fresh string, cleanup func() error, err error) {
	kind, dir, err := engine.DatastoreEngine(uri)
	if err != nil {
		return "", nil, err
	}
	switch {
	case IsPostgres(uri):
		return FreshDatabase(ctx, uri)
	case kind == engine.LocalEngine:
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", nil, fmt.Errorf("creating the benchmark directory %s: %w", dir, err)
		}
		run, err := os.MkdirTemp(dir, "bench-")
		if err != nil {
			return "", nil, fmt.Errorf("creating a fresh directory in %s: %w", dir, err)
		}
		return engine.LocalURI(run), func() error { return os.RemoveAll(run) }, nil
	}
	return uri, func() error { return nil }, nil
}

// IsPostgres reports whether a datastore URI names PostgreSQL.
func IsPostgres(uri string) bool {
	return strings.HasPrefix(uri, "postgres://") || strings.HasPrefix(uri, "postgresql://")
}
