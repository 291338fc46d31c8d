package refmodel_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/refmodel"
)

// These tests pin the model to the contract's own sentences, without SpiceDB: if the model
// drifts, they say which rule it broke before the differential test has to.

// mw is a model world with helpers that fail the test on unexpected outcomes.
type mw struct {
	t *testing.T
	w *refmodel.World
}

func newModel(t *testing.T) *mw {
	m := &mw{t: t, w: refmodel.NewWorld()}
	m.do(refmodel.Op{Kind: refmodel.OpBootstrap, User: "vera"})
	m.do(refmodel.Op{Kind: refmodel.OpAddPlatformRole, Actor: "vera", User: "carol", PlatformRole: refmodel.PlatformCustomerCare})
	m.do(refmodel.Op{Kind: refmodel.OpCreateAccount, Actor: "carol", Account: "acme", User: "bill"})
	for u, r := range map[string]refmodel.Role{"sally": refmodel.RoleStandard, "vic": refmodel.RoleViewer} {
		m.do(refmodel.Op{Kind: refmodel.OpRequestAccess, Actor: u, Account: "acme", SiteRole: r})
		m.do(refmodel.Op{Kind: refmodel.OpApprove, Actor: "bill", Account: "acme", User: u})
	}
	return m
}

func (m *mw) do(ops ...refmodel.Op) {
	m.t.Helper()
	for _, op := range ops {
		if r := m.w.Apply(op); r != refmodel.OK {
			m.t.Fatalf("%s: %s", op, r)
		}
	}
}

func (m *mw) refuse(want refmodel.Result, op refmodel.Op) {
	m.t.Helper()
	if r := m.w.Apply(op); r != want {
		m.t.Fatalf("%s: %s, want %s", op, r, want)
	}
}

func (m *mw) expect(want bool, user, perm string, o refmodel.Object) {
	m.t.Helper()
	got, err := m.w.Check(user, perm, o)
	if err != nil {
		m.t.Fatal(err)
	}
	if got != want {
		m.t.Errorf("%s %s %s = %t, want %t", user, perm, o, got, want)
	}
}

var acme = refmodel.Account("acme")

func TestSiteRolesAndRequests(t *testing.T) {
	m := newModel(t)
	m.do(refmodel.Op{Kind: refmodel.OpRequestAccess, Actor: "pia", Account: "acme", SiteRole: refmodel.RoleAdmin})
	for _, perm := range refmodel.PublicPermissions["account"] {
		m.expect(false, "pia", perm, acme) // a pending request grants nothing
	}
	m.expect(true, "vic", "create_case", acme)
	m.expect(false, "vic", "view_all_cases", acme)
	m.expect(false, "sally", "download_software", acme) // not a rollout participant
	m.do(refmodel.Op{Kind: refmodel.OpAddRolloutParticipant, Actor: "vera", User: "sally"})
	m.expect(true, "sally", "download_software", acme)
	m.do(refmodel.Op{Kind: refmodel.OpReleaseToEveryone, Actor: "vera", On: true})
	m.expect(true, "bill", "generate_license_key", acme)
	m.expect(false, "vic", "generate_license_key", acme)
	m.expect(false, "bill", "remove_members", acme)
	m.expect(true, "carol", "remove_members", acme)
	// The last admin cannot demote themselves or leave; Customer Care may leave acme admin-less.
	m.refuse(refmodel.LastAdmin, refmodel.Op{Kind: refmodel.OpLeave, Actor: "bill", Account: "acme"})
	m.refuse(refmodel.LastAdmin, refmodel.Op{Kind: refmodel.OpChangeRole, Actor: "bill", Account: "acme", User: "bill", SiteRole: refmodel.RoleViewer})
	m.do(refmodel.Op{Kind: refmodel.OpChangeRole, Actor: "carol", Account: "acme", User: "bill", SiteRole: refmodel.RoleViewer})
	// Without an admin, Customer Care approves.
	m.do(refmodel.Op{Kind: refmodel.OpApprove, Actor: "carol", Account: "acme", User: "pia"})
	m.expect(true, "pia", "manage_members", acme)
	m.refuse(refmodel.NotFound, refmodel.Op{Kind: refmodel.OpApprove, Actor: "pia", Account: "acme", User: "pia"}) // decided once
}

