package access_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

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

// Custom roles on an item are authorised on the item itself, before anything about it
// shows: a refusal names only what the caller named (never the account that owns the
// item), and an item that does not exist is refused exactly like one the caller may not
// touch.
func TestRoleBindingRefusalsRevealNothing(t *testing.T) {
	t.Parallel()
	w := installBase(t)
	w.must(w.c.DefineRole(w.ctx, access.As(vendorAdmin), "reader", []access.Privilege{access.PrivCaseRead}))
	gina := access.As("gina") // admin of globex, a stranger to acme
	for _, object := range []string{"install_base:router_hq", "sold_product:router", "install_base:no_such_item", "sold_product:no_such_product"} {
		o := obj(object)
		_, listErr := w.c.RoleBindings(w.ctx, gina, o)
		_, bindErr := w.c.BindRole(w.ctx, gina, "reader", o, userSubj("gus"))
		_, unbindErr := w.c.UnbindRole(w.ctx, gina, "reader", o, userSubj("gus"))
		for name, err := range map[string]error{"list": listErr, "bind": bindErr, "unbind": unbindErr} {
			if !errors.Is(err, access.ErrPermissionDenied) || errors.Is(err, access.ErrNotFound) {
				t.Errorf("%s on %s: %v; want only a permission refusal", name, object, err)
			}
			if err != nil && strings.Contains(err.Error(), "acme") {
				t.Errorf("%s on %s: the refusal names the owning account: %v", name, object, err)
			}
		}
	}
	// The owner's admin still binds and lists.
	w.must(w.c.BindRole(w.ctx, access.As("bill"), "reader", obj("install_base:router_hq"), userSubj("gus")))
	if got, err := w.c.RoleBindings(w.ctx, access.As("bill"), obj("install_base:router_hq")); err != nil || len(got) != 1 {
		t.Fatalf("bindings = %+v, %v", got, err)
	}
}
