package access_test

import (
	"slices"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
)

func TestCaseContactsAndPartnerManagedCases(t *testing.T) {
	t.Parallel()
	w := partners(t)
	w.must(w.c.GrantPartner(w.ctx, access.As("bill"), "acme", access.Individual("pam"), access.LevelCC, time.Time{}))
	w.must(w.c.GrantPartner(w.ctx, access.As("bill"), "acme", access.Individual("pete"), access.LevelUpdate, time.Time{}))
	// cc partners see only cases they are added to, and may not be primary.
	w.expect(no("pam", "view", "case:c-sally"))
	w.refuse(access.ErrPermissionDenied)(w.c.AddCaseContact(w.ctx, access.As("sally"), "c-sally", "pam", true))
	w.must(w.c.AddCaseContact(w.ctx, access.As("sally"), "c-sally", "pam", false))
	w.expect(yes("pam", "view", "case:c-sally"), yes("pam", "update", "case:c-sally"), no("pam", "view", "case:c-joan"))
	// A contact without any grant cannot be added; a viewer cannot add to another's case.
	w.refuse(access.ErrPermissionDenied)(w.c.AddCaseContact(w.ctx, access.As("sally"), "c-sally", "piper", false))
	w.refuse(access.ErrPermissionDenied)(w.c.AddCaseContact(w.ctx, access.As("joan"), "c-sally", "pete", false))
	// update and above can be the primary point of contact.
	w.must(w.c.AddCaseContact(w.ctx, access.As("bill"), "c-bill", "pete", true))
	managed := w.ids(w.c.PartnerManagedCases(w.ctx, access.As("bill"), "acme"))
	if !slices.Equal(managed, []string{"c-bill"}) {
		t.Fatalf("partner-managed cases = %v", managed)
	}
	// Revoking the grant ends case-contact access too.
	w.must(w.c.RevokePartner(w.ctx, access.As("bill"), "acme", access.Individual("pam")))
	w.expect(no("pam", "view", "case:c-sally"))
}

func TestPartnerMemberSeesCasesAcrossCustomers(t *testing.T) {
	t.Parallel()
	w := partners(t)
	w.account("globex", "gina", nil)
	w.must(w.c.CreateCase(w.ctx, access.As("gina"), access.NewCase{ID: "g-1", Account: "globex"}))
	w.must(w.c.GrantPartner(w.ctx, access.As("bill"), "acme", access.PartnerOrg("integrator"), access.LevelLook, time.Time{}))
	w.must(w.c.GrantPartner(w.ctx, access.As("gina"), "globex", access.PartnerOrg("integrator"), access.LevelCreate, time.Time{}))
	got := w.ids(w.c.VisibleCases(w.ctx, access.As("pam"), "pam", access.StatusAll))
	slices.Sort(got)
	if want := []string{"c-bill", "c-joan", "c-sally", "g-1"}; !slices.Equal(got, want) {
		t.Fatalf("pam's cases = %v, want %v", got, want)
	}
	// A partner creating on the customer's behalf is the primary contact, not the reporter,
	// so revoking the grant ends their access to the case they opened.
	w.must(w.c.CreateCase(w.ctx, access.As("pam"), access.NewCase{ID: "g-2", Account: "globex"}))
	w.expect(yes("pam", "view", "case:g-2"))
	w.must(w.c.RevokePartner(w.ctx, access.As("gina"), "globex", access.PartnerOrg("integrator")))
	w.expect(no("pam", "view", "case:g-2"), yes("gina", "view", "case:g-2"))
	// Nobody lists another user's cases except Customer Care.
	for _, err := range w.c.VisibleCases(w.ctx, access.As("pete"), "pam", access.StatusAll) {
		if err == nil {
			t.Fatal("pete listed pam's cases")
		}
	}
}

func TestClosedCasesAreReadOnlyAndEditorsReopen(t *testing.T) {
	t.Parallel()
	w := district(t)
	w.expect(
		yes("al", "view", "case:al-2"), no("al", "update", "case:al-2"),
		yes("sue", "view", "case:al-2"), no("sue", "update", "case:al-2"), no("sam", "update", "case:al-2"),
		yes("al", "reopen", "case:al-2"), no("cal", "reopen", "case:al-2"),
	)
	w.refuse(access.ErrPermissionDenied)(w.c.ReopenCase(w.ctx, access.As("cal"), "al-2"))
	w.refuse(access.ErrConflict)(w.c.CloseCase(w.ctx, access.As("al"), "al-2"))
	w.must(w.c.ReopenCase(w.ctx, access.As("sue"), "al-2"))
	w.expect(yes("al", "update", "case:al-2"))
	open := sorted(w.ids(w.c.VisibleCases(w.ctx, access.As("al"), "al", access.StatusOpen)))
	if !slices.Equal(open, []string{"al-1", "al-2"}) {
		t.Errorf("al's open cases = %v", open)
	}
}

// A member removed from the account keeps read access to the cases they reported and
// changes nothing on them: no contacts, no partner contacts, no closing, no reopening.
func TestFormerMemberReadsButChangesNothing(t *testing.T) {
	t.Parallel()
	w := partners(t)
	w.must(w.c.CreateCase(w.ctx, access.As("joan"), access.NewCase{ID: "c-joan-2", Account: "acme"}))
	w.must(w.c.CloseCase(w.ctx, access.As("joan"), "c-joan-2"))
	w.must(w.c.GrantPartner(w.ctx, access.As("bill"), "acme", access.PartnerOrg("integrator"), access.LevelLook, time.Time{}))
	w.must(w.c.RemoveMember(w.ctx, access.As(careAgent), "acme", "joan"))

	for _, id := range []string{"c-joan", "c-joan-2"} {
		w.expect(yes("joan", "view", "case:"+id))
		w.expect(no("joan", "update", "case:"+id))
		w.expect(no("joan", "reopen", "case:"+id))
		w.expect(no("joan", "manage_related_parties", "case:"+id))
	}
	denied := w.refuse(access.ErrPermissionDenied)
	denied(w.c.AddCaseContact(w.ctx, access.As("joan"), "c-joan", "outsider", false))
	denied(w.c.AddCaseContact(w.ctx, access.As("joan"), "c-joan", "pam", true))
	denied(w.c.CloseCase(w.ctx, access.As("joan"), "c-joan"))
	denied(w.c.ReopenCase(w.ctx, access.As("joan"), "c-joan-2"))
	w.expect(no("outsider", "view", "case:c-joan"))

	// Back as a member, she acts on her cases again.
	w.must(w.c.RequestAccess(w.ctx, access.As("joan"), "acme", access.RoleViewer))
	w.must(w.c.Approve(w.ctx, access.As("bill"), "acme", "joan"))
	w.must(w.c.CloseCase(w.ctx, access.As("joan"), "c-joan"))
	w.must(w.c.ReopenCase(w.ctx, access.As("joan"), "c-joan-2"))
}
