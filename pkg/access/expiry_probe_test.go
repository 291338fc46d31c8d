package access_test

import (
	"flag"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/engine"
)

var flagExpiryRounds = flag.Int("access.expiry-rounds", 3, "rounds of expiring grants in TestExpiryOvershootProbes")

const (
	// probeInterval spaces the probes of one grant.
	probeInterval = 10 * time.Millisecond
	// probeAfter is how long after its expiry a grant is still probed: past the documented
	// bound, so that an overshoot beyond it is seen.
	probeAfter = engine.ExpiryOvershootBound + 500*time.Millisecond
)

// expiring is one grant of the probe test: who gets it, and the check it decides until
// its expiry (with the answer after it: false, or the level of an organisation grant that
// remains for an individual grant narrowing it).
type expiring struct {
	name    string
	grantee access.Grantee
	level   access.Level
	probe   check
	// in is how long after its write starts the grant expires.
	in time.Duration
}

// probeResult is what the probes of one grant saw.
type probeResult struct {
	probes int
	// allowed is set when some probe was allowed: a slow write can leave no probe inside
	// the grant's lifetime.
	allowed bool
	// overshoot is the latest start of an allowed probe after the expiry, or a negative
	// duration (how early the grant ended) when no probe after the expiry was allowed.
	overshoot time.Duration
}

// TestExpiryOvershootProbes gives grants that expire a few hundred milliseconds later and
// probes each one every 10 ms around its expiry, with Fresh consistency and at the grant's
// token. No grant may be honoured by a check that starts later than
// engine.ExpiryOvershootBound after its expiry, and none may end before
// engine.ExpiryLead ahead of it. It reports the probes and the worst overshoot.
// -access.expiry-rounds raises the number of rounds.
func TestExpiryOvershootProbes(t *testing.T) {
	t.Parallel()
	w := partners(t)
	// pam's organisation holds look; piper narrows herself with an individual update grant
	// that expires, after which she falls back to look.
	w.must(w.c.GrantPartner(w.ctx, access.As("bill"), "acme", access.PartnerOrg("integrator"), access.LevelLook, time.Time{}))
	w.must(w.c.CreatePartner(w.ctx, access.As(vendorAdmin), "reseller", ""))
	w.must(w.c.AddPartnerMember(w.ctx, access.As(vendorAdmin), "reseller", "rex"))
	grants := []expiring{
		{"individual update grant", access.Individual("tam"), access.LevelUpdate, yes("tam", "update", "case:c-sally"), 400 * time.Millisecond},
		{"individual look grant", access.Individual("tom"), access.LevelLook, yes("tom", "view", "case:c-joan"), 500 * time.Millisecond},
		{"organisation grant", access.PartnerOrg("reseller"), access.LevelCreate, yes("rex", "create_case", "account:acme"), 600 * time.Millisecond},
		{"individual grant over an organisation's", access.Individual("piper"), access.LevelUpdate, yes("piper", "update", "case:c-bill"), 700 * time.Millisecond},
	}
	// The fallback holds throughout: piper keeps her organisation's look.
	fallback := yes("piper", "view", "case:c-bill")

	var (
		probes, unprobed int
		worst            = -time.Hour
		worstWhat        string
		earliestEnd      time.Duration
	)
	for round := range *flagExpiryRounds {
		results := make([]probeResult, len(grants))
		var wg sync.WaitGroup
		for i, g := range grants {
			expiresAt := time.Now().Add(g.in)
			tok := w.must(w.c.GrantPartner(w.ctx, access.As("bill"), "acme", g.grantee, g.level, expiresAt))
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = probeGrant(t, w, fmt.Sprintf("round %d, %s", round, g.name), g.probe, tok, expiresAt)
			}()
		}
		wg.Wait()
		w.expect(fallback)
		for i, r := range results {
			probes += r.probes
			if !r.allowed {
				unprobed++
				continue
			}
			if r.overshoot > worst {
				worst, worstWhat = r.overshoot, fmt.Sprintf("round %d, %s", round, grants[i].name)
			}
			if r.overshoot < 0 && -r.overshoot > earliestEnd {
				earliestEnd = -r.overshoot
			}
			if r.overshoot > engine.ExpiryOvershootBound {
				t.Errorf("round %d, %s: honoured by a check started %s after its expiry; the documented bound is %s",
					round, grants[i].name, r.overshoot.Round(time.Millisecond), engine.ExpiryOvershootBound)
			}
		}
	}
	worstText := "none: no check started after an expiry was allowed"
	if worst > 0 {
		worstText = fmt.Sprintf("%s (%s)", worst.Round(time.Millisecond), worstWhat)
	}
	t.Logf("expiry probes (%s): %d grants (%d written too slowly for any probe to land before their removal), %d probes; worst overshoot past the expiry: %s; bound %s; the last allowed check of a grant started up to %s before its expiry (lead %s)",
		w.e.Kind(), len(grants)**flagExpiryRounds, unprobed, probes, worstText, engine.ExpiryOvershootBound,
		earliestEnd.Round(time.Millisecond), engine.ExpiryLead)
}

// probeGrant checks c every probeInterval until probeAfter past expiresAt, alternating Fresh
// consistency and the grant's token. It fails the test when the grant is refused by a check
// that ended before it could have been removed (ExpiryLead ahead of its expiry).
func probeGrant(t *testing.T, w *world, what string, c check, tok access.Token, expiresAt time.Time) probeResult {
	t.Helper()
	res := probeResult{overshoot: -time.Hour}
	lastAllowed := time.Time{}
	for n := 0; time.Now().Before(expiresAt.Add(probeAfter)); n++ {
		cons := access.Fresh()
		if n%2 == 1 {
			cons = access.AtLeast(tok)
		}
		sent := time.Now()
		d, err := w.c.Check(w.ctx, userSubj(c.user), c.perm, obj(c.object), cons)
		done := time.Now()
		res.probes++
		if err != nil {
			t.Errorf("%s: probe %d: %v", what, n, err)
			return res
		}
		switch {
		case d.Allowed:
			lastAllowed = sent
		case done.Before(expiresAt.Add(-engine.ExpiryLead)):
			t.Errorf("%s: probe %d refused %s %s %s %s before the expiry, earlier than the lead of %s",
				what, n, c.user, c.perm, c.object, expiresAt.Sub(done).Round(time.Millisecond), engine.ExpiryLead)
		}
		time.Sleep(probeInterval)
	}
	if lastAllowed.IsZero() {
		return res
	}
	res.allowed = true
	res.overshoot = lastAllowed.Sub(expiresAt)
	return res
}
