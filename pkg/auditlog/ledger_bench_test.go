package auditlog_test

import (
	"container/heap"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"iter"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/auditlog"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/ref"
	"github.com/accessgraph/accessgraph/pkg/reltext"
	"github.com/accessgraph/accessgraph/pkg/spice"
)

// BenchmarkLedgerYear measures the access ledger over a generated year of changes: the
// storage the audit log takes per million changes, one account's full history, and a check
// and a who-can as of a past time (the graph rebuilt from the log, rebuild and question timed
// apart) against the same questions asked of the live graph. A figure, not a test: it asserts
// only that the calls succeed and that the graph rebuilt at the end of the year answers as the
// live graph does.
//
// The year is appended to the log directly (entries as the consumer writes them, one per
// transaction, recorded at times spread over the past year, expiry sweeps included), not
// written through SpiceDB; the state the year ends in is then written into SpiceDB, and one
// last change is made through SpiceDB and recorded, so present answers and history (which reads
// the change stream after the log's newest entry) see the same data.
//
//	go test -run '^$' -bench LedgerYear -benchtime 1x -timeout 3h ./pkg/auditlog/
//
// LEDGER_CHANGES (default 50,000; 500,000 is a busy year) is how many entries the year holds,
// LEDGER_ACCOUNTS (default 10,000, the medium scale's) how many accounts they spread over.
// With ACCESSGRAPH_TEST_POSTGRES set the same year is also appended to a PostgreSQL audit log
// (LEDGER_PG_CHANGES entries, default LEDGER_CHANGES) and its storage, history and rebuild
// measured. LEDGER_WHOCAN=0 leaves out the who-can listings (minutes each at 500,000).
func BenchmarkLedgerYear(b *testing.B) {
	if testing.Short() {
		b.Skip("a benchmark of minutes")
	}
	changes := envInt("LEDGER_CHANGES", 50_000)
	accounts := envInt("LEDGER_ACCOUNTS", 10_000)
	ctx := context.Background()
	end := time.Now().Add(-time.Minute).UTC()
	mid := end.AddDate(0, -6, 0)
	for b.Loop() {
		b.Logf("a year of %d changes over %d accounts, ending %s", changes, accounts, end.Format(time.RFC3339))
		y := newLedgerYear(1, changes, accounts, end, mid)
		benchLocalLedger(ctx, b, y)
		if os.Getenv("ACCESSGRAPH_TEST_POSTGRES") != "" {
			yp := newLedgerYear(1, envInt("LEDGER_PG_CHANGES", changes), accounts, end, mid)
			benchPostgresLedger(ctx, b, yp)
		}
	}
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func benchLocalLedger(ctx context.Context, b *testing.B, y *ledgerYear) {
	dir := filepath.Join(b.TempDir(), "data")
	start := func() *engine.Embedded {
		e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{DatastoreURI: engine.LocalURI(dir)})
		if err != nil {
			b.Fatal(err)
		}
		return e
	}
	// The data directory's size with an empty log, each time after a clean close.
	start().Close()
	before := dirSize(b, dir)

	e := start()
	l := auditlog.NewLocalLog(e.LocalStore())
	began := time.Now()
	appended, encoded := appendYear(ctx, b, l, y)
	appendTime := time.Since(began)
	e.Close()
	after := dirSize(b, dir)
	b.Logf("local: %d entries (%d relationship changes) appended in %s (%.0f/s); data directory %s -> %s",
		appended, y.updates, appendTime.Round(time.Second), float64(appended)/appendTime.Seconds(), mib(before), mib(after))
	perMillion := float64(after-before) / float64(appended) * 1e6
	b.ReportMetric(perMillion/(1<<20), "local-MiB/Mchanges")
	b.ReportMetric(float64(encoded)/float64(appended), "entry-bytes")
	b.Logf("local: storage %.0f MiB per million changes (entries average %.0f bytes as JSON, %.0f on disk)",
		perMillion/(1<<20), float64(encoded)/float64(appended), float64(after-before)/float64(appended))

	e = start()
	defer e.Close()
	l = auditlog.NewLocalLog(e.LocalStore())
	writeFinalState(ctx, b, e, l, y)
	c := access.New(e.Engine)

	// History: the busiest account's and a typical one's, from the log and then the stream.
	auditor := audit.New(c, audit.WithDurableLog(l))
	for _, acct := range y.historyAccounts() {
		d, n := timeHistory(ctx, b, auditor, acct, false)
		b.Logf("local: history of %s (%d entries touch it): %d changes in %s", acct, y.touches[acct], n, d.Round(time.Microsecond))
		b.ReportMetric(ms(d), "local-history-"+y.role(acct)+"-ms")
		d, n = timeHistory(ctx, b, auditor, acct, true)
		b.Logf("local: history --account %s: %d changes in %s", acct, n, d.Round(time.Microsecond))
		b.ReportMetric(ms(d), "local-account-history-"+y.role(acct)+"-ms")
	}

	// The same questions at present and as of mid-year and the end of the year.
	present := askLedger(ctx, b, c, y, y.end)
	b.Logf("present: check %s, who-can %s (%d holders)", present.check, present.whoCan, present.holders)
	b.ReportMetric(ms(present.check), "present-check-ms")
	b.ReportMetric(ms(present.whoCan), "present-whocan-ms")
	for _, at := range []struct {
		name string
		at   time.Time
	}{{"mid-year", y.mid}, {"year-end", y.end}} {
		g, rb := rebuild(ctx, b, l, at.at)
		got := askLedger(ctx, b, access.New(g.Engine), y, at.at)
		_ = g.Close()
		b.Logf("as of %s (local): rebuild %s (%d entries replayed, %s allocated, heap held %s, peak RSS %s); check %s, who-can %s (%d holders)",
			at.name, rb.took.Round(time.Millisecond), g.Applied, mib(rb.allocated), mib(rb.held), mib(rb.peakRSS), got.check, got.whoCan, got.holders)
		b.ReportMetric(rb.took.Seconds(), "asof-"+at.name+"-rebuild-s")
		b.ReportMetric(ms(got.check), "asof-"+at.name+"-check-ms")
		b.ReportMetric(ms(got.whoCan), "asof-"+at.name+"-whocan-ms")
		b.ReportMetric(float64(rb.peakRSS)/(1<<20), "asof-"+at.name+"-peakRSS-MiB")
		if at.name == "year-end" && (got.holders != present.holders || !slices.Equal(got.allowed, present.allowed)) {
			b.Fatalf("rebuilt at the end of the year: %d holders, allowed %v; the live graph: %d, %v", got.holders, got.allowed, present.holders, present.allowed)
		}
	}
	benchPrune(ctx, b, "local", l, y, present)
}

