package access_test

import (
	"flag"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
)

var (
	flagRevocationTime    = flag.Duration("access.revocation-time", 6*time.Second, "how long TestRevocationVisibilityUnderConcurrentReaders grants and revokes")
	flagRevocationReaders = flag.Int("access.revocation-readers", 4, "concurrent readers in TestRevocationVisibilityUnderConcurrentReaders")
)

// revocable is one kind of grant that can be given and taken back, with the checks it
// decides.
type revocable struct {
	name   string
	grant  func(w *world) (access.Token, error)
	revoke func(w *world) (access.Token, error)
	// checks hold while granted and must not hold once revoked.
	checks []check
}

// revocables are the kinds of grant of the visibility test, on the district world (account
// shoe, admin sam; groups district > almond > class_a; al in almond, cal in class_a, dina in
// district). Each kind has its own user, so that the kinds can run at the same time.
func revocables() []revocable {
	return []revocable{
		{
			name: "admin role",
			grant: func(w *world) (access.Token, error) {
				return w.c.ChangeRole(w.ctx, access.As("sam"), "shoe", "bea", access.RoleAdmin)
			},
			revoke: func(w *world) (access.Token, error) {
				return w.c.ChangeRole(w.ctx, access.As("sam"), "shoe", "bea", access.RoleStandard)
			},
			checks: []check{yes("bea", "view_all_cases", "account:shoe"), yes("bea", "update", "case:al-1"), yes("bea", "manage_members", "account:shoe")},
		},
		{
			name: "account membership",
			grant: func(w *world) (access.Token, error) {
				if _, err := w.c.RequestAccess(w.ctx, access.As("mia"), "shoe", access.RoleStandard); err != nil {
					return "", err
				}
				return w.c.Approve(w.ctx, access.As("sam"), "shoe", "mia")
			},
			revoke: func(w *world) (access.Token, error) {
				return w.c.RemoveMember(w.ctx, access.As(careAgent), "shoe", "mia")
			},
			checks: []check{yes("mia", "create_case", "account:shoe")},
		},
		{
			name: "individual partner grant",
			grant: func(w *world) (access.Token, error) {
				return w.c.GrantPartner(w.ctx, access.As("sam"), "shoe", access.Individual("tara"), access.LevelUpdate, time.Time{})
			},
			revoke: func(w *world) (access.Token, error) {
				return w.c.RevokePartner(w.ctx, access.As("sam"), "shoe", access.Individual("tara"))
			},
			checks: []check{yes("tara", "update", "case:bea-1"), yes("tara", "view_all_cases", "account:shoe")},
		},
		{
			name: "organisation partner grant",
			grant: func(w *world) (access.Token, error) {
				return w.c.GrantPartner(w.ctx, access.As("sam"), "shoe", access.PartnerOrg("integrator"), access.LevelLook, time.Time{})
			},
			revoke: func(w *world) (access.Token, error) {
				return w.c.RevokePartner(w.ctx, access.As("sam"), "shoe", access.PartnerOrg("integrator"))
			},
			checks: []check{yes("pam", "view", "case:cal-1"), yes("pam", "view_all_cases", "account:shoe")},
		},
		{
			name: "group read access",
			grant: func(w *world) (access.Token, error) {
				return w.c.SetGroupReadAccess(w.ctx, access.As(careAgent), "gus", "district")
			},
			revoke: func(w *world) (access.Token, error) {
				return w.c.ClearGroupReadAccess(w.ctx, access.As(careAgent), "gus")
			},
			// al-1 is reported from almond, cal-1 from class_a: nested one and two levels down.
			checks: []check{yes("gus", "view", "case:al-1"), yes("gus", "view", "case:cal-1")},
		},
		{
			name: "group membership",
			grant: func(w *world) (access.Token, error) {
				return w.c.AddGroupMember(w.ctx, access.As(careAgent), "district", "dina")
			},
			revoke: func(w *world) (access.Token, error) {
				return w.c.RemoveGroupMember(w.ctx, access.As(careAgent), "district", "dina")
			},
			// sue reads the district: she sees dina's case only while dina is in it.
			checks: []check{yes("sue", "view", "case:dina-1")},
		},
	}
}

// phase is what readers know about one kind: a generation number, whether the grant has
// been revoked (the revoke returned), and the token the revoke returned.
type phase struct {
	gen     int
	revoked bool
	token   access.Token
}

