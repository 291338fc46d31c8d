package access_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
)

// raceIterations is kept small for the default run; the invariants are checked every time.
const raceIterations = 25

func TestLastAdminRace(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	violations := 0
	for i := 0; i < raceIterations; i++ {
		sid := fmt.Sprintf("race-%d", i)
		w.account(sid, "ann", map[string]access.Role{"ben": access.RoleAdmin})
		// Both admins step down at once, each through their own action.
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for j, u := range []string{"ann", "ben"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if j == 0 {
					_, errs[j] = w.c.ChangeRole(w.ctx, access.As(u), sid, u, access.RoleStandard)
				} else {
					_, errs[j] = w.c.Leave(w.ctx, access.As(u), sid)
				}
			}()
		}
		wg.Wait()
		admins := 0
		for _, m := range collectMembers(t, w, careAgent, sid) {
			if m.Role == access.RoleAdmin {
				admins++
			}
		}
		succeeded := 0
		for _, err := range errs {
			switch {
			case err == nil:
				succeeded++
			case !errors.Is(err, access.ErrLastAdmin) && !errors.Is(err, access.ErrConflict):
				t.Errorf("iteration %d: unexpected error %v", i, err)
			}
		}
		if admins != 1 || succeeded != 1 {
			violations++
			t.Errorf("iteration %d: %d admins left, %d demotions succeeded (errors %v)", i, admins, succeeded, errs)
		}
	}
	t.Logf("last-admin race: %d iterations, %d violations", raceIterations, violations)
}

func TestApproveDenyRace(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.account("acme", "bill", map[string]access.Role{"bob": access.RoleAdmin})
	violations := 0
	for i := 0; i < raceIterations; i++ {
		user := fmt.Sprintf("req%d", i)
		w.must(w.c.RequestAccess(w.ctx, access.As(user), "acme", access.RoleStandard))
		var wg sync.WaitGroup
		var approveErr, denyErr error
		wg.Add(2)
		go func() { defer wg.Done(); _, approveErr = w.c.Approve(w.ctx, access.As("bill"), "acme", user) }()
		go func() { defer wg.Done(); _, denyErr = w.c.Deny(w.ctx, access.As("bob"), "acme", user) }()
		wg.Wait()
		lost := func(err error) bool {
			return errors.Is(err, access.ErrAlreadyDecided) || errors.Is(err, access.ErrNotFound)
		}
		member := w.can(user, "create_case", "account:acme")
		ok := (approveErr == nil && lost(denyErr) && member) || (denyErr == nil && lost(approveErr) && !member)
		if !ok {
			violations++
			t.Errorf("iteration %d: approve=%v deny=%v member=%v", i, approveErr, denyErr, member)
		}
		pending, err := w.c.PendingRequests(w.ctx, access.As("bill"), "acme")
		if err != nil || len(pending) != 0 {
			t.Errorf("iteration %d: request still pending: %+v %v", i, pending, err)
		}
	}
	t.Logf("approve-vs-deny race: %d iterations, %d violations", raceIterations, violations)
}

func TestGrantRevokeRaceEndsConsistent(t *testing.T) {
	t.Parallel()
	w := partners(t)
	violations := 0
	for i := 0; i < raceIterations; i++ {
		w.must(w.c.GrantPartner(w.ctx, access.As("bill"), "acme", access.Individual("pam"), access.LevelLook, time.Time{}))
		var wg sync.WaitGroup
		var grantErr, revokeErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, grantErr = w.c.GrantPartner(w.ctx, access.As("bill"), "acme", access.Individual("pam"), access.LevelUpdate, time.Time{})
		}()
		go func() {
			defer wg.Done()
			_, revokeErr = w.c.RevokePartner(w.ctx, access.As("bill"), "acme", access.Individual("pam"))
		}()
		wg.Wait()
		if grantErr != nil {
			t.Errorf("iteration %d: grant: %v", i, grantErr)
		}
		if revokeErr != nil && !errors.Is(revokeErr, access.ErrNotFound) {
			t.Errorf("iteration %d: revoke: %v", i, revokeErr)
		}
		// Whatever the order, pam holds at most one level and the check agrees with the listing.
		levels := 0
		for _, g := range listGrants(t, w) {
			if g.Grantee == access.Individual("pam") {
				levels++
			}
		}
		if levels > 1 || (levels == 1) != w.can("pam", "view_all_cases", "account:acme") {
			violations++
			t.Errorf("iteration %d: %d grants listed for pam, check disagrees", i, levels)
		}
		_, _ = w.c.RevokePartner(w.ctx, access.As("bill"), "acme", access.Individual("pam"))
	}
	t.Logf("grant-vs-revoke race: %d iterations, %d violations", raceIterations, violations)
}