// benchPrune prunes the first half of the year, as a retention of six months would, and
// asks as of the end of the year again: the rebuild now starts from what the prune kept.
func benchPrune(ctx context.Context, b *testing.B, name string, l auditlog.Log, y *ledgerYear, present answers) {
	began := time.Now()
	res, err := auditlog.Prune(ctx, l, y.mid, auditlog.RetentionActor, "benchmark: six months")
	if err != nil {
		b.Fatal(err)
	}
	took := time.Since(began)
	if v, err := l.Verify(ctx, nil); err != nil || !v.Intact() {
		b.Fatalf("%s: verify after the prune: %+v, %v", name, v.Problems, err)
	}
	b.Logf("%s: prune of the first half-year: %d entries removed, %d relationships kept, in %s", name, res.Removed, res.Anchor.Relationships, took.Round(time.Millisecond))
	b.ReportMetric(took.Seconds(), name+"-prune-s")
	g, rb := rebuild(ctx, b, l, y.end)
	got := askLedger(ctx, b, access.New(g.Engine), y, y.end)
	_ = g.Close()
	b.Logf("as of year-end after the prune (%s): rebuild %s (%d entries replayed after the kept relationships, %s allocated, heap held %s); check %s, who-can %s (%d holders)",
		name, rb.took.Round(time.Millisecond), g.Applied, mib(rb.allocated), mib(rb.held), got.check, got.whoCan, got.holders)
	b.ReportMetric(rb.took.Seconds(), name+"-asof-year-end-after-prune-rebuild-s")
	if got.holders != present.holders || !slices.Equal(got.allowed, present.allowed) {
		b.Fatalf("rebuilt at the end of the year after the prune: %d holders, allowed %v; the live graph: %d, %v", got.holders, got.allowed, present.holders, present.allowed)
	}
}