func TestPartnerLevelsAndExpiry(t *testing.T) {
	m := newModel(t)
	m.do(
		refmodel.Op{Kind: refmodel.OpCreatePartner, Actor: "vera", Partner: "integrator"},
		refmodel.Op{Kind: refmodel.OpAddPartnerMember, Actor: "vera", Partner: "integrator", User: "pam"},
		refmodel.Op{Kind: refmodel.OpAddPartnerMember, Actor: "vera", Partner: "integrator", User: "pete"},
		refmodel.Op{Kind: refmodel.OpGrantPartner, Actor: "bill", Account: "acme", Grantee: refmodel.Grantee{Partner: "integrator"}, Level: refmodel.LevelLook},
		refmodel.Op{Kind: refmodel.OpGrantPartner, Actor: "bill", Account: "acme", Grantee: refmodel.Grantee{User: "pam"}, Level: refmodel.LevelCC},
	)
	// Individual before organisation: pam's cc narrows the integrator's look.
	m.expect(true, "pete", "view_all_cases", acme)
	m.expect(false, "pam", "view_all_cases", acme)
	m.expect(false, "pam", "receive_notifications", acme)
	// An expired individual grant falls back to the organisation's level.
	expiry := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	m.do(refmodel.Op{Kind: refmodel.OpGrantPartner, Actor: "bill", Account: "acme", Grantee: refmodel.Grantee{User: "pam"}, Level: refmodel.LevelFullAdmin, ExpiresAt: expiry})
	m.expect(true, "pam", "manage_contacts", acme)
	m.expect(false, "pam", "manage_partners", acme) // never, at any level
	m.do(refmodel.Op{Kind: refmodel.OpTick, At: expiry})
	m.expect(false, "pam", "manage_contacts", acme)
	m.expect(true, "pam", "view_all_cases", acme)
	// A partner cannot grant anyone.
	m.refuse(refmodel.Denied, refmodel.Op{Kind: refmodel.OpGrantPartner, Actor: "pete", Account: "acme", Grantee: refmodel.Grantee{User: "x"}, Level: refmodel.LevelCC})
	// A primary point of contact needs update or higher; an additional contact any grant.
	m.do(refmodel.Op{Kind: refmodel.OpCreateCase, Actor: "sally", Account: "acme", Case: "c1"})
	m.refuse(refmodel.Denied, refmodel.Op{Kind: refmodel.OpAddCaseContact, Actor: "sally", Case: "c1", User: "pete", On: true})
	m.do(refmodel.Op{Kind: refmodel.OpAddCaseContact, Actor: "sally", Case: "c1", User: "pam"})
	m.do(refmodel.Op{Kind: refmodel.OpGrantPartner, Actor: "bill", Account: "acme", Grantee: refmodel.Grantee{User: "pam"}, Level: refmodel.LevelCC})
	m.expect(true, "pam", "update", refmodel.Case("c1"))
	m.do(refmodel.Op{Kind: refmodel.OpRevokePartner, Actor: "bill", Account: "acme", Grantee: refmodel.Grantee{User: "pam"}})
	m.do(refmodel.Op{Kind: refmodel.OpRevokePartner, Actor: "bill", Account: "acme", Grantee: refmodel.Grantee{Partner: "integrator"}})
	m.expect(false, "pam", "view", refmodel.Case("c1")) // revocation ends case access too
}

func TestDataAccessConsents(t *testing.T) {
	m := newModel(t)
	m.do(
		refmodel.Op{Kind: refmodel.OpCreatePartner, Actor: "vera", Partner: "integrator"},
		refmodel.Op{Kind: refmodel.OpCreatePartner, Actor: "vera", Partner: "msp", Parent: "integrator"},
		refmodel.Op{Kind: refmodel.OpAddPartnerMember, Actor: "vera", Partner: "integrator", User: "ian"},
		refmodel.Op{Kind: refmodel.OpAddPartnerMember, Actor: "vera", Partner: "msp", User: "mike"},
		refmodel.Op{Kind: refmodel.OpLinkPartner, Actor: "vera", Account: "acme", Partner: "msp"},
	)
	m.expect(true, "mike", "view_dashboard", acme) // support on by default
	m.expect(false, "ian", "view_dashboard", acme) // nothing flows up the tree
	m.do(refmodel.Op{Kind: refmodel.OpSetVendorManage, Actor: "vera", Account: "acme", Partner: "msp", On: true})
	m.expect(false, "mike", "manage_service", acme)
	m.do(refmodel.Op{Kind: refmodel.OpSetCustomerManage, Actor: "bill", Account: "acme", Partner: "msp", On: true})
	m.expect(true, "mike", "manage_service", acme)
	m.do(refmodel.Op{Kind: refmodel.OpSetSupportAccess, Actor: "bill", Account: "acme", Partner: "msp", On: false})
	m.expect(true, "mike", "view_reports", acme) // manage includes support
	m.refuse(refmodel.Denied, refmodel.Op{Kind: refmodel.OpSetVendorManage, Actor: "bill", Account: "acme", Partner: "msp"})
	m.do(refmodel.Op{Kind: refmodel.OpSetVendorManage, Actor: "vera", Account: "acme", Partner: "msp", On: false})
	m.expect(false, "mike", "manage_service", acme)
	m.expect(false, "mike", "view_user_activity", acme)
}

