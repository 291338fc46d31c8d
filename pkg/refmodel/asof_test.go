package refmodel_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/spicedb/pkg/zedtoken"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/auditlog"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/ref"
	"github.com/accessgraph/accessgraph/pkg/refmodel"
)

var (
	flagAsOfWorlds   = flag.Int("refmodel.asof-worlds", 0, "number of random worlds per datastore for TestAsOfAgreesWithTheModelThen (0: the default, 3; 2 with -short)")
	flagAsOfInstants = flag.Int("refmodel.asof-instants", 8, "past instants rebuilt and compared per world in TestAsOfAgreesWithTheModelThen")
	flagAsOfStart    = flag.Uint64("refmodel.asof-start", 1000, "first seed of TestAsOfAgreesWithTheModelThen; worlds use seeds start, start+1, ...")
)

const (
	defaultAsOfWorlds = 3
	shortAsOfWorlds   = 2
	// asOfOps is the number of random operations per world after the skeleton (fewer than
	// TestDifferential's: each world waits for its log after every operation).
	asOfOps = 40
	// Instants this close before an expiry are not compared: the engine's reaper deletes an
	// expiring grant up to engine.ExpiryLead early, so for that moment the product holds
	// less than the contract (and the model) says; the live differential skips it alike.
	expiryExclusionBefore = 500 * time.Millisecond
	expiryExclusionAfter  = 100 * time.Millisecond
)

// loggedDomain is a product with its durable audit log filled by a consumer of the change
// stream, as `accessctl serve` keeps it.
type loggedDomain struct {
	*domain
	log  auditlog.Log
	stop func()
}

// startLoggedDomain starts a fresh engine and its audit log on the local datastore (the
// log's records in it) or on a fresh PostgreSQL database (the audit_log table in it).
func startLoggedDomain(ctx context.Context, datastore string) (*loggedDomain, error) {
	cfg := engine.EmbeddedConfig{StartTimeout: 60 * time.Second}
	var drop func()
	switch datastore {
	case "local":
		dir, err := os.MkdirTemp("", "refmodel-asof-")
		if err != nil {
			return nil, err
		}
		cfg.DatastoreURI, drop = engine.LocalURI(dir), func() { _ = os.RemoveAll(dir) }
	case "postgres":
		uri, d, err := freshDatabase(ctx, os.Getenv(postgresEnv))
		if err != nil {
			return nil, err
		}
		cfg.DatastoreURI, drop = uri, d
	default:
		return nil, fmt.Errorf("unknown datastore %q", datastore)
	}
	e, err := engine.StartEmbedded(ctx, cfg)
	if err != nil {
		drop()
		return nil, fmt.Errorf("starting engine: %w", err)
	}
	var l auditlog.Log
	if ds := e.LocalStore(); ds != nil {
		l = auditlog.NewLocalLog(ds)
	} else {
		l, err = auditlog.Open(ctx, cfg.DatastoreURI)
		if err != nil {
			_ = e.Close()
			drop()
			return nil, fmt.Errorf("opening the audit log: %w", err)
		}
	}
	consumer, err := auditlog.NewConsumer(ctx, e.Engine, l)
	if err != nil {
		l.Close()
		_ = e.Close()
		drop()
		return nil, err
	}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = consumer.Run(cctx, nil) }()
	d := &domain{ctx: ctx, e: e, c: access.New(e.Engine), drop: drop}
	return &loggedDomain{domain: d, log: l, stop: func() {
		cancel()
		<-done
		l.Close()
		d.close()
	}}, nil
}

