package audit_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
)

// reviewClock is a fixed clock 17 days before the consultant's grant expires.
func reviewClock() time.Time { return time.Date(2098, 12, 15, 0, 0, 0, 0, time.UTC) }

// The review of acme lists every grant made on it (priya's has expired and is gone), every
// contact, agreement, related party and custom role, with the right flags.
func TestAccessReviewOfAcme(t *testing.T) {
	p := sharedPortal(t)
	a := audit.New(p.c, audit.WithClock(reviewClock))
	r, err := a.AccessReview(p.ctx, access.As(bill).Because("quarterly review"), "acme", audit.ReviewOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := audit.WriteReviewCSV(&b, r); err != nil {
		t.Fatal(err)
	}
	const want = `section,subject,access,object,expires_at,detail
member,user:bill,role:admin,account:acme,,
member,user:sally,role:standard,account:acme,,
member,user:joan,role:viewer,account:acme,,
member,user:leo,role:viewer,account:acme,,
customer care,user:carol,customer care,platform:main,,
partner,partner:ghost,organisation look,account:acme,,members: (none)
partner,partner:integrator,organisation look,account:acme,,members: pam pete
partner,partner:fixit,organisation full_admin,account:acme,,members: fred
partner,user:pete,individual cc,account:acme,,
vendor staff,user:tara,individual update,account:acme,2099-01-01T00:00:00Z,
data access,partner:msp,"support, manage",account:acme,,members: max
data access,partner:reseller,"support, manage pending customer consent",account:acme,,members: rita
related party,user:tara,case_primary_partner_contact,case:101,,
related party,user:pete,case_partner_contact,case:102,,
related party,user:sally,sold_product_authorized_contact,sold_product:router_x200,,
related party,user:olga,install_base_authorized_consumer,install_base:router_x200_hq,,
related party,user:joan,install_base_authorized_contact,install_base:router_x200_hq,,
related party,user:nina,install_base_authorized_contact,install_base:router_x200_hq,,
related party,service_org:fieldfix,install_base_service_organization,install_base:router_x200_hq,,members: finn
custom role,group:acme_support#member,role:support_lead,account:acme,,privileges: case_read case_write
flag,partner:ghost,empty partner,account:acme,,partner:ghost holds look on account:acme but has no members
flag,user:tara,expiring,account:acme,,individual grant update on account:acme expires 2099-01-01T00:00:00Z (in 17 days)
flag,user:pete,overriding,account:acme,,pete's individual grant cc on account:acme narrows partner:integrator's organisation grant look
flag,partner:reseller,one-sided consent,account:acme,,the vendor consented to partner:reseller managing account:acme's data but account:acme has not: its members cannot manage until both do
`
	if b.String() != want {
		t.Errorf("review CSV:\n got:\n%s\nwant:\n%s", b.String(), want)
	}

	// A shorter window drops the expiry flag; JSON lists every section.
	r, err = a.AccessReview(p.ctx, access.As(bill), "acme", audit.ReviewOptions{ExpiringWithin: 7 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	b.Reset()
	if err := audit.WriteReviewJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var decoded map[string]json.RawMessage
	if err := json.Unmarshal(b.Bytes(), &decoded); err != nil {
		t.Fatal(err)
	}
	for _, section := range []string{"members", "customer_care", "partners", "vendor_staff", "data_access", "super_customers", "related_parties", "custom_roles", "flags"} {
		if _, ok := decoded[section]; !ok {
			t.Errorf("JSON review has no %q section", section)
		}
	}
	for _, f := range r.Flags {
		if f.Kind == audit.FlagExpiring {
			t.Errorf("flag %+v outside a 7-day window", f)
		}
	}
}

// Super customers, an account without admin and a former contact who still sees a case.
func TestAccessReviewFindings(t *testing.T) {
	p := sharedPortal(t)
	a := audit.New(p.c, audit.WithClock(reviewClock))
	valley, err := a.AccessReview(p.ctx, access.As(dan), "valley", audit.ReviewOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := audit.SuperCustomer{User: sue, Group: "group:district", Reporters: []string{amy, ben, cara}, Cases: []string{"case:201", "case:202", "case:203"}}
	if len(valley.SuperCustomers) != 1 || !equalJSON(valley.SuperCustomers[0], want) {
		t.Errorf("super customers of valley = %+v, want %+v", valley.SuperCustomers, want)
	}
	if len(valley.Flags) != 0 {
		t.Errorf("valley flags = %+v, want none", valley.Flags)
	}
	orphan, err := a.AccessReview(p.ctx, access.As(carol), "orphan", audit.ReviewOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantFlags := []audit.Flag{
		{Kind: audit.FlagNoAdmin, Subject: "account:orphan", Message: "account:orphan has no admin: join requests go to Customer Care"},
		{Kind: audit.FlagFormerMember, Subject: "user:olaf", Message: "olaf is no longer a member or partner of account:orphan but still sees the cases they reported: case:301"},
	}
	if !equalJSON(orphan.Flags, wantFlags) {
		t.Errorf("orphan flags = %+v, want %+v", orphan.Flags, wantFlags)
	}
}

// Only holders of view_members (admins, full_admin partners, Customer Care) may review.
func TestAccessReviewIsAuthorised(t *testing.T) {
	p := sharedPortal(t)
	for _, tc := range []struct {
		actor, account string
		want           error
	}{
		{bill, "acme", nil},
		{fred, "acme", nil},
		{carol, "acme", nil},
		{joan, "acme", access.ErrPermissionDenied},
		{pam, "acme", access.ErrPermissionDenied},
		{bill, "valley", access.ErrPermissionDenied},
		{bill, "nosuch", access.ErrNotFound},
		{"", "acme", access.ErrInvalidArgument},
		{bill, "bad id", access.ErrInvalidArgument},
	} {
		_, err := p.a.AccessReview(p.ctx, access.As(tc.actor), tc.account, audit.ReviewOptions{})
		if (tc.want == nil && err != nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("review of %s by %q: error %v, want %v", tc.account, tc.actor, err, tc.want)
		}
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
