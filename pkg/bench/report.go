package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
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
	fmt.Fprintf(w, "accessgraph benchmark, %s, scale %s (%d relationships), datastore %s\n", r.Date, r.Scale, r.Relationships, r.Datastore)
	fmt.Fprintf(w, "machine: %s, %d CPUs, %s memory, %s %s\n", r.Machine.CPU, r.Machine.CPUs, r.Machine.MemTotal, r.Machine.GoVersion, r.Machine.OS)
	fmt.Fprintf(w, "import: %d relationships in %.1fs = %.0f relationships/s (batches of %d)\n",
		r.Import.Relationships, r.Import.Seconds, r.Import.PerSecond, r.Import.BatchSize)
	fmt.Fprintf(w, "resident memory: %.0f MiB after import, %.0f MiB at the end, peak %.0f MiB\n\n", r.RSSAfterLoad, r.RSSEnd, r.PeakRSS)
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

// IsPostgres reports whether a datastore URI names PostgreSQL.
func IsPostgres(uri string) bool {
	return strings.HasPrefix(uri, "postgres://") || strings.HasPrefix(uri, "postgresql://")
}
