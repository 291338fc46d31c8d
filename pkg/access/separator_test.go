package access_test

import (
	"errors"
	"iter"
	"strings"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// separatorRefusal is what every refusal of a public id containing "|" says.
const separatorRefusal = `may not contain "|" (it separates the parts of internal ids)`

// refusesSeparator fails the test unless err refuses an id for containing "|", as invalid
// argument, with the message that names the fix.
func refusesSeparator(t *testing.T, what string, err error) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s: accepted an id containing \"|\"", what)
	case !errors.Is(err, access.ErrInvalidArgument):
		t.Errorf("%s: error %v is not invalid argument", what, err)
	case !strings.Contains(err.Error(), separatorRefusal) || !strings.Contains(err.Error(), "choose an id without it"):
		t.Errorf("%s: error %q does not say that \"|\" is not allowed and how to fix it", what, err)
	}
}

// firstErr returns the error a listing ends with, or nil.
func firstErr[T any](seq iter.Seq2[T, error]) error {
	for _, err := range seq {
		if err != nil {
			return err
		}
	}
	return nil
}

// Neither Customer Care nor a platform administrator can create an account whose Support ID
// contains "|": that id would let its admin forge the role bindings and data-access
// agreements of account "acme" (role_binding ids are TYPE|ID|ROLE, partner_link ids
// ACCOUNT|PARTNER).
func TestAccountIDWithSeparatorIsRefused(t *testing.T) {
	t.Parallel()
	w := acme(t)
	before := w.relationshipCount()
	for _, actor := range []string{careAgent, vendorAdmin} {
		for _, sid := range []string{"acme|x", "|acme", "acme|", "|", "a|b|c"} {
			_, err := w.c.CreateAccount(w.ctx, access.As(actor), sid, "mallory")
			refusesSeparator(t, actor+" creating account "+sid, err)
			if err != nil && !strings.Contains(err.Error(), `account id "`+sid+`"`) {
				t.Errorf("%s creating account %s: error %q does not name the account id", actor, sid, err)
			}
		}
		// The first administrator's id is checked the same way.
		_, err := w.c.CreateAccount(w.ctx, access.As(actor), "initech", "mal|lory")
		refusesSeparator(t, actor+" creating an account with admin mal|lory", err)
	}
	if after := w.relationshipCount(); after != before {
		t.Fatalf("refused account creations changed the store: %d relationships before, %d after", before, after)
	}
}

