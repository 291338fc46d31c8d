package client

import (
	"context"
	"iter"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/api"
	apiv1 "github.com/accessgraph/accessgraph/pkg/api/gen/accessgraph/v1"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

func token(r *apiv1.WriteResponse, err error) (access.Token, error) {
	if err != nil {
		return "", err
	}
	return access.Token(r.Token), nil
}

func actorOf(a access.Actor) (string, string) { return obj("user", a.User), a.Reason }

func objects(r *apiv1.ObjectsResponse, err error) ([]ref.Object, error) {
	if err != nil {
		return nil, err
	}
	var out []ref.Object
	for _, s := range r.Objects {
		out = append(out, looseObject(s))
	}
	return out, nil
}

func objectString(o ref.Object) string {
	if o.IsZero() {
		return ""
	}
	return o.String()
}

func subjectString(s ref.Subject) string {
	if s.Object.IsZero() && s.Relation == "" {
		return ""
	}
	return s.String()
}

func granteeString(g access.Grantee) string {
	if g == (access.Grantee{}) {
		return ""
	}
	return g.String()
}

func grantee(s string) access.Grantee {
	g, _ := access.ParseGrantee(s)
	return g
}

// Checks and lookups.

// Check answers "can subject do permission on resource".
func (c *Client) Check(ctx context.Context, subject ref.Subject, permission string, resource ref.Object, cons access.Consistency) (access.Decision, error) {
	r, err := call(ctx, c.access.Check, &apiv1.CheckRequest{
		Subject: subjectString(subject), Permission: permission, Resource: objectString(resource),
		Consistency: cons.Name(), Token: cons.Token(), At: c.atStamp(), AtRevision: string(c.at.Revision),
	})
	if err != nil {
		return access.Decision{}, err
	}
	return access.Decision{Allowed: r.Allowed, CheckedAt: access.Token(r.CheckedAt)}, nil
}

// CheckMany answers many checks in one round trip, in order; an item that fails is
// reported in its own error.
func (c *Client) CheckMany(ctx context.Context, items []access.CheckItem, cons access.Consistency) ([]access.Decision, []error, error) {
	req := &apiv1.CheckManyRequest{Consistency: cons.Name(), Token: cons.Token()}
	for _, it := range items {
		req.Items = append(req.Items, &apiv1.CheckItem{Subject: subjectString(it.Subject), Permission: it.Permission, Resource: objectString(it.Resource)})
	}
	r, err := call(ctx, c.access.CheckMany, req)
	if err != nil {
		return nil, nil, err
	}
	decisions, errs := make([]access.Decision, len(items)), make([]error, len(items))
	for i, res := range r.Results {
		if i >= len(items) {
			break
		}
		decisions[i] = access.Decision{Allowed: res.Allowed, CheckedAt: access.Token(res.CheckedAt)}
		if res.Error != nil {
			errs[i] = api.ItemError(res.Error.Reason, res.Error.Message)
		}
	}
	return decisions, errs, nil
}

// LookupResources lists every resource of a type on which subject has permission.
func (c *Client) LookupResources(ctx context.Context, subject ref.Subject, permission, resourceType string, cons access.Consistency) iter.Seq2[ref.Object, error] {
	return lazy(func() ([]ref.Object, error) {
		return objects(call(ctx, c.access.LookupResources, &apiv1.LookupResourcesRequest{
			Subject: subjectString(subject), Permission: permission, ResourceType: resourceType,
			Consistency: cons.Name(), Token: cons.Token(), At: c.atStamp(), AtRevision: string(c.at.Revision),
		}))
	})
}

// LookupSubjects lists every subject of a type holding permission on resource.
func (c *Client) LookupSubjects(ctx context.Context, resource ref.Object, permission, subjectType string, cons access.Consistency) iter.Seq2[ref.Object, error] {
	return lazy(func() ([]ref.Object, error) {
		return objects(call(ctx, c.access.LookupSubjects, &apiv1.LookupSubjectsRequest{
			Resource: objectString(resource), Permission: permission, SubjectType: subjectType,
			Consistency: cons.Name(), Token: cons.Token(), At: c.atStamp(), AtRevision: string(c.at.Revision),
		}))
	})
}

// Known reports whether the object exists.
func (c *Client) Known(ctx context.Context, o ref.Object, cons access.Consistency) (bool, error) {
	r, err := call(ctx, c.access.Known, &apiv1.KnownRequest{Object: objectString(o), Consistency: cons.Name(), Token: cons.Token(), At: c.atStamp(), AtRevision: string(c.at.Revision)})
	if err != nil {
		return false, err
	}
	return r.Known, nil
}

// Members and join requests.

// RequestAccess asks to join an account with a role.
func (c *Client) RequestAccess(ctx context.Context, actor access.Actor, supportID string, role access.Role) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.RequestAccess, &apiv1.RequestAccessRequest{Actor: a, Reason: why, Account: obj("account", supportID), Role: string(role)}))
}

