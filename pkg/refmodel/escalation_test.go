package refmodel_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/refmodel"
)

// actorKind is one kind of actor of the escalation matrix, with the user who plays it.
type actorKind struct {
	user, kind string
}

// escalationActors are every kind of actor the contract distinguishes, least privileged
// first (so that most refusals are tried against the base state).
var escalationActors = func() []actorKind {
	out := []actorKind{
		{"zed", "stranger"},
		{"pia", "pending requester (asked for admin)"},
		{"sam", "vendor staff"},
	}
	for _, l := range refmodel.Levels {
		out = append(out, actorKind{"i_" + string(l), "individual partner grant " + string(l)})
	}
	for _, l := range refmodel.Levels {
		out = append(out, actorKind{"m_" + string(l), "partner organisation member, level " + string(l)})
	}
	return append(out,
		actorKind{"sue", "super customer (group read access)"},
		actorKind{"pat", "sold product authorized contact"},
		actorKind{"ivan", "install base authorized contact (not an acme contact)"},
		actorKind{"sol", "service organisation member"},
		actorKind{"rita", "custom role with every privilege on acme"},
		actorKind{"wes", "custom role with only the related-party write privileges on acme"},
		actorKind{"vic", "acme viewer"},
		actorKind{"stan", "acme standard"},
		actorKind{"oli", "admin of another account"},
		actorKind{"ada", "acme admin"},
		actorKind{"carol", "customer care"},
		actorKind{"vera", "platform administrator"},
	)
}()