func benchPostgresLedger(ctx context.Context, b *testing.B, y *ledgerYear) {
	uri := database(b)
	store, err := auditlog.Open(ctx, uri)
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	began := time.Now()
	appended, _ := appendYear(ctx, b, store, y)
	appendTime := time.Since(began)
	conn, err := pgx.Connect(ctx, uri)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "VACUUM ANALYZE audit_log"); err != nil {
		b.Fatal(err)
	}
	var table, total int64
	if err := conn.QueryRow(ctx, "SELECT pg_table_size('audit_log'), pg_total_relation_size('audit_log')").Scan(&table, &total); err != nil {
		b.Fatal(err)
	}
	perMillion := float64(total) / float64(appended) * 1e6
	b.Logf("postgres: %d entries appended in %s (%.0f/s); audit_log %s (%s without indexes): %.0f MiB per million changes",
		appended, appendTime.Round(time.Second), float64(appended)/appendTime.Seconds(), mib(total), mib(table), perMillion/(1<<20))
	b.ReportMetric(perMillion/(1<<20), "pg-MiB/Mchanges")
	h := audit.NewLogHistory(store)
	for _, acct := range y.historyAccounts() {
		d, n := timeHistory(ctx, b, h, acct, false)
		b.Logf("postgres: history of %s (%d entries touch it): %d changes in %s", acct, y.touches[acct], n, d.Round(time.Microsecond))
		b.ReportMetric(ms(d), "pg-history-"+y.role(acct)+"-ms")
		d, n = timeHistory(ctx, b, h, acct, true)
		b.Logf("postgres: history --account %s: %d changes in %s", acct, n, d.Round(time.Microsecond))
		b.ReportMetric(ms(d), "pg-account-history-"+y.role(acct)+"-ms")
	}
	for _, at := range []struct {
		name string
		at   time.Time
	}{{"mid-year", y.mid}, {"year-end", y.end}} {
		g, rb := rebuild(ctx, b, store, at.at)
		got := askLedger(ctx, b, access.New(g.Engine), y, at.at)
		_ = g.Close()
		b.Logf("as of %s (postgres): rebuild %s (%d entries replayed); check %s, who-can %s (%d holders)",
			at.name, rb.took.Round(time.Millisecond), g.Applied, got.check, got.whoCan, got.holders)
		b.ReportMetric(rb.took.Seconds(), "pg-asof-"+at.name+"-rebuild-s")
	}
}

// appendYear appends the generated year to l, returning how many entries it added and their
// size as JSON.
func appendYear(ctx context.Context, b *testing.B, l auditlog.Log, y *ledgerYear) (int, int64) {
	n, size := 0, int64(0)
	for at, e := range y.entries() {
		added, err := auditlog.AppendAt(ctx, l, e, at)
		if err != nil {
			b.Fatal(err)
		}
		if !added {
			b.Fatalf("entry %s was not added", e.Revision)
		}
		body, _ := json.Marshal(e)
		size += int64(len(body))
		n++
		if n%100_000 == 0 {
			b.Logf("%d entries appended", n)
		}
	}
	return n, size
}

