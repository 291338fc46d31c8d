package refmodel_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/ref"
	"github.com/accessgraph/accessgraph/pkg/refmodel"
)

// Expiry timing. A grant generated with Soon expires soonWindow after the first such grant
// of its epoch; the engine's reaper deletes it up to engine.ExpiryLead (250ms) early. Ops
// are applied only while at least soonGuard remains before that instant, and the runner
// waits until soonSettle after it before the model's clock moves past it, so no op and no
// comparison ever runs while the product and the model could disagree about whether the
// grant is still in force.
const (
	soonWindow = 3 * time.Second
	soonGuard  = 1200 * time.Millisecond
	soonSettle = 400 * time.Millisecond
	// farAhead is the expiry of grants that expire, but not during the test.
	farAhead = 365 * 24 * time.Hour
)

// mismatch is a difference between the product and the model.
type mismatch struct {
	// sig identifies the difference (same sig, same bug) for shrinking.
	sig string
	// detail says what differed, in words.
	detail string
}

// worldStats counts what one world compared.
type worldStats struct {
	ops         int // operations applied to both sides
	succeeded   int // of which both sides accepted
	refused     int // of which both sides refused, for the same reason
	denied      int // of which both refused for lack of permission
	pairs       int // (user, permission, object) answers compared
	checkpoints int
	lookups     int // lookups compared with the checks
	listings    int // listings (approvers, partner-managed, visible and group cases) compared
	expiries    int // epochs of soon grants waited out
	known       int // differences matched by the allow-list
}

func (s *worldStats) add(o worldStats) {
	s.ops += o.ops
	s.succeeded += o.succeeded
	s.refused += o.refused
	s.denied += o.denied
	s.pairs += o.pairs
	s.checkpoints += o.checkpoints
	s.lookups += o.lookups
	s.listings += o.listings
	s.expiries += o.expiries
	s.known += o.known
}

// runner applies ops to the product and the model in lockstep.
type runner struct {
	d      *domain
	m      *refmodel.World
	soonAt time.Time // expiry of the current epoch's soon grants; zero if none
	stats  worldStats
	rng    *rand.Rand
	// answers holds the product's answers at the last checkpoint.
	answers map[string]bool
	// lastExpiry is when the last batch of soon grants expired; zero if none did yet.
	lastExpiry time.Time
	// staleToken is the engine's newest revision token when the engine made no write while
	// the last batch of soon grants expired (so its expiry reaper deleted nothing), or "".
	staleToken string
	// applied is every op applied to the model so far, as applied (expiries filled in, the
	// ticks included): replaying a prefix gives the model's state at that point.
	applied []refmodel.Op
}

// preExpiry returns the model with its clock set back to just before the last expiry, all
// else equal, or nil when nothing expired yet: the answers it gives that the current model
// does not are exactly the ones the last expiry changed.
func (r *runner) preExpiry() *refmodel.World {
	if r.lastExpiry.IsZero() {
		return nil
	}
	pre := r.m.Clone()
	pre.Now = r.lastExpiry.Add(-time.Millisecond)
	return pre
}

// known looks d up in the allow-list, filling in the expiry context; it counts and returns
// true when an entry excuses it.
func (r *runner) known(d discrepancy, pre func(w *refmodel.World) (bool, refmodel.Result)) bool {
	if w := r.preExpiry(); w != nil {
		d.expired, d.sinceExpiry = true, time.Since(r.lastExpiry)
		d.pre, d.preResult = pre(w)
		if d.kind != "op" { // an op's evidence is taken before it writes (see step)
			d.staleRevision = r.readsStaleRevision()
		}
	}
	if matchKnown(d) == "" {
		return false
	}
	r.stats.known++
	return true
}

// readsStaleRevision reports whether the engine wrote nothing while the last batch of grants
// expired and nothing since: its checks still read at the revision from before the expiry.
func (r *runner) readsStaleRevision() bool {
	return r.staleToken != "" && r.d.e.FreshestToken(nil).GetToken() == r.staleToken
}

func answerKey(user, perm string, o refmodel.Object) string {
	return user + " " + perm + " " + o.String()
}