// PendingRequests lists an account's pending join requests.
func (c *Client) PendingRequests(ctx context.Context, actor access.Actor, supportID string) ([]access.JoinRequest, error) {
	a, why := actorOf(actor)
	r, err := call(ctx, c.access.PendingRequests, &apiv1.PendingRequestsRequest{Actor: a, Reason: why, Account: obj("account", supportID)})
	if err != nil {
		return nil, err
	}
	var out []access.JoinRequest
	for _, jr := range r.Requests {
		out = append(out, access.JoinRequest{Account: idOf(jr.Account), User: idOf(jr.User), Role: access.Role(jr.Role), ExpiresAt: timeOf(jr.ExpiresAt)})
	}
	return out, nil
}

// Approvers lists who may decide a user's request on an account.
func (c *Client) Approvers(ctx context.Context, actor access.Actor, supportID, user string) ([]access.Approver, error) {
	a, why := actorOf(actor)
	r, err := call(ctx, c.access.Approvers, &apiv1.ApproversRequest{Actor: a, Reason: why, Account: obj("account", supportID), User: obj("user", user)})
	if err != nil {
		return nil, err
	}
	var out []access.Approver
	for _, ap := range r.Approvers {
		out = append(out, access.Approver{User: idOf(ap.User), Via: ap.Via})
	}
	return out, nil
}

// Approve approves a pending join request.
func (c *Client) Approve(ctx context.Context, actor access.Actor, supportID, user string) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.Approve, &apiv1.ApproveRequest{Actor: a, Reason: why, Account: obj("account", supportID), User: obj("user", user)}))
}

// Deny denies a pending join request.
func (c *Client) Deny(ctx context.Context, actor access.Actor, supportID, user string) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.Deny, &apiv1.DenyRequest{Actor: a, Reason: why, Account: obj("account", supportID), User: obj("user", user)}))
}

// ChangeRole changes a member's role.
func (c *Client) ChangeRole(ctx context.Context, actor access.Actor, supportID, user string, role access.Role) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.ChangeRole, &apiv1.ChangeRoleRequest{Actor: a, Reason: why, Account: obj("account", supportID), User: obj("user", user), Role: string(role)}))
}

// RemoveMember removes a member from an account.
func (c *Client) RemoveMember(ctx context.Context, actor access.Actor, supportID, user string) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.RemoveMember, &apiv1.RemoveMemberRequest{Actor: a, Reason: why, Account: obj("account", supportID), User: obj("user", user)}))
}

// Leave removes the acting user from an account.
func (c *Client) Leave(ctx context.Context, actor access.Actor, supportID string) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.Leave, &apiv1.LeaveRequest{Actor: a, Reason: why, Account: obj("account", supportID)}))
}

// Members lists an account's members.
func (c *Client) Members(ctx context.Context, actor access.Actor, supportID string) iter.Seq2[access.Member, error] {
	return lazy(func() ([]access.Member, error) {
		a, why := actorOf(actor)
		r, err := call(ctx, c.access.Members, &apiv1.MembersRequest{Actor: a, Reason: why, Account: obj("account", supportID)})
		if err != nil {
			return nil, err
		}
		var out []access.Member
		for _, m := range r.Members {
			out = append(out, access.Member{User: idOf(m.User), Role: access.Role(m.Role)})
		}
		return out, nil
	})
}

// Partners, grants and partner requests.

// CreatePartner creates a partner organisation, under parentID when not empty.
func (c *Client) CreatePartner(ctx context.Context, actor access.Actor, partnerID, parentID string) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.CreatePartner, &apiv1.CreatePartnerRequest{Actor: a, Reason: why, Partner: obj("partner", partnerID), Parent: obj("partner", parentID)}))
}