// writeFinalState writes the state the year ended in into SpiceDB, unrecorded, then makes one
// last change through SpiceDB and records it as the log's newest entry, so that history reads
// the change stream after it.
func writeFinalState(ctx context.Context, b *testing.B, e *engine.Embedded, l auditlog.Log, y *ledgerYear) {
	began := time.Now()
	var updates []*v1.RelationshipUpdate
	flush := func() {
		if len(updates) == 0 {
			return
		}
		if _, err := e.Engine.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: updates}); err != nil {
			b.Fatal(err)
		}
		updates = updates[:0]
	}
	for key, exp := range y.live {
		rel, err := reltext.ParseKey(key)
		if err != nil {
			b.Fatal(err)
		}
		if !exp.IsZero() {
			rel.OptionalExpiresAt = timestamppb.New(exp)
		}
		updates = append(updates, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: rel})
		if len(updates) == 1000 {
			flush()
		}
	}
	flush()
	b.Logf("final state: %d relationships written in %s", len(y.live), time.Since(began).Round(time.Millisecond))

	acct := y.accountName(y.busiest)
	key := acct + "#viewer@user:u-final"
	rel, err := reltext.ParseKey(key)
	if err != nil {
		b.Fatal(err)
	}
	meta, err := spice.Change{Actor: "user:" + y.accounts[y.busiest].admin(), Reason: "the year's last change", Operation: "member.approve", Principal: "service:portal"}.Metadata()
	if err != nil {
		b.Fatal(err)
	}
	token, err := e.Engine.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{
		Updates:                     []*v1.RelationshipUpdate{{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: rel}},
		OptionalTransactionMetadata: meta,
	})
	if err != nil {
		b.Fatal(err)
	}
	last := auditlog.Entry{Revision: token.GetToken(), Actor: meta.AsMap()[spice.KeyActor].(string), Reason: "the year's last change", Operation: "member.approve", Principal: "service:portal",
		Changes: []auditlog.Change{{Operation: "touch", Relationship: key, Resource: acct, Subject: "user:u-final"}}}
	if _, err := auditlog.AppendAt(ctx, l, last, y.end); err != nil {
		b.Fatal(err)
	}
	y.live[key] = time.Time{}
	y.touches[acct]++
	b.Logf("a real revision token is %d characters, the generated ones %d", len(token.GetToken()), len(y.revision(0)))
}

// timeHistory reads an account's history to the end: the changes touching the account
// object itself (history --object), or with byAccount everything that touched its access,
// what it owns included (history --account).
func timeHistory(ctx context.Context, b *testing.B, h audit.HistorySource, acct string, byAccount bool) (time.Duration, int) {
	obj, err := ref.Parse(acct)
	if err != nil {
		b.Fatal(err)
	}
	f := audit.HistoryFilter{Object: obj}
	if byAccount {
		f = audit.HistoryFilter{Account: obj}
	}
	began := time.Now()
	n := 0
	for _, err := range h.History(ctx, f) {
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	return time.Since(began), n
}

// answers are the timed questions' results.
type answers struct {
	check, whoCan time.Duration
	allowed       []bool
	holders       int
}

// askLedger asks, of the busiest account, whether each of a dozen users (members at the time
// asked and some who were not) may view its cases, timing the median check, and who can view
// its cases, explained (audit who-can), timing the whole listing.
func askLedger(ctx context.Context, b *testing.B, c *access.Client, y *ledgerYear, at time.Time) answers {
	acct, err := ref.Parse(y.accountName(y.busiest))
	if err != nil {
		b.Fatal(err)
	}
	var out answers
	var lat []time.Duration
	for _, u := range y.probeUsers() {
		began := time.Now()
		d, err := c.Check(ctx, ref.Subject{Object: ref.Object{Type: "user", ID: u}}, "view_all_cases", acct, access.Full())
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(began))
		out.allowed = append(out.allowed, d.Allowed)
	}
	slices.Sort(lat)
	out.check = lat[len(lat)/2]
	if os.Getenv("LEDGER_WHOCAN") == "0" {
		return out
	}
	began := time.Now()
	for _, err := range audit.New(c).WhoCan(ctx, acct, "view_all_cases") {
		if err != nil {
			b.Fatal(err)
		}
		out.holders++
	}
	out.whoCan = time.Since(began)
	return out
}

