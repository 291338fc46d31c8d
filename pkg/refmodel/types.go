package refmodel

import "slices"

// Object is a typed object of the public vocabulary, such as account:acme or case:42.
type Object struct {
	Type string
	ID   string
}

// String renders the object as TYPE:ID.
func (o Object) String() string { return o.Type + ":" + o.ID }

// Account, Case, SoldProduct and InstallBase build references to the objects Allowed
// answers for.
func Account(id string) Object { return Object{Type: "account", ID: id} }

// Case returns case:ID.
func Case(id string) Object { return Object{Type: "case", ID: id} }

// SoldProduct returns sold_product:ID.
func SoldProduct(id string) Object { return Object{Type: "sold_product", ID: id} }

// InstallBase returns install_base:ID.
func InstallBase(id string) Object { return Object{Type: "install_base", ID: id} }

// Role is a contact's role on an account (contract section 1).
type Role string

// Site roles.
const (
	RoleAdmin    Role = "admin"
	RoleStandard Role = "standard"
	RoleViewer   Role = "viewer"
)

// Roles lists the site roles, highest first.
var Roles = []Role{RoleAdmin, RoleStandard, RoleViewer}

// Level is a partner permission level (contract section 2).
type Level string

// Partner levels, lowest first.
const (
	LevelCC           Level = "cc"
	LevelLook         Level = "look"
	LevelUpdate       Level = "update"
	LevelCreate       Level = "create"
	LevelServiceAdmin Level = "service_admin"
	LevelFullAdmin    Level = "full_admin"
)

// Levels lists the partner levels, lowest first. Each level includes the ones before it.
var Levels = []Level{LevelCC, LevelLook, LevelUpdate, LevelCreate, LevelServiceAdmin, LevelFullAdmin}

// rank orders levels; an unknown level ranks below every real one.
func (l Level) rank() int { return slices.Index(Levels, l) }

// AtLeast reports whether l is o or a higher level.
func (l Level) AtLeast(o Level) bool { return l.rank() >= 0 && l.rank() >= o.rank() }

// PlatformRole is a vendor-side role on the platform.
type PlatformRole string

// Vendor-side roles. The contract names Customer Care and internal staff; the administrator
// runs the portal (docs/model.md, section 6: the operations governed by platform#administer).
const (
	PlatformAdministrator PlatformRole = "administrator"
	PlatformCustomerCare  PlatformRole = "customer_care"
	PlatformStaff         PlatformRole = "staff"
)

// Privilege is a granular privilege of contract section 5, the building block of custom roles.
type Privilege string

// Granular privileges.
const (
	PrivCaseRead                     Privilege = "case_read"
	PrivCaseCreate                   Privilege = "case_create"
	PrivCaseWrite                    Privilege = "case_write"
	PrivCaseRelatedPartyWrite        Privilege = "case_related_party_write"
	PrivSoldProductRead              Privilege = "sold_product_read"
	PrivSoldProductContactRead       Privilege = "sold_product_contact_read"
	PrivSoldProductContactWrite      Privilege = "sold_product_contact_write"
	PrivSoldProductConsumerRead      Privilege = "sold_product_consumer_read"
	PrivSoldProductConsumerWrite     Privilege = "sold_product_consumer_write"
	PrivInstallBaseRead              Privilege = "install_base_read"
	PrivInstallBaseRelatedPartyRead  Privilege = "install_base_related_party_read"
	PrivInstallBaseRelatedPartyWrite Privilege = "install_base_related_party_write"
	PrivInstalledProductRead         Privilege = "installed_product_read"
)

// Privileges lists every granular privilege.
var Privileges = []Privilege{
	PrivCaseRead, PrivCaseCreate, PrivCaseWrite, PrivCaseRelatedPartyWrite,
	PrivSoldProductRead, PrivSoldProductContactRead, PrivSoldProductContactWrite,
	PrivSoldProductConsumerRead, PrivSoldProductConsumerWrite,
	PrivInstallBaseRead, PrivInstallBaseRelatedPartyRead, PrivInstallBaseRelatedPartyWrite,
	PrivInstalledProductRead,
}

