// Package bench measures accessgraph at portal scale: it generates a portal (pkg/gen), bulk
// imports it into an embedded SpiceDB (memory or PostgreSQL), then measures checks per path
// kind (1 and 8 clients), bulk checks, whole lookups, writes, import throughput and
// resident memory, through the domain API and through raw SpiceDB calls to show the domain
// layer's overhead. It produces figures (a table and JSON); it asserts answers, never timings.
package bench

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/bench/sqlbase"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/gen"
	"github.com/accessgraph/accessgraph/pkg/reach"
	"github.com/accessgraph/accessgraph/pkg/ref"
	"github.com/accessgraph/accessgraph/pkg/spice"
)

// Options configure a run.
type Options struct {
	// Scale names the portal size (small, medium, large); Config, when set, replaces it.
	Scale  string
	Config *gen.Config
	// DatastoreURI is passed to engine.StartEmbedded: empty for the memory datastore, or
	// postgres://... for an EMPTY PostgreSQL database (the import has create semantics).
	DatastoreURI string
	// Duration is how long each latency measurement runs (default 3s); each runs at least
	// MinOps operations (default 20).
	Duration time.Duration
	MinOps   int
	// Writes is how many of each write are measured (default 50).
	Writes int
	// Clients are the concurrency levels for checks (default 1 and 8).
	Clients []int
	// BatchSize is the bulk import batch (default 2000).
	BatchSize int
	// Progress receives progress lines (stderr in the CLI); nil is quiet.
	Progress io.Writer
	// FullRelationCache runs the engine with SpiceDB's experimental full relation cache.
	FullRelationCache bool
	// DispatchConcurrency is the engine's dispatch concurrency (zero: the engine's default).
	DispatchConcurrency uint16
	// DispatchChunkSize is the engine's dispatch chunk size (zero: SpiceDB's default of 100).
	DispatchChunkSize uint16
	// NoReachIndex runs the engine without its case reachability index (pkg/reach): the
	// listings and case checks then ask SpiceDB, as the raw calls do.
	NoReachIndex bool
	// LookupResourcesV3 and QueryPlan turn on SpiceDB's experimental lookup and query
	// plan engines (engine.EmbeddedConfig).
	LookupResourcesV3 bool
	QueryPlan         []string
	// SQL, when set, is a SQL baseline loaded with the same portal (the same scale, seed and
	// day): every check and listing is also answered by it, right after the engine's, with
	// the same probes, clients and durations, and the report carries engine/SQL ratios.
	SQL *sqlbase.Baseline
	// ProfileDir, when set, receives CPU and allocation profiles of the uncached check and
	// listing paths, each taken in a phase of its own (ProfileDuration, default 10s) after
	// the measurements, so profiling does not slow the measured figures.
	ProfileDir      string
	ProfileDuration time.Duration
}

// Figure is one measured operation.
type Figure struct {
	Group   string  `json:"group"` // check, check_raw, bulk_check, lookup, lookup_raw, write
	Name    string  `json:"name"`
	Clients int     `json:"clients"`
	Ops     int     `json:"ops"`
	Errors  int     `json:"errors"`
	Wrong   int     `json:"wrong_answers"`
	Results int     `json:"results,omitempty"` // lookups: resources per listing
	P50ms   float64 `json:"p50_ms"`
	P95ms   float64 `json:"p95_ms"`
	P99ms   float64 `json:"p99_ms"`
	MeanMs  float64 `json:"mean_ms"`
	PerSec  float64 `json:"per_second"`
}

// Overhead compares the domain API with raw SpiceDB calls for the same work.
type Overhead struct {
	Name      string  `json:"name"`
	DomainP50 float64 `json:"domain_p50_ms"`
	RawP50    float64 `json:"raw_p50_ms"`
	Percent   float64 `json:"overhead_percent"`
}