// No call of the domain API accepts "|" in a public id, whichever id it is: Support IDs, user
// ids (acting or acted on), partner, group, case, product, item, service organisation,
// feature and role ids. Every refusal is invalid argument with the message naming the fix,
// and nothing is written.
func TestNoPublicIDAcceptsSeparator(t *testing.T) {
	t.Parallel()
	w := partners(t)
	ctx, c := w.ctx, w.c
	w.must(c.CreateGroup(ctx, access.As(careAgent), "district"))
	w.must(c.CreateSoldProduct(ctx, access.As(careAgent), "router", "acme"))
	w.must(c.CreateInstallBase(ctx, access.As(careAgent), "router_hq", "acme", "router"))
	w.must(c.CreateServiceOrg(ctx, access.As(vendorAdmin), "fieldfix"))
	w.must(c.DefineRole(ctx, access.As(vendorAdmin), "auditor", []access.Privilege{access.PrivCaseRead}))
	w.must(c.LinkPartner(ctx, access.As(vendorAdmin), "acme", "integrator"))
	before := w.relationshipCount()

	const bad = "acme|x"
	bill, vera, carol := access.As("bill"), access.As(vendorAdmin), access.As(careAgent)
	badUser, badActor := userSubj(bad), access.As(bad)
	badObj := func(typ string) ref.Object { return ref.Object{Type: typ, ID: bad} }
	contact := role(t, "install_base_authorized_contact")
	noTime := time.Time{}
	tok := func(_ access.Token, err error) error { return err }

	calls := []struct {
		name string
		call func() error
	}{
		// The acting user.
		{"acting user", func() error { return tok(c.RequestAccess(ctx, badActor, "acme", access.RoleViewer)) }},
		{"acting user of a listing", func() error { return firstErr(c.Members(ctx, badActor, "acme")) }},
		// Platform and rollouts.
		{"Bootstrap user", func() error { return tok(c.Bootstrap(ctx, bad, "test")) }},
		{"AddPlatformRole user", func() error { return tok(c.AddPlatformRole(ctx, vera, bad, access.PlatformStaff)) }},
		{"RemovePlatformRole user", func() error { return tok(c.RemovePlatformRole(ctx, vera, bad, access.PlatformStaff)) }},
		{"AddRolloutParticipant feature", func() error { return tok(c.AddRolloutParticipant(ctx, vera, bad, "bill")) }},
		{"AddRolloutParticipant user", func() error { return tok(c.AddRolloutParticipant(ctx, vera, "entitlement_view", bad)) }},
		{"RemoveRolloutParticipant user", func() error {
			return tok(c.RemoveRolloutParticipant(ctx, vera, "entitlement_view", bad))
		}},
		{"ReleaseToEveryone feature", func() error { return tok(c.ReleaseToEveryone(ctx, vera, bad, true)) }},
		// Accounts and members.
		{"CreateAccount Support ID", func() error { return tok(c.CreateAccount(ctx, carol, bad, "")) }},
		{"CreateAccount first admin", func() error { return tok(c.CreateAccount(ctx, carol, "initech", bad)) }},
		{"RequestAccess Support ID", func() error { return tok(c.RequestAccess(ctx, access.As("dave"), bad, access.RoleViewer)) }},
		{"PendingRequests Support ID", func() error { _, err := c.PendingRequests(ctx, bill, bad); return err }},
		{"Approvers Support ID", func() error { _, err := c.Approvers(ctx, bill, bad, "dave"); return err }},
		{"Approve Support ID", func() error { return tok(c.Approve(ctx, bill, bad, "dave")) }},
		{"Approve user", func() error { return tok(c.Approve(ctx, bill, "acme", bad)) }},
		{"Deny user", func() error { return tok(c.Deny(ctx, bill, "acme", bad)) }},
		{"ChangeRole Support ID", func() error { return tok(c.ChangeRole(ctx, bill, bad, "sally", access.RoleAdmin)) }},
		{"ChangeRole user", func() error { return tok(c.ChangeRole(ctx, bill, "acme", bad, access.RoleAdmin)) }},
		{"RemoveMember user", func() error { return tok(c.RemoveMember(ctx, bill, "acme", bad)) }},
		{"Leave Support ID", func() error { return tok(c.Leave(ctx, access.As("sally"), bad)) }},
		{"Members Support ID", func() error { return firstErr(c.Members(ctx, bill, bad)) }},
		// Partners.
		{"CreatePartner partner", func() error { return tok(c.CreatePartner(ctx, vera, bad, "")) }},
		{"CreatePartner parent", func() error { return tok(c.CreatePartner(ctx, vera, "reseller", bad)) }},
		{"AddPartnerMember partner", func() error { return tok(c.AddPartnerMember(ctx, vera, bad, "pam")) }},
		{"AddPartnerMember user", func() error { return tok(c.AddPartnerMember(ctx, vera, "integrator", bad)) }},
		{"RemovePartnerMember user", func() error { return tok(c.RemovePartnerMember(ctx, vera, "integrator", bad)) }},
		{"GrantPartner Support ID", func() error {
			return tok(c.GrantPartner(ctx, bill, bad, access.PartnerOrg("integrator"), access.LevelLook, noTime))
		}},
		{"GrantPartner partner", func() error {
			return tok(c.GrantPartner(ctx, bill, "acme", access.PartnerOrg(bad), access.LevelLook, noTime))
		}},
		{"GrantPartner individual", func() error {
			return tok(c.GrantPartner(ctx, bill, "acme", access.Individual(bad), access.LevelLook, noTime))
		}},
		{"RevokePartner partner", func() error { return tok(c.RevokePartner(ctx, bill, "acme", access.PartnerOrg(bad))) }},
		{"RevokePartner Support ID", func() error {
			return tok(c.RevokePartner(ctx, bill, bad, access.PartnerOrg("integrator")))
		}},
		{"PartnerGrants Support ID", func() error { return firstErr(c.PartnerGrants(ctx, bill, bad)) }},
		{"RequestPartnerLevel partner", func() error {
			return tok(c.RequestPartnerLevel(ctx, access.As("pam"), "acme", access.PartnerOrg(bad), access.LevelUpdate))
		}},
		{"RequestPartnerLevel Support ID", func() error {
			return tok(c.RequestPartnerLevel(ctx, access.As("pam"), bad, access.PartnerOrg("integrator"), access.LevelUpdate))
		}},
		{"PendingPartnerRequests Support ID", func() error { _, err := c.PendingPartnerRequests(ctx, bill, bad); return err }},
		{"ApprovePartnerRequest partner", func() error {
			return tok(c.ApprovePartnerRequest(ctx, bill, "acme", access.PartnerOrg(bad)))
		}},
		{"DenyPartnerRequest individual", func() error {
			return tok(c.DenyPartnerRequest(ctx, bill, "acme", access.Individual(bad)))
		}},
		{"PartnerManagedCases Support ID", func() error { return firstErr(c.PartnerManagedCases(ctx, bill, bad)) }},
		// Partner data access.
		{"LinkPartner Support ID", func() error { return tok(c.LinkPartner(ctx, vera, bad, "integrator")) }},
		{"LinkPartner partner", func() error { return tok(c.LinkPartner(ctx, vera, "acme", bad)) }},
		{"UnlinkPartner partner", func() error { return tok(c.UnlinkPartner(ctx, vera, "acme", bad)) }},
		{"SetSupportAccess Support ID", func() error { return tok(c.SetSupportAccess(ctx, bill, bad, "integrator", false)) }},
		{"SetSupportAccess partner", func() error { return tok(c.SetSupportAccess(ctx, bill, "acme", bad, false)) }},
		{"SetVendorManage partner", func() error { return tok(c.SetVendorManage(ctx, vera, "acme", bad, true)) }},
		{"SetCustomerManage Support ID", func() error { return tok(c.SetCustomerManage(ctx, bill, bad, "integrator", true)) }},
		{"DataAccessAgreements Support ID", func() error { _, err := c.DataAccessAgreements(ctx, bill, bad); return err }},
		// Groups.
		{"CreateGroup group", func() error { return tok(c.CreateGroup(ctx, carol, bad)) }},
		{"AddGroupMember group", func() error { return tok(c.AddGroupMember(ctx, carol, bad, "bill")) }},
		{"AddGroupMember user", func() error { return tok(c.AddGroupMember(ctx, carol, "district", bad)) }},
		{"RemoveGroupMember user", func() error { return tok(c.RemoveGroupMember(ctx, carol, "district", bad)) }},
		{"NestGroup child", func() error { return tok(c.NestGroup(ctx, carol, bad, "district")) }},
		{"NestGroup parent", func() error { return tok(c.NestGroup(ctx, carol, "district", bad)) }},
		{"UnnestGroup child", func() error { return tok(c.UnnestGroup(ctx, carol, bad, "district")) }},
		{"SetGroupReadAccess user", func() error { return tok(c.SetGroupReadAccess(ctx, carol, bad, "district")) }},
		{"SetGroupReadAccess group", func() error { return tok(c.SetGroupReadAccess(ctx, carol, "sue", bad)) }},
		{"ClearGroupReadAccess user", func() error { return tok(c.ClearGroupReadAccess(ctx, carol, bad)) }},
		{"GroupReadAccess user", func() error { _, err := c.GroupReadAccess(ctx, carol, bad); return err }},
		// Cases.
		{"CreateCase case", func() error { return tok(c.CreateCase(ctx, bill, access.NewCase{ID: bad, Account: "acme"})) }},
		{"CreateCase Support ID", func() error { return tok(c.CreateCase(ctx, bill, access.NewCase{ID: "c-new", Account: bad})) }},
		{"CreateCase sold product", func() error {
			return tok(c.CreateCase(ctx, bill, access.NewCase{ID: "c-new", Account: "acme", SoldProduct: bad}))
		}},
		{"CreateCase install base", func() error {
			return tok(c.CreateCase(ctx, bill, access.NewCase{ID: "c-new", Account: "acme", InstallBase: bad}))
		}},
		{"CloseCase case", func() error { return tok(c.CloseCase(ctx, bill, bad)) }},
		{"ReopenCase case", func() error { return tok(c.ReopenCase(ctx, bill, bad)) }},
		{"AddCaseContact case", func() error { return tok(c.AddCaseContact(ctx, bill, bad, "pam", false)) }},
		{"AddCaseContact user", func() error { return tok(c.AddCaseContact(ctx, bill, "c-bill", bad, true)) }},
		{"RemoveCaseContact user", func() error { return tok(c.RemoveCaseContact(ctx, bill, "c-bill", bad)) }},
		{"VisibleCases user", func() error { return firstErr(c.VisibleCases(ctx, carol, bad, access.StatusAll)) }},
		{"GroupCases user", func() error { return firstErr(c.GroupCases(ctx, carol, bad, access.StatusOpen)) }},
		// Products, service organisations and functional roles.
		{"CreateSoldProduct product", func() error { return tok(c.CreateSoldProduct(ctx, carol, bad, "acme")) }},
		{"CreateSoldProduct Support ID", func() error { return tok(c.CreateSoldProduct(ctx, carol, "switch", bad)) }},
		{"CreateInstallBase item", func() error { return tok(c.CreateInstallBase(ctx, carol, bad, "acme", "router")) }},
		{"CreateInstallBase sold product", func() error { return tok(c.CreateInstallBase(ctx, carol, "router_2", "acme", bad)) }},
		{"CreateServiceOrg org", func() error { return tok(c.CreateServiceOrg(ctx, vera, bad)) }},
		{"AddServiceOrgMember org", func() error { return tok(c.AddServiceOrgMember(ctx, vera, bad, "fred")) }},
		{"AddServiceOrgMember user", func() error { return tok(c.AddServiceOrgMember(ctx, vera, "fieldfix", bad)) }},
		{"RemoveServiceOrgMember user", func() error { return tok(c.RemoveServiceOrgMember(ctx, vera, "fieldfix", bad)) }},
		{"AssignFunctionalRole object", func() error {
			return tok(c.AssignFunctionalRole(ctx, bill, badObj("install_base"), contact, obj("user:sally")))
		}},
		{"AssignFunctionalRole party", func() error {
			return tok(c.AssignFunctionalRole(ctx, bill, obj("install_base:router_hq"), contact, badObj("user")))
		}},
		{"RemoveFunctionalRole party", func() error {
			return tok(c.RemoveFunctionalRole(ctx, bill, obj("install_base:router_hq"), contact, badObj("user")))
		}},
		{"RelatedParties object", func() error { _, err := c.RelatedParties(ctx, bill, badObj("sold_product")); return err }},
		// Custom roles.
		{"DefineRole role", func() error {
			return tok(c.DefineRole(ctx, vera, bad, []access.Privilege{access.PrivCaseRead}))
		}},
		{"RolePrivileges role", func() error { _, err := c.RolePrivileges(ctx, bad); return err }},
		{"BindRole role", func() error { return tok(c.BindRole(ctx, bill, bad, obj("account:acme"), userSubj("sally"))) }},
		{"BindRole object", func() error { return tok(c.BindRole(ctx, bill, "auditor", badObj("account"), userSubj("sally"))) }},
		{"BindRole user grantee", func() error { return tok(c.BindRole(ctx, bill, "auditor", obj("account:acme"), badUser)) }},
		{"BindRole group grantee", func() error {
			return tok(c.BindRole(ctx, bill, "auditor", obj("account:acme"), ref.Subject{Object: badObj("group"), Relation: "member"}))
		}},
		{"UnbindRole role", func() error { return tok(c.UnbindRole(ctx, bill, bad, obj("account:acme"), userSubj("sally"))) }},
		{"UnbindRole object", func() error {
			return tok(c.UnbindRole(ctx, bill, "auditor", badObj("sold_product"), userSubj("sally")))
		}},
		{"RoleBindings object", func() error { _, err := c.RoleBindings(ctx, bill, badObj("account")); return err }},
		// Checks and lookups.
		{"Check subject", func() error {
			_, err := c.Check(ctx, badUser, "view", obj("case:c-bill"), access.Fresh())
			return err
		}},
		{"Check resource", func() error {
			_, err := c.Check(ctx, userSubj("bill"), "view_all_cases", badObj("account"), access.Fresh())
			return err
		}},
		{"CheckMany item", func() error {
			_, errs, err := c.CheckMany(ctx, []access.CheckItem{{Subject: userSubj("bill"), Permission: "view", Resource: badObj("case")}}, access.Fresh())
			if err != nil {
				return err
			}
			return errs[0]
		}},
		{"LookupResources subject", func() error { return firstErr(c.LookupResources(ctx, badUser, "view", "case", access.Fresh())) }},
		{"LookupSubjects resource", func() error {
			return firstErr(c.LookupSubjects(ctx, badObj("account"), "view_members", "user", access.Fresh()))
		}},
	}
	for _, tc := range calls {
		refusesSeparator(t, tc.name, tc.call())
	}
	if after := w.relationshipCount(); after != before {
		t.Fatalf("refused calls changed the store: %d relationships before, %d after", before, after)
	}

	// The internal types keep "|": the ids the domain layer builds are still usable references.
	w.must(c.BindRole(ctx, bill, "auditor", obj("account:acme"), userSubj("sally")))
	for _, q := range []struct {
		subject    string
		permission string
		internal   string
	}{
		{"partner:integrator#member", "support", "partner_link:acme|integrator"},
		{"user:sally", "case_read", "role_binding:account|acme|auditor"},
	} {
		s, err := ref.ParseSubject(q.subject)
		if err != nil {
			t.Fatal(err)
		}
		d, err := c.Check(ctx, s, q.permission, obj(q.internal), access.Fresh())
		if err != nil || !d.Allowed {
			t.Errorf("%s %s %s = %v, %v; want allowed", q.subject, q.permission, q.internal, d.Allowed, err)
		}
	}
	w.expect(yes("pam", "view_dashboard", "account:acme"), yes("sally", "view", "case:c-bill"))
}