// escalationBase is the world every row of the matrix starts from: acme (admin ada,
// standard stan, viewer vic, a pending admin request from pia), another account (admin oli),
// a partner organisation and an individual grantee per level, vendor staff, a linked
// partner, groups with a super customer, a product, an item with a service organisation,
// a custom role, and cases.
func escalationBase() []refmodel.Op {
	ops := []refmodel.Op{
		{Kind: refmodel.OpBootstrap, User: "vera"},
		{Kind: refmodel.OpAddPlatformRole, Actor: "vera", User: "carol", PlatformRole: refmodel.PlatformCustomerCare},
		{Kind: refmodel.OpAddPlatformRole, Actor: "vera", User: "sam", PlatformRole: refmodel.PlatformStaff},
		{Kind: refmodel.OpCreateAccount, Actor: "carol", Account: "acme", User: "ada"},
		{Kind: refmodel.OpCreateAccount, Actor: "carol", Account: "other", User: "oli"},
		{Kind: refmodel.OpRequestAccess, Actor: "stan", Account: "acme", SiteRole: refmodel.RoleStandard},
		{Kind: refmodel.OpApprove, Actor: "ada", Account: "acme", User: "stan"},
		{Kind: refmodel.OpRequestAccess, Actor: "vic", Account: "acme", SiteRole: refmodel.RoleViewer},
		{Kind: refmodel.OpApprove, Actor: "ada", Account: "acme", User: "vic"},
		{Kind: refmodel.OpRequestAccess, Actor: "pia", Account: "acme", SiteRole: refmodel.RoleAdmin},
		{Kind: refmodel.OpAddRolloutParticipant, Actor: "vera", User: "stan"},
	}
	for _, l := range refmodel.Levels {
		p := "p_" + string(l)
		ops = append(ops,
			refmodel.Op{Kind: refmodel.OpCreatePartner, Actor: "vera", Partner: p},
			refmodel.Op{Kind: refmodel.OpAddPartnerMember, Actor: "vera", Partner: p, User: "m_" + string(l)},
			refmodel.Op{Kind: refmodel.OpGrantPartner, Actor: "ada", Account: "acme", Grantee: refmodel.Grantee{Partner: p}, Level: l},
			refmodel.Op{Kind: refmodel.OpGrantPartner, Actor: "ada", Account: "acme", Grantee: refmodel.Grantee{User: "i_" + string(l)}, Level: l},
		)
	}
	return append(ops,
		refmodel.Op{Kind: refmodel.OpLinkPartner, Actor: "vera", Account: "acme", Partner: "p_look"},
		refmodel.Op{Kind: refmodel.OpRequestPartnerLevel, Actor: "m_update", Account: "acme", Grantee: refmodel.Grantee{Partner: "p_update"}, Level: refmodel.LevelFullAdmin},
		refmodel.Op{Kind: refmodel.OpCreateServiceOrg, Actor: "vera", ServiceOrg: "so1"},
		refmodel.Op{Kind: refmodel.OpAddServiceOrgMember, Actor: "vera", ServiceOrg: "so1", User: "sol"},
		refmodel.Op{Kind: refmodel.OpCreateGroup, Actor: "carol", Group: "grp"},
		refmodel.Op{Kind: refmodel.OpCreateGroup, Actor: "carol", Group: "grp2"},
		refmodel.Op{Kind: refmodel.OpCreateGroup, Actor: "carol", Group: "grp3"},
		refmodel.Op{Kind: refmodel.OpNestGroup, Actor: "carol", Group: "grp2", Parent: "grp"},
		refmodel.Op{Kind: refmodel.OpAddGroupMember, Actor: "carol", Group: "grp2", User: "stan"},
		refmodel.Op{Kind: refmodel.OpSetGroupReadAccess, Actor: "carol", User: "sue", Group: "grp"},
		refmodel.Op{Kind: refmodel.OpCreateSoldProduct, Actor: "carol", SoldProduct: "sp1", Account: "acme"},
		refmodel.Op{Kind: refmodel.OpCreateInstallBase, Actor: "carol", InstallBase: "ib1", Account: "acme", SoldProduct: "sp1"},
		refmodel.Op{Kind: refmodel.OpCreateSoldProduct, Actor: "carol", SoldProduct: "spo", Account: "other"},
		refmodel.Op{Kind: refmodel.OpAssignFunctionalRole, Actor: "ada", Object: refmodel.SoldProduct("sp1"), FunctionalRole: "sold_product_authorized_contact", Party: refmodel.Object{Type: "user", ID: "pat"}},
		refmodel.Op{Kind: refmodel.OpAssignFunctionalRole, Actor: "ada", Object: refmodel.InstallBase("ib1"), FunctionalRole: "install_base_authorized_contact", Party: refmodel.Object{Type: "user", ID: "ivan"}},
		refmodel.Op{Kind: refmodel.OpAssignFunctionalRole, Actor: "ada", Object: refmodel.InstallBase("ib1"), FunctionalRole: "install_base_service_organization", Party: refmodel.Object{Type: "service_org", ID: "so1"}},
		refmodel.Op{Kind: refmodel.OpDefineRole, Actor: "vera", CustomRole: "rall", Privileges: refmodel.Privileges},
		refmodel.Op{Kind: refmodel.OpDefineRole, Actor: "vera", CustomRole: "rread", Privileges: []refmodel.Privilege{refmodel.PrivCaseRead}},
		refmodel.Op{Kind: refmodel.OpBindRole, Actor: "ada", CustomRole: "rall", Object: refmodel.Account("acme"), Grantee: refmodel.Grantee{User: "rita"}},
		refmodel.Op{Kind: refmodel.OpDefineRole, Actor: "vera", CustomRole: "rpw", Privileges: []refmodel.Privilege{refmodel.PrivSoldProductContactWrite, refmodel.PrivInstallBaseRelatedPartyWrite, refmodel.PrivCaseRelatedPartyWrite}},
		refmodel.Op{Kind: refmodel.OpBindRole, Actor: "ada", CustomRole: "rpw", Object: refmodel.Account("acme"), Grantee: refmodel.Grantee{User: "wes"}},
		refmodel.Op{Kind: refmodel.OpBindRole, Actor: "ada", CustomRole: "rread", Object: refmodel.Account("acme"), Grantee: refmodel.Grantee{User: "stan"}},
		refmodel.Op{Kind: refmodel.OpCreateCase, Actor: "stan", Case: "c_stan", Account: "acme"},
		refmodel.Op{Kind: refmodel.OpCreateCase, Actor: "ada", Case: "c_ib", Account: "acme", InstallBase: "ib1"},
		refmodel.Op{Kind: refmodel.OpCreateCase, Actor: "oli", Case: "c_other", Account: "other"},
		refmodel.Op{Kind: refmodel.OpCreateCase, Actor: "ada", Case: "c_closed", Account: "acme"},
		refmodel.Op{Kind: refmodel.OpCloseCase, Actor: "ada", Case: "c_closed"},
		refmodel.Op{Kind: refmodel.OpAddCaseContact, Actor: "stan", Case: "c_stan", User: "m_look"},
		refmodel.Op{Kind: refmodel.OpAddCaseContact, Actor: "stan", Case: "c_stan", User: "m_update", On: true},
	)
}