// AddPartnerMember adds a person to a partner organisation.
func (c *Client) AddPartnerMember(ctx context.Context, actor access.Actor, partnerID, user string) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.AddPartnerMember, &apiv1.PartnerMemberRequest{Actor: a, Reason: why, Partner: obj("partner", partnerID), User: obj("user", user)}))
}

// RemovePartnerMember removes a person from a partner organisation.
func (c *Client) RemovePartnerMember(ctx context.Context, actor access.Actor, partnerID, user string) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.RemovePartnerMember, &apiv1.PartnerMemberRequest{Actor: a, Reason: why, Partner: obj("partner", partnerID), User: obj("user", user)}))
}

// GrantPartner grants a partner organisation or an individual a level on an account.
func (c *Client) GrantPartner(ctx context.Context, actor access.Actor, supportID string, g access.Grantee, level access.Level, expiresAt time.Time) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.GrantPartner, &apiv1.GrantPartnerRequest{Actor: a, Reason: why, Account: obj("account", supportID), Grantee: granteeString(g), Level: string(level), ExpiresAt: timestamp(expiresAt)}))
}

// RevokePartner revokes a partner grant.
func (c *Client) RevokePartner(ctx context.Context, actor access.Actor, supportID string, g access.Grantee) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.RevokePartner, &apiv1.GranteeRequest{Actor: a, Reason: why, Account: obj("account", supportID), Grantee: granteeString(g)}))
}

// PartnerGrants lists an account's partner grants.
func (c *Client) PartnerGrants(ctx context.Context, actor access.Actor, supportID string) iter.Seq2[access.PartnerGrant, error] {
	return lazy(func() ([]access.PartnerGrant, error) {
		a, why := actorOf(actor)
		r, err := call(ctx, c.access.PartnerGrants, &apiv1.PartnerGrantsRequest{Actor: a, Reason: why, Account: obj("account", supportID)})
		if err != nil {
			return nil, err
		}
		var out []access.PartnerGrant
		for _, g := range r.Grants {
			out = append(out, access.PartnerGrant{Account: idOf(g.Account), Grantee: grantee(g.Grantee), Level: access.Level(g.Level), ExpiresAt: timeOf(g.ExpiresAt)})
		}
		return out, nil
	})
}

// RequestPartnerLevel asks for a partner level on an account.
func (c *Client) RequestPartnerLevel(ctx context.Context, actor access.Actor, supportID string, g access.Grantee, level access.Level) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.RequestPartnerLevel, &apiv1.RequestPartnerLevelRequest{Actor: a, Reason: why, Account: obj("account", supportID), Grantee: granteeString(g), Level: string(level)}))
}

// PendingPartnerRequests lists an account's pending partner requests.
func (c *Client) PendingPartnerRequests(ctx context.Context, actor access.Actor, supportID string) ([]access.PartnerRequest, error) {
	a, why := actorOf(actor)
	r, err := call(ctx, c.access.PendingPartnerRequests, &apiv1.PendingPartnerRequestsRequest{Actor: a, Reason: why, Account: obj("account", supportID)})
	if err != nil {
		return nil, err
	}
	var out []access.PartnerRequest
	for _, pr := range r.Requests {
		out = append(out, access.PartnerRequest{Account: idOf(pr.Account), Grantee: grantee(pr.Grantee), Level: access.Level(pr.Level), ExpiresAt: timeOf(pr.ExpiresAt)})
	}
	return out, nil
}

// ApprovePartnerRequest approves a pending partner request.
func (c *Client) ApprovePartnerRequest(ctx context.Context, actor access.Actor, supportID string, g access.Grantee) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.ApprovePartnerRequest, &apiv1.GranteeRequest{Actor: a, Reason: why, Account: obj("account", supportID), Grantee: granteeString(g)}))
}

// DenyPartnerRequest denies a pending partner request.
func (c *Client) DenyPartnerRequest(ctx context.Context, actor access.Actor, supportID string, g access.Grantee) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.DenyPartnerRequest, &apiv1.GranteeRequest{Actor: a, Reason: why, Account: obj("account", supportID), Grantee: granteeString(g)}))
}

// Partner data access.