// writeRaw stores relationships directly in the engine, bypassing the domain layer: it stands
// for data written before public ids were refused "|".
func (w *world) writeRaw(rels ...[6]string) {
	w.t.Helper()
	var updates []*v1.RelationshipUpdate
	for _, r := range rels {
		updates = append(updates, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: &v1.Relationship{
			Resource: &v1.ObjectReference{ObjectType: r[0], ObjectId: r[1]},
			Relation: r[2],
			Subject:  &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: r[3], ObjectId: r[4]}, OptionalRelation: r[5]},
		}})
	}
	if _, err := w.e.WriteRelationships(w.ctx, &v1.WriteRelationshipsRequest{Updates: updates}); err != nil {
		w.t.Fatal(err)
	}
}

// The attack the rule closes. Account "acme|x" (mallory its admin), role "x|r" and partner
// "x|p" are stored as they could have been before "|" was refused in public ids. acme binds
// role x|r to alice, whose binding id account|acme|x|r is also what binding role r on account
// acme|x would produce; and acme's agreement with partner x|p has id acme|x|p, also what an
// agreement between acme|x and partner p would have. Mallory administers only acme|x: she
// must neither join acme's binding (and with it view and update every case of acme), nor
// unbind alice from it, nor change the consents of acme's agreement.
func TestSeparatorCannotForgeAnotherAccountsBindingOrLink(t *testing.T) {
	t.Parallel()
	w := acme(t)
	w.must(w.c.DefineRole(w.ctx, access.As(vendorAdmin), "r", []access.Privilege{access.PrivCaseRead}))
	w.must(w.c.CreatePartner(w.ctx, access.As(vendorAdmin), "p", ""))
	w.writeRaw(
		// Account acme|x, administered by mallory.
		[6]string{"account", "acme|x", "platform", "platform", "main", ""},
		[6]string{"account", "acme|x", "admin", "user", "mallory", ""},
		// Role x|r (case read and write), bound on acme to alice.
		[6]string{"role", "x|r", "platform", "platform", "main", ""},
		[6]string{"role", "x|r", "case_read", "user", "*", ""},
		[6]string{"role", "x|r", "case_write", "user", "*", ""},
		[6]string{"role_binding", "account|acme|x|r", "role", "role", "x|r", ""},
		[6]string{"role_binding", "account|acme|x|r", "grantee", "user", "alice", ""},
		[6]string{"account", "acme", "role_binding", "role_binding", "account|acme|x|r", ""},
		// Partner x|p, linked to acme with support access.
		[6]string{"partner", "x|p", "platform", "platform", "main", ""},
		[6]string{"partner_link", "acme|x|p", "partner", "partner", "x|p", ""},
		[6]string{"partner_link", "acme|x|p", "support_enabled", "partner", "x|p", "member"},
		[6]string{"account", "acme", "partner_link", "partner_link", "acme|x|p", ""},
	)
	w.expect(yes("alice", "view", "case:c-bill"), yes("alice", "update", "case:c-bill"), no("mallory", "view", "case:c-bill"))
	before := w.relationshipCount()
	mallory := access.As("mallory")

	_, err := w.c.BindRole(w.ctx, mallory, "r", ref.Object{Type: "account", ID: "acme|x"}, userSubj("mallory"))
	refusesSeparator(t, "mallory binding r on account acme|x", err)
	_, err = w.c.UnbindRole(w.ctx, mallory, "r", ref.Object{Type: "account", ID: "acme|x"}, userSubj("alice"))
	refusesSeparator(t, "mallory unbinding alice from r on account acme|x", err)
	_, err = w.c.SetSupportAccess(w.ctx, mallory, "acme|x", "p", false)
	refusesSeparator(t, "mallory revoking support of partner p on acme|x", err)
	_, err = w.c.SetCustomerManage(w.ctx, mallory, "acme|x", "p", true)
	refusesSeparator(t, "mallory consenting to manage for partner p on acme|x", err)

	w.expect(
		no("mallory", "view", "case:c-bill"), no("mallory", "update", "case:c-bill"), no("mallory", "view_all_cases", "account:acme"),
		yes("alice", "view", "case:c-bill"), yes("alice", "update", "case:c-bill"),
	)
	if after := w.relationshipCount(); after != before {
		t.Fatalf("mallory's refused changes wrote something: %d relationships before, %d after", before, after)
	}
}
