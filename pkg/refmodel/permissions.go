package refmodel

import (
	"errors"
	"fmt"
	"slices"
)

// PublicPermissions lists, for each public object type Allowed answers for, the public
// permissions of the contract's vocabulary.
var PublicPermissions = map[string][]string{
	"account": {
		"view_members", "manage_members", "remove_members", "create_case", "view_all_cases",
		"download_software", "generate_license_key", "manage_partners", "administer",
		"manage_contacts", "receive_notifications", "view_dashboard", "view_reports",
		"view_user_activity", "manage_service",
	},
	"case":         {"view", "update", "manage_related_parties"},
	"sold_product": {"view", "view_related_parties", "manage_related_parties", "view_consumers", "manage_consumers", "create_case"},
	"install_base": {"view", "view_related_parties", "manage_related_parties", "create_case", "manage_cases"},
}

// PublicTypes lists the types of PublicPermissions in a fixed order.
var PublicTypes = []string{"account", "case", "sold_product", "install_base"}

// ErrUnknownPermission reports a type or permission outside the public vocabulary.
var ErrUnknownPermission = errors.New("refmodel: unknown type or permission")

// Check answers "can user do permission on object". A type or permission outside
// PublicPermissions is an error wrapping ErrUnknownPermission, never a silent no; an
// object that does not exist gives false (fail closed).
func (w *World) Check(user, permission string, o Object) (bool, error) {
	if !slices.Contains(PublicPermissions[o.Type], permission) {
		return false, fmt.Errorf("%w: %s#%s", ErrUnknownPermission, o.Type, permission)
	}
	if user == "" {
		return false, nil
	}
	switch o.Type {
	case "account":
		a := w.accounts[o.ID]
		return a != nil && w.accountPermission(o.ID, a, user, permission), nil
	case "case":
		c := w.cases[o.ID]
		return c != nil && w.casePermission(c, user, permission), nil
	case "sold_product":
		sp := w.soldProducts[o.ID]
		return sp != nil && w.soldProductPermission(o.ID, sp, user, permission), nil
	case "install_base":
		ib := w.installBase[o.ID]
		return ib != nil && w.installBasePermission(o.ID, ib, user, permission), nil
	}
	return false, nil
}

// Allowed is Check without the error: it reports false for an unknown type or permission.
func (w *World) Allowed(user, permission string, o Object) bool {
	ok, _ := w.Check(user, permission, o)
	return ok
}

// accountPermission answers the account permissions of contract sections 1 to 3.
func (w *World) accountPermission(id string, a *account, u, perm string) bool {
	role := a.roles[u]
	admin := role == RoleAdmin
	switch perm {
	case "view_members":
		// Contract section 1: admins. docs/model.md section 1, "view_members is wider than
		// the contract's table": also full_admin partners and Customer Care.
		return admin || w.levelAtLeast(a, u, LevelFullAdmin) || w.isCare(u)
	case "manage_members":
		// Contract sections 1 and 2: admins and full_admin partners. Customer Care decides
		// requests of admin-less accounts in the domain layer only (docs/model.md section 1,
		// "Customer Care approves only on an account without any admin").
		return admin || w.levelAtLeast(a, u, LevelFullAdmin)
	case "remove_members":
		// Contract section 1: only Customer Care removes contacts.
		return w.isCare(u)
	case "create_case":
		// Contract section 1: every role (docs/model.md: "Every role may create a case");
		// section 2: partners at create or above; section 5: custom case create bound on the
		// account.
		return role != "" || w.levelAtLeast(a, u, LevelCreate) || w.hasPrivilege(u, PrivCaseCreate, Account(id))
	case "view_all_cases":
		return w.viewsAllCases(id, a, u)
	case "download_software", "generate_license_key":
		// Contract section 1: admin and standard contacts who take part in the rollout.
		// Partners and vendor staff never pass (docs/model.md section 1).
		return (role == RoleAdmin || role == RoleStandard) && w.participates(u)
	case "manage_partners":
		// Contract section 2: only the account's admins grant partner access; no
		// re-delegation (docs/model.md section 2, "No re-delegation").
		return admin
	case "administer":
		return admin || w.levelAtLeast(a, u, LevelServiceAdmin)
	case "manage_contacts":
		return w.managesContacts(a, u)
	case "receive_notifications":
		// docs/model.md section 2: "receive_notifications is admin + partner_look".
		return admin || w.levelAtLeast(a, u, LevelLook)
	case "view_dashboard", "view_reports", "view_user_activity":
		// Contract section 3: support (or manage) on a link of a partner the user is a
		// direct member of; docs/model.md section 3: admins hold all four themselves.
		return admin || w.dataAccess(a, u, false)
	case "manage_service":
		return admin || w.dataAccess(a, u, true)
	}
	return false
}