// escalationRow is one mutating operation on one target; make builds it for an actor (so
// that creations use a fresh id per actor and self-service rows name the actor). prepare,
// when set, lists operations the actor does first (on both sides) to set the row up.
type escalationRow struct {
	name    string
	make    func(actor string) refmodel.Op
	prepare func(actor string) []refmodel.Op
}

func user(id string) refmodel.Object { return refmodel.Object{Type: "user", ID: id} }

var escalationRows = []escalationRow{
	// Platform (vendor side).
	{"Bootstrap a second administrator (themselves)", func(a string) refmodel.Op { return refmodel.Op{Kind: refmodel.OpBootstrap, User: a} }, nil},
	{"AddPlatformRole administrator to themselves", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpAddPlatformRole, Actor: a, User: a, PlatformRole: refmodel.PlatformAdministrator}
	}, nil},
	{"AddPlatformRole customer_care to zed", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpAddPlatformRole, Actor: a, User: "zed", PlatformRole: refmodel.PlatformCustomerCare}
	}, nil},
	{"RemovePlatformRole customer_care of carol", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpRemovePlatformRole, Actor: a, User: "carol", PlatformRole: refmodel.PlatformCustomerCare}
	}, nil},
	{"AddRolloutParticipant themselves", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpAddRolloutParticipant, Actor: a, User: a}
	}, nil},
	{"RemoveRolloutParticipant stan", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpRemoveRolloutParticipant, Actor: a, User: "stan"}
	}, nil},
	{"ReleaseToEveryone", func(a string) refmodel.Op { return refmodel.Op{Kind: refmodel.OpReleaseToEveryone, Actor: a, On: true} }, nil},
	{"CreatePartner", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpCreatePartner, Actor: a, Partner: "x-" + a}
	}, nil},
	{"AddPartnerMember themselves to p_full_admin", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpAddPartnerMember, Actor: a, Partner: "p_full_admin", User: a}
	}, nil},
	{"RemovePartnerMember m_look from p_look", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpRemovePartnerMember, Actor: a, Partner: "p_look", User: "m_look"}
	}, nil},
	{"CreateServiceOrg", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpCreateServiceOrg, Actor: a, ServiceOrg: "x-" + a}
	}, nil},
	{"AddServiceOrgMember themselves to so1", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpAddServiceOrgMember, Actor: a, ServiceOrg: "so1", User: a}
	}, nil},
	{"RemoveServiceOrgMember sol from so1", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpRemoveServiceOrgMember, Actor: a, ServiceOrg: "so1", User: "sol"}
	}, nil},
	{"CreateAccount with themselves as admin", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpCreateAccount, Actor: a, Account: "x-" + a, User: a}
	}, nil},
	{"CreateSoldProduct on acme", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpCreateSoldProduct, Actor: a, SoldProduct: "x-" + a, Account: "acme"}
	}, nil},
	{"CreateInstallBase on acme of sp1", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpCreateInstallBase, Actor: a, InstallBase: "x-" + a, Account: "acme", SoldProduct: "sp1"}
	}, nil},
	{"CreateGroup", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpCreateGroup, Actor: a, Group: "x-" + a}
	}, nil},
	{"AddGroupMember themselves to grp", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpAddGroupMember, Actor: a, Group: "grp", User: a}
	}, nil},
	{"RemoveGroupMember stan from grp2", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpRemoveGroupMember, Actor: a, Group: "grp2", User: "stan"}
	}, nil},
	{"NestGroup grp3 in grp", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpNestGroup, Actor: a, Group: "grp3", Parent: "grp"}
	}, nil},
	{"UnnestGroup grp2 from grp", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpUnnestGroup, Actor: a, Group: "grp2", Parent: "grp"}
	}, nil},
	{"SetGroupReadAccess for themselves over grp", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpSetGroupReadAccess, Actor: a, User: a, Group: "grp"}
	}, nil},
	{"ClearGroupReadAccess of sue", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpClearGroupReadAccess, Actor: a, User: "sue"}
	}, nil},
	{"DefineRole rread as every privilege", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpDefineRole, Actor: a, CustomRole: "rread", Privileges: refmodel.Privileges}
	}, nil},
	// Site membership.
	{"RequestAccess admin on acme (for themselves)", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpRequestAccess, Actor: a, Account: "acme", SiteRole: refmodel.RoleAdmin}
	}, nil},
	{"Approve pia's admin request on acme", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpApprove, Actor: a, Account: "acme", User: "pia"}
	}, nil},
	{"Deny pia's admin request on acme", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpDeny, Actor: a, Account: "acme", User: "pia"}
	}, nil},
	{"Approve their own admin request on acme", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpApprove, Actor: a, Account: "acme", User: a}
	}, func(a string) []refmodel.Op {
		return []refmodel.Op{{Kind: refmodel.OpRequestAccess, Actor: a, Account: "acme", SiteRole: refmodel.RoleAdmin}}
	}},
	{"ChangeRole vic to admin on acme", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpChangeRole, Actor: a, Account: "acme", User: "vic", SiteRole: refmodel.RoleAdmin}
	}, nil},
	{"ChangeRole themselves to admin on acme", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpChangeRole, Actor: a, Account: "acme", User: a, SiteRole: refmodel.RoleAdmin}
	}, nil},
	{"ChangeRole ada (last admin) to viewer on acme", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpChangeRole, Actor: a, Account: "acme", User: "ada", SiteRole: refmodel.RoleViewer}
	}, nil},
	{"RemoveMember stan from acme", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpRemoveMember, Actor: a, Account: "acme", User: "stan"}
	}, nil},
	{"Leave acme", func(a string) refmodel.Op { return refmodel.Op{Kind: refmodel.OpLeave, Actor: a, Account: "acme"} }, nil},
	// Partner levels.
	{"GrantPartner full_admin on acme to themselves", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpGrantPartner, Actor: a, Account: "acme", Grantee: refmodel.Grantee{User: a}, Level: refmodel.LevelFullAdmin}
	}, nil},
	{"GrantPartner full_admin on acme to partner p_cc", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpGrantPartner, Actor: a, Account: "acme", Grantee: refmodel.Grantee{Partner: "p_cc"}, Level: refmodel.LevelFullAdmin}
	}, nil},
	{"RevokePartner p_look on acme", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpRevokePartner, Actor: a, Account: "acme", Grantee: refmodel.Grantee{Partner: "p_look"}}
	}, nil},
	{"RevokePartner i_full_admin on acme", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpRevokePartner, Actor: a, Account: "acme", Grantee: refmodel.Grantee{User: "i_full_admin"}}
	}, nil},
	{"RequestPartnerLevel full_admin on acme for p_update", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpRequestPartnerLevel, Actor: a, Account: "acme", Grantee: refmodel.Grantee{Partner: "p_update"}, Level: refmodel.LevelFullAdmin}
	}, nil},
	{"RequestPartnerLevel full_admin on acme for i_cc", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpRequestPartnerLevel, Actor: a, Account: "acme", Grantee: refmodel.Grantee{User: "i_cc"}, Level: refmodel.LevelFullAdmin}
	}, nil},
	{"ApprovePartnerRequest of p_update on acme", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpApprovePartnerRequest, Actor: a, Account: "acme", Grantee: refmodel.Grantee{Partner: "p_update"}}
	}, nil},
	{"DenyPartnerRequest of p_update on acme", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpDenyPartnerRequest, Actor: a, Account: "acme", Grantee: refmodel.Grantee{Partner: "p_update"}}
	}, nil},
	// Data access.
	{"LinkPartner p_full_admin to acme", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpLinkPartner, Actor: a, Account: "acme", Partner: "p_full_admin"}
	}, nil},
	{"UnlinkPartner p_look from acme", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpUnlinkPartner, Actor: a, Account: "acme", Partner: "p_look"}
	}, nil},
	{"SetSupportAccess off for p_look on acme", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpSetSupportAccess, Actor: a, Account: "acme", Partner: "p_look"}
	}, nil},
	{"SetVendorManage on for p_look on acme", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpSetVendorManage, Actor: a, Account: "acme", Partner: "p_look", On: true}
	}, nil},
	{"SetCustomerManage on for p_look on acme", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpSetCustomerManage, Actor: a, Account: "acme", Partner: "p_look", On: true}
	}, nil},
	// Cases.
	{"CreateCase on acme", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpCreateCase, Actor: a, Case: "x-" + a, Account: "acme"}
	}, nil},
	{"CreateCase on acme's sp1", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpCreateCase, Actor: a, Case: "x-" + a, Account: "acme", SoldProduct: "sp1"}
	}, nil},
	{"CreateCase on acme's ib1", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpCreateCase, Actor: a, Case: "x-" + a, Account: "acme", InstallBase: "ib1"}
	}, nil},
	{"CreateCase on other", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpCreateCase, Actor: a, Case: "x-" + a, Account: "other"}
	}, nil},
	{"CloseCase c_stan", func(a string) refmodel.Op { return refmodel.Op{Kind: refmodel.OpCloseCase, Actor: a, Case: "c_stan"} }, nil},
	{"CloseCase c_ib (names ib1)", func(a string) refmodel.Op { return refmodel.Op{Kind: refmodel.OpCloseCase, Actor: a, Case: "c_ib"} }, nil},
	{"ReopenCase c_closed", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpReopenCase, Actor: a, Case: "c_closed"}
	}, nil},
	{"AddCaseContact m_cc to c_stan", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpAddCaseContact, Actor: a, Case: "c_stan", User: "m_cc"}
	}, nil},
	{"AddCaseContact themselves to c_stan as primary", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpAddCaseContact, Actor: a, Case: "c_stan", User: a, On: true}
	}, nil},
	{"AddCaseContact themselves to c_other", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpAddCaseContact, Actor: a, Case: "c_other", User: a}
	}, nil},
	{"RemoveCaseContact m_look from c_stan", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpRemoveCaseContact, Actor: a, Case: "c_stan", User: "m_look"}
	}, nil},
	// Functional roles.
	{"AssignFunctionalRole case_authorized_contact on c_stan to themselves", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpAssignFunctionalRole, Actor: a, Object: refmodel.Case("c_stan"), FunctionalRole: "case_authorized_contact", Party: user(a)}
	}, nil},
	{"AssignFunctionalRole sold_product_authorized_contact on sp1 to themselves", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpAssignFunctionalRole, Actor: a, Object: refmodel.SoldProduct("sp1"), FunctionalRole: "sold_product_authorized_contact", Party: user(a)}
	}, nil},
	{"AssignFunctionalRole sold_product_authorized_consumer on sp1 to themselves", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpAssignFunctionalRole, Actor: a, Object: refmodel.SoldProduct("sp1"), FunctionalRole: "sold_product_authorized_consumer", Party: user(a)}
	}, nil},
	{"AssignFunctionalRole install_base_authorized_consumer on ib1 to themselves", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpAssignFunctionalRole, Actor: a, Object: refmodel.InstallBase("ib1"), FunctionalRole: "install_base_authorized_consumer", Party: user(a)}
	}, nil},
	{"AssignFunctionalRole install_base_authorized_account on ib1 to account other", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpAssignFunctionalRole, Actor: a, Object: refmodel.InstallBase("ib1"), FunctionalRole: "install_base_authorized_account", Party: refmodel.Account("other")}
	}, nil},
	{"AssignFunctionalRole sold_product_authorized_contact on sp1 to themselves", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpAssignFunctionalRole, Actor: a, Object: refmodel.SoldProduct("sp1"), FunctionalRole: "sold_product_authorized_contact", Party: user(a)}
	}, nil},
	{"AssignFunctionalRole install_base_authorized_contributor on ib1 to themselves", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpAssignFunctionalRole, Actor: a, Object: refmodel.InstallBase("ib1"), FunctionalRole: "install_base_authorized_contributor", Party: user(a)}
	}, nil},
	{"AssignFunctionalRole case_authorized_contributor on c_ib to themselves", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpAssignFunctionalRole, Actor: a, Object: refmodel.Case("c_ib"), FunctionalRole: "case_authorized_contributor", Party: user(a)}
	}, nil},
	{"AssignFunctionalRole install_base_service_organization on ib1 to so1", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpAssignFunctionalRole, Actor: a, Object: refmodel.InstallBase("ib1"), FunctionalRole: "install_base_service_organization", Party: refmodel.Object{Type: "service_org", ID: "so1"}}
	}, func(a string) []refmodel.Op {
		return []refmodel.Op{{Kind: refmodel.OpRemoveFunctionalRole, Actor: "ada", Object: refmodel.InstallBase("ib1"), FunctionalRole: "install_base_service_organization", Party: refmodel.Object{Type: "service_org", ID: "so1"}}}
	}},
	{"RemoveFunctionalRole sold_product_authorized_contact pat on sp1", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpRemoveFunctionalRole, Actor: a, Object: refmodel.SoldProduct("sp1"), FunctionalRole: "sold_product_authorized_contact", Party: user("pat")}
	}, nil},
	// Custom roles.
	{"BindRole rall on acme to themselves", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpBindRole, Actor: a, CustomRole: "rall", Object: refmodel.Account("acme"), Grantee: refmodel.Grantee{User: a}}
	}, nil},
	{"BindRole rall on sp1 to group grp", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpBindRole, Actor: a, CustomRole: "rall", Object: refmodel.SoldProduct("sp1"), Grantee: refmodel.Grantee{Group: "grp"}}
	}, nil},
	{"BindRole rall on ib1 to themselves", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpBindRole, Actor: a, CustomRole: "rall", Object: refmodel.InstallBase("ib1"), Grantee: refmodel.Grantee{User: a}}
	}, nil},
	{"UnbindRole rall on acme from rita", func(a string) refmodel.Op {
		return refmodel.Op{Kind: refmodel.OpUnbindRole, Actor: a, CustomRole: "rall", Object: refmodel.Account("acme"), Grantee: refmodel.Grantee{User: "rita"}}
	}, nil},
}