func (c *Client) dataAccessRequest(actor access.Actor, supportID, partnerID string, enabled bool) *apiv1.DataAccessRequest {
	a, why := actorOf(actor)
	return &apiv1.DataAccessRequest{Actor: a, Reason: why, Account: obj("account", supportID), Partner: obj("partner", partnerID), Enabled: enabled}
}

// LinkPartner starts a data-access agreement between an account and a partner.
func (c *Client) LinkPartner(ctx context.Context, actor access.Actor, supportID, partnerID string) (access.Token, error) {
	return token(call(ctx, c.access.LinkPartner, c.dataAccessRequest(actor, supportID, partnerID, false)))
}

// UnlinkPartner ends a data-access agreement.
func (c *Client) UnlinkPartner(ctx context.Context, actor access.Actor, supportID, partnerID string) (access.Token, error) {
	return token(call(ctx, c.access.UnlinkPartner, c.dataAccessRequest(actor, supportID, partnerID, false)))
}

// SetSupportAccess turns a partner's support data access on or off.
func (c *Client) SetSupportAccess(ctx context.Context, actor access.Actor, supportID, partnerID string, enabled bool) (access.Token, error) {
	return token(call(ctx, c.access.SetSupportAccess, c.dataAccessRequest(actor, supportID, partnerID, enabled)))
}

// SetVendorManage turns the vendor's consent to partner management on or off.
func (c *Client) SetVendorManage(ctx context.Context, actor access.Actor, supportID, partnerID string, enabled bool) (access.Token, error) {
	return token(call(ctx, c.access.SetVendorManage, c.dataAccessRequest(actor, supportID, partnerID, enabled)))
}

// SetCustomerManage turns the customer's consent to partner management on or off.
func (c *Client) SetCustomerManage(ctx context.Context, actor access.Actor, supportID, partnerID string, enabled bool) (access.Token, error) {
	return token(call(ctx, c.access.SetCustomerManage, c.dataAccessRequest(actor, supportID, partnerID, enabled)))
}

// DataAccessAgreements lists an account's data-access agreements.
func (c *Client) DataAccessAgreements(ctx context.Context, actor access.Actor, supportID string) ([]access.DataAccess, error) {
	a, why := actorOf(actor)
	r, err := call(ctx, c.access.DataAccessAgreements, &apiv1.DataAccessAgreementsRequest{Actor: a, Reason: why, Account: obj("account", supportID)})
	if err != nil {
		return nil, err
	}
	var out []access.DataAccess
	for _, d := range r.Agreements {
		out = append(out, access.DataAccess{Account: idOf(d.Account), Partner: idOf(d.Partner), Support: d.Support, VendorManage: d.VendorManage, CustomerManage: d.CustomerManage})
	}
	return out, nil
}

// Groups and group read access.

// CreateGroup creates a group.
func (c *Client) CreateGroup(ctx context.Context, actor access.Actor, groupID string) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.CreateGroup, &apiv1.CreateGroupRequest{Actor: a, Reason: why, Group: obj("group", groupID)}))
}

// AddGroupMember adds a user to a group.
func (c *Client) AddGroupMember(ctx context.Context, actor access.Actor, groupID, user string) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.AddGroupMember, &apiv1.GroupMemberRequest{Actor: a, Reason: why, Group: obj("group", groupID), User: obj("user", user)}))
}

// RemoveGroupMember removes a user from a group.
func (c *Client) RemoveGroupMember(ctx context.Context, actor access.Actor, groupID, user string) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.RemoveGroupMember, &apiv1.GroupMemberRequest{Actor: a, Reason: why, Group: obj("group", groupID), User: obj("user", user)}))
}

// NestGroup makes child a member group of parent.
func (c *Client) NestGroup(ctx context.Context, actor access.Actor, childID, parentID string) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.NestGroup, &apiv1.NestGroupRequest{Actor: a, Reason: why, Child: obj("group", childID), Parent: obj("group", parentID)}))
}

// UnnestGroup undoes NestGroup.
func (c *Client) UnnestGroup(ctx context.Context, actor access.Actor, childID, parentID string) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.UnnestGroup, &apiv1.NestGroupRequest{Actor: a, Reason: why, Child: obj("group", childID), Parent: obj("group", parentID)}))
}

