package access_test

import (
	"slices"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/access"
)

// district: group district contains almond and birch schools; almond contains class_a.
// Staff report cases on account shoe; sue reads the district, amy reads almond only.
func district(t *testing.T) *world {
	w := newWorld(t)
	w.account("shoe", "sam", map[string]access.Role{"al": access.RoleStandard, "bea": access.RoleStandard, "cal": access.RoleViewer, "dina": access.RoleStandard})
	for _, g := range []string{"district", "almond", "birch", "class_a"} {
		w.must(w.c.CreateGroup(w.ctx, access.As(careAgent), g))
	}
	w.must(w.c.NestGroup(w.ctx, access.As(careAgent), "almond", "district"))
	w.must(w.c.NestGroup(w.ctx, access.As(careAgent), "birch", "district"))
	w.must(w.c.NestGroup(w.ctx, access.As(careAgent), "class_a", "almond"))
	for u, g := range map[string]string{"al": "almond", "bea": "birch", "cal": "class_a", "dina": "district"} {
		w.must(w.c.AddGroupMember(w.ctx, access.As(careAgent), g, u))
	}
	for id, reporter := range map[string]string{"al-1": "al", "al-2": "al", "bea-1": "bea", "cal-1": "cal", "dina-1": "dina"} {
		w.must(w.c.CreateCase(w.ctx, access.As(reporter), access.NewCase{ID: id, Account: "shoe"}))
	}
	w.must(w.c.CloseCase(w.ctx, access.As("al"), "al-2"))
	w.must(w.c.SetGroupReadAccess(w.ctx, access.As(careAgent), "sue", "district"))
	w.must(w.c.SetGroupReadAccess(w.ctx, access.As(careAgent), "amy", "almond"))
	return w
}

func sorted(ids []string) []string { slices.Sort(ids); return ids }

func TestSuperCustomersSeeTheirGroupsCasesAtAnyDepth(t *testing.T) {
	t.Parallel()
	w := district(t)
	w.expect(
		yes("sue", "view", "case:al-1"), yes("sue", "update", "case:al-1"), yes("sue", "view", "case:bea-1"),
		yes("sue", "view", "case:cal-1"), yes("sue", "view", "case:dina-1"),
		yes("amy", "view", "case:al-1"), yes("amy", "view", "case:cal-1"),
		no("amy", "view", "case:bea-1"), no("amy", "view", "case:dina-1"),
		// Without group read access a member sees only their own cases.
		yes("al", "view", "case:al-1"), no("al", "view", "case:cal-1"), no("bea", "view", "case:al-1"),
	)
	all := sorted(w.ids(w.c.GroupCases(w.ctx, access.As("sue"), "sue", access.StatusAll)))
	open := sorted(w.ids(w.c.GroupCases(w.ctx, access.As("sue"), "sue", access.StatusOpen)))
	closed := sorted(w.ids(w.c.GroupCases(w.ctx, access.As("sue"), "sue", access.StatusClosed)))
	if want := []string{"al-1", "al-2", "bea-1", "cal-1", "dina-1"}; !slices.Equal(all, want) {
		t.Errorf("sue's group cases = %v, want %v", all, want)
	}
	if want := []string{"al-1", "bea-1", "cal-1", "dina-1"}; !slices.Equal(open, want) {
		t.Errorf("sue's open group cases = %v, want %v", open, want)
	}
	if want := []string{"al-2"}; !slices.Equal(closed, want) {
		t.Errorf("sue's closed group cases = %v, want %v", closed, want)
	}
	if got := w.ids(w.c.GroupCases(w.ctx, access.As("al"), "al", access.StatusAll)); len(got) != 0 {
		t.Errorf("al has no group read access but lists %v", got)
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

func TestGroupReadAccessIsOneGroupAndMembershipChangesApply(t *testing.T) {
	t.Parallel()
	w := district(t)
	w.must(w.c.SetGroupReadAccess(w.ctx, access.As(careAgent), "amy", "birch"))
	if g, err := w.c.GroupReadAccess(w.ctx, access.As("amy"), "amy"); err != nil || g != "birch" {
		t.Fatalf("amy reads %q, %v", g, err)
	}
	if g, err := w.c.GroupReadAccess(w.ctx, access.As(careAgent), "amy"); err != nil || g != "birch" {
		t.Fatalf("customer care sees amy reading %q, %v", g, err)
	}
	// Another customer may not ask who reads what.
	w.refuse(access.ErrPermissionDenied)(w.c.GroupReadAccess(w.ctx, access.As("al"), "amy"))
	w.expect(yes("amy", "view", "case:bea-1"), no("amy", "view", "case:al-1"))
	// Removing al from almond hides al's cases from the district reader.
	w.must(w.c.RemoveGroupMember(w.ctx, access.As(careAgent), "almond", "al"))
	w.expect(no("sue", "view", "case:al-1"))
	w.must(w.c.ClearGroupReadAccess(w.ctx, access.As(careAgent), "amy"))
	w.expect(no("amy", "view", "case:bea-1"))
	// Only the vendor side manages groups.
	w.refuse(access.ErrPermissionDenied)(w.c.SetGroupReadAccess(w.ctx, access.As("sam"), "sam", "district"))
}

func TestGroupCyclesAreRefused(t *testing.T) {
	t.Parallel()
	w := district(t)
	w.refuse(access.ErrCycle)(w.c.NestGroup(w.ctx, access.As(careAgent), "district", "class_a"))
	w.refuse(access.ErrCycle)(w.c.NestGroup(w.ctx, access.As(careAgent), "district", "almond"))
	w.refuse(access.ErrCycle)(w.c.NestGroup(w.ctx, access.As(careAgent), "birch", "birch"))
	w.refuse(access.ErrNotFound)(w.c.NestGroup(w.ctx, access.As(careAgent), "nowhere", "birch"))
	// Checks still work: no loop was written.
	w.expect(yes("sue", "view", "case:cal-1"))
}