// runWorld replays ops on a fresh engine and a fresh model, comparing every operation's
// outcome, every public permission answer at checkpoints (half way, before each expiry, at
// the end), and at the end a sample of lookups (against the checks) and the listings
// (against the model). It stops at the first mismatch.
func runWorld(ctx context.Context, ops []refmodel.Op, seed uint64, lookups int) (worldStats, *mismatch, error) {
	d, err := startDomain(ctx)
	if err != nil {
		return worldStats{}, nil, err
	}
	defer d.close()
	return runWorldOn(d, ops, seed, lookups)
}

// runWorldOn is runWorld on a given, fresh product.
func runWorldOn(d *domain, ops []refmodel.Op, seed uint64, lookups int) (worldStats, *mismatch, error) {
	r := &runner{d: d, m: refmodel.NewWorld(), rng: rand.New(rand.NewPCG(seed, 7))}
	half := len(ops) / 2
	for i, op := range ops {
		if i == half {
			if mm, err := r.checkpoint("half way"); mm != nil || err != nil {
				return r.stats, mm, err
			}
		}
		if op.Kind == refmodel.OpTick {
			if mm, err := r.tick(true); mm != nil || err != nil {
				return r.stats, mm, err
			}
			continue
		}
		if mm, err := r.step(i, op); mm != nil || err != nil {
			return r.stats, mm, err
		}
	}
	if !r.soonAt.IsZero() {
		if mm, err := r.tick(false); mm != nil || err != nil {
			return r.stats, mm, err
		}
	}
	if mm, err := r.checkpoint("end"); mm != nil || err != nil {
		return r.stats, mm, err
	}
	if mm, err := r.compareLookups(lookups); mm != nil || err != nil {
		return r.stats, mm, err
	}
	mm, err := r.compareListings(max(1, lookups/2))
	return r.stats, mm, err
}

// step applies one op to both sides and compares the outcomes.
func (r *runner) step(i int, op refmodel.Op) (*mismatch, error) {
	if !r.soonAt.IsZero() && time.Until(r.soonAt) < soonGuard {
		// Too close to the expiry of this epoch's soon grants: let them expire first.
		if mm, err := r.tick(false); mm != nil || err != nil {
			return mm, err
		}
	}
	if op.Kind == refmodel.OpGrantPartner {
		switch {
		case op.Soon:
			if r.soonAt.IsZero() {
				r.soonAt = time.Now().Add(soonWindow)
			}
			op.ExpiresAt = r.soonAt
		case !op.ExpiresAt.IsZero():
			op.ExpiresAt = time.Now().Add(farAhead)
		}
	}
	want := r.m.Predict(op)
	stale := r.readsStaleRevision()
	err := r.d.apply(op)
	got := classify(err)
	r.stats.ops++
	if got != want {
		d := discrepancy{kind: "op", productResult: got, modelResult: want, staleRevision: stale}
		if r.known(d, func(w *refmodel.World) (bool, refmodel.Result) { return false, w.Predict(op) }) {
			// The states would diverge: stop comparing this world, but do not fail.
			return nil, errStopWorld
		}
		detail := fmt.Sprintf("op %d %s: product %s, model %s", i, op, got, want)
		if err != nil {
			detail += fmt.Sprintf(" (product error: %v)", err)
		}
		return &mismatch{sig: fmt.Sprintf("op %s product=%s model=%s", op.Kind, got, want), detail: detail}, nil
	}
	r.m.Apply(op)
	r.applied = append(r.applied, op)
	if got == refmodel.OK {
		r.stats.succeeded++
	} else {
		r.stats.refused++
		if got == refmodel.Denied {
			r.stats.denied++
		}
	}
	return nil, nil
}

// errStopWorld ends a world early after an allow-listed difference in an operation.
var errStopWorld = errors.New("stopped after a known discrepancy")