// rowResult is one row of the matrix: who succeeded, and any disagreement.
type rowResult struct {
	row                               string
	attempts, allowed, worlds         int
	allowedBy                         []string
	escalations, overRefusals, others []string
	err                               error
}

// runRow has every actor attempt the row's operation in turn, on the product and on the
// model in lockstep. Each attempt must meet the base world as far as the row is concerned:
// when an earlier success changed the world so that the model's answer for the next actor
// differs from its answer on the base world, the next actor starts from a freshly built
// world instead.
func runRow(ctx context.Context, row escalationRow) rowResult {
	res := rowResult{row: row.name}
	base := refmodel.NewWorld()
	for i, op := range escalationBase() {
		if r := base.Apply(op); r != refmodel.OK {
			res.err = fmt.Errorf("base op %d %s: the model says %s", i, op, r)
			return res
		}
	}
	prepared := func(w *refmodel.World, actor string) *refmodel.World {
		w = w.Clone()
		if row.prepare != nil {
			for _, op := range row.prepare(actor) {
				w.Apply(op)
			}
		}
		return w
	}
	var d *domain
	var m *refmodel.World
	defer func() {
		if d != nil {
			d.close()
		}
	}()
	fresh := func() error {
		if d != nil {
			d.close()
		}
		var err error
		if d, err = startDomain(ctx); err != nil {
			return err
		}
		m = refmodel.NewWorld()
		for i, op := range escalationBase() {
			if err := d.apply(op); err != nil {
				return fmt.Errorf("base op %d %s: %w", i, op, err)
			}
			m.Apply(op)
		}
		res.worlds++
		return nil
	}
	if res.err = fresh(); res.err != nil {
		return res
	}
	for _, a := range escalationActors {
		op := row.make(a.user)
		if prepared(m, a.user).Predict(op) != prepared(base, a.user).Predict(op) {
			if res.err = fresh(); res.err != nil {
				return res
			}
		}
		who := fmt.Sprintf("%s (%s)", a.user, a.kind)
		if row.prepare != nil {
			for _, p := range row.prepare(a.user) {
				err := d.apply(p)
				if got, want := classify(err), m.Apply(p); got != want {
					res.others = append(res.others, fmt.Sprintf("%s: preparing with %s: product %s (%v), model %s", who, p, got, err, want))
					return res
				}
			}
		}
		want := m.Predict(op)
		err := d.apply(op)
		got := classify(err)
		res.attempts++
		switch {
		case got == refmodel.OK && want != refmodel.OK:
			res.escalations = append(res.escalations, fmt.Sprintf("%s: %s succeeded; the model says %s", who, op, want))
			// The two sides differ from here on: start the next actor afresh.
			if res.err = fresh(); res.err != nil {
				return res
			}
			continue
		case got != refmodel.OK && want == refmodel.OK:
			res.overRefusals = append(res.overRefusals, fmt.Sprintf("%s: %s refused (%v); the model allows it", who, op, err))
			continue
		case got != want:
			res.others = append(res.others, fmt.Sprintf("%s: %s refused as %s (%v); the model says %s", who, op, got, err, want))
			continue
		}
		if got == refmodel.OK {
			res.allowed++
			res.allowedBy = append(res.allowedBy, a.user)
			m.Apply(op)
		}
	}
	return res
}

