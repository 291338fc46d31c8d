package refmodel_test

import (
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/refmodel"
)

// discrepancy describes one differing answer for the allow-list: a permission answer, an
// element of a lookup or a listing, or an operation's outcome.
type discrepancy struct {
	// kind is "check", "lookup", "listing" or "op".
	kind string
	// product is the product's answer (for a lookup: the lookup's, which differs from the
	// product's own check); model is the model's answer now.
	product, model bool
	// productResult and modelResult are the outcomes of an operation (kind "op").
	productResult, modelResult refmodel.Result
	// expired is set when a batch of grants expired earlier in this world; sinceExpiry is
	// how long ago, and pre is the model's answer (or outcome) with its clock set back to
	// just before that expiry, all else equal.
	expired     bool
	sinceExpiry time.Duration
	pre         bool
	preResult   refmodel.Result
	// staleRevision is set when the engine wrote nothing while that batch expired (its
	// expiry reaper deleted nothing) and nothing since: the product still reads at the
	// revision from before the expiry.
	staleRevision bool
}

// knownDiscrepancy is a difference between the product and the reference model that is
// understood, reported as a product bug (docs/reliability.md, "Findings"), and tolerated by
// the differential test so that it keeps guarding everything else. Every entry says what
// the contract requires, what the product does, and where it is reported; the test counts
// the answers each entry excuses and prints the count.
type knownDiscrepancy struct {
	name  string
	match func(d discrepancy) bool
}

// staleWindow bounds how long after an expiry an answer may still be the pre-expiry one
// under the known discrepancy below: SpiceDB's dispatch cache lives a few seconds (about 5 s
// on the memory datastore, about 10 s on PostgreSQL, docs/engine.md).
const staleWindow = 15 * time.Second

// knownDiscrepancies is the allow-list. Keep it to open product bugs.
var knownDiscrepancies = []knownDiscrepancy{
	{
		// PRODUCT BUG (docs/reliability.md, "Findings", 1). Contract section 2: after its
		// expiry a grant gives nothing. docs/engine.md promises that the expiry reaper
		// deletes every expiring relationship 250 ms before its expiry, "so a grant can end
		// slightly early but never late". When the reaper runs later than the expiry (a
		// long scan of the expiring relations, CPU starvation, a slow datastore), its
		// full-consistency read no longer returns the expired relationship and it gives up
		// without writing; no new revision is made, and SpiceDB v1.56's dispatch cache keeps
		// answering from the last revision as if the grant were in force, for seconds.
		// Seen in the differential test under load (seed 10105 with -refmodel.ops=120 and
		// -refmodel.parallel=6), reproduced by TestKnownBugLateExpiryReaper.
		//
		// Excused, and only with evidence of the bug: the reaper wrote nothing while the
		// grants expired and nothing was written since (so the product still reads at the
		// revision from before the expiry), within staleWindow of the expiry, and the answer
		// differs from the model's only because of that expiry (the model with its clock
		// just before the expiry gives the product's answer). When the reaper does its job,
		// nothing is excused, so a real mistake about expiry is still caught.
		name: "late expiry reaper: an expired grant still served from the dispatch cache",
		match: func(d discrepancy) bool {
			if !d.expired || !d.staleRevision || d.sinceExpiry > staleWindow {
				return false
			}
			switch d.kind {
			case "op":
				return d.productResult == d.preResult && d.preResult != d.modelResult
			case "lookup":
				// A lookup and a check of the product disagree: one of them is stale.
				return d.pre != d.model
			}
			return d.product == d.pre && d.pre != d.model
		},
	},
}

// matchKnown returns the name of the allow-list entry that excuses d, or "".
func matchKnown(d discrepancy) string {
	for _, k := range knownDiscrepancies {
		if k.match(d) {
			return k.name
		}
	}
	return ""
}

// TestAllowListNeedsEvidence pins what the allow-list excuses: a stale answer only with
// evidence that the reaper wrote nothing and the product still reads the old revision.
func TestAllowListNeedsEvidence(t *testing.T) {
	stale := discrepancy{kind: "check", product: true, model: false, expired: true, sinceExpiry: time.Second, pre: true, staleRevision: true}
	cases := map[string]struct {
		d    discrepancy
		want bool
	}{
		"stale answer, evidence":            {stale, true},
		"no evidence (the reaper wrote)":    {func() discrepancy { d := stale; d.staleRevision = false; return d }(), false},
		"too long after the expiry":         {func() discrepancy { d := stale; d.sinceExpiry = time.Minute; return d }(), false},
		"not the pre-expiry answer":         {func() discrepancy { d := stale; d.pre = false; return d }(), false},
		"nothing expired":                   {func() discrepancy { d := stale; d.expired = false; return d }(), false},
		"lookup disagreeing with a check":   {func() discrepancy { d := stale; d.kind, d.product = "lookup", false; return d }(), true},
		"lookup on an answer expiry kept":   {func() discrepancy { d := stale; d.kind, d.pre = "lookup", false; return d }(), false},
		"op allowed only before the expiry": {discrepancy{kind: "op", productResult: refmodel.OK, modelResult: refmodel.Denied, preResult: refmodel.OK, expired: true, staleRevision: true}, true},
		"op the expiry does not explain":    {discrepancy{kind: "op", productResult: refmodel.OK, modelResult: refmodel.Denied, preResult: refmodel.Denied, expired: true, staleRevision: true}, false},
	}
	for name, c := range cases {
		if got := matchKnown(c.d) != ""; got != c.want {
			t.Errorf("%s: excused = %t, want %t", name, got, c.want)
		}
	}
}