// rebuilt is what rebuilding a past graph cost.
type rebuilt struct {
	took                     time.Duration
	allocated, held, peakRSS int64
}

func rebuild(ctx context.Context, b *testing.B, l auditlog.Log, at time.Time) (*audit.PastGraph, rebuilt) {
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	// Reset the process's peak resident memory, so the peak read after is the rebuild's.
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	began := time.Now()
	g, err := audit.RebuildAt(ctx, l, at)
	if err != nil {
		b.Fatal(err)
	}
	r := rebuilt{took: time.Since(began), peakRSS: procStatus("VmHWM")}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	r.allocated = int64(m1.TotalAlloc - m0.TotalAlloc) //nolint:gosec // a benchmark's allocations
	r.held = int64(m1.HeapAlloc) - int64(m0.HeapAlloc) //nolint:gosec // heap sizes
	return g, r
}

// procStatus reads a size in kB from /proc/self/status, in bytes (0 where there is none).
func procStatus(field string) int64 {
	body, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func dirSize(b *testing.B, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n += info.Size()
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// ledgerYear generates a year of changes to a portal's accounts, deterministically from its
// seed: accounts created, join requests (expiring after a week), members approved, removed and
// moved between roles, partner organisation and individual grants (most with an expiry of one
// to six months) and their revocation, partner staff joining and leaving, cases opened and
// closed, and the expiry sweep's removals when an expiry passes. Activity is skewed: a few
// accounts are busy, most quiet. entries yields the year; live is the state it ends in, and
// the generator remembers which users were members of the busiest account at mid-year.
type ledgerYear struct {
	seed                uint64
	n                   int
	start, mid, end     time.Time
	accounts            []*ledgerAccount
	busiest, typical    int
	live                map[string]time.Time // relationship key -> expiry (zero: none)
	touches             map[string]int       // account -> entries touching it
	updates             int
	midMembers, everMem []string // the busiest account's members at mid-year, and everyone who ever was
}

type ledgerAccount struct {
	created  bool
	users    int               // users numbered so far
	members  []string          // "role user"
	requests []string          // pending join requests: "user"
	grants   []string          // partner grants held: relationship keys
	cases    int               // cases opened so far
	open     []string          // open cases
	roles    map[string]string // user -> role
}

func (a *ledgerAccount) admin() string {
	for _, m := range a.members {
		if r, u, _ := strings.Cut(m, " "); r == "admin" {
			return u
		}
	}
	return "cc-1"
}

const ledgerPartners, ledgerPartnerStaff = 500, 20

func newLedgerYear(seed uint64, n, accounts int, end, mid time.Time) *ledgerYear {
	y := &ledgerYear{seed: seed, n: n, start: end.AddDate(-1, 0, 0), mid: mid, end: end, accounts: make([]*ledgerAccount, accounts)}
	for i := range y.accounts {
		y.accounts[i] = &ledgerAccount{roles: map[string]string{}}
	}
	// A dry run fills the end state (live, touches, the members at mid-year); entries
	// replays the same year from the seed.
	for range y.entries() { //nolint:revive // the run fills y
	}
	// The typical account: the one whose activity is the median of the accounts touched.
	counts := make([]struct {
		i, n int
	}, 0, accounts)
	for i := range y.accounts {
		if n := y.touches[y.accountName(i)]; n > 0 {
			counts = append(counts, struct{ i, n int }{i, n})
		}
	}
	slices.SortFunc(counts, func(a, b struct{ i, n int }) int { return a.n - b.n })
	y.typical = counts[len(counts)/2].i
	y.busiest = counts[len(counts)-1].i
	return y
}

func (y *ledgerYear) accountName(i int) string { return fmt.Sprintf("account:acc-%06d", i) }

// revision is a generated revision token about as long as the local datastore's.
func (y *ledgerYear) revision(i int) string { return fmt.Sprintf("GhUKEzE3NjQ%033d", i) }

func (y *ledgerYear) historyAccounts() []string {
	return []string{y.accountName(y.busiest), y.accountName(y.typical)}
}

func (y *ledgerYear) role(acct string) string {
	if acct == y.accountName(y.busiest) {
		return "busiest"
	}
	return "typical"
}

// probeUsers are the users checked: some members at mid-year, some who were members at some
// time, some partner staff, and a stranger.
func (y *ledgerYear) probeUsers() []string {
	out := slices.Clone(y.midMembers[:min(len(y.midMembers), 6)])
	for i := len(y.everMem) - 1; i >= 0 && len(out) < 10; i -= max(1, len(y.everMem)/4) {
		out = append(out, y.everMem[i])
	}
	return append(out, "pu-1-1", "pu-2-3", "stranger")
}

// expiry is a pending expiry: the sweep removes key at at, if it still expires then.
type expiry struct {
	at      time.Time
	key     string
	account int
}

type expiries []expiry

func (h expiries) Len() int           { return len(h) }
func (h expiries) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h expiries) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiries) Push(x any)        { *h = append(*h, x.(expiry)) }
func (h *expiries) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// entries yields the year's entries, each with the time it is recorded at, resetting the
// generator's state first.
func (y *ledgerYear) entries() iter.Seq2[time.Time, auditlog.Entry] {
	return func(yield func(time.Time, auditlog.Entry) bool) {
		rng := rand.New(rand.NewPCG(y.seed, 7))
		for i := range y.accounts {
			y.accounts[i] = &ledgerAccount{roles: map[string]string{}}
		}
		y.live, y.touches, y.updates, y.midMembers, y.everMem = map[string]time.Time{}, map[string]int{}, 0, nil, nil
		var pending expiries
		step := y.end.Sub(y.start) / time.Duration(y.n)
		seq := 0
		emit := func(at time.Time, e auditlog.Entry) bool {
			e.Revision = y.revision(seq)
			seq++
			seen := map[string]bool{}
			for _, c := range e.Changes {
				if c.Operation == "delete" {
					delete(y.live, c.Relationship)
				} else {
					var exp time.Time
					if c.ExpiresAt != nil {
						exp = *c.ExpiresAt
					}
					y.live[c.Relationship] = exp
				}
				for _, o := range []string{c.Resource, c.Subject} {
					if strings.HasPrefix(o, "account:") && !seen[o] {
						seen[o] = true
						y.touches[o]++
					}
				}
			}
			y.updates += len(e.Changes)
			return yield(at, e)
		}
		midSeen := false
		var last time.Time // times only move forward
		for seq < y.n {
			at := y.start.Add(time.Duration(seq)*step + time.Duration(rng.Int64N(int64(step))))
			if !at.After(last) {
				at = last.Add(time.Microsecond)
			}
			if !midSeen && at.After(y.mid) {
				midSeen = true
				y.midMembers = y.membersOf(y.busiestSoFar())
			}
			// The sweep removes what expired before now.
			if len(pending) > 0 && !pending[0].at.After(at) {
				x := heap.Pop(&pending).(expiry)
				if exp, ok := y.live[x.key]; !ok || !exp.Equal(x.at) {
					continue // revoked or renewed since
				}
				y.forget(x.account, x.key)
				rel, _ := reltext.ParseKey(x.key)
				last = last.Add(time.Microsecond)
				if x.at.After(last) {
					last = x.at
				}
				if !emit(last, sweepEntry(x.key, rel)) {
					return
				}
				continue
			}
			e, exp := y.change(rng, at)
			if exp != nil {
				heap.Push(&pending, *exp)
			}
			last = at
			if !emit(at, e) {
				return
			}
		}
	}
}