// viewsAllCases: admins, partners at look or above, custom case read (or create) bound on
// the account (contract sections 1, 2, 5).
func (w *World) viewsAllCases(id string, a *account, u string) bool {
	return a.roles[u] == RoleAdmin || w.levelAtLeast(a, u, LevelLook) || w.hasPrivilege(u, PrivCaseRead, Account(id))
}

// updatesAllCases: admins, partners at update or above, custom case write bound on the
// account (contract sections 1, 2, 5).
func (w *World) updatesAllCases(id string, a *account, u string) bool {
	return a.roles[u] == RoleAdmin || w.levelAtLeast(a, u, LevelUpdate) || w.hasPrivilege(u, PrivCaseWrite, Account(id))
}

// managesContacts: admins and full_admin partners (contract section 2).
func (w *World) managesContacts(a *account, u string) bool {
	return a.roles[u] == RoleAdmin || w.levelAtLeast(a, u, LevelFullAdmin)
}

// dataAccess reports whether u is a direct member of a partner whose link to the account
// gives support (manage false) or manage (manage true). Manage needs both consents on the
// same link (docs/model.md section 3, "One partner_link object per account and partner");
// manage includes support ("manage includes support").
func (w *World) dataAccess(a *account, u string, manage bool) bool {
	for pid, l := range a.links {
		p := w.partners[pid]
		if p == nil || !p.members.has(u) {
			continue
		}
		both := l.vendorManage && l.customerManage
		if both || (!manage && l.support) {
			return true
		}
	}
	return false
}

// partnerParty: an additional partner contact with some active grant on the case's
// account, or the primary partner contact while their level is update or above
// (contract section 2; docs/model.md section 2, "Partner case contacts are re-checked
// against the grant at every check").
func (w *World) partnerParty(c *caseObj, a *account, u string) bool {
	if c.partnerContacts.has(u) && w.hasAnyGrant(a, u) {
		return true
	}
	return c.primaryContacts.has(u) && w.levelAtLeast(a, u, LevelUpdate)
}

// casePermission answers the case permissions (contract sections 1, 2, 4, 5).
func (w *World) casePermission(c *caseObj, u, perm string) bool {
	a := w.accounts[c.account]
	if a == nil {
		return false
	}
	sp, ib := scopeOf("sold_product", c.soldProduct), scopeOf("install_base", c.installBase)
	switch perm {
	case "view":
		return w.casePartyOf(c, a, u) || w.viewsAllCases(c.account, a, u) || w.hasPrivilege(u, PrivCaseRead, sp, ib)
	case "update":
		// A closed case is read-only for everyone (contract section 4).
		return c.open && w.caseEditor(c, a, u)
	case "manage_related_parties":
		// docs/model.md section 2, "Who adds partner contacts to a case": the reporter, the
		// account's admins and custom case related-party write.
		return w.activeReporter(c, u) || a.roles[u] == RoleAdmin ||
			w.hasPrivilege(u, PrivCaseRelatedPartyWrite, Account(c.account), sp, ib)
	}
	return false
}

