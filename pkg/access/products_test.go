package access_test

import (
	"testing"

	"github.com/accessgraph/accessgraph/pkg/access"
)

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
