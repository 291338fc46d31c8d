package access_test

import (
	"slices"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
)

// levelRows are the partner level table of the spec, for one user holding level on acme,
// with c-sally as a case they were not added to.
func levelRows(user string, level access.Level) []check {
	row := func(perm, object string, from access.Level) check {
		return check{user, perm, object, level != "" && level.AtLeast(from)}
	}
	never := func(perm, object string) check { return check{user, perm, object, false} }
	return []check{
		row("view_all_cases", "account:acme", access.LevelLook),
		row("view", "case:c-sally", access.LevelLook),
		row("update", "case:c-sally", access.LevelUpdate),
		row("create_case", "account:acme", access.LevelCreate),
		row("receive_notifications", "account:acme", access.LevelLook),
		row("administer", "account:acme", access.LevelServiceAdmin),
		row("manage_contacts", "account:acme", access.LevelFullAdmin),
		row("manage_members", "account:acme", access.LevelFullAdmin),
		never("manage_partners", "account:acme"),
		never("remove_members", "account:acme"),
		never("view_dashboard", "account:acme"),
	}
}

func TestPartnerLevelTable(t *testing.T) {
	t.Parallel()
	for _, level := range access.Levels {
		t.Run(string(level)+"/organisation", func(t *testing.T) {
			t.Parallel()
			w := partners(t)
			w.must(w.c.GrantPartner(w.ctx, access.As("bill"), "acme", access.PartnerOrg("integrator"), level, time.Time{}))
			w.expect(levelRows("pam", level)...)
			w.expect(levelRows("pete", level)...)
			w.expect(levelRows("outsider", "")...)
		})
		t.Run(string(level)+"/individual", func(t *testing.T) {
			t.Parallel()
			w := partners(t)
			w.must(w.c.GrantPartner(w.ctx, access.As("bill"), "acme", access.Individual("pam"), level, time.Time{}))
			w.expect(levelRows("pam", level)...)
			w.expect(levelRows("pete", "")...)
		})
	}
}

func TestIndividualGrantTakesPrecedenceBothWays(t *testing.T) {
	t.Parallel()
	w := partners(t)
	w.must(w.c.GrantPartner(w.ctx, access.As("bill"), "acme", access.PartnerOrg("integrator"), access.LevelLook, time.Time{}))
	// Narrowing: pete's individual cc beats the organisation's look.
	w.must(w.c.GrantPartner(w.ctx, access.As("bill"), "acme", access.Individual("pete"), access.LevelCC, time.Time{}))
	// Widening: piper's individual full_admin beats the organisation's look.
	w.must(w.c.GrantPartner(w.ctx, access.As("bill"), "acme", access.Individual("piper"), access.LevelFullAdmin, time.Time{}))
	w.expect(levelRows("pam", access.LevelLook)...)
	w.expect(levelRows("pete", access.LevelCC)...)
	w.expect(levelRows("piper", access.LevelFullAdmin)...)
	// Revoking the individual grant gives pete his organisation's level back.
	w.must(w.c.RevokePartner(w.ctx, access.As("bill"), "acme", access.Individual("pete")))
	w.expect(levelRows("pete", access.LevelLook)...)
}

func TestOnlyAccountAdminsGrantAndPartnersNeverRedelegate(t *testing.T) {
	t.Parallel()
	w := partners(t)
	w.must(w.c.GrantPartner(w.ctx, access.As("bill"), "acme", access.Individual("pam"), access.LevelFullAdmin, time.Time{}))
	for _, actor := range []string{"pam", "sally", "joan", careAgent, "outsider"} {
		w.refuse(access.ErrPermissionDenied)(w.c.GrantPartner(w.ctx, access.As(actor), "acme", access.Individual("pete"), access.LevelLook, time.Time{}))
		w.refuse(access.ErrPermissionDenied)(w.c.RevokePartner(w.ctx, access.As(actor), "acme", access.Individual("pam")))
	}
	w.expect(levelRows("pete", "")...)
}

func TestRevocationIsVisibleToTheNextCheck(t *testing.T) {
	t.Parallel()
	w := partners(t)
	w.must(w.c.GrantPartner(w.ctx, access.As("bill"), "acme", access.PartnerOrg("integrator"), access.LevelUpdate, time.Time{}))
	for i := 0; i < 20; i++ {
		w.expect(yes("pam", "update", "case:c-sally"))
		tok := w.must(w.c.RevokePartner(w.ctx, access.As("bill"), "acme", access.PartnerOrg("integrator")))
		d, err := w.c.Check(w.ctx, userSubj("pam"), "update", obj("case:c-sally"), access.AtLeast(tok))
		if err != nil || d.Allowed {
			t.Fatalf("round %d: check after revoke = %+v, %v", i, d, err)
		}
		w.must(w.c.GrantPartner(w.ctx, access.As("bill"), "acme", access.PartnerOrg("integrator"), access.LevelUpdate, time.Time{}))
	}
}

