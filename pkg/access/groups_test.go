package access_test

import (
	"slices"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/access"
)

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