// waitLogged waits until the log's newest entry is the engine's newest write (its own, or
// its expiry reaper's), so that an instant taken after it sees every change made so far.
// Tokens are compared by the revision they carry (the change stream's differ in the rest).
// Some writes change no relationship and never reach the change stream: when the newest is
// one, the log is taken as caught up once it has stayed still for logQuiet.
//
// When the op wrote (expect), the log must first grow past before: on PostgreSQL the
// change stream's token for a write need not carry the same revision text as the write's.
func (d *loggedDomain) waitLogged(before int64, expect bool) error {
	const logQuiet = 250 * time.Millisecond
	for grown := time.Now().Add(5 * time.Second); expect && time.Now().Before(grown); time.Sleep(2 * time.Millisecond) {
		seq, err := d.log.LastSeq(d.ctx)
		if err != nil {
			return err
		}
		if seq > before {
			break
		}
	}
	lastSeq, since := int64(-1), time.Now()
	for deadline := time.Now().Add(30 * time.Second); ; {
		want := tokenRevision(d.e.FreshestToken(nil).GetToken())
		if want == "" {
			return nil
		}
		last, err := d.log.LastRevision(d.ctx)
		if err != nil {
			return err
		}
		if tokenRevision(last) == want {
			return nil
		}
		seq, err := d.log.LastSeq(d.ctx)
		if err != nil {
			return err
		}
		if seq != lastSeq {
			lastSeq, since = seq, time.Now()
		} else if time.Since(since) > logQuiet {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the audit log has not recorded revision %s after 30s (its last: %s)", want, tokenRevision(last))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// tokenRevision is the datastore revision a ZedToken carries ("" for none).
func tokenRevision(token string) string {
	if token == "" {
		return ""
	}
	dec, err := zedtoken.Decode(&v1.ZedToken{Token: token})
	if err != nil {
		return token
	}
	return dec.GetV1().GetRevision()
}

// asOfGap is a stretch of time in which the product's state was that after the first k
// applied ops: from when the log had recorded op k-1 to just before the next op began.
type asOfGap struct {
	lo, hi time.Time
	k      int
}

// asOfStats counts what one world compared.
type asOfStats struct {
	ops, instants, pairs, expired, prunes, afterPrune int
}

// runAsOfWorld applies ops to a logged product and to the model, noting after each when
// the log had caught up, then rebuilds the graph from the log alone at random instants of
// the past and compares every (user, public permission, object) answer with the model
// replayed to that instant and evaluated at it.
func runAsOfWorld(ctx context.Context, datastore string, seed uint64, ops []refmodel.Op, instants int) (asOfStats, *mismatch, error) {
	d, err := startLoggedDomain(ctx, datastore)
	if err != nil {
		return asOfStats{}, nil, err
	}
	defer d.stop()
	r := &runner{d: d.domain, m: refmodel.NewWorld(), rng: rand.New(rand.NewPCG(seed, 11))}
	var gaps []asOfGap
	lo := time.Time{}
	var seqBefore int64
	var okBefore int
	mark := func() error {
		if err := d.waitLogged(seqBefore, r.stats.succeeded > okBefore || !r.lastExpiry.IsZero() && len(r.applied) > 0 && r.applied[len(r.applied)-1].Kind == refmodel.OpTick); err != nil {
			return err
		}
		lo = time.Now()
		return nil
	}
	endGap := func() {
		seqBefore, _ = d.log.LastSeq(ctx)
		okBefore = r.stats.succeeded
		if !lo.IsZero() {
			gaps = append(gaps, asOfGap{lo: lo, hi: time.Now(), k: len(r.applied)})
		}
	}
	for i, op := range ops {
		endGap()
		var mm *mismatch
		if op.Kind == refmodel.OpTick {
			mm, err = r.tick(false)
		} else {
			mm, err = r.step(i, op)
		}
		if errors.Is(err, errStopWorld) {
			break
		}
		if mm != nil || err != nil {
			return asOfStats{ops: r.stats.ops}, mm, err
		}
		if err := mark(); err != nil {
			return asOfStats{ops: r.stats.ops}, nil, err
		}
	}
	endGap()
	if !r.soonAt.IsZero() {
		if _, err := r.tick(false); err != nil {
			return asOfStats{ops: r.stats.ops}, nil, err
		}
		if err := mark(); err != nil {
			return asOfStats{ops: r.stats.ops}, nil, err
		}
		endGap()
	}
	// The instants where the model may not speak for the product: around each expiry.
	var expiries []time.Time
	for _, op := range r.applied {
		if op.Kind == refmodel.OpTick {
			expiries = append(expiries, op.At.Add(-time.Millisecond))
		}
	}
	nearExpiry := func(t time.Time) bool {
		for _, x := range expiries {
			if t.After(x.Add(-expiryExclusionBefore)) && t.Before(x.Add(expiryExclusionAfter)) {
				return true
			}
		}
		return false
	}
	var candidates []asOfGap
	for _, g := range gaps {
		if g.k > 0 && !nearExpiry(g.lo) {
			candidates = append(candidates, g)
		}
	}
	st := asOfStats{ops: r.stats.ops}
	compareSome := func(candidates []asOfGap, n int) (*mismatch, error) {
		for _, i := range r.rng.Perm(len(candidates))[:min(n, len(candidates))] {
			g := candidates[i]
			at := g.lo
			if span := g.hi.Sub(g.lo); span > 0 {
				at = at.Add(time.Duration(r.rng.Int64N(int64(span))))
			}
			if nearExpiry(at) {
				at = g.lo
			}
			n, expired, mm, err := compareAsOf(ctx, d.log, at, r.applied[:g.k])
			st.instants++
			if st.prunes > 0 {
				st.afterPrune++
			}
			st.pairs += n
			if expired {
				st.expired++
			}
			if mm != nil {
				return &mismatch{sig: mm.sig, detail: fmt.Sprintf("as of %s (after %d applied ops, %d prunes):\n%s", at.UTC().Format(time.RFC3339Nano), g.k, st.prunes, mm.detail)}, err
			}
			if err != nil {
				return nil, err
			}
		}
		return nil, nil
	}
	each := max(1, instants/2)
	if mm, err := compareSome(candidates, each); mm != nil || err != nil {
		return st, mm, err
	}
	// Retention: prune the log at a random instant, twice, each time later; answers after
	// the cut must not change, the chain must verify and match the stored relationships, and
	// an instant before the cut is refused.
	for range 2 {
		if len(candidates) < 2 {
			break
		}
		i := 1 + r.rng.IntN(len(candidates)-1)
		cut := candidates[i].lo
		res, err := auditlog.Prune(ctx, d.log, cut, "system:retention", "retention test")
		if err != nil {
			return st, nil, err
		}
		if !res.Pruned {
			return st, nil, fmt.Errorf("pruning before %s removed nothing, though changes were recorded before it", cut.UTC().Format(time.RFC3339Nano))
		}
		st.prunes++
		v, err := d.log.Verify(ctx, nil)
		if err != nil {
			return st, nil, err
		}
		if err := audit.VerifyState(ctx, d.e.Engine, d.log, &v); err != nil {
			return st, nil, err
		}
		if !v.Intact() || !v.StateChecked {
			return st, nil, fmt.Errorf("after pruning up to entry %d: verification %+v", res.Anchor.Position, v)
		}
		before := res.Anchor.RecordedAt.Add(-time.Microsecond)
		if g, err := audit.RebuildAt(ctx, d.log, before); err == nil || !errors.Is(err, access.ErrInvalidArgument) || !strings.Contains(err.Error(), "retention policy") {
			if err == nil {
				g.Close()
			}
			return st, nil, fmt.Errorf("as of %s, before the history pruned up to entry %d: want a refusal naming the retention policy, got %v", before.Format(time.RFC3339Nano), res.Anchor.Position, err)
		}
		candidates = candidates[i:]
		if mm, err := compareSome(candidates, each); mm != nil || err != nil {
			return st, mm, err
		}
	}
	return st, nil, nil
}

// compareAsOf rebuilds the graph at `at` from the log and compares every (user, public
// permission, object) answer with the model after applied, its clock set to `at`. It
// reports how many answers it compared and whether a grant the model holds had expired by
// then.
func compareAsOf(ctx context.Context, l auditlog.Log, at time.Time, applied []refmodel.Op) (int, bool, *mismatch, error) {
	m := refmodel.NewWorld()
	for _, op := range applied {
		m.Apply(op)
	}
	expired := false
	for _, op := range applied {
		if op.Kind == refmodel.OpTick && !op.At.After(at) {
			expired = true
		}
	}
	m.Now = at
	g, err := audit.RebuildAt(ctx, l, at)
	if err != nil {
		return 0, expired, nil, fmt.Errorf("rebuilding at %s: %w", at.UTC().Format(time.RFC3339Nano), err)
	}
	defer g.Close()
	type q struct {
		user, perm string
		o          refmodel.Object
	}
	var qs []q
	var items []access.CheckItem
	for _, typ := range refmodel.PublicTypes {
		for _, o := range m.Objects(typ) {
			for _, perm := range refmodel.PublicPermissions[typ] {
				for _, u := range refmodel.AllUsers() {
					qs = append(qs, q{u, perm, o})
					items = append(items, access.CheckItem{Subject: ref.Subject{Object: ref.Object{Type: "user", ID: u}}, Permission: perm, Resource: obj(o)})
				}
			}
		}
	}
	decisions, errs, err := access.New(g.Engine).CheckMany(ctx, items, access.Fresh())
	if err != nil {
		return 0, expired, nil, err
	}
	var diffs []string
	sig := ""
	for i, x := range qs {
		if errs[i] != nil {
			return i, expired, nil, fmt.Errorf("checking %s: %w", items[i], errs[i])
		}
		got, want := decisions[i].Allowed, m.Allowed(x.user, x.perm, x.o)
		if got == want {
			continue
		}
		if sig == "" {
			sig = fmt.Sprintf("as of: %s %s %s rebuilt=%t", x.user, x.perm, x.o, got)
		}
		diffs = append(diffs, fmt.Sprintf("%s %s %s: rebuilt %t, model %t", x.user, x.perm, x.o, got, want))
	}
	if len(diffs) == 0 {
		return len(qs), expired, nil, nil
	}
	total, more := len(diffs), ""
	if total > 12 {
		more = fmt.Sprintf("\n  ... and %d more", total-12)
		diffs = diffs[:12]
	}
	return len(qs), expired, &mismatch{sig: sig, detail: fmt.Sprintf("%d answers differ:\n  %s%s", total, strings.Join(diffs, "\n  "), more)}, nil
}

// TestAsOfAgreesWithTheModelThen replays generated histories (grants and revocations, some
// expiring during the test, group moves, role changes, cases) through the domain API with
// the audit log recording the change stream, then rebuilds the graph from the log alone at
// random past instants (audit.RebuildAt) and compares every (user, public permission,
// object) answer with the reference model replayed to that instant and evaluated at it. On
// the local datastore, and on PostgreSQL (SpiceDB and the audit_log table in one database)
// when ACCESSGRAPH_TEST_POSTGRES names a server.
func TestAsOfAgreesWithTheModelThen(t *testing.T) {
	worlds := *flagAsOfWorlds
	if worlds == 0 {
		worlds = defaultAsOfWorlds
		if testing.Short() {
			worlds = shortAsOfWorlds
		}
	}
	for _, datastore := range []string{"local", "postgres"} {
		t.Run(datastore, func(t *testing.T) {
			if datastore == "postgres" && os.Getenv(postgresEnv) == "" {
				t.Skipf("set %s to run on PostgreSQL", postgresEnv)
			}
			t.Parallel()
			ctx := context.Background()
			start := time.Now()
			type result struct {
				seed  uint64
				ops   []refmodel.Op
				stats asOfStats
				mm    *mismatch
				err   error
			}
			jobs := make(chan uint64)
			results := make(chan result)
			var wg sync.WaitGroup
			for range max(1, *flagParallel/2) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for seed := range jobs {
						ops := refmodel.Generate(seed, refmodel.GenConfig{Ops: asOfOps})
						st, mm, err := runAsOfWorld(ctx, datastore, seed, ops, *flagAsOfInstants)
						results <- result{seed, ops, st, mm, err}
					}
				}()
			}
			go func() {
				for i := range worlds {
					jobs <- *flagAsOfStart + uint64(i)
				}
				close(jobs)
				wg.Wait()
				close(results)
			}()
			var total asOfStats
			mismatches := 0
			for res := range results {
				total.ops += res.stats.ops
				total.instants += res.stats.instants
				total.pairs += res.stats.pairs
				total.expired += res.stats.expired
				total.prunes += res.stats.prunes
				total.afterPrune += res.stats.afterPrune
				switch {
				case res.err != nil:
					t.Errorf("seed %d: %v", res.seed, res.err)
				case res.mm != nil:
					mismatches++
					t.Errorf("seed %d: the rebuilt past and the model disagree (reproduce: go test ./pkg/refmodel/ -run 'TestAsOfAgreesWithTheModelThen' -refmodel.asof-worlds=1 -refmodel.asof-start=%d)\n%s\noperations:\n%s",
						res.seed, res.seed, res.mm.detail, describe(res.ops))
				}
			}
			t.Logf("as of, %s: %d worlds (seeds %d..%d), %d operations, %d past instants rebuilt (%d after an expiry; %d after one of %d prunes by retention), %d (user, permission, object) answers compared with the model, %d mismatched worlds, in %s",
				datastore, worlds, *flagAsOfStart, *flagAsOfStart+uint64(worlds)-1, total.ops, total.instants, total.expired, total.afterPrune, total.prunes, total.pairs, mismatches, time.Since(start).Round(time.Millisecond))
			// A run that rebuilt nothing or compared nothing proves nothing.
			if total.instants < worlds || total.pairs < total.instants {
				t.Errorf("as of, %s: %d worlds rebuilt %d past instants and compared %d answers: want at least one instant per world and one answer per instant", datastore, worlds, total.instants, total.pairs)
			}
			if worlds >= 2 && total.expired == 0 {
				t.Errorf("as of, %s: no instant rebuilt after an expiry in %d worlds: expiry as of a past time went untested (try other seeds)", datastore, worlds)
			}
			if total.prunes == 0 || total.afterPrune == 0 {
				t.Errorf("as of, %s: %d prunes and %d instants after one: the retention part compared nothing", datastore, total.prunes, total.afterPrune)
			}
		})
	}
}
