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

// knownDiscrepancies is the allow-list. Keep it to open product bugs; it is empty now.
//
// Its one entry, "late expiry reaper: an expired grant still served from the dispatch cache"
// (docs/reliability.md, "Findings", 1), excused a stale answer after a batch of grants
// expired, with evidence that the engine wrote nothing while they expired. The engine's
// reaper now always writes a revision for an expiring grant, even when it arrives after the
// expiry, and its deletions no longer wait for its scans (pkg/engine, TestLateReaper* and
// TestLongScansDoNotDelayExpiry), so such an answer is a mismatch again.
var knownDiscrepancies []knownDiscrepancy

// matchKnown returns the name of the allow-list entry that excuses d, or "".
func matchKnown(d discrepancy) string {
	for _, k := range knownDiscrepancies {
		if k.match(d) {
			return k.name
		}
	}
	return ""
}

// TestFixedBugsAreNotExcused pins that the allow-list excuses nothing, in particular not the
// stale answers of the fixed late-reaper bug, even with all the evidence the runner gathers.
func TestFixedBugsAreNotExcused(t *testing.T) {
	stale := discrepancy{kind: "check", product: true, model: false, expired: true, sinceExpiry: time.Second, pre: true, staleRevision: true}
	cases := []struct {
		name string
		d    discrepancy
	}{
		{"stale check answer after an expiry", stale},
		{"lookup disagreeing with a check after an expiry", func() discrepancy { d := stale; d.kind, d.product = "lookup", false; return d }()},
		{"op allowed only before the expiry", discrepancy{kind: "op", productResult: refmodel.OK, modelResult: refmodel.Denied, preResult: refmodel.OK, expired: true, staleRevision: true}},
		{"plain difference", discrepancy{kind: "check", product: true, model: false}},
	}
	for _, c := range cases {
		if name := matchKnown(c.d); name != "" {
			t.Errorf("%s: excused by %q, want a mismatch", c.name, name)
		}
	}
}