// SetGroupReadAccess gives a user read access to a group's cases.
func (c *Client) SetGroupReadAccess(ctx context.Context, actor access.Actor, user, groupID string) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.SetGroupReadAccess, &apiv1.SetGroupReadAccessRequest{Actor: a, Reason: why, User: obj("user", user), Group: obj("group", groupID)}))
}

// ClearGroupReadAccess takes a user's group read access away.
func (c *Client) ClearGroupReadAccess(ctx context.Context, actor access.Actor, user string) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.ClearGroupReadAccess, &apiv1.GroupReadAccessRequest{Actor: a, Reason: why, User: obj("user", user)}))
}

// GroupReadAccess returns the group whose cases a user reads, or "".
func (c *Client) GroupReadAccess(ctx context.Context, actor access.Actor, user string) (string, error) {
	a, why := actorOf(actor)
	r, err := call(ctx, c.access.GroupReadAccess, &apiv1.GroupReadAccessRequest{Actor: a, Reason: why, User: obj("user", user)})
	if err != nil {
		return "", err
	}
	return idOf(r.Group), nil
}

// Cases.

// CreateCase opens a case as the acting user.
func (c *Client) CreateCase(ctx context.Context, actor access.Actor, nc access.NewCase) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.CreateCase, &apiv1.CreateCaseRequest{
		Actor: a, Reason: why, Case: obj("case", nc.ID), Account: obj("account", nc.Account),
		SoldProduct: obj("sold_product", nc.SoldProduct), InstallBase: obj("install_base", nc.InstallBase),
	}))
}

// CloseCase closes a case.
func (c *Client) CloseCase(ctx context.Context, actor access.Actor, caseID string) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.CloseCase, &apiv1.CaseRequest{Actor: a, Reason: why, Case: obj("case", caseID)}))
}

// ReopenCase reopens a closed case.
func (c *Client) ReopenCase(ctx context.Context, actor access.Actor, caseID string) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.ReopenCase, &apiv1.CaseRequest{Actor: a, Reason: why, Case: obj("case", caseID)}))
}

// AddCaseContact adds a partner contact to a case.
func (c *Client) AddCaseContact(ctx context.Context, actor access.Actor, caseID, user string, primary bool) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.AddCaseContact, &apiv1.CaseContactRequest{Actor: a, Reason: why, Case: obj("case", caseID), User: obj("user", user), Primary: primary}))
}

// RemoveCaseContact removes a partner contact from a case.
func (c *Client) RemoveCaseContact(ctx context.Context, actor access.Actor, caseID, user string) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.RemoveCaseContact, &apiv1.CaseContactRequest{Actor: a, Reason: why, Case: obj("case", caseID), User: obj("user", user)}))
}

func (c *Client) userCases(ctx context.Context, rpc func(context.Context, *apiv1.UserCasesRequest) (*apiv1.ObjectsResponse, error), actor access.Actor, user string, status access.CaseStatus) iter.Seq2[ref.Object, error] {
	return lazy(func() ([]ref.Object, error) {
		a, why := actorOf(actor)
		return objects(rpc(ctx, &apiv1.UserCasesRequest{Actor: a, Reason: why, User: obj("user", user), Status: string(status)}))
	})
}

// VisibleCases lists the cases a user sees.
func (c *Client) VisibleCases(ctx context.Context, actor access.Actor, user string, status access.CaseStatus) iter.Seq2[ref.Object, error] {
	return c.userCases(ctx, func(ctx context.Context, r *apiv1.UserCasesRequest) (*apiv1.ObjectsResponse, error) {
		return call(ctx, c.access.VisibleCases, r)
	}, actor, user, status)
}

// GroupCases lists the cases a user sees through group read access.
func (c *Client) GroupCases(ctx context.Context, actor access.Actor, user string, status access.CaseStatus) iter.Seq2[ref.Object, error] {
	return c.userCases(ctx, func(ctx context.Context, r *apiv1.UserCasesRequest) (*apiv1.ObjectsResponse, error) {
		return call(ctx, c.access.GroupCases, r)
	}, actor, user, status)
}

// PartnerManagedCases lists an account's cases a partner manages.
func (c *Client) PartnerManagedCases(ctx context.Context, actor access.Actor, supportID string) iter.Seq2[ref.Object, error] {
	return lazy(func() ([]ref.Object, error) {
		a, why := actorOf(actor)
		return objects(call(ctx, c.access.PartnerManagedCases, &apiv1.PartnerManagedCasesRequest{Actor: a, Reason: why, Account: obj("account", supportID)}))
	})
}

