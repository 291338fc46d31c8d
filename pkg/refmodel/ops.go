package refmodel

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// OpKind names a domain operation. The names are those of the domain API's methods.
type OpKind string

// Operations. Each lists the Op fields it reads.
const (
	OpBootstrap                OpKind = "Bootstrap"                // User
	OpAddPlatformRole          OpKind = "AddPlatformRole"          // Actor, User, PlatformRole
	OpRemovePlatformRole       OpKind = "RemovePlatformRole"       // Actor, User, PlatformRole
	OpAddRolloutParticipant    OpKind = "AddRolloutParticipant"    // Actor, User
	OpRemoveRolloutParticipant OpKind = "RemoveRolloutParticipant" // Actor, User
	OpReleaseToEveryone        OpKind = "ReleaseToEveryone"        // Actor, On
	OpCreatePartner            OpKind = "CreatePartner"            // Actor, Partner, Parent
	OpAddPartnerMember         OpKind = "AddPartnerMember"         // Actor, Partner, User
	OpRemovePartnerMember      OpKind = "RemovePartnerMember"      // Actor, Partner, User
	OpCreateServiceOrg         OpKind = "CreateServiceOrg"         // Actor, ServiceOrg
	OpAddServiceOrgMember      OpKind = "AddServiceOrgMember"      // Actor, ServiceOrg, User
	OpRemoveServiceOrgMember   OpKind = "RemoveServiceOrgMember"   // Actor, ServiceOrg, User
	OpCreateAccount            OpKind = "CreateAccount"            // Actor, Account, User (first admin, optional)
	OpCreateSoldProduct        OpKind = "CreateSoldProduct"        // Actor, SoldProduct, Account
	OpCreateInstallBase        OpKind = "CreateInstallBase"        // Actor, InstallBase, Account, SoldProduct (optional)
	OpCreateGroup              OpKind = "CreateGroup"              // Actor, Group
	OpAddGroupMember           OpKind = "AddGroupMember"           // Actor, Group, User
	OpRemoveGroupMember        OpKind = "RemoveGroupMember"        // Actor, Group, User
	OpNestGroup                OpKind = "NestGroup"                // Actor, Group (child), Parent
	OpUnnestGroup              OpKind = "UnnestGroup"              // Actor, Group (child), Parent
	OpSetGroupReadAccess       OpKind = "SetGroupReadAccess"       // Actor, User, Group
	OpClearGroupReadAccess     OpKind = "ClearGroupReadAccess"     // Actor, User
	OpDefineRole               OpKind = "DefineRole"               // Actor, CustomRole, Privileges
	OpRequestAccess            OpKind = "RequestAccess"            // Actor, Account, SiteRole
	OpApprove                  OpKind = "Approve"                  // Actor, Account, User
	OpDeny                     OpKind = "Deny"                     // Actor, Account, User
	OpChangeRole               OpKind = "ChangeRole"               // Actor, Account, User, SiteRole
	OpRemoveMember             OpKind = "RemoveMember"             // Actor, Account, User
	OpLeave                    OpKind = "Leave"                    // Actor, Account
	OpGrantPartner             OpKind = "GrantPartner"             // Actor, Account, Grantee, Level, ExpiresAt
	OpRevokePartner            OpKind = "RevokePartner"            // Actor, Account, Grantee
	OpRequestPartnerLevel      OpKind = "RequestPartnerLevel"      // Actor, Account, Grantee, Level
	OpApprovePartnerRequest    OpKind = "ApprovePartnerRequest"    // Actor, Account, Grantee
	OpDenyPartnerRequest       OpKind = "DenyPartnerRequest"       // Actor, Account, Grantee
	OpLinkPartner              OpKind = "LinkPartner"              // Actor, Account, Partner
	OpUnlinkPartner            OpKind = "UnlinkPartner"            // Actor, Account, Partner
	OpSetSupportAccess         OpKind = "SetSupportAccess"         // Actor, Account, Partner, On
	OpSetVendorManage          OpKind = "SetVendorManage"          // Actor, Account, Partner, On
	OpSetCustomerManage        OpKind = "SetCustomerManage"        // Actor, Account, Partner, On
	OpCreateCase               OpKind = "CreateCase"               // Actor, Case, Account, SoldProduct, InstallBase
	OpCloseCase                OpKind = "CloseCase"                // Actor, Case
	OpReopenCase               OpKind = "ReopenCase"               // Actor, Case
	OpAddCaseContact           OpKind = "AddCaseContact"           // Actor, Case, User, On (primary)
	OpRemoveCaseContact        OpKind = "RemoveCaseContact"        // Actor, Case, User
	OpAssignFunctionalRole     OpKind = "AssignFunctionalRole"     // Actor, Object, FunctionalRole, Party
	OpRemoveFunctionalRole     OpKind = "RemoveFunctionalRole"     // Actor, Object, FunctionalRole, Party
	OpBindRole                 OpKind = "BindRole"                 // Actor, CustomRole, Object, Grantee
	OpUnbindRole               OpKind = "UnbindRole"               // Actor, CustomRole, Object, Grantee
	// OpTick moves the model's clock to At. It is not a domain operation: it stands for
	// time passing, so that grants whose expiry is before At give nothing from then on.
	OpTick OpKind = "Tick" // At
)

