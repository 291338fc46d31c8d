package access_test

import (
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
)

func dataAccessWorld(t *testing.T) *world {
	w := acme(t)
	for p, members := range map[string][]string{"reseller": {"rita"}, "msp": {"mike"}, "parent_co": {"paula"}} {
		parent := ""
		if p == "reseller" {
			continue
		}
		w.must(w.c.CreatePartner(w.ctx, access.As(vendorAdmin), p, parent))
		for _, m := range members {
			w.must(w.c.AddPartnerMember(w.ctx, access.As(vendorAdmin), p, m))
		}
	}
	// reseller sits under parent_co in the partner tree.
	w.must(w.c.CreatePartner(w.ctx, access.As(vendorAdmin), "reseller", "parent_co"))
	w.must(w.c.AddPartnerMember(w.ctx, access.As(vendorAdmin), "reseller", "rita"))
	return w
}

func dataRows(user string, support, manage bool) []check {
	return []check{
		{user, "view_dashboard", "account:acme", support || manage},
		{user, "view_reports", "account:acme", support || manage},
		{user, "view_user_activity", "account:acme", support || manage},
		{user, "manage_service", "account:acme", manage},
		// Data access is not a partner level: no cases through it.
		{user, "view_all_cases", "account:acme", false},
	}
}

func TestSupportAccessIsOnByDefaultAndTheCustomerCanRevokeIt(t *testing.T) {
	t.Parallel()
	w := dataAccessWorld(t)
	w.expect(dataRows("rita", false, false)...)
	w.refuse(access.ErrPermissionDenied)(w.c.LinkPartner(w.ctx, access.As("bill"), "acme", "reseller"))
	w.must(w.c.LinkPartner(w.ctx, access.As(vendorAdmin), "acme", "reseller"))
	w.expect(dataRows("rita", true, false)...)
	w.refuse(access.ErrPermissionDenied)(w.c.SetSupportAccess(w.ctx, access.As("sally"), "acme", "reseller", false))
	w.must(w.c.SetSupportAccess(w.ctx, access.As("bill"), "acme", "reseller", false))
	w.expect(dataRows("rita", false, false)...)
	w.must(w.c.SetSupportAccess(w.ctx, access.As("bill"), "acme", "reseller", true))
	w.expect(dataRows("rita", true, false)...)
}

func TestManageNeedsBothConsents(t *testing.T) {
	t.Parallel()
	w := dataAccessWorld(t)
	w.must(w.c.LinkPartner(w.ctx, access.As(vendorAdmin), "acme", "reseller"))
	w.must(w.c.LinkPartner(w.ctx, access.As(vendorAdmin), "acme", "msp"))
	// Vendor side alone.
	w.must(w.c.SetVendorManage(w.ctx, access.As(vendorAdmin), "acme", "reseller", true))
	w.expect(dataRows("rita", true, false)...)
	// Customer side alone (for another partner).
	w.must(w.c.SetCustomerManage(w.ctx, access.As("bill"), "acme", "msp", true))
	w.expect(dataRows("mike", true, false)...)
	// Both sides.
	w.must(w.c.SetCustomerManage(w.ctx, access.As("bill"), "acme", "reseller", true))
	w.expect(dataRows("rita", true, true)...)
	// Either side withdrawing removes it.
	w.must(w.c.SetVendorManage(w.ctx, access.As(vendorAdmin), "acme", "reseller", false))
	w.expect(dataRows("rita", true, false)...)
	w.must(w.c.SetVendorManage(w.ctx, access.As(vendorAdmin), "acme", "reseller", true))
	w.must(w.c.SetCustomerManage(w.ctx, access.As("bill"), "acme", "reseller", false))
	w.expect(dataRows("rita", true, false)...)
	// The sides are enforced: the vendor cannot consent for the customer and vice versa.
	w.refuse(access.ErrPermissionDenied)(w.c.SetCustomerManage(w.ctx, access.As(vendorAdmin), "acme", "reseller", true))
	w.refuse(access.ErrPermissionDenied)(w.c.SetVendorManage(w.ctx, access.As("bill"), "acme", "reseller", true))
	agreements, err := w.c.DataAccessAgreements(w.ctx, access.As("bill"), "acme")
	if err != nil || len(agreements) != 2 {
		t.Fatalf("agreements = %+v, %v", agreements, err)
	}
}

func TestDataAccessIsNotInheritedThroughThePartnerTree(t *testing.T) {
	t.Parallel()
	w := dataAccessWorld(t)
	// Child (reseller) linked with manage: the parent gets nothing.
	w.must(w.c.LinkPartner(w.ctx, access.As(vendorAdmin), "acme", "reseller"))
	w.must(w.c.SetVendorManage(w.ctx, access.As(vendorAdmin), "acme", "reseller", true))
	w.must(w.c.SetCustomerManage(w.ctx, access.As("bill"), "acme", "reseller", true))
	w.expect(dataRows("paula", false, false)...)
	// Parent linked: the child's members get nothing from it.
	w.account("globex", "gina", nil)
	w.must(w.c.LinkPartner(w.ctx, access.As(vendorAdmin), "globex", "parent_co"))
	w.expect(yes("paula", "view_dashboard", "account:globex"), no("rita", "view_dashboard", "account:globex"))
	// Unlinking ends everything the agreement gave.
	w.must(w.c.UnlinkPartner(w.ctx, access.As(vendorAdmin), "acme", "reseller"))
	w.expect(dataRows("rita", false, false)...)
	w.refuse(access.ErrNotFound)(w.c.SetSupportAccess(w.ctx, access.As("bill"), "acme", "reseller", true))
	// A partner level does not give data access either.
	w.must(w.c.GrantPartner(w.ctx, access.As("bill"), "acme", access.PartnerOrg("msp"), access.LevelFullAdmin, time.Time{}))
	w.expect(no("mike", "view_dashboard", "account:acme"), no("mike", "manage_service", "account:acme"))
}