func TestExpiringGrantStopsAtItsExpiry(t *testing.T) {
	t.Parallel()
	w := partners(t)
	// Vendor staff consultant with a short grant; siblings on the same account keep theirs.
	w.must(w.c.AddPlatformRole(w.ctx, access.As(vendorAdmin), "tara", access.PlatformStaff))
	w.must(w.c.GrantPartner(w.ctx, access.As("bill"), "acme", access.PartnerOrg("integrator"), access.LevelLook, time.Time{}))
	expires := time.Now().Add(2 * time.Second)
	tok := w.must(w.c.GrantPartner(w.ctx, access.As("bill"), "acme", access.Individual("tara"), access.LevelUpdate, expires))
	w.expect(yes("tara", "update", "case:c-sally"), yes("pam", "view", "case:c-sally"))
	grants := listGrants(t, w)
	i := slices.IndexFunc(grants, func(g access.PartnerGrant) bool { return g.Grantee == access.Individual("tara") })
	if i < 0 || !grants[i].ExpiresAt.Equal(expires.Truncate(time.Microsecond)) && grants[i].ExpiresAt.Sub(expires).Abs() > time.Millisecond {
		t.Fatalf("tara's grant and expiry not listed: %+v", grants)
	}
	time.Sleep(time.Until(expires) + 50*time.Millisecond)
	for _, cons := range []access.Consistency{access.Fresh(), access.AtLeast(tok)} {
		d, err := w.c.Check(w.ctx, userSubj("tara"), "view", obj("case:c-sally"), cons)
		if err != nil || d.Allowed {
			t.Fatalf("tara after expiry (%v): %+v, %v", cons, d, err)
		}
	}
	w.expect(yes("pam", "view", "case:c-sally"), yes("bill", "view", "case:c-sally"))
	// Past expiries are refused outright.
	w.refuse(access.ErrInvalidArgument)(w.c.GrantPartner(w.ctx, access.As("bill"), "acme", access.Individual("tara"), access.LevelLook, time.Now().Add(-time.Hour)))
}

func TestPartnerRequestsAreDecidedByAdmins(t *testing.T) {
	t.Parallel()
	w := partners(t)
	// Only members of the organisation ask on its behalf; individuals ask for themselves.
	w.refuse(access.ErrPermissionDenied)(w.c.RequestPartnerLevel(w.ctx, access.As("outsider"), "acme", access.PartnerOrg("integrator"), access.LevelLook))
	w.refuse(access.ErrPermissionDenied)(w.c.RequestPartnerLevel(w.ctx, access.As("pam"), "acme", access.Individual("pete"), access.LevelLook))
	w.must(w.c.RequestPartnerLevel(w.ctx, access.As("pam"), "acme", access.PartnerOrg("integrator"), access.LevelUpdate))
	w.must(w.c.RequestPartnerLevel(w.ctx, access.As("pete"), "acme", access.Individual("pete"), access.LevelFullAdmin))
	w.expect(levelRows("pam", "")...)
	reqs, err := w.c.PendingPartnerRequests(w.ctx, access.As("bill"), "acme")
	if err != nil || len(reqs) != 2 {
		t.Fatalf("pending partner requests = %+v, %v", reqs, err)
	}
	w.refuse(access.ErrPermissionDenied)(w.c.ApprovePartnerRequest(w.ctx, access.As("pam"), "acme", access.PartnerOrg("integrator")))
	w.must(w.c.ApprovePartnerRequest(w.ctx, access.As("bill"), "acme", access.PartnerOrg("integrator")))
	w.must(w.c.DenyPartnerRequest(w.ctx, access.As("bill"), "acme", access.Individual("pete")))
	w.expect(levelRows("pam", access.LevelUpdate)...)
	w.expect(levelRows("pete", access.LevelUpdate)...)
	w.refuse(access.ErrNotFound)(w.c.ApprovePartnerRequest(w.ctx, access.As("bill"), "acme", access.Individual("pete")))
}

func listGrants(t *testing.T, w *world) []access.PartnerGrant {
	t.Helper()
	var out []access.PartnerGrant
	for g, err := range w.c.PartnerGrants(w.ctx, access.As("bill"), "acme") {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, g)
	}
	return out
}
