package access_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
)

func TestSiteRoleTable(t *testing.T) {
	t.Parallel()
	w := acme(t)
	w.must(w.c.AddRolloutParticipant(w.ctx, access.As(vendorAdmin), "entitlement_view", "bill"))
	w.must(w.c.AddRolloutParticipant(w.ctx, access.As(vendorAdmin), "entitlement_view", "sally"))
	w.must(w.c.AddRolloutParticipant(w.ctx, access.As(vendorAdmin), "entitlement_view", "joan"))
	w.expect(
		// Create a case, and view/update one's own.
		yes("bill", "create_case", "account:acme"), yes("sally", "create_case", "account:acme"), yes("joan", "create_case", "account:acme"),
		yes("sally", "view", "case:c-sally"), yes("sally", "update", "case:c-sally"),
		yes("joan", "view", "case:c-joan"), yes("joan", "update", "case:c-joan"),
		// View and update every case of the account: admin only.
		yes("bill", "view_all_cases", "account:acme"), no("sally", "view_all_cases", "account:acme"), no("joan", "view_all_cases", "account:acme"),
		yes("bill", "view", "case:c-sally"), yes("bill", "update", "case:c-joan"),
		no("sally", "view", "case:c-joan"), no("joan", "view", "case:c-sally"), no("joan", "update", "case:c-bill"),
		// Downloads and licence keys: admin and standard, rollout participants only.
		yes("bill", "download_software", "account:acme"), yes("sally", "download_software", "account:acme"), no("joan", "download_software", "account:acme"),
		yes("bill", "generate_license_key", "account:acme"), yes("sally", "generate_license_key", "account:acme"), no("joan", "generate_license_key", "account:acme"),
		// Approving requests and seeing members: admin only.
		yes("bill", "manage_members", "account:acme"), no("sally", "manage_members", "account:acme"), no("joan", "manage_members", "account:acme"),
		yes("bill", "view_members", "account:acme"), no("sally", "view_members", "account:acme"), no("joan", "view_members", "account:acme"),
		// Removing contacts: Customer Care only.
		no("bill", "remove_members", "account:acme"), yes(careAgent, "remove_members", "account:acme"),
		// A stranger gets nothing.
		no("mallory", "create_case", "account:acme"), no("mallory", "view", "case:c-bill"),
	)
}

func TestJoinRequestGrantsNothingUntilApproved(t *testing.T) {
	t.Parallel()
	w := acme(t)
	w.must(w.c.RequestAccess(w.ctx, access.As("dave"), "acme", access.RoleStandard))
	w.expect(no("dave", "create_case", "account:acme"))
	pending, err := w.c.PendingRequests(w.ctx, access.As("bill"), "acme")
	if err != nil || len(pending) != 1 || pending[0].User != "dave" || pending[0].Role != access.RoleStandard {
		t.Fatalf("pending = %+v, %v", pending, err)
	}
	if d := time.Until(pending[0].ExpiresAt); d < 29*24*time.Hour || d > 30*24*time.Hour+time.Minute {
		t.Fatalf("request expires in %s, want 30 days", d)
	}
	// Standard members cannot approve.
	w.refuse(access.ErrPermissionDenied)(w.c.Approve(w.ctx, access.As("sally"), "acme", "dave"))
	w.refuse(access.ErrPermissionDenied)(w.c.PendingRequests(w.ctx, access.As("sally"), "acme"))
	tok := w.must(w.c.Approve(w.ctx, access.As("bill"), "acme", "dave"))
	d, err := w.c.Check(w.ctx, userSubj("dave"), "create_case", obj("account:acme"), access.AtLeast(tok))
	if err != nil || !d.Allowed {
		t.Fatalf("dave after approval: %+v, %v", d, err)
	}
	// Decided once: a second decision finds nothing pending.
	w.refuse(access.ErrNotFound)(w.c.Approve(w.ctx, access.As("bill"), "acme", "dave"))
	w.refuse(access.ErrNotFound)(w.c.Deny(w.ctx, access.As("bill"), "acme", "dave"))
}