// Op is one domain operation as data: who does what to which objects. Only the fields the
// operation's kind lists are read.
type Op struct {
	Kind  OpKind
	Actor string

	Account     string
	User        string
	Partner     string
	Parent      string
	ServiceOrg  string
	Group       string
	Case        string
	SoldProduct string
	InstallBase string
	CustomRole  string

	SiteRole     Role
	PlatformRole PlatformRole
	Level        Level
	Privileges   []Privilege
	Grantee      Grantee

	// Object and Party are the object of a functional role or binding and the party
	// holding a functional role.
	Object         Object
	FunctionalRole string
	Party          Object

	// On is the flag of ReleaseToEveryone, the Set*Access/Manage operations, and "primary"
	// for AddCaseContact.
	On bool
	// ExpiresAt is a grant's expiry; zero means none.
	ExpiresAt time.Time
	// Soon marks a grant meant to expire at the next Tick. Runners that apply ops to a real
	// system replace ExpiresAt of such grants by a time shortly ahead and wait for it at
	// the Tick.
	Soon bool
	// At is the new clock of a Tick.
	At time.Time
}

// String renders the op on one line: actor, kind, then the fields that are set.
func (op Op) String() string {
	var b strings.Builder
	if op.Actor != "" {
		b.WriteString(op.Actor + ": ")
	}
	b.WriteString(string(op.Kind))
	field := func(name, v string) {
		if v != "" {
			fmt.Fprintf(&b, " %s=%s", name, v)
		}
	}
	field("account", op.Account)
	field("user", op.User)
	field("partner", op.Partner)
	field("parent", op.Parent)
	field("service_org", op.ServiceOrg)
	field("group", op.Group)
	field("case", op.Case)
	field("sold_product", op.SoldProduct)
	field("install_base", op.InstallBase)
	field("role", op.CustomRole)
	field("site_role", string(op.SiteRole))
	field("platform_role", string(op.PlatformRole))
	field("level", string(op.Level))
	if len(op.Privileges) > 0 {
		ps := make([]string, len(op.Privileges))
		for i, p := range op.Privileges {
			ps[i] = string(p)
		}
		field("privileges", strings.Join(ps, ","))
	}
	if op.Grantee != (Grantee{}) {
		field("grantee", op.Grantee.String())
	}
	if op.Object != (Object{}) {
		field("object", op.Object.String())
	}
	field("functional_role", op.FunctionalRole)
	if op.Party != (Object{}) {
		field("party", op.Party.String())
	}
	switch op.Kind {
	case OpReleaseToEveryone, OpSetSupportAccess, OpSetVendorManage, OpSetCustomerManage:
		fmt.Fprintf(&b, " on=%t", op.On)
	case OpAddCaseContact:
		fmt.Fprintf(&b, " primary=%t", op.On)
	}
	switch {
	case op.Soon:
		b.WriteString(" expires=soon")
	case !op.ExpiresAt.IsZero():
		b.WriteString(" expires=" + op.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if op.Kind == OpTick && !op.At.IsZero() {
		b.WriteString(" at=" + op.At.UTC().Format(time.RFC3339Nano))
	}
	return b.String()
}

// Predict returns what Apply would return for op, without changing the world.
func (w *World) Predict(op Op) Result { return w.authorize(op) }

// Apply performs op if the model's rules allow it, and returns the outcome. The world
// changes only when the outcome is OK.
func (w *World) Apply(op Op) Result {
	r := w.authorize(op)
	if r == OK {
		w.mutate(op)
	}
	return r
}

// authorize decides an operation: argument and existence checks, then the permission
// that governs the change (contract section 6, docs/model.md section 6 table), then the
// state rules (last admin, cycles, duplicates). The order follows the domain API's
// documented behaviour so the two report the same category of refusal.
func (w *World) authorize(op Op) Result {
	u := op.Actor
	switch op.Kind {
	case OpTick:
		return OK
	case OpBootstrap:
		if op.User == "" {
			return Invalid
		}
		if len(w.platform[PlatformAdministrator]) > 0 {
			return Conflict
		}
		return OK

	case OpAddPlatformRole, OpRemovePlatformRole:
		if w.platform[op.PlatformRole] == nil || op.User == "" {
			return Invalid
		}
		// An administrator cannot remove their own administrator role.
		if op.Kind == OpRemovePlatformRole && op.PlatformRole == PlatformAdministrator && op.User == u {
			return LastAdmin
		}
		if !w.isAdministrator(u) {
			return Denied
		}
		// Contract section 7: the platform keeps at least one administrator (with the rule
		// above, one by itself in a sequential world; the product guards it under concurrency
		// with a precondition, TestLastPlatformAdminRace).
		if op.Kind == OpRemovePlatformRole && op.PlatformRole == PlatformAdministrator {
			others := 0
			for a := range w.platform[PlatformAdministrator] {
				if a != op.User {
					others++
				}
			}
			if others == 0 {
				return LastAdmin
			}
		}
		return OK
	case OpAddRolloutParticipant, OpRemoveRolloutParticipant:
		if op.User == "" {
			return Invalid
		}
		return need(w.isAdministrator(u))
	case OpReleaseToEveryone:
		return need(w.isAdministrator(u))

	case OpCreatePartner:
		if op.Partner == "" || op.Parent == op.Partner {
			return Invalid
		}
		if op.Parent != "" && w.partners[op.Parent] == nil {
			return NotFound
		}
		if !w.isAdministrator(u) {
			return Denied
		}
		return absent(w.partners[op.Partner] == nil)
	case OpAddPartnerMember, OpRemovePartnerMember:
		if !w.isAdministrator(u) {
			return Denied
		}
		return present(w.partners[op.Partner] != nil)
	case OpCreateServiceOrg:
		if !w.isAdministrator(u) {
			return Denied
		}
		return absent(w.serviceOrgs[op.ServiceOrg] == nil)
	case OpAddServiceOrgMember, OpRemoveServiceOrgMember:
		if !w.isAdministrator(u) {
			return Denied
		}
		return present(w.serviceOrgs[op.ServiceOrg] != nil)

	case OpCreateAccount:
		if !w.canOnboard(u) {
			return Denied
		}
		return absent(w.accounts[op.Account] == nil)
	case OpCreateSoldProduct:
		if w.accounts[op.Account] == nil {
			return NotFound
		}
		if !w.canOnboard(u) {
			return Denied
		}
		return absent(w.soldProducts[op.SoldProduct] == nil)
	case OpCreateInstallBase:
		if w.accounts[op.Account] == nil {
			return NotFound
		}
		if op.SoldProduct != "" {
			if r := w.ownedBy(w.productAccount(op.SoldProduct), op.Account); r != OK {
				return r
			}
		}
		if !w.canOnboard(u) {
			return Denied
		}
		return absent(w.installBase[op.InstallBase] == nil)

	case OpCreateGroup:
		if !w.canOnboard(u) {
			return Denied
		}
		return absent(w.groups[op.Group] == nil)
	case OpAddGroupMember, OpRemoveGroupMember, OpSetGroupReadAccess:
		if !w.canOnboard(u) {
			return Denied
		}
		return present(w.groups[op.Group] != nil)
	case OpNestGroup:
		if !w.canOnboard(u) {
			return Denied
		}
		if w.groups[op.Parent] == nil || w.groups[op.Group] == nil {
			return NotFound
		}
		// Contract section 4: nesting must never form a cycle.
		if w.contains(op.Group, op.Parent) {
			return Cycle
		}
		return OK
	case OpUnnestGroup:
		if !w.canOnboard(u) {
			return Denied
		}
		return present(w.groups[op.Parent] != nil)
	case OpClearGroupReadAccess:
		if !w.canOnboard(u) {
			return Denied
		}
		_, ok := w.readers[op.User]
		return present(ok)

	case OpDefineRole:
		if op.CustomRole == "" || len(op.Privileges) == 0 {
			return Invalid
		}
		for _, p := range op.Privileges {
			if !slices.Contains(Privileges, p) {
				return Invalid
			}
		}
		return need(w.isAdministrator(u))

	case OpRequestAccess:
		a := w.accounts[op.Account]
		if a == nil {
			return NotFound
		}
		if !slices.Contains(Roles, op.SiteRole) || a.roles[u] == op.SiteRole {
			return Invalid
		}
		// The actor asks for themselves; a request grants nothing (contract section 1).
		return OK
	case OpApprove, OpDeny:
		a := w.accounts[op.Account]
		if a == nil {
			return NotFound
		}
		if r := w.approver(op.Account, a, u); r != OK {
			return r
		}
		want, ok := a.pending[op.User]
		if !ok {
			return NotFound
		}
		if op.Kind == OpApprove {
			// Contract section 2, no re-delegation (docs/model.md section 1): nobody approves
			// their own request, and only admins or Customer Care give the admin role.
			if op.User == u || (want == RoleAdmin && !w.mayGiveAdmin(a, u)) {
				return Denied
			}
			return w.lastAdminGuard(a, u, op.User, want)
		}
		return OK
	case OpChangeRole:
		a := w.accounts[op.Account]
		if a == nil {
			return NotFound
		}
		if !slices.Contains(Roles, op.SiteRole) {
			return Invalid
		}
		// docs/model.md section 1, "Customer Care may change roles on any account".
		if !w.accountPermission(op.Account, a, u, "manage_members") && !w.isCare(u) {
			return Denied
		}
		if a.roles[op.User] == "" {
			return NotFound
		}
		if op.SiteRole == RoleAdmin && a.roles[op.User] != RoleAdmin && !w.mayGiveAdmin(a, u) {
			return Denied
		}
		return w.lastAdminGuard(a, u, op.User, op.SiteRole)
	case OpRemoveMember:
		a := w.accounts[op.Account]
		if a == nil {
			return NotFound
		}
		if !w.accountPermission(op.Account, a, u, "remove_members") {
			return Denied
		}
		return present(a.roles[op.User] != "")
	case OpLeave:
		a := w.accounts[op.Account]
		if a == nil {
			return NotFound
		}
		if a.roles[u] == "" {
			return NotFound
		}
		return w.lastAdminGuard(a, u, u, "")

	case OpGrantPartner, OpRevokePartner, OpApprovePartnerRequest, OpDenyPartnerRequest:
		if r := validPartnerGrantee(op.Grantee); r != OK {
			return r
		}
		if op.Kind == OpGrantPartner {
			if !slices.Contains(Levels, op.Level) {
				return Invalid
			}
			if !op.ExpiresAt.IsZero() && !op.ExpiresAt.After(w.Now) {
				return Invalid
			}
		}
		a := w.accounts[op.Account]
		if a == nil {
			return NotFound
		}
		if op.Kind == OpGrantPartner && op.Grantee.Partner != "" && w.partners[op.Grantee.Partner] == nil {
			return NotFound
		}
		// Contract section 2: only the account's admins grant, change or revoke, and decide
		// partner requests.
		if !w.accountPermission(op.Account, a, u, "manage_partners") {
			return Denied
		}
		switch op.Kind {
		case OpRevokePartner:
			g, ok := a.grantOf(op.Grantee)
			return present(ok && g.activeAt(w.Now))
		case OpApprovePartnerRequest, OpDenyPartnerRequest:
			_, ok := a.partnerRequests[op.Grantee.String()]
			return present(ok)
		}
		return OK
	case OpRequestPartnerLevel:
		if r := validPartnerGrantee(op.Grantee); r != OK {
			return r
		}
		if !slices.Contains(Levels, op.Level) {
			return Invalid
		}
		if w.accounts[op.Account] == nil {
			return NotFound
		}
		// Contract section 2: "A partner may request a level": for themselves, or for an
		// organisation they are a (direct) member of.
		if op.Grantee.User != "" {
			return need(op.Grantee.User == u)
		}
		p := w.partners[op.Grantee.Partner]
		return need(p != nil && p.members.has(u))

	case OpLinkPartner:
		a := w.accounts[op.Account]
		if a == nil || w.partners[op.Partner] == nil {
			return NotFound
		}
		if !w.isAdministrator(u) {
			return Denied
		}
		return absent(a.links[op.Partner] == nil)
	case OpUnlinkPartner, OpSetVendorManage, OpSetSupportAccess, OpSetCustomerManage:
		a := w.accounts[op.Account]
		if a == nil || a.links[op.Partner] == nil {
			return NotFound
		}
		// Contract section 3: the vendor links, unlinks and configures manage; the customer
		// revokes or re-enables support and grants manage.
		if op.Kind == OpUnlinkPartner || op.Kind == OpSetVendorManage {
			return need(w.isAdministrator(u))
		}
		return need(w.accountPermission(op.Account, a, u, "manage_partners"))

	case OpCreateCase:
		if op.Case == "" {
			return Invalid
		}
		a := w.accounts[op.Account]
		if a == nil {
			return NotFound
		}
		target := Account(op.Account)
		if op.SoldProduct != "" {
			if r := w.ownedBy(w.productAccount(op.SoldProduct), op.Account); r != OK {
				return r
			}
			target = SoldProduct(op.SoldProduct)
		}
		if op.InstallBase != "" {
			if r := w.ownedBy(w.itemAccount(op.InstallBase), op.Account); r != OK {
				return r
			}
			if op.SoldProduct != "" && w.installBase[op.InstallBase].soldProduct != op.SoldProduct {
				return Invalid
			}
			target = InstallBase(op.InstallBase)
		}
		// docs/model.md section 6: create_case on the most specific object named.
		if !w.Allowed(u, "create_case", target) {
			return Denied
		}
		return absent(w.cases[op.Case] == nil)
	case OpCloseCase, OpReopenCase:
		// A case that does not exist is refused like one the actor may not touch (contract
		// section 7: authorise before revealing).
		c := w.cases[op.Case]
		if c == nil {
			return Denied
		}
		// Contract section 4: whoever would have update on it when open may reopen it. That
		// is asked first, so a stranger learns nothing of the case's status (docs/model.md).
		a := w.accounts[c.account]
		if a == nil || !w.caseEditor(c, a, u) {
			return Denied
		}
		if c.open == (op.Kind == OpReopenCase) {
			return Conflict
		}
		if op.Kind == OpCloseCase {
			return need(w.Allowed(u, "update", Case(op.Case)))
		}
		return OK
	case OpAddCaseContact, OpRemoveCaseContact:
		c := w.cases[op.Case]
		if c == nil {
			return Denied
		}
		if !w.Allowed(u, "manage_related_parties", Case(op.Case)) {
			return Denied
		}
		if op.Kind == OpAddCaseContact {
			a := w.accounts[c.account]
			// Contract section 2: primary needs update or higher; an additional contact
			// needs a grant at any level.
			if op.On {
				return need(w.levelAtLeast(a, op.User, LevelUpdate))
			}
			return need(w.hasAnyGrant(a, op.User))
		}
		return OK

	case OpAssignFunctionalRole, OpRemoveFunctionalRole:
		fr, ok := LookupFunctionalRole(op.FunctionalRole)
		if !ok || op.Object.Type != fr.On || op.Party.Type != fr.PartyType || op.Object.ID == "" || op.Party.ID == "" {
			return Invalid
		}
		if !w.Exists(op.Object) {
			return NotFound
		}
		if !w.Allowed(u, fr.ManagedBy, op.Object) {
			return Denied
		}
		if op.Kind == OpAssignFunctionalRole && fr.PartyType != "user" && !w.Exists(op.Party) {
			return NotFound
		}
		// Contract section 7: managing related parties never makes the manager one. Only the
		// owning account's admins and the vendor side (who already hold everything a related
		// party gets there) name themselves, their account or their service organisation.
		if op.Kind == OpAssignFunctionalRole && w.includes(op.Party, u) && !w.mayNameThemselves(op.Object, u) {
			return Denied
		}
		return OK

	case OpBindRole, OpUnbindRole:
		g := op.Grantee
		if g.Partner != "" || (g.User == "") == (g.Group == "") {
			return Invalid
		}
		if op.CustomRole == "" {
			return Invalid
		}
		switch op.Object.Type {
		case "account", "sold_product", "install_base":
		default:
			return Invalid
		}
		// docs/model.md section 2, "No re-delegation": binding roles is for admins only. It
		// is authorised on the object first: an item that does not exist is refused like one
		// the actor may not touch (contract section 7: authorise before revealing).
		owner := w.OwnerOf(op.Object)
		if owner == "" || w.accounts[owner].roles[u] != RoleAdmin {
			return Denied
		}
		if w.customRoles[op.CustomRole] == nil {
			return NotFound
		}
		return OK
	}
	return Invalid
}

// includes reports whether party is u, an account u is a contact of, or a service
// organisation u works for.
func (w *World) includes(party Object, u string) bool {
	switch party.Type {
	case "user":
		return party.ID == u
	case "account":
		a := w.accounts[party.ID]
		return a != nil && a.roles[u] != ""
	case "service_org":
		return w.serviceOrgs[party.ID].has(u)
	}
	return false
}

// mayNameThemselves: the owning account's admins, Customer Care and platform administrators.
func (w *World) mayNameThemselves(o Object, u string) bool {
	if w.isCare(u) || w.isAdministrator(u) {
		return true
	}
	a := w.accounts[w.OwnerOf(o)]
	return a != nil && a.roles[u] == RoleAdmin
}

// approver decides who may approve or deny join requests: holders of manage_members, and
// Customer Care on an account without any admin (contract section 1; docs/model.md section 1).
func (w *World) approver(id string, a *account, u string) Result {
	if w.accountPermission(id, a, u, "manage_members") {
		return OK
	}
	if w.isCare(u) && !a.hasAdmin() {
		return OK
	}
	return Denied
}

// mayGiveAdmin reports whether u may make someone an admin of the account: its admins and
// Customer Care. A full_admin partner manages contacts but never hands out the admin role,
// which carries manage_partners (contract section 2: no re-delegation, never manage_partners).
func (w *World) mayGiveAdmin(a *account, u string) bool {
	return a.roles[u] == RoleAdmin || w.isCare(u)
}

// lastAdminGuard refuses a change that would take the admin role away from the account's
// last admin (contract section 1), unless Customer Care makes it. to is the user's new role
// ("" when they leave).
func (w *World) lastAdminGuard(a *account, actor, user string, to Role) Result {
	if a.roles[user] != RoleAdmin || to == RoleAdmin || w.isCare(actor) {
		return OK
	}
	for other, r := range a.roles {
		if r == RoleAdmin && other != user {
			return OK
		}
	}
	return LastAdmin
}

func (a *account) hasAdmin() bool {
	for _, r := range a.roles {
		if r == RoleAdmin {
			return true
		}
	}
	return false
}

// grantOf returns the grantee's grant on the account, active or not.
func (a *account) grantOf(g Grantee) (grant, bool) {
	if g.Partner != "" {
		gr, ok := a.orgGrants[g.Partner]
		return gr, ok
	}
	gr, ok := a.individualGrants[g.User]
	return gr, ok
}

func validPartnerGrantee(g Grantee) Result {
	if g.Group != "" || (g.Partner == "") == (g.User == "") {
		return Invalid
	}
	return OK
}

// productAccount and itemAccount return the owner of a product or item, "" when it does
// not exist.
func (w *World) productAccount(id string) string { return w.OwnerOf(SoldProduct(id)) }
func (w *World) itemAccount(id string) string    { return w.OwnerOf(InstallBase(id)) }

// ownedBy checks that an object named by an operation belongs to the account: NotFound when
// it does not exist, Invalid when it belongs to another account.
func (w *World) ownedBy(owner, accountID string) Result {
	// Contract section 7: an item of another tenant and one that does not exist look the
	// same, so naming ids reveals nothing about other accounts.
	if owner != "" && owner == accountID {
		return OK
	}
	return NotFound
}

func need(ok bool) Result {
	if ok {
		return OK
	}
	return Denied
}

func present(ok bool) Result {
	if ok {
		return OK
	}
	return NotFound
}

func absent(ok bool) Result {
	if ok {
		return OK
	}
	return Conflict
}

// mutate applies an authorised operation.
func (w *World) mutate(op Op) {
	u := op.Actor
	switch op.Kind {
	case OpTick:
		if op.At.After(w.Now) {
			w.Now = op.At
		}
	case OpBootstrap:
		w.platform[PlatformAdministrator].add(op.User)
	case OpAddPlatformRole:
		w.platform[op.PlatformRole].add(op.User)
	case OpRemovePlatformRole:
		w.platform[op.PlatformRole].del(op.User)
	case OpAddRolloutParticipant:
		w.features[EntitlementFeature].participants.add(op.User)
	case OpRemoveRolloutParticipant:
		w.features[EntitlementFeature].participants.del(op.User)
	case OpReleaseToEveryone:
		w.features[EntitlementFeature].released = op.On
	case OpCreatePartner:
		w.partners[op.Partner] = &partner{parent: op.Parent, members: set{}}
	case OpAddPartnerMember:
		w.partners[op.Partner].members.add(op.User)
	case OpRemovePartnerMember:
		w.partners[op.Partner].members.del(op.User)
	case OpCreateServiceOrg:
		w.serviceOrgs[op.ServiceOrg] = set{}
	case OpAddServiceOrgMember:
		w.serviceOrgs[op.ServiceOrg].add(op.User)
	case OpRemoveServiceOrgMember:
		w.serviceOrgs[op.ServiceOrg].del(op.User)
	case OpCreateAccount:
		a := &account{
			roles: map[string]Role{}, pending: map[string]Role{},
			orgGrants: map[string]grant{}, individualGrants: map[string]grant{},
			partnerRequests: map[string]Level{}, links: map[string]*link{},
		}
		if op.User != "" {
			a.roles[op.User] = RoleAdmin
		}
		w.accounts[op.Account] = a
	case OpCreateSoldProduct:
		w.soldProducts[op.SoldProduct] = &soldProduct{account: op.Account, roles: map[string]set{}}
	case OpCreateInstallBase:
		w.installBase[op.InstallBase] = &installBase{account: op.Account, soldProduct: op.SoldProduct, roles: map[string]set{}}
	case OpCreateGroup:
		w.groups[op.Group] = &group{users: set{}, children: set{}, parents: set{}}
	case OpAddGroupMember:
		w.groups[op.Group].users.add(op.User)
	case OpRemoveGroupMember:
		w.groups[op.Group].users.del(op.User)
	case OpNestGroup:
		w.groups[op.Parent].children.add(op.Group)
		w.groups[op.Group].parents.add(op.Parent)
	case OpUnnestGroup:
		w.groups[op.Parent].children.del(op.Group)
		if g := w.groups[op.Group]; g != nil {
			g.parents.del(op.Parent)
		}
	case OpSetGroupReadAccess:
		// A user reads at most one group; setting another replaces it (contract section 4).
		w.readers[op.User] = op.Group
	case OpClearGroupReadAccess:
		delete(w.readers, op.User)
	case OpDefineRole:
		privs := map[Privilege]bool{}
		for _, p := range op.Privileges {
			privs[p] = true
		}
		w.customRoles[op.CustomRole] = privs

	case OpRequestAccess:
		w.accounts[op.Account].pending[u] = op.SiteRole
	case OpApprove:
		a := w.accounts[op.Account]
		a.roles[op.User] = a.pending[op.User]
		delete(a.pending, op.User)
	case OpDeny:
		delete(w.accounts[op.Account].pending, op.User)
	case OpChangeRole:
		w.accounts[op.Account].roles[op.User] = op.SiteRole
	case OpRemoveMember:
		delete(w.accounts[op.Account].roles, op.User)
	case OpLeave:
		delete(w.accounts[op.Account].roles, u)

	case OpGrantPartner:
		w.accounts[op.Account].setGrant(op.Grantee, grant{level: op.Level, expiresAt: op.ExpiresAt})
	case OpRevokePartner:
		a := w.accounts[op.Account]
		delete(a.orgGrants, op.Grantee.Partner)
		delete(a.individualGrants, op.Grantee.User)
	case OpRequestPartnerLevel:
		w.accounts[op.Account].partnerRequests[op.Grantee.String()] = op.Level
	case OpApprovePartnerRequest:
		a := w.accounts[op.Account]
		a.setGrant(op.Grantee, grant{level: a.partnerRequests[op.Grantee.String()]})
		delete(a.partnerRequests, op.Grantee.String())
	case OpDenyPartnerRequest:
		delete(w.accounts[op.Account].partnerRequests, op.Grantee.String())

	case OpLinkPartner:
		// Contract section 3: support is on by default when the vendor links.
		w.accounts[op.Account].links[op.Partner] = &link{support: true}
	case OpUnlinkPartner:
		delete(w.accounts[op.Account].links, op.Partner)
	case OpSetSupportAccess:
		w.accounts[op.Account].links[op.Partner].support = op.On
	case OpSetVendorManage:
		w.accounts[op.Account].links[op.Partner].vendorManage = op.On
	case OpSetCustomerManage:
		w.accounts[op.Account].links[op.Partner].customerManage = op.On

	case OpCreateCase:
		w.createCase(op)
	case OpCloseCase:
		w.cases[op.Case].open = false
	case OpReopenCase:
		w.cases[op.Case].open = true
	case OpAddCaseContact:
		c := w.cases[op.Case]
		if op.On {
			// One primary point of contact: the new one replaces the previous one.
			c.primaryContacts = newSet(op.User)
		} else {
			c.partnerContacts.add(op.User)
		}
	case OpRemoveCaseContact:
		c := w.cases[op.Case]
		c.partnerContacts.del(op.User)
		c.primaryContacts.del(op.User)

	case OpAssignFunctionalRole, OpRemoveFunctionalRole:
		roles := w.rolesOf(op.Object)
		if roles[op.FunctionalRole] == nil {
			roles[op.FunctionalRole] = set{}
		}
		if op.Kind == OpAssignFunctionalRole {
			roles[op.FunctionalRole].add(op.Party.ID)
		} else {
			roles[op.FunctionalRole].del(op.Party.ID)
		}

	case OpBindRole, OpUnbindRole:
		k := bindingKey{object: op.Object, role: op.CustomRole}
		b := w.bindings[k]
		if b == nil {
			b = &binding{users: set{}, groups: set{}}
			w.bindings[k] = b
		}
		add := op.Kind == OpBindRole
		if op.Grantee.User != "" {
			if add {
				b.users.add(op.Grantee.User)
			} else {
				b.users.del(op.Grantee.User)
			}
		} else if add {
			b.groups.add(op.Grantee.Group)
		} else {
			b.groups.del(op.Grantee.Group)
		}
	}
}

// setGrant gives the grantee exactly one grant on the account, replacing any other level.
func (a *account) setGrant(g Grantee, gr grant) {
	if g.Partner != "" {
		a.orgGrants[g.Partner] = gr
	} else {
		a.individualGrants[g.User] = gr
	}
}

// createCase records a new open case. A case naming only an install base item records the
// item's sold product too (docs/model.md, "Decisions that close gaps": "Cases that name
// only an install base item"). The creator is its reporter, except a partner creating on
// the customer's behalf (not a contact of the account, level create or above), who becomes
// the primary partner contact (docs/model.md section 2, "A partner-created case does not
// make the partner its reporter").
func (w *World) createCase(op Op) {
	a := w.accounts[op.Account]
	c := &caseObj{
		account: op.Account, soldProduct: op.SoldProduct, installBase: op.InstallBase, open: true,
		partnerContacts: set{}, primaryContacts: set{}, roles: map[string]set{},
	}
	if c.soldProduct == "" && c.installBase != "" {
		c.soldProduct = w.installBase[c.installBase].soldProduct
	}
	if a.roles[op.Actor] == "" && w.levelAtLeast(a, op.Actor, LevelCreate) {
		c.primaryContacts.add(op.Actor)
	} else {
		c.reporter = op.Actor
	}
	w.cases[op.Case] = c
}

// rolesOf returns the functional role table of a case, sold product or install base item.
func (w *World) rolesOf(o Object) map[string]set {
	switch o.Type {
	case "case":
		return w.cases[o.ID].roles
	case "sold_product":
		return w.soldProducts[o.ID].roles
	case "install_base":
		return w.installBase[o.ID].roles
	}
	return nil
}