// TestEscalationMatrix has every kind of actor attempt every mutating domain operation on a
// target, and requires the product to allow exactly what the model allows: the contract's
// rules and the authorisation table of docs/model.md section 6.
func TestEscalationMatrix(t *testing.T) {
	ctx := context.Background()
	start := time.Now()
	results := make([]rowResult, len(escalationRows))
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, *flagParallel))
	for i, row := range escalationRows {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = runRow(ctx, row)
		}()
	}
	wg.Wait()
	attempts, allowed, escalations, over, others, worlds := 0, 0, 0, 0, 0, 0
	for _, r := range results {
		if r.err != nil {
			t.Errorf("%s: %v", r.row, r.err)
			continue
		}
		attempts += r.attempts
		worlds += r.worlds
		allowed += r.allowed
		escalations += len(r.escalations)
		over += len(r.overRefusals)
		others += len(r.others)
		t.Logf("%-72s allowed for: %s", r.row, strings.Join(r.allowedBy, ", "))
		for _, e := range r.escalations {
			t.Errorf("ESCALATION in %q: %s", r.row, e)
		}
		for _, e := range r.overRefusals {
			t.Errorf("over-refusal in %q: %s", r.row, e)
		}
		for _, e := range r.others {
			t.Errorf("different refusal in %q: %s", r.row, e)
		}
	}
	t.Logf("escalation matrix: %d actors x %d operations: %d attempts, %d allowed, %d refused, %d escalations, %d over-refusals, %d refusals of another kind (%d worlds built), in %s",
		len(escalationActors), len(escalationRows), attempts, allowed, attempts-allowed, escalations, over, others, worlds, time.Since(start).Round(time.Millisecond))
	if !slices.ContainsFunc(results, func(r rowResult) bool { return r.allowed > 0 }) {
		t.Error("no operation succeeded for anyone: the base world is broken")
	}
}