// casePartyOf is who reaches the case whatever the kind of access: the reporter
// (unconditionally: docs/model.md section 1, "Reporter access is not tied to current
// membership"), the case's functional roles, partner contacts, group read access over the
// reporter (contract section 4; it follows the reporter only: docs/model.md section 4), and
// the related parties of the sold product and of the item the case names, including an
// item's service organisations (contract section 5; "Cases that name only an install base
// item" record the item's product too).
func (w *World) casePartyOf(c *caseObj, a *account, u string) bool {
	return (c.reporter != "" && c.reporter == u) || w.otherCaseParty(c, a, u)
}

// otherCaseParty is casePartyOf without the reporter.
func (w *World) otherCaseParty(c *caseObj, a *account, u string) bool {
	return caseRelated(c, u) || w.partnerParty(c, a, u) ||
		w.readsCasesOf(u, c.reporter) || w.soldProductRelated(c.soldProduct, u) || w.installBaseCaseParty(c.installBase, u)
}

// activeReporter: the reporter changes their case only while they could still open a case
// where it lives, on its account, sold product or install base item (contract section 7: a
// member removed from the account keeps read access to the cases they reported and changes
// nothing on them).
func (w *World) activeReporter(c *caseObj, u string) bool {
	if c.reporter == "" || c.reporter != u {
		return false
	}
	for _, o := range []Object{Account(c.account), scopeOf("sold_product", c.soldProduct), scopeOf("install_base", c.installBase)} {
		if o.Type != "" && w.Allowed(u, "create_case", o) {
			return true
		}
	}
	return false
}

// caseEditor is who may update the case while it is open and may reopen it once closed
// (contract section 4: "whoever would have update on it when open may reopen it"): the
// case's parties, whoever updates all the account's cases, and custom case write bound on
// the product or item the case names.
func (w *World) caseEditor(c *caseObj, a *account, u string) bool {
	sp, ib := scopeOf("sold_product", c.soldProduct), scopeOf("install_base", c.installBase)
	return w.activeReporter(c, u) || w.otherCaseParty(c, a, u) || w.updatesAllCases(c.account, a, u) || w.hasPrivilege(u, PrivCaseWrite, sp, ib)
}

// caseRelated: Case Authorized Contact, Consumer or Contributor (contract section 5).
func caseRelated(c *caseObj, u string) bool {
	for _, r := range c.roles {
		if r.has(u) {
			return true
		}
	}
	return false
}

// soldProductRelated: Sold Product Authorized Contact or Consumer of the product.
func (w *World) soldProductRelated(spID, u string) bool {
	sp := w.soldProducts[spID]
	if sp == nil {
		return false
	}
	return sp.roles["sold_product_authorized_contact"].has(u) || sp.roles["sold_product_authorized_consumer"].has(u)
}

// installBaseContact: Install Base Authorized Contact, named or as a contact (any role) of
// an Authorized Account (contract section 5).
func (w *World) installBaseContact(ib *installBase, u string) bool {
	if ib.roles["install_base_authorized_contact"].has(u) {
		return true
	}
	return ib.roles["install_base_authorized_account"].any(func(acct string) bool { return w.RoleOf(acct, u) != "" })
}

// installBaseRelated: the item's related parties: contacts, consumers, contributors, members.
func (w *World) installBaseRelated(ib *installBase, u string) bool {
	return w.installBaseContact(ib, u) ||
		ib.roles["install_base_authorized_consumer"].has(u) ||
		ib.roles["install_base_authorized_contributor"].has(u) ||
		ib.roles["install_base_authorized_member"].has(u)
}

// serviceOrgMember: a member of a Service Organization of the item (contract section 5).
func (w *World) serviceOrgMember(ib *installBase, u string) bool {
	return ib.roles["install_base_service_organization"].any(func(o string) bool { return w.serviceOrgs[o].has(u) })
}

// installBaseCaseParty: who manages the item's cases: its related parties and its service
// organisations' members (contract section 5).
func (w *World) installBaseCaseParty(ibID, u string) bool {
	ib := w.installBase[ibID]
	return ib != nil && (w.installBaseRelated(ib, u) || w.serviceOrgMember(ib, u))
}