// tick lets the current epoch's soon grants expire: a checkpoint first while they are
// still in force (when there is time enough), then a wait past their expiry, then the
// model's clock moves past it.
func (r *runner) tick(checkFirst bool) (*mismatch, error) {
	if r.soonAt.IsZero() {
		return nil, nil
	}
	if checkFirst && time.Until(r.soonAt) > soonGuard {
		mm, err := r.checkpoint("before expiry")
		if mm != nil && time.Until(r.soonAt) < engineExpiryLead {
			// The comparison overran into the reaper's window: its answers are not evidence.
			mm = nil
			r.stats.checkpoints--
		}
		if mm != nil || err != nil {
			return mm, err
		}
	}
	// Whether the reaper writes anything while the batch expires is evidence for the
	// allow-list; it is reliable only if read before the reaper's moment.
	before, reliable := r.d.e.FreshestToken(nil).GetToken(), time.Until(r.soonAt) > engineExpiryLead
	time.Sleep(time.Until(r.soonAt.Add(soonSettle)))
	r.staleToken = ""
	if after := r.d.e.FreshestToken(nil).GetToken(); reliable && after == before {
		r.staleToken = after
	}
	tick := refmodel.Op{Kind: refmodel.OpTick, At: r.soonAt.Add(time.Millisecond)}
	r.m.Apply(tick)
	r.applied = append(r.applied, tick)
	r.lastExpiry = r.soonAt
	r.soonAt = time.Time{}
	r.stats.expiries++
	return nil, nil
}

// engineExpiryLead mirrors engine.ExpiryLead with a margin.
const engineExpiryLead = 300 * time.Millisecond

// checkpoint compares every (user, public permission, object) answer of the product
// (CheckMany, fresh consistency) with the model.
func (r *runner) checkpoint(label string) (*mismatch, error) {
	type q struct {
		user, perm string
		o          refmodel.Object
	}
	var qs []q
	var items []access.CheckItem
	for _, typ := range refmodel.PublicTypes {
		for _, o := range r.m.Objects(typ) {
			for _, perm := range refmodel.PublicPermissions[typ] {
				for _, u := range refmodel.AllUsers() {
					qs = append(qs, q{u, perm, o})
					items = append(items, access.CheckItem{
						Subject:    ref.Subject{Object: ref.Object{Type: "user", ID: u}},
						Permission: perm,
						Resource:   obj(o),
					})
				}
			}
		}
	}
	decisions, errs, err := r.d.c.CheckMany(r.d.ctx, items, access.Fresh())
	if err != nil {
		return nil, fmt.Errorf("checking at %s: %w", label, err)
	}
	r.stats.checkpoints++
	r.answers = map[string]bool{}
	var diffs []string
	sig := ""
	for i, x := range qs {
		if errs[i] != nil {
			return nil, fmt.Errorf("checking %s at %s: %w", items[i], label, errs[i])
		}
		got, want := decisions[i].Allowed, r.m.Allowed(x.user, x.perm, x.o)
		r.answers[answerKey(x.user, x.perm, x.o)] = got
		r.stats.pairs++
		if got == want {
			continue
		}
		d := discrepancy{kind: "check", product: got, model: want}
		if r.known(d, func(w *refmodel.World) (bool, refmodel.Result) { return w.Allowed(x.user, x.perm, x.o), "" }) {
			continue
		}
		if sig == "" {
			sig = fmt.Sprintf("check %s %s %s product=%t", x.user, x.perm, x.o, got)
		}
		diffs = append(diffs, fmt.Sprintf("%s %s %s: product %t, model %t", x.user, x.perm, x.o, got, want))
	}
	if len(diffs) == 0 {
		return nil, nil
	}
	total, more := len(diffs), ""
	if total > 12 {
		more = fmt.Sprintf("\n  ... and %d more", total-12)
		diffs = diffs[:12]
	}
	return &mismatch{sig: sig, detail: fmt.Sprintf("at %s, %d answers differ:\n  %s%s", label, total, strings.Join(diffs, "\n  "), more)}, nil
}