// busiestSoFar is the account the skew makes busiest: the first.
func (y *ledgerYear) busiestSoFar() int { return 0 }

func (y *ledgerYear) membersOf(i int) []string {
	var out []string
	for _, m := range y.accounts[i].members {
		_, u, _ := strings.Cut(m, " ")
		out = append(out, u)
	}
	return out
}

// forget drops a relationship the sweep removed from its account's lists.
func (y *ledgerYear) forget(i int, key string) {
	a := y.accounts[i]
	a.grants = slices.DeleteFunc(a.grants, func(k string) bool { return k == key })
	if strings.Contains(key, "#join_request_") {
		u := strings.TrimPrefix(key[strings.Index(key, "@"):], "@user:")
		a.requests = slices.DeleteFunc(a.requests, func(r string) bool { return r == u })
	}
}

func sweepEntry(key string, rel *v1.Relationship) auditlog.Entry {
	return auditlog.Entry{Actor: engine.ExpiryActor, Reason: "expired", Operation: "expiry.sweep",
		Changes: []auditlog.Change{change("delete", key, rel, nil)}}
}

func change(op, key string, rel *v1.Relationship, exp *time.Time) auditlog.Change {
	return auditlog.Change{Operation: op, Relationship: key, ExpiresAt: exp,
		Resource: rel.GetResource().GetObjectType() + ":" + rel.GetResource().GetObjectId(),
		Subject:  rel.GetSubject().GetObject().GetObjectType() + ":" + rel.GetSubject().GetObject().GetObjectId()}
}