// soldProductPermission answers the sold product permissions (contract section 5).
func (w *World) soldProductPermission(id string, sp *soldProduct, u, perm string) bool {
	a := w.accounts[sp.account]
	if a == nil {
		return false
	}
	self, acct := SoldProduct(id), Account(sp.account)
	related := w.soldProductRelated(id, u)
	// docs/model.md section 5, "manage_contacts covers product and item related parties".
	mc := w.managesContacts(a, u)
	switch perm {
	case "view":
		// docs/model.md section 5, "Who can view a sold product": its related parties, the
		// related parties of its items (not service organisations), manage_contacts
		// holders, custom sold product read.
		return related || w.itemPartyOfProduct(id, u) || mc || w.hasPrivilege(u, PrivSoldProductRead, self, acct)
	case "view_related_parties":
		return related || mc || w.hasPrivilege(u, PrivSoldProductContactRead, self, acct)
	case "manage_related_parties":
		// "Related parties do not manage related parties" (docs/model.md section 5).
		return mc || w.hasPrivilege(u, PrivSoldProductContactWrite, self, acct)
	case "view_consumers":
		return mc || w.hasPrivilege(u, PrivSoldProductConsumerRead, self, acct)
	case "manage_consumers":
		return mc || w.hasPrivilege(u, PrivSoldProductConsumerWrite, self, acct)
	case "create_case":
		// Related parties create cases on the product; manage_contacts holders too; the
		// partner create level does not reach products (docs/model.md section 2, "The
		// create level covers cases on the account, not on a product or item").
		return related || mc || w.hasPrivilege(u, PrivCaseCreate, self, acct)
	}
	return false
}

// itemPartyOfProduct: a related party of one of the product's install base items.
func (w *World) itemPartyOfProduct(spID, u string) bool {
	for _, ib := range w.installBase {
		if ib.soldProduct == spID && w.installBaseRelated(ib, u) {
			return true
		}
	}
	return false
}

// installBasePermission answers the install base permissions (contract section 5).
func (w *World) installBasePermission(id string, ib *installBase, u, perm string) bool {
	a := w.accounts[ib.account]
	if a == nil {
		return false
	}
	self, sp, acct := InstallBase(id), scopeOf("sold_product", ib.soldProduct), Account(ib.account)
	related := w.installBaseRelated(ib, u)
	mc := w.managesContacts(a, u)
	switch perm {
	case "view":
		// docs/model.md section 5, "Who can view an install base item".
		return related || w.serviceOrgMember(ib, u) || w.soldProductRelated(ib.soldProduct, u) || mc ||
			w.hasPrivilege(u, PrivInstallBaseRead, self, sp, acct)
	case "view_related_parties":
		return related || mc || w.hasPrivilege(u, PrivInstallBaseRelatedPartyRead, self, sp, acct)
	case "manage_related_parties":
		return mc || w.hasPrivilege(u, PrivInstallBaseRelatedPartyWrite, self, sp, acct)
	case "create_case":
		// Authorized Contact (named or through an Authorized Account) only while a contact of
		// the item's account; consumers, contributors and members without that rule; never
		// the service organisation (contract section 5).
		contact := w.installBaseContact(ib, u) && a.roles[u] != ""
		other := ib.roles["install_base_authorized_consumer"].has(u) ||
			ib.roles["install_base_authorized_contributor"].has(u) ||
			ib.roles["install_base_authorized_member"].has(u)
		return contact || other || mc || w.hasPrivilege(u, PrivCaseCreate, self, sp, acct)
	case "manage_cases":
		// docs/model.md section 5, "manage_cases = the object's own parties + whoever can
		// both view and update all of the account's cases".
		return related || w.serviceOrgMember(ib, u) ||
			(w.viewsAllCases(ib.account, a, u) && w.updatesAllCases(ib.account, a, u))
	}
	return false
}