func TestDeniedRequestGrantsNothing(t *testing.T) {
	t.Parallel()
	w := acme(t)
	w.must(w.c.RequestAccess(w.ctx, access.As("dave"), "acme", access.RoleAdmin))
	w.must(w.c.Deny(w.ctx, access.As("bill"), "acme", "dave"))
	w.expect(no("dave", "create_case", "account:acme"), no("dave", "view_all_cases", "account:acme"))
}

func TestRoleChangeRequestGoesThroughApproval(t *testing.T) {
	t.Parallel()
	w := acme(t)
	w.must(w.c.RequestAccess(w.ctx, access.As("joan"), "acme", access.RoleAdmin))
	w.expect(no("joan", "view_all_cases", "account:acme"), yes("joan", "create_case", "account:acme"))
	w.must(w.c.Approve(w.ctx, access.As("bill"), "acme", "joan"))
	w.expect(yes("joan", "view_all_cases", "account:acme"))
	members := collectMembers(t, w, "bill", "acme")
	if !slices.Contains(members, access.Member{User: "joan", Role: access.RoleAdmin}) || slices.Contains(members, access.Member{User: "joan", Role: access.RoleViewer}) {
		t.Fatalf("joan should be admin only: %+v", members)
	}
	// Asking for the role one has is refused.
	w.refuse(access.ErrInvalidArgument)(w.c.RequestAccess(w.ctx, access.As("sally"), "acme", access.RoleStandard))
}

func TestRequestsExpire(t *testing.T) {
	t.Parallel()
	w := newWorld(t, access.WithRequestTTL(1500*time.Millisecond))
	w.account("acme", "bill", nil)
	w.must(w.c.RequestAccess(w.ctx, access.As("dave"), "acme", access.RoleStandard))
	time.Sleep(1600 * time.Millisecond)
	pending, err := w.c.PendingRequests(w.ctx, access.As("bill"), "acme")
	if err != nil || len(pending) != 0 {
		t.Fatalf("expired request still pending: %+v, %v", pending, err)
	}
	w.refuse(access.ErrNotFound)(w.c.Approve(w.ctx, access.As("bill"), "acme", "dave"))
	w.expect(no("dave", "create_case", "account:acme"))
}

func TestApproversAreAdminsFullAdminPartnersOrCustomerCare(t *testing.T) {
	t.Parallel()
	w := acme(t)
	w.must(w.c.RequestAccess(w.ctx, access.As("dave"), "acme", access.RoleStandard))
	w.must(w.c.CreatePartner(w.ctx, access.As(vendorAdmin), "integrator", ""))
	w.must(w.c.AddPartnerMember(w.ctx, access.As(vendorAdmin), "integrator", "pam"))
	w.must(w.c.GrantPartner(w.ctx, access.As("bill"), "acme", access.Individual("pam"), access.LevelFullAdmin, time.Time{}))
	got, err := w.c.Approvers(w.ctx, access.As("dave"), "acme", "dave")
	want := []access.Approver{{User: "bill", Via: "admin"}, {User: "pam", Via: "partner full_admin"}}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("approvers = %+v, %v; want %+v", got, err, want)
	}
	// A full_admin partner may approve, but never remove contacts or manage partners.
	w.must(w.c.Approve(w.ctx, access.As("pam"), "acme", "dave"))
	w.expect(yes("pam", "manage_members", "account:acme"), no("pam", "remove_members", "account:acme"), no("pam", "manage_partners", "account:acme"))

	// An account without admin routes to Customer Care.
	w.account("orphan", "", nil)
	w.must(w.c.RequestAccess(w.ctx, access.As("erin"), "orphan", access.RoleAdmin))
	got, err = w.c.Approvers(w.ctx, access.As("erin"), "orphan", "erin")
	if err != nil || !slices.Equal(got, []access.Approver{{User: careAgent, Via: "customer care"}}) {
		t.Fatalf("approvers of an admin-less account = %+v, %v", got, err)
	}
	// Customer Care approves there, but not on an account that has admins.
	w.must(w.c.Approve(w.ctx, access.As(careAgent), "orphan", "erin"))
	w.must(w.c.RequestAccess(w.ctx, access.As("fred"), "acme", access.RoleViewer))
	w.refuse(access.ErrPermissionDenied)(w.c.Approve(w.ctx, access.As(careAgent), "acme", "fred"))
	// Somebody else cannot see who approves dave's request.
	w.refuse(access.ErrPermissionDenied)(w.c.Approvers(w.ctx, access.As("sally"), "acme", "fred"))
	// Nor can anyone without a pending request learn an account's admins and partners by
	// asking about themselves, and an account that does not exist looks the same.
	for _, account := range []string{"acme", "orphan", "no-such-account"} {
		w.refuse(access.ErrPermissionDenied)(w.c.Approvers(w.ctx, access.As("mallory"), account, "mallory"))
	}
}