// change makes one domain operation's entry at time at, and the expiry it sets, if any.
func (y *ledgerYear) change(rng *rand.Rand, at time.Time) (auditlog.Entry, *expiry) {
	// A few accounts are busy, most quiet: account i is picked with density falling as i grows.
	i := int(float64(len(y.accounts)) * math.Pow(rng.Float64(), 3))
	a := y.accounts[i]
	acct := y.accountName(i)
	var changes []auditlog.Change
	add := func(op, key string, exp *time.Time) {
		rel, err := reltext.ParseKey(key)
		if err != nil {
			panic(err)
		}
		changes = append(changes, change(op, key, rel, exp))
	}
	entry := func(actor, reason, op string) auditlog.Entry {
		return auditlog.Entry{Actor: "user:" + actor, Reason: reason, Operation: op, Principal: "service:portal", Changes: changes}
	}
	newUser := func() string {
		a.users++
		return fmt.Sprintf("u-%d-%d", i, a.users)
	}
	join := func(role, u string) {
		add("touch", acct+"#"+role+"@user:"+u, nil)
		a.members = append(a.members, role+" "+u)
		a.roles[u] = role
		if i == 0 {
			y.everMem = append(y.everMem, u)
		}
	}
	if !a.created {
		a.created = true
		add("touch", acct+"#platform@platform:main", nil)
		join("admin", newUser())
		return entry(fmt.Sprintf("cc-%d", rng.IntN(20)), "new customer", "account.create"), nil
	}
	admin := a.admin()
	switch p := rng.IntN(100); {
	case p < 10: // a join request, expiring after a week
		u := newUser()
		exp := at.Add(7 * 24 * time.Hour).Truncate(time.Second)
		key := acct + "#join_request_standard@user:" + u
		add("touch", key, &exp)
		a.requests = append(a.requests, u)
		return entry(u, "asked to join", "member.request"), &expiry{at: exp, key: key, account: i}
	case p < 35: // a member approved (a pending request, else added directly)
		role := []string{"standard", "standard", "standard", "viewer", "viewer", "admin"}[rng.IntN(6)]
		var u string
		if len(a.requests) > 0 {
			k := rng.IntN(len(a.requests))
			u = a.requests[k]
			a.requests = slices.Delete(a.requests, k, k+1)
			add("delete", acct+"#join_request_standard@user:"+u, nil)
		} else {
			u = newUser()
		}
		join(role, u)
		return entry(admin, "known contact", "member.approve"), nil
	case p < 47 && len(a.members) > 1: // a member leaves
		k := rng.IntN(len(a.members))
		role, u, _ := strings.Cut(a.members[k], " ")
		if role == "admin" && strings.Count(strings.Join(a.members, ","), "admin ") == 1 {
			break
		}
		a.members = slices.Delete(a.members, k, k+1)
		delete(a.roles, u)
		add("delete", acct+"#"+role+"@user:"+u, nil)
		return entry(admin, "left the company", "member.remove"), nil
	case p < 52 && len(a.members) > 1: // a member changes role
		k := rng.IntN(len(a.members))
		role, u, _ := strings.Cut(a.members[k], " ")
		to := map[string]string{"standard": "viewer", "viewer": "standard", "admin": "standard"}[role]
		if role == "admin" {
			break
		}
		a.members[k] = to + " " + u
		a.roles[u] = to
		add("delete", acct+"#"+role+"@user:"+u, nil)
		add("touch", acct+"#"+to+"@user:"+u, nil)
		return entry(admin, "new duties", "member.change_role"), nil
	case p < 62: // a partner organisation granted, usually for one to six months
		level := []string{"org_look", "org_look", "org_update", "org_cc", "org_full_admin"}[rng.IntN(5)]
		key := fmt.Sprintf("%s#%s@partner:partner-%d#member", acct, level, rng.IntN(ledgerPartners))
		exp := y.grant(rng, a, i, at, key, add)
		return entry(admin, "support contract", "partner.grant"), exp
	case p < 67: // an individual partner contact granted
		level := []string{"individual_look", "individual_update", "individual_full_admin"}[rng.IntN(3)]
		key := fmt.Sprintf("%s#%s@user:pu-%d-%d", acct, level, rng.IntN(ledgerPartners), rng.IntN(ledgerPartnerStaff))
		exp := y.grant(rng, a, i, at, key, add)
		return entry(admin, "named consultant", "partner.grant"), exp
	case p < 73 && len(a.grants) > 0: // a grant revoked
		k := rng.IntN(len(a.grants))
		add("delete", a.grants[k], nil)
		a.grants = slices.Delete(a.grants, k, k+1)
		return entry(admin, "contract ended", "partner.revoke"), nil
	case p < 77: // partner staff join or leave (the partner's, not the account's)
		key := fmt.Sprintf("partner:partner-%d#member@user:pu-%d-%d", i%ledgerPartners, i%ledgerPartners, rng.IntN(ledgerPartnerStaff))
		op := "touch"
		if _, ok := y.live[key]; ok {
			op = "delete"
		}
		add(op, key, nil)
		return entry(fmt.Sprintf("pa-%d", i%ledgerPartners), "staff change", "partner.member"), nil
	case p < 92: // a case opened
		a.cases++
		c := fmt.Sprintf("case:c-%d-%d", i, a.cases)
		reporter := admin
		if len(a.members) > 0 {
			_, reporter, _ = strings.Cut(a.members[rng.IntN(len(a.members))], " ")
		}
		add("touch", c+"#account@"+acct, nil)
		add("touch", c+"#reporter@user:"+reporter, nil)
		add("touch", c+"#open@user:*", nil)
		a.open = append(a.open, c)
		return entry(reporter, "", "case.open"), nil
	case len(a.open) > 0: // a case closed
		k := rng.IntN(len(a.open))
		add("delete", a.open[k]+"#open@user:*", nil)
		a.open = slices.Delete(a.open, k, k+1)
		return entry(admin, "resolved", "case.close"), nil
	}
	// Nothing of the kind to change: a new member instead.
	changes = nil
	join("viewer", newUser())
	return entry(admin, "known contact", "member.approve"), nil
}

// grant writes a partner grant, with an expiry of one to six months three times in four.
func (y *ledgerYear) grant(rng *rand.Rand, a *ledgerAccount, i int, at time.Time, key string, add func(string, string, *time.Time)) *expiry {
	var exp *time.Time
	if rng.IntN(4) > 0 {
		t := at.Add(time.Duration(30+rng.IntN(150)) * 24 * time.Hour).Truncate(time.Second)
		exp = &t
	}
	add("touch", key, exp)
	if !slices.Contains(a.grants, key) {
		a.grants = append(a.grants, key)
	}
	if exp == nil {
		return nil
	}
	return &expiry{at: *exp, key: key, account: i}
}