func TestOppositeNestingRace(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	violations := 0
	for i := 0; i < raceIterations; i++ {
		a, b := fmt.Sprintf("ga%d", i), fmt.Sprintf("gb%d", i)
		w.must(w.c.CreateGroup(w.ctx, access.As(careAgent), a))
		w.must(w.c.CreateGroup(w.ctx, access.As(careAgent), b))
		var wg sync.WaitGroup
		errs := make([]error, 2)
		wg.Add(2)
		go func() { defer wg.Done(); _, errs[0] = w.c.NestGroup(w.ctx, access.As(careAgent), a, b) }()
		go func() { defer wg.Done(); _, errs[1] = w.c.NestGroup(w.ctx, access.As(careAgent), b, a) }()
		wg.Wait()
		if errs[0] == nil && errs[1] == nil {
			violations++
			t.Errorf("iteration %d: both nestings succeeded", i)
		}
		for _, err := range errs {
			if err != nil && !errors.Is(err, access.ErrCycle) {
				t.Errorf("iteration %d: %v", i, err)
			}
		}
	}
	t.Logf("group nesting race: %d iterations, %d violations", raceIterations, violations)
}

// Two platform administrators removing each other at the same time leave exactly one, and
// Bootstrap stays closed to everyone else throughout.
func TestLastPlatformAdminRace(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	current := vendorAdmin
	for i := 0; i < raceIterations; i++ {
		a, b := fmt.Sprintf("pa-%d", i), fmt.Sprintf("pb-%d", i)
		w.must(w.c.AddPlatformRole(w.ctx, access.As(current), a, access.PlatformAdministrator))
		w.must(w.c.AddPlatformRole(w.ctx, access.As(current), b, access.PlatformAdministrator))
		w.must(w.c.RemovePlatformRole(w.ctx, access.As(a), current, access.PlatformAdministrator))

		var wg sync.WaitGroup
		errs := make([]error, 2)
		for j, pair := range [][2]string{{a, b}, {b, a}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[j] = w.c.RemovePlatformRole(w.ctx, access.As(pair[0]), pair[1], access.PlatformAdministrator)
			}()
		}
		wg.Wait()

		var left []string
		for _, u := range []string{a, b} {
			ok, err := w.c.Check(w.ctx, userSubj(u), "administer", access.Platform, access.Full())
			if err != nil {
				t.Fatal(err)
			}
			if ok.Allowed {
				left = append(left, u)
			}
		}
		succeeded := 0
		for _, err := range errs {
			switch {
			case err == nil:
				succeeded++
			case !errors.Is(err, access.ErrLastAdmin) && !errors.Is(err, access.ErrConflict) && !errors.Is(err, access.ErrPermissionDenied):
				t.Errorf("iteration %d: unexpected error %v", i, err)
			}
		}
		if len(left) != 1 || succeeded != 1 {
			t.Fatalf("iteration %d: administrators left %v, removals succeeded %d (errors %v)", i, left, succeeded, errs)
		}
		if _, err := w.c.Bootstrap(w.ctx, "intruder", "take over"); !errors.Is(err, access.ErrConflict) {
			t.Fatalf("iteration %d: bootstrap with an administrator present: %v", i, err)
		}
		current = left[0]
	}
	// The one administrator left cannot be removed by anyone, nor remove themselves.
	w.refuse(access.ErrLastAdmin)(w.c.RemovePlatformRole(w.ctx, access.As(current), current, access.PlatformAdministrator))
}