// compareLookups compares a sample of LookupResources and LookupSubjects answers with the
// checks of the last checkpoint.
func (r *runner) compareLookups(n int) (*mismatch, error) {
	users := refmodel.AllUsers()
	var objects []refmodel.Object
	for _, typ := range refmodel.PublicTypes {
		objects = append(objects, r.m.Objects(typ)...)
	}
	for range n {
		// LookupResources: which objects of a type can this user ... ?
		u := users[r.rng.IntN(len(users))]
		typ := refmodel.PublicTypes[r.rng.IntN(len(refmodel.PublicTypes))]
		perm := refmodel.PublicPermissions[typ][r.rng.IntN(len(refmodel.PublicPermissions[typ]))]
		var got []string
		for o, err := range r.d.c.LookupResources(r.d.ctx, ref.Subject{Object: ref.Object{Type: "user", ID: u}}, perm, typ, access.Fresh()) {
			if err != nil {
				return nil, err
			}
			got = append(got, o.ID)
		}
		var want []string
		for _, o := range r.m.Objects(typ) {
			if r.answers[answerKey(u, perm, o)] {
				want = append(want, o.ID)
			}
		}
		r.stats.lookups++
		lookupExcuse := func(id string, inGot bool) bool {
			o := refmodel.Object{Type: typ, ID: id}
			return r.known(discrepancy{kind: "lookup", product: inGot, model: r.m.Allowed(u, perm, o)},
				func(w *refmodel.World) (bool, refmodel.Result) { return w.Allowed(u, perm, o), "" })
		}
		if mm := compareSetsExcusing(fmt.Sprintf("LookupResources(user:%s, %s, %s)", u, perm, typ), "the checks say", got, want, lookupExcuse); mm != nil {
			return mm, nil
		}
		// LookupSubjects: which users can ... on this object?
		if len(objects) == 0 {
			continue
		}
		o := objects[r.rng.IntN(len(objects))]
		perm = refmodel.PublicPermissions[o.Type][r.rng.IntN(len(refmodel.PublicPermissions[o.Type]))]
		got = got[:0]
		wildcard := false
		for s, err := range r.d.c.LookupSubjects(r.d.ctx, obj(o), perm, "user", access.Fresh()) {
			if err != nil {
				return nil, err
			}
			if s.ID == "*" {
				wildcard = true
				continue
			}
			got = append(got, s.ID)
		}
		if wildcard {
			got = users
		}
		want = want[:0]
		for _, u := range users {
			if r.answers[answerKey(u, perm, o)] {
				want = append(want, u)
			}
		}
		r.stats.lookups++
		subjectExcuse := func(id string, inGot bool) bool {
			return r.known(discrepancy{kind: "lookup", product: inGot, model: r.m.Allowed(id, perm, o)},
				func(w *refmodel.World) (bool, refmodel.Result) { return w.Allowed(id, perm, o), "" })
		}
		if mm := compareSetsExcusing(fmt.Sprintf("LookupSubjects(%s, %s, user)", o, perm), "the checks say", got, want, subjectExcuse); mm != nil {
			return mm, nil
		}
	}
	return nil, nil
}