func TestGroupsAndClosedCases(t *testing.T) {
	m := newModel(t)
	m.do(
		refmodel.Op{Kind: refmodel.OpCreateGroup, Actor: "carol", Group: "district"},
		refmodel.Op{Kind: refmodel.OpCreateGroup, Actor: "carol", Group: "school"},
		refmodel.Op{Kind: refmodel.OpNestGroup, Actor: "carol", Group: "school", Parent: "district"},
		refmodel.Op{Kind: refmodel.OpAddGroupMember, Actor: "carol", Group: "school", User: "sally"},
		refmodel.Op{Kind: refmodel.OpSetGroupReadAccess, Actor: "carol", User: "dee", Group: "district"},
		refmodel.Op{Kind: refmodel.OpCreateCase, Actor: "sally", Account: "acme", Case: "c1"},
	)
	m.refuse(refmodel.Cycle, refmodel.Op{Kind: refmodel.OpNestGroup, Actor: "carol", Group: "district", Parent: "school"})
	c1 := refmodel.Case("c1")
	m.expect(true, "dee", "update", c1)
	m.expect(false, "dee", "view_all_cases", acme)
	m.do(refmodel.Op{Kind: refmodel.OpCloseCase, Actor: "dee", Case: "c1"})
	m.expect(true, "dee", "view", c1)
	for _, u := range []string{"dee", "sally", "bill"} {
		m.expect(false, u, "update", c1) // closed: read-only for everyone
	}
	m.do(refmodel.Op{Kind: refmodel.OpCreateGroup, Actor: "carol", Group: "other"})
	m.do(refmodel.Op{Kind: refmodel.OpSetGroupReadAccess, Actor: "carol", User: "dee", Group: "other"})
	m.expect(false, "dee", "view", c1) // one group at a time: the new one replaced the old
	m.do(refmodel.Op{Kind: refmodel.OpReopenCase, Actor: "sally", Case: "c1"})
	m.expect(true, "sally", "update", c1)
}

func TestProductsAndCustomRoles(t *testing.T) {
	m := newModel(t)
	m.do(
		refmodel.Op{Kind: refmodel.OpCreateAccount, Actor: "carol", Account: "globex", User: "gina"},
		refmodel.Op{Kind: refmodel.OpCreateSoldProduct, Actor: "carol", SoldProduct: "router", Account: "acme"},
		refmodel.Op{Kind: refmodel.OpCreateInstallBase, Actor: "carol", InstallBase: "hq", Account: "acme", SoldProduct: "router"},
		refmodel.Op{Kind: refmodel.OpCreateServiceOrg, Actor: "vera", ServiceOrg: "fieldfix"},
		refmodel.Op{Kind: refmodel.OpAddServiceOrgMember, Actor: "vera", ServiceOrg: "fieldfix", User: "fred"},
	)
	hq, router := refmodel.InstallBase("hq"), refmodel.SoldProduct("router")
	assign := func(role string, party refmodel.Object) {
		m.do(refmodel.Op{Kind: refmodel.OpAssignFunctionalRole, Actor: "bill", Object: hq, FunctionalRole: role, Party: party})
	}
	assign("install_base_authorized_contact", refmodel.Object{Type: "user", ID: "sally"})
	assign("install_base_authorized_contact", refmodel.Object{Type: "user", ID: "olga"})
	assign("install_base_authorized_account", refmodel.Account("globex"))
	assign("install_base_service_organization", refmodel.Object{Type: "service_org", ID: "fieldfix"})
	m.expect(true, "sally", "create_case", hq)
	m.expect(false, "olga", "create_case", hq) // the same-account rule
	m.expect(true, "olga", "view", hq)
	m.expect(true, "olga", "view", router)
	m.expect(false, "gina", "create_case", hq) // authorized account: same rule
	m.expect(true, "fred", "view", hq)
	m.expect(true, "fred", "manage_cases", hq)
	m.expect(false, "fred", "create_case", hq)
	m.expect(false, "fred", "view", router)
	m.expect(false, "sally", "manage_related_parties", hq) // related parties do not manage them
	// A custom role is exactly its privileges, scoped to its object and below.
	m.do(
		refmodel.Op{Kind: refmodel.OpDefineRole, Actor: "vera", CustomRole: "writer", Privileges: []refmodel.Privilege{refmodel.PrivCaseWrite}},
		refmodel.Op{Kind: refmodel.OpCreateGroup, Actor: "carol", Group: "ops"},
		refmodel.Op{Kind: refmodel.OpAddGroupMember, Actor: "carol", Group: "ops", User: "wes"},
		refmodel.Op{Kind: refmodel.OpBindRole, Actor: "bill", CustomRole: "writer", Object: router, Grantee: refmodel.Grantee{Group: "ops"}},
		refmodel.Op{Kind: refmodel.OpCreateCase, Actor: "sally", Account: "acme", Case: "c1", InstallBase: "hq"},
		refmodel.Op{Kind: refmodel.OpCreateCase, Actor: "sally", Account: "acme", Case: "c2"},
	)
	m.expect(true, "wes", "update", refmodel.Case("c1"))
	m.expect(false, "wes", "view", refmodel.Case("c1")) // write does not imply read
	m.expect(false, "wes", "update", refmodel.Case("c2"))
	m.refuse(refmodel.Denied, refmodel.Op{Kind: refmodel.OpBindRole, Actor: "carol", CustomRole: "writer", Object: router, Grantee: refmodel.Grantee{User: "x"}})
}