func TestAdminsChangeRolesButOnlyCustomerCareRemoves(t *testing.T) {
	t.Parallel()
	w := acme(t)
	w.must(w.c.ChangeRole(w.ctx, access.As("bill"), "acme", "joan", access.RoleStandard))
	w.expect(yes("joan", "create_case", "account:acme"))
	members := collectMembers(t, w, "bill", "acme")
	if !slices.Contains(members, access.Member{User: "joan", Role: access.RoleStandard}) {
		t.Fatalf("joan should be standard now: %+v", members)
	}
	w.refuse(access.ErrPermissionDenied)(w.c.ChangeRole(w.ctx, access.As("sally"), "acme", "joan", access.RoleAdmin))
	w.refuse(access.ErrPermissionDenied)(w.c.RemoveMember(w.ctx, access.As("bill"), "acme", "joan"))
	w.must(w.c.RemoveMember(w.ctx, access.As(careAgent), "acme", "joan"))
	w.expect(no("joan", "create_case", "account:acme"))
	w.refuse(access.ErrNotFound)(w.c.RemoveMember(w.ctx, access.As(careAgent), "acme", "joan"))
	w.refuse(access.ErrNotFound)(w.c.ChangeRole(w.ctx, access.As("bill"), "acme", "joan", access.RoleAdmin))
	// Members are visible to admins only.
	for _, err := range w.c.Members(w.ctx, access.As("sally"), "acme") {
		if !errors.Is(err, access.ErrPermissionDenied) {
			t.Fatalf("sally listing members: %v", err)
		}
	}
}

func TestLastAdminCannotLeaveOrBeDemotedByAnAdmin(t *testing.T) {
	t.Parallel()
	w := acme(t)
	w.refuse(access.ErrLastAdmin)(w.c.ChangeRole(w.ctx, access.As("bill"), "acme", "bill", access.RoleStandard))
	w.refuse(access.ErrLastAdmin)(w.c.Leave(w.ctx, access.As("bill"), "acme"))
	w.expect(yes("bill", "manage_members", "account:acme"))
	// With a second admin, one may step down.
	w.must(w.c.ChangeRole(w.ctx, access.As("bill"), "acme", "sally", access.RoleAdmin))
	w.must(w.c.Leave(w.ctx, access.As("bill"), "acme"))
	w.expect(no("bill", "create_case", "account:acme"), yes("sally", "manage_members", "account:acme"))
	// A downgrade request of the last admin: she cannot approve it herself, and a full_admin
	// partner's approval is refused by the last-admin rule.
	w.must(w.c.RequestAccess(w.ctx, access.As("sally"), "acme", access.RoleViewer))
	w.refuse(access.ErrPermissionDenied)(w.c.Approve(w.ctx, access.As("sally"), "acme", "sally"))
	w.must(w.c.CreatePartner(w.ctx, access.As(vendorAdmin), "integrator", ""))
	w.must(w.c.AddPartnerMember(w.ctx, access.As(vendorAdmin), "integrator", "pam"))
	w.must(w.c.GrantPartner(w.ctx, access.As("sally"), "acme", access.Individual("pam"), access.LevelFullAdmin, time.Time{}))
	w.refuse(access.ErrLastAdmin)(w.c.Approve(w.ctx, access.As("pam"), "acme", "sally"))
	// Customer Care may leave the account without an admin.
	w.must(w.c.ChangeRole(w.ctx, access.As(careAgent), "acme", "sally", access.RoleStandard))
	w.expect(no("sally", "manage_members", "account:acme"))
}

