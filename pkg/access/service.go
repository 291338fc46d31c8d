package access

import (
	"context"
	"iter"
	"time"

	"github.com/accessgraph/accessgraph/pkg/ref"
)

// Service is the domain API as an interface: *Client serves it in process, on an engine;
// pkg/client serves it over the network, from an access server (accessctl serve). A
// program written against Service switches between the two by changing one constructor;
// both return the same results and the same errors (errors.Is with this package's
// sentinels holds for either).
type Service interface {
	// Checks and lookups (checks.go, known.go).
	Check(ctx context.Context, subject ref.Subject, permission string, resource ref.Object, cons Consistency) (Decision, error)
	CheckMany(ctx context.Context, items []CheckItem, cons Consistency) ([]Decision, []error, error)
	LookupResources(ctx context.Context, subject ref.Subject, permission, resourceType string, cons Consistency) iter.Seq2[ref.Object, error]
	LookupSubjects(ctx context.Context, resource ref.Object, permission, subjectType string, cons Consistency) iter.Seq2[ref.Object, error]
	Known(ctx context.Context, o ref.Object, cons Consistency) (bool, error)

	// Members and join requests (members.go).
	RequestAccess(ctx context.Context, actor Actor, supportID string, role Role) (Token, error)
	PendingRequests(ctx context.Context, actor Actor, supportID string) ([]JoinRequest, error)
	Approvers(ctx context.Context, actor Actor, supportID, user string) ([]Approver, error)
	Approve(ctx context.Context, actor Actor, supportID, user string) (Token, error)
	Deny(ctx context.Context, actor Actor, supportID, user string) (Token, error)
	ChangeRole(ctx context.Context, actor Actor, supportID, user string, role Role) (Token, error)
	RemoveMember(ctx context.Context, actor Actor, supportID, user string) (Token, error)
	Leave(ctx context.Context, actor Actor, supportID string) (Token, error)
	Members(ctx context.Context, actor Actor, supportID string) iter.Seq2[Member, error]

	// Partners, grants and partner requests (partners.go).
	CreatePartner(ctx context.Context, actor Actor, partnerID, parentID string) (Token, error)
	AddPartnerMember(ctx context.Context, actor Actor, partnerID, user string) (Token, error)
	RemovePartnerMember(ctx context.Context, actor Actor, partnerID, user string) (Token, error)
	GrantPartner(ctx context.Context, actor Actor, supportID string, grantee Grantee, level Level, expiresAt time.Time) (Token, error)
	RevokePartner(ctx context.Context, actor Actor, supportID string, grantee Grantee) (Token, error)
	PartnerGrants(ctx context.Context, actor Actor, supportID string) iter.Seq2[PartnerGrant, error]
	RequestPartnerLevel(ctx context.Context, actor Actor, supportID string, grantee Grantee, level Level) (Token, error)
	PendingPartnerRequests(ctx context.Context, actor Actor, supportID string) ([]PartnerRequest, error)
	ApprovePartnerRequest(ctx context.Context, actor Actor, supportID string, grantee Grantee) (Token, error)
	DenyPartnerRequest(ctx context.Context, actor Actor, supportID string, grantee Grantee) (Token, error)

	// Partner data access (dataaccess.go).
	LinkPartner(ctx context.Context, actor Actor, supportID, partnerID string) (Token, error)
	UnlinkPartner(ctx context.Context, actor Actor, supportID, partnerID string) (Token, error)
	SetSupportAccess(ctx context.Context, actor Actor, supportID, partnerID string, enabled bool) (Token, error)
	SetVendorManage(ctx context.Context, actor Actor, supportID, partnerID string, enabled bool) (Token, error)
	SetCustomerManage(ctx context.Context, actor Actor, supportID, partnerID string, enabled bool) (Token, error)
	DataAccessAgreements(ctx context.Context, actor Actor, supportID string) ([]DataAccess, error)

	// Groups and group read access (groups.go).
	CreateGroup(ctx context.Context, actor Actor, groupID string) (Token, error)
	AddGroupMember(ctx context.Context, actor Actor, groupID, user string) (Token, error)
	RemoveGroupMember(ctx context.Context, actor Actor, groupID, user string) (Token, error)
	NestGroup(ctx context.Context, actor Actor, childID, parentID string) (Token, error)
	UnnestGroup(ctx context.Context, actor Actor, childID, parentID string) (Token, error)
	SetGroupReadAccess(ctx context.Context, actor Actor, user, groupID string) (Token, error)
	ClearGroupReadAccess(ctx context.Context, actor Actor, user string) (Token, error)
	GroupReadAccess(ctx context.Context, actor Actor, user string) (string, error)

	// Cases (cases.go).
	CreateCase(ctx context.Context, actor Actor, nc NewCase) (Token, error)
	CloseCase(ctx context.Context, actor Actor, caseID string) (Token, error)
	ReopenCase(ctx context.Context, actor Actor, caseID string) (Token, error)
	AddCaseContact(ctx context.Context, actor Actor, caseID, user string, primary bool) (Token, error)
	RemoveCaseContact(ctx context.Context, actor Actor, caseID, user string) (Token, error)
	VisibleCases(ctx context.Context, actor Actor, user string, status CaseStatus) iter.Seq2[ref.Object, error]
	GroupCases(ctx context.Context, actor Actor, user string, status CaseStatus) iter.Seq2[ref.Object, error]
	PartnerManagedCases(ctx context.Context, actor Actor, supportID string) iter.Seq2[ref.Object, error]

	// Products, service organisations and functional roles (products.go).
	CreateSoldProduct(ctx context.Context, actor Actor, productID, supportID string) (Token, error)
	CreateInstallBase(ctx context.Context, actor Actor, itemID, supportID, soldProductID string) (Token, error)
	CreateServiceOrg(ctx context.Context, actor Actor, orgID string) (Token, error)
	AddServiceOrgMember(ctx context.Context, actor Actor, orgID, user string) (Token, error)
	RemoveServiceOrgMember(ctx context.Context, actor Actor, orgID, user string) (Token, error)
	AssignFunctionalRole(ctx context.Context, actor Actor, object ref.Object, role FunctionalRole, party ref.Object) (Token, error)
	RemoveFunctionalRole(ctx context.Context, actor Actor, object ref.Object, role FunctionalRole, party ref.Object) (Token, error)
	RelatedParties(ctx context.Context, actor Actor, object ref.Object) ([]RelatedParty, error)

	// Custom roles (roles.go).
	DefineRole(ctx context.Context, actor Actor, roleID string, privileges []Privilege) (Token, error)
	RolePrivileges(ctx context.Context, roleID string) ([]Privilege, error)
	CustomRoles(ctx context.Context) ([]string, error)
	BindRole(ctx context.Context, actor Actor, roleID string, object ref.Object, grantee ref.Subject) (Token, error)
	UnbindRole(ctx context.Context, actor Actor, roleID string, object ref.Object, grantee ref.Subject) (Token, error)
	RoleBindings(ctx context.Context, actor Actor, object ref.Object) ([]RoleBinding, error)

	// The platform: staff roles, rollouts, accounts (platform.go).
	Bootstrap(ctx context.Context, user string, reason string) (Token, error)
	AddPlatformRole(ctx context.Context, actor Actor, user string, role PlatformRole) (Token, error)
	RemovePlatformRole(ctx context.Context, actor Actor, user string, role PlatformRole) (Token, error)
	AddRolloutParticipant(ctx context.Context, actor Actor, feature, user string) (Token, error)
	RemoveRolloutParticipant(ctx context.Context, actor Actor, feature, user string) (Token, error)
	ReleaseToEveryone(ctx context.Context, actor Actor, feature string, open bool) (Token, error)
	CreateAccount(ctx context.Context, actor Actor, supportID, firstAdmin string) (Token, error)
}

var _ Service = (*Client)(nil)