// Machine describes where the run happened.
type Machine struct {
	CPU       string `json:"cpu"`
	CPUs      int    `json:"cpus"`
	MemTotal  string `json:"mem_total"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
}

// Report is the result of a run.
type Report struct {
	Date      string `json:"date"`
	Scale     string `json:"scale"`
	Datastore string `json:"datastore"`
	SpiceDB   string `json:"spicedb"`
	// FullRelationCache reports whether SpiceDB's experimental full relation cache was on.
	FullRelationCache bool `json:"full_relation_cache,omitempty"`
	// DispatchConcurrency is the engine's dispatch concurrency.
	DispatchConcurrency uint16 `json:"dispatch_concurrency,omitempty"`
	// DispatchChunkSize is the engine's dispatch chunk size, when not SpiceDB's default.
	DispatchChunkSize uint16 `json:"dispatch_chunk_size,omitempty"`
	// LookupResourcesV3 and QueryPlan report SpiceDB's experimental engines in use.
	LookupResourcesV3 bool         `json:"lookup_resources_v3,omitempty"`
	QueryPlan         []string     `json:"query_plan,omitempty"`
	Machine           Machine      `json:"machine"`
	Relationships     int          `json:"relationships"`
	Expected          gen.Expected `json:"expected"`
	Import            struct {
		Relationships int     `json:"relationships"`
		Seconds       float64 `json:"seconds"`
		PerSecond     float64 `json:"per_second"`
		BatchSize     int     `json:"batch_size"`
	} `json:"import"`
	Figures      []Figure   `json:"figures"`
	Overheads    []Overhead `json:"overheads"`
	RSSBefore    float64    `json:"rss_before_mib"` // before the engine started, after returning freed memory
	RSSAfterLoad float64    `json:"rss_after_import_mib"`
	// RSSRetained is resident memory after the import once its garbage is collected and
	// returned to the system: what the imported data itself keeps.
	RSSRetained float64 `json:"rss_retained_mib"`
	RSSEnd      float64 `json:"rss_end_mib"`
	PeakRSS     float64 `json:"peak_rss_mib"`
	// Restart is measured on durable datastores only: the engine is closed and started again
	// on the same data, until it serves a correct check.
	Restart *Restart `json:"restart,omitempty"`
	// ReachIndex describes the engine's case reachability index; nil when it had none.
	ReachIndex *ReachIndex `json:"reach_index,omitempty"`
	// SQLBaseline is the load of the SQL baseline when the run had one; its figures are in
	// Figures (groups sql_check_first, sql_check, sql_lookup) and compared in Ratios.
	SQLBaseline *sqlbase.LoadStats `json:"sql_baseline,omitempty"`
	Ratios      []Ratio            `json:"sql_ratios,omitempty"`
	// Profiles lists the profiling phases when the run was asked for profiles.
	Profiles []ProfilePhase `json:"profiles,omitempty"`
}

// Ratio compares an engine figure with the SQL baseline's for the same probes or listing,
// measured in the same run: above 1 the engine is slower (p50, p99) or, for PerSecRatio,
// faster.
type Ratio struct {
	Group        string  `json:"group"` // the engine's group: check_first, check, lookup_first, lookup_after_role, lookup
	SQLGroup     string  `json:"sql_group"`
	Name         string  `json:"name"`
	Clients      int     `json:"clients"`
	EngineP50    float64 `json:"engine_p50_ms"`
	SQLP50       float64 `json:"sql_p50_ms"`
	P50Ratio     float64 `json:"p50_ratio"`
	EngineP99    float64 `json:"engine_p99_ms"`
	SQLP99       float64 `json:"sql_p99_ms"`
	EnginePerSec float64 `json:"engine_per_second"`
	SQLPerSec    float64 `json:"sql_per_second"`
	PerSecRatio  float64 `json:"per_second_ratio"`
}

// sqlGroups pairs each engine group with the SQL baseline's group it is compared with. The
// SQL baseline caches no answers, so both engine groups of a kind are set against it.
var sqlGroups = [][2]string{{"check_first", "sql_check_first"}, {"check", "sql_check"}, {"lookup_first", "sql_lookup"}, {"lookup_after_role", "sql_lookup"}, {"lookup", "sql_lookup"}}

// ReachIndex is what the case reachability index did in a run.
type ReachIndex struct {
	// CurrentAfterImport is how long after the import's answer the index had applied it.
	CurrentAfterImport float64 `json:"current_after_import_seconds"`
	// Stats are its counters at the end of the measurements, before any restart.
	Stats reach.Stats `json:"stats"`
	// CurrentAfterRestart is how long after the restart began the index had loaded the
	// data and caught up (durable datastores only).
	CurrentAfterRestart float64 `json:"current_after_restart_seconds,omitempty"`
}

// Restart is the time from starting an engine on existing data to its first correct answer.
type Restart struct {
	Seconds float64 `json:"seconds"`
}

// RSSPerMillion is the growth of resident memory from before the engine started to after the
// import, per million relationships, in MiB.
func (r *Report) RSSPerMillion() float64 {
	if r.Relationships == 0 {
		return 0
	}
	return (r.RSSAfterLoad - r.RSSBefore) / (float64(r.Relationships) / 1e6)
}

// RetainedPerMillion is RSSPerMillion once the import's garbage is collected and returned to
// the system, in MiB.
func (r *Report) RetainedPerMillion() float64 {
	if r.Relationships == 0 {
		return 0
	}
	return (r.RSSRetained - r.RSSBefore) / (float64(r.Relationships) / 1e6)
}

// Wrong is the number of answers that differed from the generated data's expected answers.
func (r *Report) Wrong() int {
	n := 0
	for _, f := range r.Figures {
		n += f.Wrong
	}
	return n
}

// Errors is the number of failed operations.
func (r *Report) Errors() int {
	n := 0
	for _, f := range r.Figures {
		n += f.Errors
	}
	return n
}

// Find returns the figure of a group, name and client count.
func (r *Report) Find(group, name string, clients int) (Figure, bool) {
	for _, f := range r.Figures {
		if f.Group == group && f.Name == name && f.Clients == clients {
			return f, true
		}
	}
	return Figure{}, false
}

type runner struct {
	o     Options
	c     *access.Client
	e     *engine.Embedded
	g     *gen.Generator
	hot   gen.Hot
	exp   gen.Expected
	token *v1.ZedToken
	rep   *Report

	revisions int
}

func (b *runner) logf(format string, args ...any) {
	if b.o.Progress != nil {
		fmt.Fprintf(b.o.Progress, format+"\n", args...)
	}
}

// Run generates the portal, loads it into a fresh embedded engine and measures everything.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Duration <= 0 {
		o.Duration = 3 * time.Second
	}
	if o.MinOps <= 0 {
		o.MinOps = 20
	}
	if o.Writes <= 0 {
		o.Writes = 50
	}
	if len(o.Clients) == 0 {
		o.Clients = []int{1, 8}
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 2000
	}
	var cfg gen.Config
	if o.Config != nil {
		cfg = *o.Config
	} else {
		if o.Scale == "" {
			o.Scale = "small"
		}
		var err error
		if cfg, err = gen.Scale(o.Scale); err != nil {
			return nil, err
		}
	}
	g, err := gen.New(cfg)
	if err != nil {
		return nil, err
	}
	rep := &Report{Date: time.Now().UTC().Format(time.RFC3339), Scale: cfg.Name, Machine: machine(), SpiceDB: engine.SpiceDBVersion(), FullRelationCache: o.FullRelationCache,
		DispatchConcurrency: cmp.Or(o.DispatchConcurrency, engine.DefaultDispatchConcurrency()), DispatchChunkSize: o.DispatchChunkSize, LookupResourcesV3: o.LookupResourcesV3, QueryPlan: o.QueryPlan}
	kind, _, err := engine.DatastoreEngine(o.DatastoreURI)
	if err != nil {
		return nil, err
	}
	rep.Datastore = kind
	if o.SQL != nil {
		if err := samePortal(o.SQL.Config(), g.Config()); err != nil {
			return nil, err
		}
		st := o.SQL.Stats()
		rep.SQLBaseline = &st
	}

	// Earlier runs in this process (a comparison) leave freed heap behind: return it first.
	debug.FreeOSMemory()
	rep.RSSBefore, _ = rss("VmRSS")
	b := &runner{o: o, g: g, hot: g.Hot(), rep: rep}
	b.logf("starting the embedded engine (%s)", kind)
	e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{DatastoreURI: o.DatastoreURI, StartTimeout: 2 * time.Minute, FullRelationCache: o.FullRelationCache, DispatchConcurrency: o.DispatchConcurrency, DispatchChunkSize: o.DispatchChunkSize, LookupResourcesV3: o.LookupResourcesV3, QueryPlan: o.QueryPlan, NoReachIndex: o.NoReachIndex})
	if err != nil {
		return nil, err
	}
	b.e = e
	defer func() { _ = b.e.Close() }()

	b.logf("generating and importing the %s portal", cfg.Name)
	stopProfile, err := startImportProfile(o.ProfileDir)
	if err != nil {
		return nil, err
	}
	st, err := gen.Load(ctx, e.Permissions(), g.Relationships(), gen.LoadOptions{BatchSize: o.BatchSize, Progress: o.Progress})
	if perr := stopProfile(); err == nil {
		err = perr
	}
	if err != nil {
		return nil, err
	}
	b.exp = g.Expected()
	rep.Expected = b.exp
	rep.Relationships = st.Relationships
	rep.Import.Relationships = st.Relationships
	rep.Import.Seconds = st.Elapsed.Seconds()
	rep.Import.PerSecond = st.PerSecond()
	rep.Import.BatchSize = o.BatchSize
	rep.RSSAfterLoad, _ = rss("VmRSS")
	debug.FreeOSMemory()
	rep.RSSRetained, _ = rss("VmRSS")
	e.ObserveToken(st.Token)
	b.token = st.Token
	b.c = access.New(e.Engine)
	if idx := e.Reach(); idx != nil {
		// Measurements start once the index has applied the import, as SpiceDB's own are
		// taken once it has committed it.
		waited, err := waitCurrent(ctx, idx)
		if err != nil {
			return nil, err
		}
		rep.ReachIndex = &ReachIndex{CurrentAfterImport: waited.Seconds()}
		b.logf("case reachability index current %.1fs after the import", waited.Seconds())
	}

	b.checks(ctx)
	b.bulkChecks(ctx)
	b.lookups(ctx)
	b.ratios()
	if o.ProfileDir != "" {
		if err := b.profile(ctx); err != nil {
			return rep, err
		}
	}
	if err := b.writes(ctx); err != nil {
		return rep, err
	}
	b.overheads()
	if idx := b.e.Reach(); idx != nil && rep.ReachIndex != nil {
		rep.ReachIndex.Stats = idx.Stats()
	}
	runtime.GC()
	rep.RSSEnd, _ = rss("VmRSS")
	rep.PeakRSS, _ = rss("VmHWM")
	if kind != "memory" {
		if err := b.restart(ctx); err != nil {
			return rep, err
		}
	}
	if n := rep.Wrong(); n > 0 {
		return rep, fmt.Errorf("%d answers differed from the generated data's expected answers", n)
	}
	if n := rep.Errors(); n > 0 {
		return rep, fmt.Errorf("%d operations failed", n)
	}
	return rep, nil
}

// measure runs op from clients goroutines for the configured duration (and at least MinOps
// operations) and summarises the latencies. op reports whether the answer was right.
func (b *runner) measure(ctx context.Context, group, name string, clients int, op func(ctx context.Context, i int) (bool, error)) Figure {
	return b.measureN(ctx, group, name, clients, max(1, (b.o.MinOps+clients-1)/clients), b.o.Duration, op)
}

// measureOnce runs op once for each index 0..n-1, shared among clients goroutines.
func (b *runner) measureOnce(ctx context.Context, group, name string, clients, n int, op func(ctx context.Context, i int) (bool, error)) Figure {
	var next atomic.Int64
	return b.measureN(ctx, group, name, clients, 0, 0, func(ctx context.Context, _ int) (bool, error) {
		i := int(next.Add(1) - 1)
		if i >= n {
			return true, errSkip
		}
		return op(ctx, i)
	})
}

// errSkip ends a client's loop in measureOnce without counting an operation.
var errSkip = errors.New("skip")

// newRevision writes relationships no probe reads so that later reads at its token start
// with nothing cached: SpiceDB caches answers per revision, and the case reachability
// index dates each permission it asks SpiceDB about by the last change to a relation that
// permission can read. One write moves every one of those dates: an account's admin
// (read by view_all_cases and an item's case_reader), a partner organisation's member (the
// partner levels) and a sold product's contact (its case_reader).
func (b *runner) newRevision(ctx context.Context) error {
	return b.newRevisionOf(ctx, "admin", "partner_member", "product_contact")
}

// newRoleRevision starts a new revision by one change of the kind a portal makes all day,
// an account's admin: what the index asks SpiceDB that reads it is asked afresh, the rest
// is served from SpiceDB's cache.
func (b *runner) newRoleRevision(ctx context.Context) error {
	return b.newRevisionOf(ctx, "admin")
}

// newRevisionOf writes, in one transaction, one relationship of each kind named (admin,
// partner_member, product_contact) on objects of the benchmark's own that no probe reads.
func (b *runner) newRevisionOf(ctx context.Context, kinds ...string) error {
	b.revisions++
	subject := &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: fmt.Sprintf("revision-%d", b.revisions)}}
	on := map[string][2]string{
		"admin":           {"account", "admin"},
		"partner_member":  {"partner", "member"},
		"product_contact": {"sold_product", "authorized_contact"},
	}
	var updates []*v1.RelationshipUpdate
	for _, kind := range kinds {
		updates = append(updates, &v1.RelationshipUpdate{
			Operation: v1.RelationshipUpdate_OPERATION_TOUCH,
			Relationship: &v1.Relationship{
				Resource: &v1.ObjectReference{ObjectType: on[kind][0], ObjectId: "benchmark-revisions"},
				Relation: on[kind][1],
				Subject:  subject,
			},
		})
	}
	tok, err := b.e.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: updates})
	if err != nil {
		return err
	}
	b.token = tok
	return nil
}

// measureN is measure with at least perClient operations per client, for at least d.
func (b *runner) measureN(ctx context.Context, group, name string, clients, perClient int, d time.Duration, op func(ctx context.Context, i int) (bool, error)) Figure {
	return b.measureMulti(ctx, []string{group}, name, clients, perClient, d, []opFunc{op})[0]
}

type opFunc func(ctx context.Context, i int) (bool, error)

// pair measures two ways of doing the same work (domain and raw) interleaved in the same
// loop, alternating which goes first, so machine noise falls on both alike.
func (b *runner) pair(ctx context.Context, groupA, groupB, name string, clients int, a, bOp opFunc) (Figure, Figure) {
	fs := b.measureMulti(ctx, []string{groupA, groupB}, name, clients, max(1, (b.o.MinOps+clients-1)/clients), b.o.Duration, []opFunc{a, bOp})
	return fs[0], fs[1]
}

// measureMulti runs ops in turn (which goes first drawn per iteration) from clients goroutines and
// summarises each op's latencies in its own figure. Each figure's throughput is its share
// of the elapsed time, in proportion to the time spent in it.
func (b *runner) measureMulti(ctx context.Context, groups []string, name string, clients, perClient int, d time.Duration, ops []opFunc) []Figure {
	n := len(ops)
	figs := make([]Figure, n)
	all := make([][]time.Duration, n)
	for k := range figs {
		figs[k] = Figure{Group: groups[k], Name: name, Clients: clients}
	}
	var mu sync.Mutex
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			lat := make([][]time.Duration, n)
			errs, wrong := make([]int, n), make([]int, n)
		loop:
			for i := 0; perClient == 0 || i < perClient || time.Now().Before(deadline); i++ {
				// Which op runs first is drawn per iteration, not alternated: ops ask about
				// probe i, and the probe sets alternate kinds of answer (allowed, denied), so
				// alternating would give one op the first (uncached) ask of every even probe
				// and the other every odd one.
				first := int(mix(uint64(w*1_000_003+i)) % uint64(n)) //nolint:gosec // n is small
				for j := 0; j < n; j++ {
					k := (first + j) % n
					t0 := time.Now()
					ok, err := ops[k](ctx, w*1_000_003+i)
					if errors.Is(err, errSkip) {
						break loop
					}
					lat[k] = append(lat[k], time.Since(t0))
					switch {
					case err != nil:
						errs[k]++
						if errs[k] == 1 {
							b.logf("%s %s: %v", groups[k], name, err)
						}
					case !ok:
						wrong[k]++
					}
				}
				if ctx.Err() != nil {
					break
				}
			}
			mu.Lock()
			for k := 0; k < n; k++ {
				all[k] = append(all[k], lat[k]...)
				figs[k].Errors += errs[k]
				figs[k].Wrong += wrong[k]
			}
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	var total time.Duration
	sums := make([]time.Duration, n)
	for k := range all {
		for _, l := range all[k] {
			sums[k] += l
		}
		total += sums[k]
	}
	for k := range figs {
		share := elapsed
		if total > 0 {
			share = time.Duration(float64(elapsed) * float64(sums[k]) / float64(total))
		}
		summarise(&figs[k], all[k], share)
		b.record(figs[k])
	}
	return figs
}

// measureAfter times op n times from one client, each after an untimed prepare.
func (b *runner) measureAfter(ctx context.Context, group, name string, n int, prepare func(context.Context) error, op opFunc) Figure {
	f := Figure{Group: group, Name: name, Clients: 1}
	lat := make([]time.Duration, 0, n)
	var busy time.Duration
	for i := range n {
		if err := prepare(ctx); err != nil {
			f.Errors++
			b.logf("%s %s: preparing: %v", group, name, err)
			continue
		}
		t0 := time.Now()
		ok, err := op(ctx, i)
		took := time.Since(t0)
		lat, busy = append(lat, took), busy+took
		switch {
		case err != nil:
			f.Errors++
			b.logf("%s %s: %v", group, name, err)
		case !ok:
			f.Wrong++
		}
	}
	summarise(&f, lat, busy)
	b.record(f)
	return f
}

// record adds a measured figure to the report and logs it.
func (b *runner) record(f Figure) {
	b.rep.Figures = append(b.rep.Figures, f)
	b.logf("%-10s %-28s clients=%d ops=%d p50=%.2fms p95=%.2fms p99=%.2fms %.0f/s", f.Group, f.Name, f.Clients, f.Ops, f.P50ms, f.P95ms, f.P99ms, f.PerSec)
}

func summarise(f *Figure, lat []time.Duration, elapsed time.Duration) {
	slices.Sort(lat)
	f.Ops = len(lat)
	if f.Ops == 0 {
		return
	}
	pct := func(p float64) float64 {
		i := int(float64(len(lat)-1) * p)
		return ms(lat[i])
	}
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	f.P50ms, f.P95ms, f.P99ms = pct(0.50), pct(0.95), pct(0.99)
	f.MeanMs = ms(sum / time.Duration(len(lat)))
	f.PerSec = float64(len(lat)) / elapsed.Seconds()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// mix is SplitMix64's finaliser: well-spread bits for consecutive inputs.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func subjectOf(p gen.Probe) ref.Subject {
	return ref.Subject{Object: ref.Object{Type: "user", ID: p.Subject}}
}

func objectOf(o *v1.ObjectReference) ref.Object {
	return ref.Object{Type: o.GetObjectType(), ID: o.GetObjectId()}
}

func (b *runner) atLeast() *v1.Consistency {
	return spice.AtLeastAsFresh(b.token)
}

// firstLookups is how many uncached listings of each kind are timed, each after a small
// write that starts a new revision (not timed since 2026-12-07: it is the writer's cost, about
// a millisecond on a durable datastore, and the SQL listings have none). Five gave p50s that
// moved 3× between runs; fifteen cost about a second more at medium.
const firstLookups = 15

// probeSetSize is how many distinct checks each path kind cycles through.
const probeSetSize = 500

// checks: each path kind, half allowed half denied over many resources (gen.ProbeSet),
// through the domain and raw, at each concurrency; plus all kinds mixed.
func (b *runner) checks(ctx context.Context) {
	kinds := append(slices.Clone(gen.PathKinds), "mixed")
	for _, kind := range kinds {
		probes := b.g.ProbeSet(kind, probeSetSize)
		// First answers: at a new revision (SpiceDB caches per revision), every probe
		// answered once, shared among the clients. The timed measurements after them run
		// warm, domain and raw alike, so their comparison is fair.
		for _, clients := range b.o.Clients {
			if err := b.newRevision(ctx); err != nil {
				b.logf("new revision: %v", err)
			}
			tok := access.Token(b.token.GetToken())
			b.measureOnce(ctx, "check_first", kind, clients, len(probes), func(ctx context.Context, i int) (bool, error) {
				p := probes[i]
				d, err := b.c.Check(ctx, subjectOf(p), p.Permission, objectOf(p.Resource), access.AtLeast(tok))
				return d.Allowed == p.Allowed, err
			})
			if b.o.SQL != nil {
				b.measureOnce(ctx, "sql_check_first", kind, clients, len(probes), func(ctx context.Context, i int) (bool, error) {
					return b.sqlCheck(ctx, probes[i])
				})
			}
		}
		tok := access.Token(b.token.GetToken())
		for _, clients := range b.o.Clients {
			b.pair(ctx, "check", "check_raw", kind, clients, func(ctx context.Context, i int) (bool, error) {
				p := probes[i%len(probes)]
				d, err := b.c.Check(ctx, subjectOf(p), p.Permission, objectOf(p.Resource), access.AtLeast(tok))
				return d.Allowed == p.Allowed, err
			}, func(ctx context.Context, i int) (bool, error) {
				p := probes[i%len(probes)]
				resp, err := b.e.Permissions().CheckPermission(ctx, &v1.CheckPermissionRequest{
					Consistency: b.atLeast(),
					Resource:    p.Resource,
					Permission:  p.Permission,
					Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: p.Subject}},
				})
				allowed := resp.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION
				return allowed == p.Allowed, err
			})
			if b.o.SQL != nil {
				b.measure(ctx, "sql_check", kind, clients, func(ctx context.Context, i int) (bool, error) {
					return b.sqlCheck(ctx, probes[i%len(probes)])
				})
			}
		}
	}
}

// sqlCheck answers a probe with the SQL baseline's one query.
func (b *runner) sqlCheck(ctx context.Context, p gen.Probe) (bool, error) {
	ok, err := b.o.SQL.Check(ctx, p.Subject, p.Permission, p.Resource)
	return ok == p.Allowed, err
}

// samePortal refuses a SQL baseline loaded with another portal than the run's.
func samePortal(sql, run gen.Config) error {
	if sql.Name != run.Name || sql.Seed != run.Seed || sql.Accounts != run.Accounts || !sql.Now.Equal(run.Now) {
		return fmt.Errorf("the SQL baseline holds the %s portal of seed %d generated for %s, the run the %s portal of seed %d for %s: load it with the run's scale on the same day",
			sql.Name, sql.Seed, sql.Now.Format(time.DateOnly), run.Name, run.Seed, run.Now.Format(time.DateOnly))
	}
	return nil
}

// ratios sets each engine figure against the SQL baseline's for the same work.
func (b *runner) ratios() {
	if b.o.SQL == nil {
		return
	}
	div := func(a, c float64) float64 {
		if c == 0 {
			return 0
		}
		return a / c
	}
	for _, f := range b.rep.Figures {
		for _, pair := range sqlGroups {
			if f.Group != pair[0] {
				continue
			}
			q, ok := b.rep.Find(pair[1], f.Name, f.Clients)
			if !ok {
				continue
			}
			b.rep.Ratios = append(b.rep.Ratios, Ratio{
				Group: f.Group, SQLGroup: q.Group, Name: f.Name, Clients: f.Clients,
				EngineP50: f.P50ms, SQLP50: q.P50ms, P50Ratio: div(f.P50ms, q.P50ms),
				EngineP99: f.P99ms, SQLP99: q.P99ms,
				EnginePerSec: f.PerSec, SQLPerSec: q.PerSec, PerSecRatio: div(f.PerSec, q.PerSec),
			})
		}
	}
}

// bulkChecks: 100 items (every probe, repeated) in one call.
func (b *runner) bulkChecks(ctx context.Context) {
	tok := access.Token(b.token.GetToken())
	var items []access.CheckItem
	var raw []*v1.CheckBulkPermissionsRequestItem
	var want []bool
	for len(items) < 100 {
		p := b.hot.Probes[len(items)%len(b.hot.Probes)]
		items = append(items, access.CheckItem{Subject: subjectOf(p), Permission: p.Permission, Resource: objectOf(p.Resource)})
		raw = append(raw, &v1.CheckBulkPermissionsRequestItem{Resource: p.Resource, Permission: p.Permission,
			Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: p.Subject}}})
		want = append(want, p.Allowed)
	}
	b.pair(ctx, "bulk_check", "bulk_check_raw", "100_items", 1, func(ctx context.Context, _ int) (bool, error) {
		ds, errs, err := b.c.CheckMany(ctx, items, access.AtLeast(tok))
		if err != nil {
			return false, err
		}
		for i := range ds {
			if errs[i] != nil {
				return false, errs[i]
			}
			if ds[i].Allowed != want[i] {
				return false, nil
			}
		}
		return true, nil
	}, func(ctx context.Context, _ int) (bool, error) {
		resp, err := b.e.Permissions().CheckBulkPermissions(ctx, &v1.CheckBulkPermissionsRequest{Consistency: b.atLeast(), Items: raw})
		if err != nil {
			return false, err
		}
		for i, pair := range resp.GetPairs() {
			if pair.GetError() != nil {
				return false, errors.New(pair.GetError().GetMessage())
			}
			if (pair.GetItem().GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION) != want[i] {
				return false, nil
			}
		}
		return true, nil
	})
}

// lookups: the hot listings, whole, through the domain and raw.
func (b *runner) lookups(ctx context.Context) {
	type listing struct {
		name, user, perm string
		want             int
		domain           func(ctx context.Context) func(func(ref.Object, error) bool)
		sql              sqlbase.Listing
	}
	h := b.hot
	ls := []listing{
		{"admin_cases", h.Admin, "view", b.exp.AdminCases, func(ctx context.Context) func(func(ref.Object, error) bool) {
			return b.c.VisibleCases(ctx, access.As(h.Admin), h.Admin, access.StatusAll)
		}, sqlbase.VisibleCases},
		{"district_open_cases", h.SuperCustomer, "group_view_open", b.exp.DistrictOpenCases, func(ctx context.Context) func(func(ref.Object, error) bool) {
			return b.c.GroupCases(ctx, access.As(h.SuperCustomer), h.SuperCustomer, access.StatusOpen)
		}, sqlbase.GroupOpenCases},
		{"partner_member_cases", h.PartnerMember, "view", b.exp.PartnerMemberCases, func(ctx context.Context) func(func(ref.Object, error) bool) {
			return b.c.VisibleCases(ctx, access.As(h.PartnerMember), h.PartnerMember, access.StatusAll)
		}, sqlbase.VisibleCases},
	}
	for _, l := range ls {
		// The first listing is cold: nothing of it is in SpiceDB's caches yet.
		first := func(ctx context.Context, _ int) (bool, error) {
			n := 0
			for _, err := range l.domain(ctx) {
				if err != nil {
					return false, err
				}
				n++
			}
			return n == l.want, nil
		}
		// Each sample at a new revision, so none is served from the previous one's cache.
		b.setResults(b.measureAfter(ctx, "lookup_first", l.name, firstLookups, b.newRevision, first), l.want)
		// Each after one change to an account's admins: what does not read it stays cached.
		b.setResults(b.measureAfter(ctx, "lookup_after_role", l.name, firstLookups, b.newRoleRevision, first), l.want)
		f, raw := b.pair(ctx, "lookup", "lookup_raw", l.name, 1, func(ctx context.Context, _ int) (bool, error) {
			n := 0
			for _, err := range l.domain(ctx) {
				if err != nil {
					return false, err
				}
				n++
			}
			return n == l.want, nil
		}, func(ctx context.Context, _ int) (bool, error) {
			n, err := b.rawLookup(ctx, l.user, l.perm)
			return n == l.want, err
		})
		b.setResults(f, l.want)
		b.setResults(raw, l.want)
		if b.o.SQL != nil {
			// One query per listing, measured like lookup (the same duration, one client).
			b.setResults(b.measure(ctx, "sql_lookup", l.name, 1, func(ctx context.Context, _ int) (bool, error) {
				ids, err := b.o.SQL.List(ctx, l.sql, l.user)
				return len(ids) == l.want, err
			}), l.want)
		}
	}
}

func (b *runner) setResults(f Figure, n int) {
	for i := range b.rep.Figures {
		if b.rep.Figures[i].Group == f.Group && b.rep.Figures[i].Name == f.Name {
			b.rep.Figures[i].Results = n
		}
	}
}

// rawLookup streams LookupResources of cases with plain SpiceDB calls, counting
// distinct results.
func (b *runner) rawLookup(ctx context.Context, user, perm string) (int, error) {
	seen := map[string]struct{}{}
	answers := spice.LookupResources(ctx, b.e.Permissions(), &v1.LookupResourcesRequest{
		Consistency: b.atLeast(), ResourceObjectType: "case", Permission: perm,
		Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: user}},
	})
	for resp, err := range answers {
		if err != nil {
			return 0, err
		}
		seen[resp.GetResourceObjectId()] = struct{}{}
	}
	return len(seen), nil
}

// writes: grant and revoke a partner organisation grant, and approve join requests, by the
// hot admin through the domain API (one client: each includes its authorisation checks).
func (b *runner) writes(ctx context.Context) error {
	h := b.hot
	admin := access.As(h.Admin).Because("benchmark")
	partner := access.PartnerOrg(gen.PartnerID(1))
	n := b.o.Writes
	var grant, revoke, approve []time.Duration
	start := time.Now()
	errs := 0
	for i := 0; i < n; i++ {
		t0 := time.Now()
		if _, err := b.c.GrantPartner(ctx, admin, h.AdminAccount, partner, access.Level("look"), time.Time{}); err != nil {
			return fmt.Errorf("grant: %w", err)
		}
		grant = append(grant, time.Since(t0))
		t0 = time.Now()
		if _, err := b.c.RevokePartner(ctx, admin, h.AdminAccount, partner); err != nil {
			return fmt.Errorf("revoke: %w", err)
		}
		revoke = append(revoke, time.Since(t0))
	}
	el := time.Since(start)
	var apEl time.Duration
	for i := 0; i < n; i++ {
		joiner := fmt.Sprintf("bench-joiner-%d", i)
		if _, err := b.c.RequestAccess(ctx, access.As(joiner), h.AdminAccount, access.RoleViewer); err != nil {
			return fmt.Errorf("join request: %w", err)
		}
		t0 := time.Now()
		tok, err := b.c.Approve(ctx, admin, h.AdminAccount, joiner)
		d := time.Since(t0)
		apEl += d
		approve = append(approve, d)
		if err != nil {
			errs++
			continue
		}
		if i == 0 {
			dec, err := b.c.Check(ctx, ref.Subject{Object: ref.Object{Type: "user", ID: joiner}}, "member", ref.Object{Type: "account", ID: h.AdminAccount}, access.AtLeast(tok))
			if err != nil || !dec.Allowed {
				return fmt.Errorf("approved joiner is not a member (read-after-write): %v", err)
			}
		}
	}
	for _, w := range []struct {
		name string
		lat  []time.Duration
		el   time.Duration
	}{{"grant_partner", grant, el / 2}, {"revoke_partner", revoke, el / 2}, {"approve_join_request", approve, apEl}} {
		f := Figure{Group: "write", Name: w.name, Clients: 1}
		summarise(&f, w.lat, w.el)
		if w.name == "approve_join_request" {
			f.Errors = errs
		}
		b.rep.Figures = append(b.rep.Figures, f)
		b.logf("%-10s %-28s clients=1 ops=%d p50=%.2fms p95=%.2fms p99=%.2fms", "write", w.name, f.Ops, f.P50ms, f.P95ms, f.P99ms)
	}
	return nil
}

func (b *runner) overheads() {
	pairs := [][2]string{{"check", "check_raw"}, {"bulk_check", "bulk_check_raw"}, {"lookup", "lookup_raw"}}
	for _, p := range pairs {
		for _, f := range b.rep.Figures {
			if f.Group != p[0] || f.Clients != 1 {
				continue
			}
			raw, ok := b.rep.Find(p[1], f.Name, 1)
			if !ok || raw.P50ms == 0 {
				continue
			}
			b.rep.Overheads = append(b.rep.Overheads, Overhead{
				Name: p[0] + "/" + f.Name, DomainP50: f.P50ms, RawP50: raw.P50ms,
				Percent: (f.P50ms - raw.P50ms) / raw.P50ms * 100,
			})
		}
	}
}

// rss reads a field (VmRSS, VmHWM) of /proc/self/status in MiB.
func rss(field string) (float64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if strings.HasPrefix(line, field+":") {
			fields := strings.Fields(line)
			if len(fields) >= 2 {
				kb, err := strconv.ParseFloat(fields[1], 64)
				return kb / 1024, err
			}
		}
	}
	return 0, fmt.Errorf("%s not in /proc/self/status", field)
}

func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "model name") {
				if _, v, ok := strings.Cut(line, ":"); ok {
					m.CPU = strings.TrimSpace(v)
					break
				}
			}
		}
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "MemTotal:") {
				m.MemTotal = strings.Join(strings.Fields(line)[1:], " ")
				break
			}
		}
	}
	return m
}

// restart closes the engine and starts a new one on the same data, timing it until the
// hot admin's first case check answers correctly (recovery included).
func (b *runner) restart(ctx context.Context) error {
	b.logf("restarting the engine on the same data")
	if err := b.e.Close(); err != nil {
		return fmt.Errorf("closing the engine before the restart: %w", err)
	}
	start := time.Now()
	e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{DatastoreURI: b.o.DatastoreURI, StartTimeout: 5 * time.Minute, FullRelationCache: b.o.FullRelationCache, DispatchConcurrency: b.o.DispatchConcurrency, DispatchChunkSize: b.o.DispatchChunkSize, LookupResourcesV3: b.o.LookupResourcesV3, QueryPlan: b.o.QueryPlan, NoReachIndex: b.o.NoReachIndex})
	if err != nil {
		return fmt.Errorf("restarting the engine: %w", err)
	}
	b.e = e
	c := access.New(e.Engine)
	subject := ref.Subject{Object: ref.Object{Type: "user", ID: b.hot.Admin}}
	d, err := c.Check(ctx, subject, "view_all_cases", ref.Object{Type: "account", ID: b.hot.AdminAccount}, access.Full())
	if err != nil {
		return fmt.Errorf("first check after the restart: %w", err)
	}
	b.rep.Restart = &Restart{Seconds: time.Since(start).Seconds()}
	if !d.Allowed {
		return fmt.Errorf("after the restart the hot admin user:%s has lost view_all_cases on account:%s: data was lost", b.hot.Admin, b.hot.AdminAccount)
	}
	b.logf("restarted and answered in %.1fs", b.rep.Restart.Seconds)
	if idx := e.Reach(); idx != nil && b.rep.ReachIndex != nil {
		if _, err := waitCurrent(ctx, idx); err != nil {
			return err
		}
		b.rep.ReachIndex.CurrentAfterRestart = time.Since(start).Seconds()
		b.logf("case reachability index loaded and current %.1fs after the restart began", b.rep.ReachIndex.CurrentAfterRestart)
	}
	return nil
}

// waitCurrent waits (at most ten minutes) until the index answers at the head, and says how long it took.
func waitCurrent(ctx context.Context, idx *reach.Index) (time.Duration, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if err := idx.Current(ctx); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}