func collectMembers(t *testing.T, w *world, actor, sid string) []access.Member {
	t.Helper()
	var out []access.Member
	for m, err := range w.c.Members(w.ctx, access.As(actor), sid) {
		if err != nil {
			t.Fatalf("members: %v", err)
		}
		out = append(out, m)
	}
	return out
}

// A full_admin partner manages contacts but cannot mint admins (the admin role carries
// manage_partners and would outlive the partner's grant), and nobody approves their own
// request.
func TestPartnersNeverMakeAdminsAndNobodyApprovesTheirOwnRequest(t *testing.T) {
	t.Parallel()
	w := acme(t)
	w.must(w.c.CreatePartner(w.ctx, access.As(vendorAdmin), "integrator", ""))
	w.must(w.c.AddPartnerMember(w.ctx, access.As(vendorAdmin), "integrator", "pam"))
	w.must(w.c.GrantPartner(w.ctx, access.As("bill"), "acme", access.Individual("pam"), access.LevelFullAdmin, time.Time{}))

	// pam asks to become an admin and tries to approve it herself.
	w.must(w.c.RequestAccess(w.ctx, access.As("pam"), "acme", access.RoleAdmin))
	w.refuse(access.ErrPermissionDenied)(w.c.Approve(w.ctx, access.As("pam"), "acme", "pam"))
	got, err := w.c.Approvers(w.ctx, access.As("pam"), "acme", "pam")
	if err != nil || !slices.Equal(got, []access.Approver{{User: "bill", Via: "admin"}}) {
		t.Fatalf("approvers of pam's admin request = %+v, %v; want only bill", got, err)
	}
	w.expect(no("pam", "manage_partners", "account:acme"), no("pam", "bind_roles", "account:acme"))

	// Nor may she approve someone else's admin request, or promote a contact to admin.
	w.must(w.c.RequestAccess(w.ctx, access.As("dave"), "acme", access.RoleAdmin))
	w.refuse(access.ErrPermissionDenied)(w.c.Approve(w.ctx, access.As("pam"), "acme", "dave"))
	w.refuse(access.ErrPermissionDenied)(w.c.ChangeRole(w.ctx, access.As("pam"), "acme", "sally", access.RoleAdmin))
	w.expect(no("dave", "manage_members", "account:acme"), no("sally", "manage_members", "account:acme"))

	// Standard and viewer roles stay hers to decide, and admins still decide admin requests.
	w.must(w.c.ChangeRole(w.ctx, access.As("pam"), "acme", "joan", access.RoleStandard))
	w.must(w.c.Approve(w.ctx, access.As("bill"), "acme", "dave"))
	w.expect(yes("dave", "manage_partners", "account:acme"))

	// An admin asking for a role change does not decide it either.
	w.must(w.c.RequestAccess(w.ctx, access.As("dave"), "acme", access.RoleViewer))
	w.refuse(access.ErrPermissionDenied)(w.c.Approve(w.ctx, access.As("dave"), "acme", "dave"))
	w.must(w.c.Approve(w.ctx, access.As("bill"), "acme", "dave"))
}