func TestCheckRefusesUnknownPermissions(t *testing.T) {
	w := refmodel.NewWorld()
	if _, err := w.Check("u", "veiw", refmodel.Case("c")); !errors.Is(err, refmodel.ErrUnknownPermission) {
		t.Fatalf("typo not reported: %v", err)
	}
	if _, err := w.Check("u", "view", refmodel.Object{Type: "group", ID: "g"}); !errors.Is(err, refmodel.ErrUnknownPermission) {
		t.Fatalf("non-public type not reported: %v", err)
	}
	if w.Allowed("u", "view", refmodel.Case("missing")) {
		t.Fatal("a missing case gave access")
	}
}

func TestCloneIsIndependent(t *testing.T) {
	m := newModel(t)
	c := m.w.Clone()
	m.do(refmodel.Op{Kind: refmodel.OpChangeRole, Actor: "bill", Account: "acme", User: "vic", SiteRole: refmodel.RoleAdmin})
	if c.RoleOf("acme", "vic") != refmodel.RoleViewer || m.w.RoleOf("acme", "vic") != refmodel.RoleAdmin {
		t.Fatal("changing the original changed the clone")
	}
}

func TestGenerateIsReproducible(t *testing.T) {
	a, b := refmodel.Generate(42, refmodel.GenConfig{}), refmodel.Generate(42, refmodel.GenConfig{})
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed gave two different sequences")
	}
	if reflect.DeepEqual(a, refmodel.Generate(43, refmodel.GenConfig{})) {
		t.Fatal("two seeds gave the same sequence")
	}
}

func ExampleWorld() {
	w := refmodel.NewWorld()
	for _, op := range []refmodel.Op{
		{Kind: refmodel.OpBootstrap, User: "vera"},
		{Kind: refmodel.OpAddPlatformRole, Actor: "vera", User: "carol", PlatformRole: refmodel.PlatformCustomerCare},
		{Kind: refmodel.OpCreateAccount, Actor: "carol", Account: "acme", User: "bill"},
		{Kind: refmodel.OpRequestAccess, Actor: "sally", Account: "acme", SiteRole: refmodel.RoleStandard},
		{Kind: refmodel.OpApprove, Actor: "sally", Account: "acme", User: "sally"},
	} {
		fmt.Printf("%-60s %s\n", op, w.Apply(op))
	}
	fmt.Println(w.Allowed("sally", "create_case", refmodel.Account("acme")))
	// Output:
	// Bootstrap user=vera                                          ok
	// vera: AddPlatformRole user=carol platform_role=customer_care ok
	// carol: CreateAccount account=acme user=bill                  ok
	// sally: RequestAccess account=acme site_role=standard         ok
	// sally: Approve account=acme user=sally                       permission denied
	// false
}