// compareListings compares the listings the contract promises with the model's: approvers
// of every pending join request, each account's partner-managed cases, and for a sample of
// users the cases they can see and the cases they see through group read access (all,
// open, closed).
func (r *runner) compareListings(users int) (*mismatch, error) {
	ctx, c := r.d.ctx, r.d.c
	for _, acct := range r.m.Objects("account") {
		for _, u := range refmodel.AllUsers() {
			if r.m.PendingRequest(acct.ID, u) == "" {
				continue
			}
			approvers, err := c.Approvers(ctx, access.As(u), acct.ID, u)
			if err != nil {
				return nil, fmt.Errorf("approvers of %s on %s: %w", u, acct, err)
			}
			var got []string
			for _, a := range approvers {
				got = append(got, a.User)
			}
			r.stats.listings++
			if mm := r.compareListing(fmt.Sprintf("Approvers(%s, %s)", acct.ID, u), got, func(w *refmodel.World) []string { return w.Approvers(acct.ID, u) }); mm != nil {
				return mm, nil
			}
		}
		// Members and PartnerGrants need view_members: ask as someone who has it.
		for _, u := range refmodel.AllUsers() {
			if !r.m.Allowed(u, "view_members", acct) {
				continue
			}
			var got []string
			for mem, err := range c.Members(ctx, access.As(u), acct.ID) {
				if err != nil {
					return nil, fmt.Errorf("members of %s as %s: %w", acct, u, err)
				}
				got = append(got, mem.User+"="+string(mem.Role))
			}
			members := func(w *refmodel.World) []string {
				var out []string
				for mem, role := range w.Members(acct.ID) {
					out = append(out, mem+"="+string(role))
				}
				return out
			}
			r.stats.listings++
			if mm := r.compareListing(fmt.Sprintf("Members(%s)", acct.ID), got, members); mm != nil {
				return mm, nil
			}
			got = nil
			for pg, err := range c.PartnerGrants(ctx, access.As(u), acct.ID) {
				if err != nil {
					return nil, fmt.Errorf("partner grants of %s as %s: %w", acct, u, err)
				}
				got = append(got, pg.Grantee.String()+"="+string(pg.Level))
			}
			grants := func(w *refmodel.World) []string {
				var out []string
				for _, g := range w.PartnerGrants(acct.ID) {
					l, _, _ := w.Grant(acct.ID, g)
					out = append(out, g.String()+"="+string(l))
				}
				return out
			}
			r.stats.listings++
			if mm := r.compareListing(fmt.Sprintf("PartnerGrants(%s)", acct.ID), got, grants); mm != nil {
				return mm, nil
			}
			break
		}
		// PartnerManagedCases needs view_all_cases: ask as someone who has it.
		for _, u := range refmodel.AllUsers() {
			if !r.m.Allowed(u, "view_all_cases", acct) {
				continue
			}
			got, err := collectIDs(c.PartnerManagedCases(ctx, access.As(u), acct.ID))
			if err != nil {
				return nil, fmt.Errorf("partner-managed cases of %s as %s: %w", acct, u, err)
			}
			r.stats.listings++
			if mm := r.compareListing(fmt.Sprintf("PartnerManagedCases(%s)", acct.ID), got, func(w *refmodel.World) []string { return w.PartnerManagedCases(acct.ID) }); mm != nil {
				return mm, nil
			}
			break
		}
	}
	all := refmodel.AllUsers()
	statuses := []struct {
		domain access.CaseStatus
		model  refmodel.CaseStatus
	}{{access.StatusAll, refmodel.StatusAll}, {access.StatusOpen, refmodel.StatusOpen}, {access.StatusClosed, refmodel.StatusClosed}}
	for range users {
		u := all[r.rng.IntN(len(all))]
		for _, st := range statuses {
			got, err := collectIDs(c.VisibleCases(ctx, access.As(u), u, st.domain))
			if err != nil {
				return nil, err
			}
			r.stats.listings++
			if mm := r.compareListing(fmt.Sprintf("VisibleCases(%s, %s)", u, st.model), got, func(w *refmodel.World) []string { return w.VisibleCases(u, st.model) }); mm != nil {
				return mm, nil
			}
			got, err = collectIDs(c.GroupCases(ctx, access.As(u), u, st.domain))
			if err != nil {
				return nil, err
			}
			r.stats.listings++
			if mm := r.compareListing(fmt.Sprintf("GroupCases(%s, %s)", u, st.model), got, func(w *refmodel.World) []string { return w.GroupCases(u, st.model) }); mm != nil {
				return mm, nil
			}
		}
	}
	return nil, nil
}

func collectIDs(seq func(func(ref.Object, error) bool)) ([]string, error) {
	var out []string
	for o, err := range seq {
		if err != nil {
			return nil, err
		}
		out = append(out, o.ID)
	}
	return out, nil
}

// compareListing compares a listing of the product with the model's, excusing the elements
// the allow-list explains.
func (r *runner) compareListing(what string, got []string, listing func(w *refmodel.World) []string) *mismatch {
	want := listing(r.m)
	var pre []string
	if w := r.preExpiry(); w != nil {
		pre = listing(w)
	}
	return compareSetsExcusing(what, "the model says", got, want, func(id string, inGot bool) bool {
		return r.known(discrepancy{kind: "listing", product: inGot, model: slices.Contains(want, id)},
			func(*refmodel.World) (bool, refmodel.Result) { return slices.Contains(pre, id), "" })
	})
}

// compareSetsExcusing compares two sets of ids; an element in only one of them is a
// mismatch unless excuse (told whether the element is in got) accepts it.
func compareSetsExcusing(what, wantLabel string, got, want []string, excuse func(id string, inGot bool) bool) *mismatch {
	got, want = slices.Clone(got), slices.Clone(want)
	slices.Sort(got)
	slices.Sort(want)
	got = slices.Compact(got)
	want = slices.Compact(want)
	if slices.Equal(got, want) {
		return nil
	}
	for _, id := range got {
		if !slices.Contains(want, id) && !excuse(id, true) {
			return &mismatch{sig: what, detail: fmt.Sprintf("%s = %v; %s %v", what, got, wantLabel, want)}
		}
	}
	for _, id := range want {
		if !slices.Contains(got, id) && !excuse(id, false) {
			return &mismatch{sig: what, detail: fmt.Sprintf("%s = %v; %s %v", what, got, wantLabel, want)}
		}
	}
	return nil
}