// implied lists, for each privilege, the privileges it includes besides itself: the
// contract's "write implies read where the source says so" (contact write ⊃ contact read,
// consumer write ⊃ consumer read, case create ⊃ case read, related-party write ⊃
// related-party read). Case write does not imply case read (docs/model.md section 5,
// "Custom case_write does not imply case_read").
var implied = map[Privilege][]Privilege{
	PrivCaseCreate:                   {PrivCaseRead},
	PrivSoldProductContactWrite:      {PrivSoldProductContactRead},
	PrivSoldProductConsumerWrite:     {PrivSoldProductConsumerRead},
	PrivInstallBaseRelatedPartyWrite: {PrivInstallBaseRelatedPartyRead},
}

// FunctionalRole is a predefined related-party role of contract section 5.
type FunctionalRole struct {
	// Name is the role's name, such as "install_base_authorized_contact".
	Name string
	// On is the type of object the role is assigned on: case, sold_product or install_base.
	On string
	// PartyType is what the role is given to: user, account or service_org.
	PartyType string
	// ManagedBy is the permission on the object that assigning or removing the role needs
	// (docs/model.md, "Decisions that close gaps": "Who adds consumers").
	ManagedBy string
}

// FunctionalRoles lists the predefined functional roles of the contract's table.
var FunctionalRoles = []FunctionalRole{
	{"case_authorized_contact", "case", "user", "manage_related_parties"},
	{"case_authorized_consumer", "case", "user", "manage_related_parties"},
	{"case_authorized_contributor", "case", "user", "manage_related_parties"},
	{"sold_product_authorized_contact", "sold_product", "user", "manage_related_parties"},
	{"sold_product_authorized_consumer", "sold_product", "user", "manage_consumers"},
	{"install_base_authorized_contact", "install_base", "user", "manage_related_parties"},
	{"install_base_authorized_consumer", "install_base", "user", "manage_related_parties"},
	{"install_base_authorized_contributor", "install_base", "user", "manage_related_parties"},
	{"install_base_authorized_member", "install_base", "user", "manage_related_parties"},
	{"install_base_authorized_account", "install_base", "account", "manage_related_parties"},
	{"install_base_service_organization", "install_base", "service_org", "manage_related_parties"},
}

// LookupFunctionalRole finds a functional role by name.
func LookupFunctionalRole(name string) (FunctionalRole, bool) {
	for _, r := range FunctionalRoles {
		if r.Name == name {
			return r, true
		}
	}
	return FunctionalRole{}, false
}

// Grantee is who a partner grant, a partner request or a custom role binding is for:
// exactly one of a partner organisation (every direct member), a user, or a group (every
// transitive member). Partner grants take Partner or User; bindings take User or Group.
type Grantee struct {
	Partner string
	User    string
	Group   string
}

// String renders the grantee as partner:ID, user:ID or group:ID#member.
func (g Grantee) String() string {
	switch {
	case g.Partner != "":
		return "partner:" + g.Partner
	case g.Group != "":
		return "group:" + g.Group + "#member"
	}
	return "user:" + g.User
}

// Result is the outcome of an operation, in the categories of the domain API's sentinel
// errors.
type Result string

// Operation outcomes.
const (
	// OK: the operation is allowed and applied.
	OK Result = "ok"
	// Denied: the actor lacks the permission that governs the change.
	Denied Result = "permission denied"
	// NotFound: an object, member, grant or request the operation needs does not exist.
	NotFound Result = "not found"
	// Conflict: the object already exists, or is already in the requested state.
	Conflict Result = "conflict"
	// LastAdmin: the change would leave an account (or the platform) without an administrator.
	LastAdmin Result = "last administrator"
	// Cycle: the group nesting would make a group contain itself.
	Cycle Result = "group cycle"
	// Invalid: a malformed or inconsistent argument.
	Invalid Result = "invalid argument"
)