// Products, service organisations and functional roles.

// CreateSoldProduct creates a sold product of an account.
func (c *Client) CreateSoldProduct(ctx context.Context, actor access.Actor, productID, supportID string) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.CreateSoldProduct, &apiv1.CreateSoldProductRequest{Actor: a, Reason: why, SoldProduct: obj("sold_product", productID), Account: obj("account", supportID)}))
}

// CreateInstallBase creates an install base item of an account's sold product.
func (c *Client) CreateInstallBase(ctx context.Context, actor access.Actor, itemID, supportID, soldProductID string) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.CreateInstallBase, &apiv1.CreateInstallBaseRequest{Actor: a, Reason: why, InstallBase: obj("install_base", itemID), Account: obj("account", supportID), SoldProduct: obj("sold_product", soldProductID)}))
}

// CreateServiceOrg creates a service organisation.
func (c *Client) CreateServiceOrg(ctx context.Context, actor access.Actor, orgID string) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.CreateServiceOrg, &apiv1.CreateServiceOrgRequest{Actor: a, Reason: why, ServiceOrg: obj("service_org", orgID)}))
}

// AddServiceOrgMember adds a person to a service organisation.
func (c *Client) AddServiceOrgMember(ctx context.Context, actor access.Actor, orgID, user string) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.AddServiceOrgMember, &apiv1.ServiceOrgMemberRequest{Actor: a, Reason: why, ServiceOrg: obj("service_org", orgID), User: obj("user", user)}))
}

// RemoveServiceOrgMember removes a person from a service organisation.
func (c *Client) RemoveServiceOrgMember(ctx context.Context, actor access.Actor, orgID, user string) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.RemoveServiceOrgMember, &apiv1.ServiceOrgMemberRequest{Actor: a, Reason: why, ServiceOrg: obj("service_org", orgID), User: obj("user", user)}))
}

// AssignFunctionalRole gives party a functional role on object.
func (c *Client) AssignFunctionalRole(ctx context.Context, actor access.Actor, object ref.Object, role access.FunctionalRole, party ref.Object) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.AssignFunctionalRole, &apiv1.FunctionalRoleRequest{Actor: a, Reason: why, Object: objectString(object), Role: role.Name, Party: objectString(party)}))
}

// RemoveFunctionalRole takes a functional role away.
func (c *Client) RemoveFunctionalRole(ctx context.Context, actor access.Actor, object ref.Object, role access.FunctionalRole, party ref.Object) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.RemoveFunctionalRole, &apiv1.FunctionalRoleRequest{Actor: a, Reason: why, Object: objectString(object), Role: role.Name, Party: objectString(party)}))
}

// RelatedParties lists the functional roles on an object.
func (c *Client) RelatedParties(ctx context.Context, actor access.Actor, object ref.Object) ([]access.RelatedParty, error) {
	a, why := actorOf(actor)
	r, err := call(ctx, c.access.RelatedParties, &apiv1.RelatedPartiesRequest{Actor: a, Reason: why, Object: objectString(object)})
	if err != nil {
		return nil, err
	}
	var out []access.RelatedParty
	for _, rp := range r.Parties {
		out = append(out, access.RelatedParty{Role: rp.Role, Party: looseObject(rp.Party)})
	}
	return out, nil
}

// Custom roles.

// DefineRole defines (or redefines) a custom role.
func (c *Client) DefineRole(ctx context.Context, actor access.Actor, roleID string, privileges []access.Privilege) (access.Token, error) {
	a, why := actorOf(actor)
	req := &apiv1.DefineRoleRequest{Actor: a, Reason: why, Role: roleID}
	for _, p := range privileges {
		req.Privileges = append(req.Privileges, string(p))
	}
	return token(call(ctx, c.access.DefineRole, req))
}

// RolePrivileges lists a custom role's privileges.
func (c *Client) RolePrivileges(ctx context.Context, roleID string) ([]access.Privilege, error) {
	r, err := call(ctx, c.access.RolePrivileges, &apiv1.RolePrivilegesRequest{Role: roleID})
	if err != nil {
		return nil, err
	}
	var out []access.Privilege
	for _, p := range r.Privileges {
		out = append(out, access.Privilege(p))
	}
	return out, nil
}