// TestRevocationVisibilityUnderConcurrentReaders grants and revokes several kinds of access
// over and over while readers check continuously. Once a revoke has returned, no check at
// its token, or with Fresh consistency (at least as fresh as every change made through this
// process), may allow: a check that starts after the revoke returned and ends before the next
// grant begins must deny. The revoker also checks at its own token straight away.
//
// The default run takes about 10 s; raise -access.revocation-time and
// -access.revocation-readers for long runs.
func TestRevocationVisibilityUnderConcurrentReaders(t *testing.T) {
	t.Parallel()
	w := district(t)
	w.must(w.c.CreatePartner(w.ctx, access.As(vendorAdmin), "integrator", ""))
	w.must(w.c.AddPartnerMember(w.ctx, access.As(vendorAdmin), "integrator", "pam"))
	// dina starts outside the district; the writer of "group membership" puts her in.
	w.must(w.c.RemoveGroupMember(w.ctx, access.As(careAgent), "district", "dina"))
	kinds := revocables()
	phases := make([]atomic.Pointer[phase], len(kinds))
	for i := range kinds {
		phases[i].Store(&phase{})
	}

	var (
		revokes, checksAfterRevoke, checks, errs atomic.Int64
		// late allows at the revoke's own token, and with Fresh consistency (at least as
		// fresh as the newest change this process has seen)
		lateAtToken, lateFresh atomic.Int64
		stop                   atomic.Bool
	)
	// fail reports the first failures in full; a writer stops at its own first failure, the
	// others carry on so that the figures cover the whole run.
	var failures atomic.Int64
	fail := func(format string, args ...any) {
		t.Helper()
		if failures.Add(1) <= 20 {
			t.Errorf(format, args...)
		} else {
			t.Fail()
		}
	}
	deadline := time.Now().Add(*flagRevocationTime)

	var writers sync.WaitGroup
	for i, k := range kinds {
		writers.Add(1)
		go func() {
			defer writers.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			for round := 0; time.Now().Before(deadline); round++ {
				// Next generation, not revoked, before the grant starts: readers stop
				// asserting from here on.
				gen := phases[i].Load().gen + 1
				phases[i].Store(&phase{gen: gen})
				tok, err := k.grant(w)
				if err != nil {
					fail("%s, round %d: grant: %v", k.name, round, err)
					return
				}
				for _, c := range k.checks {
					if d, err := w.c.Check(w.ctx, userSubj(c.user), c.perm, obj(c.object), access.AtLeast(tok)); err != nil || !d.Allowed {
						fail("%s, round %d: %s %s %s at the grant's token = %+v, %v; want allowed", k.name, round, c.user, c.perm, c.object, d, err)
						return
					}
				}
				time.Sleep(time.Duration(rng.IntN(5)) * time.Millisecond)
				tok, err = k.revoke(w)
				if err != nil {
					fail("%s, round %d: revoke: %v", k.name, round, err)
					return
				}
				phases[i].Store(&phase{gen: gen + 1, revoked: true, token: tok})
				revokes.Add(1)
				for _, c := range k.checks {
					d, err := w.c.Check(w.ctx, userSubj(c.user), c.perm, obj(c.object), access.AtLeast(tok))
					checksAfterRevoke.Add(1)
					if err != nil {
						errs.Add(1)
						fail("%s, round %d: %s %s %s at the revoke's token: %v", k.name, round, c.user, c.perm, c.object, err)
					} else if d.Allowed {
						lateAtToken.Add(1)
						fail("%s, round %d: %s %s %s allowed at the revoke's token %s", k.name, round, c.user, c.perm, c.object, tok)
					}
				}
				// Leave the readers time to check while revoked.
				time.Sleep(time.Duration(10+rng.IntN(20)) * time.Millisecond)
			}
		}()
	}

	var readers sync.WaitGroup
	for r := range *flagRevocationReaders {
		readers.Add(1)
		go func() {
			defer readers.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 2))
			for !stop.Load() {
				i := rng.IntN(len(kinds))
				k := kinds[i]
				c := k.checks[rng.IntN(len(k.checks))]
				before := phases[i].Load()
				cons, consName := access.Fresh(), "fresh"
				if before.revoked && rng.IntN(2) == 0 {
					cons, consName = access.AtLeast(before.token), "at the revoke's token"
				}
				d, err := w.c.Check(w.ctx, userSubj(c.user), c.perm, obj(c.object), cons)
				checks.Add(1)
				if err != nil {
					errs.Add(1)
					fail("reader %d: %s: %s %s %s: %v", r, k.name, c.user, c.perm, c.object, err)
					continue
				}
				// Only a check that ran entirely between a revoke's return and the next
				// grant is asserted.
				if !before.revoked || phases[i].Load() != before {
					continue
				}
				checksAfterRevoke.Add(1)
				if d.Allowed {
					if consName == "fresh" {
						lateFresh.Add(1)
					} else {
						lateAtToken.Add(1)
					}
					fail("reader %d: %s, generation %d: %s %s %s allowed (%s, checked at %s) after the revoke returned %s",
						r, k.name, before.gen, c.user, c.perm, c.object, consName, d.CheckedAt, before.token)
				}
			}
		}()
	}
	writers.Wait()
	stop.Store(true)
	readers.Wait()

	t.Logf("revocation visibility (%s, %d readers, %s): %d revokes over %d kinds of grant, %d checks, %d of them after a revoke returned, %d errors, %d late allows (%d at the revoke's token, %d with Fresh consistency)",
		w.e.Kind(), *flagRevocationReaders, flagRevocationTime.String(), revokes.Load(), len(kinds), checks.Load(), checksAfterRevoke.Load(), errs.Load(), lateAtToken.Load()+lateFresh.Load(), lateAtToken.Load(), lateFresh.Load())
	if revokes.Load() == 0 {
		t.Fatal("no revoke completed")
	}
}
