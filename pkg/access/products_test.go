package access_test

import (
	"testing"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

func role(t *testing.T, name string) access.FunctionalRole {
	t.Helper()
	r, err := access.ParseFunctionalRole(name)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// installBase: acme owns sold product router and its item router_hq; globex is another
// account; fieldfix a service organisation.
func installBase(t *testing.T) *world {
	w := acme(t)
	w.account("globex", "gina", map[string]access.Role{"gus": access.RoleStandard})
	w.must(w.c.CreateSoldProduct(w.ctx, access.As(careAgent), "router", "acme"))
	w.must(w.c.CreateInstallBase(w.ctx, access.As(careAgent), "router_hq", "acme", "router"))
	w.must(w.c.CreateServiceOrg(w.ctx, access.As(vendorAdmin), "fieldfix"))
	w.must(w.c.AddServiceOrgMember(w.ctx, access.As(vendorAdmin), "fieldfix", "fred"))
	ib, sp := obj("install_base:router_hq"), obj("sold_product:router")
	assign := func(o ref.Object, name string, party string) {
		w.must(w.c.AssignFunctionalRole(w.ctx, access.As("bill"), o, role(t, name), obj(party)))
	}
	assign(sp, "sold_product_authorized_contact", "user:sophie")
	assign(sp, "sold_product_authorized_consumer", "user:conrad")
	assign(ib, "install_base_authorized_contact", "user:sally")   // acme member
	assign(ib, "install_base_authorized_contact", "user:olga")    // not an acme member
	assign(ib, "install_base_authorized_consumer", "user:carmen") // outside consumer
	assign(ib, "install_base_authorized_contributor", "user:ivan")
	assign(ib, "install_base_authorized_member", "user:mia")
	assign(ib, "install_base_authorized_account", "account:globex")
	assign(ib, "install_base_service_organization", "service_org:fieldfix")
	w.must(w.c.CreateCase(w.ctx, access.As("sally"), access.NewCase{ID: "ib-1", Account: "acme", SoldProduct: "router", InstallBase: "router_hq"}))
	return w
}

func TestFunctionalRolesOnProductsAndInstallBase(t *testing.T) {
	t.Parallel()
	w := installBase(t)
	w.expect(
		// Sold product related parties: view product and items, create cases, view/update related cases.
		yes("sophie", "view", "sold_product:router"), yes("sophie", "view", "install_base:router_hq"),
		yes("sophie", "create_case", "sold_product:router"), yes("sophie", "view", "case:ib-1"), yes("sophie", "update", "case:ib-1"),
		yes("sophie", "view_related_parties", "sold_product:router"), no("sophie", "manage_related_parties", "sold_product:router"),
		yes("conrad", "view", "case:ib-1"),
		// Install base contact: the same-account rule for creating cases.
		yes("sally", "create_case", "install_base:router_hq"), no("olga", "create_case", "install_base:router_hq"),
		yes("olga", "view", "install_base:router_hq"), yes("olga", "view", "sold_product:router"), yes("olga", "update", "case:ib-1"),
		// Authorized account: every contact, under the same rule (globex is not acme).
		yes("gus", "view", "install_base:router_hq"), no("gus", "create_case", "install_base:router_hq"), yes("gus", "view", "case:ib-1"),
		// Consumer, contributor and member create without the rule.
		yes("carmen", "create_case", "install_base:router_hq"), yes("ivan", "create_case", "install_base:router_hq"), yes("mia", "create_case", "install_base:router_hq"),
		// Service organisation: view and manage cases, never create.
		yes("fred", "view", "install_base:router_hq"), yes("fred", "manage_cases", "install_base:router_hq"), yes("fred", "update", "case:ib-1"),
		no("fred", "create_case", "install_base:router_hq"), no("fred", "view", "sold_product:router"),
		// The admin manages the item's cases; a stranger nothing.
		yes("bill", "manage_cases", "install_base:router_hq"), no("mallory", "view", "install_base:router_hq"),
	)
	// The domain checks the same rule when opening a case on the item.
	w.refuse(access.ErrPermissionDenied)(w.c.CreateCase(w.ctx, access.As("olga"), access.NewCase{ID: "ib-2", Account: "acme", InstallBase: "router_hq"}))
	w.must(w.c.CreateCase(w.ctx, access.As("carmen"), access.NewCase{ID: "ib-3", Account: "acme", InstallBase: "router_hq"}))
	// A case opened on the item alone is still related to its product.
	w.expect(yes("carmen", "view", "case:ib-3"), yes("sophie", "view", "case:ib-3"), no("joan", "view", "case:ib-3"))
	// Only those who manage the item's related parties assign roles.
	w.refuse(access.ErrPermissionDenied)(w.c.AssignFunctionalRole(w.ctx, access.As("sally"), obj("install_base:router_hq"), role(t, "install_base_authorized_consumer"), obj("user:x")))
	parties, err := w.c.RelatedParties(w.ctx, access.As("bill"), obj("install_base:router_hq"))
	if err != nil || len(parties) != 7 {
		t.Fatalf("related parties = %+v, %v", parties, err)
	}
}

func TestCaseFunctionalRoles(t *testing.T) {
	t.Parallel()
	w := acme(t)
	for _, name := range []string{"case_authorized_contact", "case_authorized_consumer", "case_authorized_contributor"} {
		user := "u_" + name
		w.expect(no(user, "view", "case:c-sally"))
		w.must(w.c.AssignFunctionalRole(w.ctx, access.As("sally"), obj("case:c-sally"), role(t, name), obj("user:"+user)))
		w.expect(yes(user, "view", "case:c-sally"), yes(user, "update", "case:c-sally"), no(user, "view", "case:c-joan"))
	}
}

func TestCustomRoleGivesExactlyItsBundle(t *testing.T) {
	t.Parallel()
	w := installBase(t)
	w.must(w.c.CreateGroup(w.ctx, access.As(careAgent), "leads"))
	w.must(w.c.AddGroupMember(w.ctx, access.As(careAgent), "leads", "lena"))
	w.must(w.c.DefineRole(w.ctx, access.As(vendorAdmin), "case_reader", []access.Privilege{access.PrivCaseRead}))
	w.must(w.c.DefineRole(w.ctx, access.As(vendorAdmin), "writer_only", []access.Privilege{access.PrivCaseWrite}))
	w.must(w.c.DefineRole(w.ctx, access.As(vendorAdmin), "contact_admin", []access.Privilege{access.PrivSoldProductContactWrite, access.PrivCaseCreate}))
	// Only the account's admins bind roles; partners and standard members cannot.
	w.refuse(access.ErrPermissionDenied)(w.c.BindRole(w.ctx, access.As("sally"), "case_reader", obj("account:acme"), userSubj("sally")))
	w.must(w.c.BindRole(w.ctx, access.As("bill"), "case_reader", obj("account:acme"), ref.Subject{Object: obj("group:leads"), Relation: "member"}))
	w.must(w.c.BindRole(w.ctx, access.As("bill"), "writer_only", obj("install_base:router_hq"), userSubj("wanda")))
	w.must(w.c.BindRole(w.ctx, access.As("bill"), "contact_admin", obj("sold_product:router"), userSubj("walt")))
	w.expect(
		// case_read on the account: every case of the account, nothing else.
		yes("lena", "view", "case:c-sally"), yes("lena", "view", "case:ib-1"), no("lena", "update", "case:c-sally"),
		no("lena", "create_case", "account:acme"), no("lena", "view", "sold_product:router"), no("globex_lena", "view", "case:c-sally"),
		// case_write alone: updates the item's cases, does not view them.
		yes("wanda", "update", "case:ib-1"), no("wanda", "view", "case:ib-1"), no("wanda", "update", "case:c-sally"),
		// contact write includes contact read; case create includes case read; scoped to the product.
		yes("walt", "manage_related_parties", "sold_product:router"), yes("walt", "view_related_parties", "sold_product:router"),
		no("walt", "view", "sold_product:router"), no("walt", "view_consumers", "sold_product:router"),
		yes("walt", "create_case", "sold_product:router"), yes("walt", "view", "case:ib-1"), no("walt", "view", "case:c-sally"),
	)
	// Redefining the role changes every binding at once, with no schema change.
	w.must(w.c.DefineRole(w.ctx, access.As(vendorAdmin), "case_reader", []access.Privilege{access.PrivCaseRead, access.PrivCaseWrite}))
	w.expect(yes("lena", "update", "case:c-sally"))
	privs, err := w.c.RolePrivileges(w.ctx, "case_reader")
	if err != nil || len(privs) != 2 {
		t.Fatalf("privileges = %v, %v", privs, err)
	}
	w.must(w.c.UnbindRole(w.ctx, access.As("bill"), "case_reader", obj("account:acme"), ref.Subject{Object: obj("group:leads"), Relation: "member"}))
	w.expect(no("lena", "view", "case:c-sally"))
	// consumer write lets its holder add consumers, and nothing else.
	w.must(w.c.DefineRole(w.ctx, access.As(vendorAdmin), "consumer_admin", []access.Privilege{access.PrivSoldProductConsumerWrite}))
	w.must(w.c.BindRole(w.ctx, access.As("bill"), "consumer_admin", obj("sold_product:router"), userSubj("cora")))
	w.must(w.c.AssignFunctionalRole(w.ctx, access.As("cora"), obj("sold_product:router"), role(t, "sold_product_authorized_consumer"), obj("user:newbie")))
	w.refuse(access.ErrPermissionDenied)(w.c.AssignFunctionalRole(w.ctx, access.As("cora"), obj("sold_product:router"), role(t, "sold_product_authorized_contact"), obj("user:newbie")))
	w.expect(yes("newbie", "view", "sold_product:router"), yes("cora", "view_consumers", "sold_product:router"), no("cora", "view", "sold_product:router"))
	// Only the vendor defines roles.
	w.refuse(access.ErrPermissionDenied)(w.c.DefineRole(w.ctx, access.As("bill"), "mine", []access.Privilege{access.PrivCaseRead}))
}