// CustomRoles lists the custom roles.
func (c *Client) CustomRoles(ctx context.Context) ([]string, error) {
	r, err := call(ctx, c.access.CustomRoles, &apiv1.CustomRolesRequest{})
	if err != nil {
		return nil, err
	}
	return r.Roles, nil
}

// BindRole binds a custom role on an object to a grantee.
func (c *Client) BindRole(ctx context.Context, actor access.Actor, roleID string, object ref.Object, g ref.Subject) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.BindRole, &apiv1.RoleBindingRequest{Actor: a, Reason: why, Role: roleID, Object: objectString(object), Grantee: subjectString(g)}))
}

// UnbindRole undoes BindRole.
func (c *Client) UnbindRole(ctx context.Context, actor access.Actor, roleID string, object ref.Object, g ref.Subject) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.UnbindRole, &apiv1.RoleBindingRequest{Actor: a, Reason: why, Role: roleID, Object: objectString(object), Grantee: subjectString(g)}))
}

// RoleBindings lists the custom role bindings on an object.
func (c *Client) RoleBindings(ctx context.Context, actor access.Actor, object ref.Object) ([]access.RoleBinding, error) {
	a, why := actorOf(actor)
	r, err := call(ctx, c.access.RoleBindings, &apiv1.RoleBindingsRequest{Actor: a, Reason: why, Object: objectString(object)})
	if err != nil {
		return nil, err
	}
	var out []access.RoleBinding
	for _, b := range r.Bindings {
		rb := access.RoleBinding{Role: b.Role, Object: looseObject(b.Object)}
		for _, g := range b.Grantees {
			rb.Grantees = append(rb.Grantees, looseSubject(g))
		}
		out = append(out, rb)
	}
	return out, nil
}

// The platform.

// Bootstrap makes the first platform administrator (operator keys only).
func (c *Client) Bootstrap(ctx context.Context, user string, reason string) (access.Token, error) {
	return token(call(ctx, c.access.Bootstrap, &apiv1.BootstrapRequest{User: obj("user", user), Reason: reason}))
}

// AddPlatformRole gives a user a platform role.
func (c *Client) AddPlatformRole(ctx context.Context, actor access.Actor, user string, role access.PlatformRole) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.AddPlatformRole, &apiv1.PlatformRoleRequest{Actor: a, Reason: why, User: obj("user", user), Role: string(role)}))
}

// RemovePlatformRole takes a platform role away.
func (c *Client) RemovePlatformRole(ctx context.Context, actor access.Actor, user string, role access.PlatformRole) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.RemovePlatformRole, &apiv1.PlatformRoleRequest{Actor: a, Reason: why, User: obj("user", user), Role: string(role)}))
}

// AddRolloutParticipant adds a user to a feature rollout.
func (c *Client) AddRolloutParticipant(ctx context.Context, actor access.Actor, feature, user string) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.AddRolloutParticipant, &apiv1.RolloutParticipantRequest{Actor: a, Reason: why, Feature: obj("feature", feature), User: obj("user", user)}))
}

// RemoveRolloutParticipant removes a user from a feature rollout.
func (c *Client) RemoveRolloutParticipant(ctx context.Context, actor access.Actor, feature, user string) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.RemoveRolloutParticipant, &apiv1.RolloutParticipantRequest{Actor: a, Reason: why, Feature: obj("feature", feature), User: obj("user", user)}))
}

// ReleaseToEveryone opens (or closes) a feature to every user.
func (c *Client) ReleaseToEveryone(ctx context.Context, actor access.Actor, feature string, open bool) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.ReleaseToEveryone, &apiv1.ReleaseToEveryoneRequest{Actor: a, Reason: why, Feature: obj("feature", feature), Open: open}))
}

// CreateAccount creates a customer account with its first administrator.
func (c *Client) CreateAccount(ctx context.Context, actor access.Actor, supportID, firstAdmin string) (access.Token, error) {
	a, why := actorOf(actor)
	return token(call(ctx, c.access.CreateAccount, &apiv1.CreateAccountRequest{Actor: a, Reason: why, Account: obj("account", supportID), FirstAdmin: obj("user", firstAdmin)}))
}
