package api

import (
	"context"

	"connectrpc.com/connect"

	"github.com/accessgraph/accessgraph/pkg/access"
	apiv1 "github.com/accessgraph/accessgraph/pkg/api/gen/accessgraph/v1"
	"github.com/accessgraph/accessgraph/pkg/api/gen/accessgraph/v1/apiv1connect"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// accessServer serves AccessService from an access.Service. Its handlers only translate:
// the interceptor has authenticated and authorised the call, and turns errors into the
// wire form.
type accessServer struct {
	svc     access.Service
	maxList int
	graphs  graphs
}

var _ apiv1connect.AccessServiceHandler = (*accessServer)(nil)

type (
	writeResp   = connect.Response[apiv1.WriteResponse]
	objectsResp = connect.Response[apiv1.ObjectsResponse]
)

// change runs a change once the request parsed.
func change(p *parser, do func() (access.Token, error)) (*writeResp, error) {
	if p.err != nil {
		return nil, p.err
	}
	tok, err := do()
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&apiv1.WriteResponse{Token: string(tok)}), nil
}

// answer runs a read once the request parsed and converts its result.
func answer[T, R any](p *parser, do func() (T, error), conv func(T) *R) (*connect.Response[R], error) {
	if p.err != nil {
		return nil, p.err
	}
	v, err := do()
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(conv(v)), nil
}

func (s *accessServer) objects(p *parser, do func() ([]ref.Object, error)) (*objectsResp, error) {
	return answer(p, do, func(objs []ref.Object) *apiv1.ObjectsResponse {
		return &apiv1.ObjectsResponse{Objects: objectStrings(objs)}
	})
}

// Checks and lookups.

func (s *accessServer) Check(ctx context.Context, r *connect.Request[apiv1.CheckRequest]) (*connect.Response[apiv1.CheckResponse], error) {
	m, p := r.Msg, &parser{}
	sub, res, cons := p.subject("subject", m.Subject), p.object("resource", m.Resource), p.consistency(m.Consistency, m.Token)
	if p.err != nil {
		return nil, p.err
	}
	svc, _, cons, done, err := s.graphs.at(ctx, m.At, m.AtRevision, cons)
	if err != nil {
		return nil, err
	}
	defer done()
	return answer(p, func() (access.Decision, error) { return svc.Check(ctx, sub, m.Permission, res, cons) },
		func(d access.Decision) *apiv1.CheckResponse {
			return &apiv1.CheckResponse{Allowed: d.Allowed, CheckedAt: string(d.CheckedAt)}
		})
}

// CheckMany reports an item that does not parse in its own error, as the domain layer does
// an item that does not validate, and checks the others.
func (s *accessServer) CheckMany(ctx context.Context, r *connect.Request[apiv1.CheckManyRequest]) (*connect.Response[apiv1.CheckManyResponse], error) {
	m, p := r.Msg, &parser{}
	cons := p.consistency(m.Consistency, m.Token)
	itemErrs := make([]error, len(m.Items))
	var items []access.CheckItem
	var index []int
	for i, it := range m.Items {
		ip := &parser{}
		item := access.CheckItem{Subject: ip.subject("subject", it.Subject), Permission: it.Permission, Resource: ip.object("resource", it.Resource)}
		if ip.err != nil {
			itemErrs[i] = ip.err
			continue
		}
		items = append(items, item)
		index = append(index, i)
	}
	type result struct {
		decisions []access.Decision
		errs      []error
	}
	return answer(p, func() (result, error) {
		ds, errs, err := s.svc.CheckMany(ctx, items, cons)
		return result{ds, errs}, err
	}, func(res result) *apiv1.CheckManyResponse {
		out := &apiv1.CheckManyResponse{Results: make([]*apiv1.CheckResult, len(m.Items))}
		for i := range out.Results {
			out.Results[i] = &apiv1.CheckResult{}
		}
		for j, d := range res.decisions {
			i := index[j]
			out.Results[i] = &apiv1.CheckResult{Allowed: d.Allowed, CheckedAt: string(d.CheckedAt)}
			if j < len(res.errs) && res.errs[j] != nil {
				itemErrs[i] = res.errs[j]
			}
		}
		for i, err := range itemErrs {
			if err != nil {
				reason, msg := wireError(err)
				out.Results[i].Error = &apiv1.Error{Reason: string(reason), Message: msg}
			}
		}
		return out
	})
}

func (s *accessServer) LookupResources(ctx context.Context, r *connect.Request[apiv1.LookupResourcesRequest]) (*objectsResp, error) {
	m, p := r.Msg, &parser{}
	sub, cons := p.subject("subject", m.Subject), p.consistency(m.Consistency, m.Token)
	if p.err != nil {
		return nil, p.err
	}
	svc, _, cons, done, err := s.graphs.at(ctx, m.At, m.AtRevision, cons)
	if err != nil {
		return nil, err
	}
	defer done()
	return s.objects(p, func() ([]ref.Object, error) {
		return collect(svc.LookupResources(ctx, sub, m.Permission, m.ResourceType, cons), s.maxList)
	})
}

func (s *accessServer) LookupSubjects(ctx context.Context, r *connect.Request[apiv1.LookupSubjectsRequest]) (*objectsResp, error) {
	m, p := r.Msg, &parser{}
	res, cons := p.object("resource", m.Resource), p.consistency(m.Consistency, m.Token)
	if p.err != nil {
		return nil, p.err
	}
	svc, _, cons, done, err := s.graphs.at(ctx, m.At, m.AtRevision, cons)
	if err != nil {
		return nil, err
	}
	defer done()
	return s.objects(p, func() ([]ref.Object, error) {
		return collect(svc.LookupSubjects(ctx, res, m.Permission, m.SubjectType, cons), s.maxList)
	})
}

func (s *accessServer) Known(ctx context.Context, r *connect.Request[apiv1.KnownRequest]) (*connect.Response[apiv1.KnownResponse], error) {
	m, p := r.Msg, &parser{}
	o, cons := p.object("object", m.Object), p.consistency(m.Consistency, m.Token)
	if p.err != nil {
		return nil, p.err
	}
	svc, _, cons, done, err := s.graphs.at(ctx, m.At, m.AtRevision, cons)
	if err != nil {
		return nil, err
	}
	defer done()
	return answer(p, func() (bool, error) { return svc.Known(ctx, o, cons) },
		func(k bool) *apiv1.KnownResponse { return &apiv1.KnownResponse{Known: k} })
}

// Members and join requests.

func (s *accessServer) RequestAccess(ctx context.Context, r *connect.Request[apiv1.RequestAccessRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, acct, role := p.actor(m), p.id("account", m.Account, "account"), p.role(m.Role)
	return change(p, func() (access.Token, error) { return s.svc.RequestAccess(ctx, a, acct, role) })
}

func (s *accessServer) PendingRequests(ctx context.Context, r *connect.Request[apiv1.PendingRequestsRequest]) (*connect.Response[apiv1.PendingRequestsResponse], error) {
	m, p := r.Msg, &parser{}
	a, acct := p.actor(m), p.id("account", m.Account, "account")
	return answer(p, func() ([]access.JoinRequest, error) { return s.svc.PendingRequests(ctx, a, acct) },
		func(reqs []access.JoinRequest) *apiv1.PendingRequestsResponse {
			out := &apiv1.PendingRequestsResponse{}
			for _, jr := range reqs {
				out.Requests = append(out.Requests, &apiv1.JoinRequest{Account: "account:" + jr.Account, User: "user:" + jr.User, Role: string(jr.Role), ExpiresAt: timestamp(jr.ExpiresAt)})
			}
			return out
		})
}

func (s *accessServer) Approvers(ctx context.Context, r *connect.Request[apiv1.ApproversRequest]) (*connect.Response[apiv1.ApproversResponse], error) {
	m, p := r.Msg, &parser{}
	a, acct, user := p.actor(m), p.id("account", m.Account, "account"), p.id("user", m.User, "user")
	return answer(p, func() ([]access.Approver, error) { return s.svc.Approvers(ctx, a, acct, user) },
		func(as []access.Approver) *apiv1.ApproversResponse {
			out := &apiv1.ApproversResponse{}
			for _, ap := range as {
				out.Approvers = append(out.Approvers, &apiv1.Approver{User: "user:" + ap.User, Via: ap.Via})
			}
			return out
		})
}

func (s *accessServer) Approve(ctx context.Context, r *connect.Request[apiv1.ApproveRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, acct, user := p.actor(m), p.id("account", m.Account, "account"), p.id("user", m.User, "user")
	return change(p, func() (access.Token, error) { return s.svc.Approve(ctx, a, acct, user) })
}

func (s *accessServer) Deny(ctx context.Context, r *connect.Request[apiv1.DenyRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, acct, user := p.actor(m), p.id("account", m.Account, "account"), p.id("user", m.User, "user")
	return change(p, func() (access.Token, error) { return s.svc.Deny(ctx, a, acct, user) })
}

func (s *accessServer) ChangeRole(ctx context.Context, r *connect.Request[apiv1.ChangeRoleRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, acct, user, role := p.actor(m), p.id("account", m.Account, "account"), p.id("user", m.User, "user"), p.role(m.Role)
	return change(p, func() (access.Token, error) { return s.svc.ChangeRole(ctx, a, acct, user, role) })
}

func (s *accessServer) RemoveMember(ctx context.Context, r *connect.Request[apiv1.RemoveMemberRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, acct, user := p.actor(m), p.id("account", m.Account, "account"), p.id("user", m.User, "user")
	return change(p, func() (access.Token, error) { return s.svc.RemoveMember(ctx, a, acct, user) })
}

func (s *accessServer) Leave(ctx context.Context, r *connect.Request[apiv1.LeaveRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, acct := p.actor(m), p.id("account", m.Account, "account")
	return change(p, func() (access.Token, error) { return s.svc.Leave(ctx, a, acct) })
}

func (s *accessServer) Members(ctx context.Context, r *connect.Request[apiv1.MembersRequest]) (*connect.Response[apiv1.MembersResponse], error) {
	m, p := r.Msg, &parser{}
	a, acct := p.actor(m), p.id("account", m.Account, "account")
	return answer(p, func() ([]access.Member, error) { return collect(s.svc.Members(ctx, a, acct), s.maxList) },
		func(ms []access.Member) *apiv1.MembersResponse {
			out := &apiv1.MembersResponse{}
			for _, mem := range ms {
				out.Members = append(out.Members, &apiv1.Member{User: "user:" + mem.User, Role: string(mem.Role)})
			}
			return out
		})
}

// Partners, grants and partner requests.

func (s *accessServer) CreatePartner(ctx context.Context, r *connect.Request[apiv1.CreatePartnerRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, partner, parent := p.actor(m), p.id("partner", m.Partner, "partner"), p.id("parent", m.Parent, "partner")
	return change(p, func() (access.Token, error) { return s.svc.CreatePartner(ctx, a, partner, parent) })
}

func (s *accessServer) AddPartnerMember(ctx context.Context, r *connect.Request[apiv1.PartnerMemberRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, partner, user := p.actor(m), p.id("partner", m.Partner, "partner"), p.id("user", m.User, "user")
	return change(p, func() (access.Token, error) { return s.svc.AddPartnerMember(ctx, a, partner, user) })
}

func (s *accessServer) RemovePartnerMember(ctx context.Context, r *connect.Request[apiv1.PartnerMemberRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, partner, user := p.actor(m), p.id("partner", m.Partner, "partner"), p.id("user", m.User, "user")
	return change(p, func() (access.Token, error) { return s.svc.RemovePartnerMember(ctx, a, partner, user) })
}

func (s *accessServer) GrantPartner(ctx context.Context, r *connect.Request[apiv1.GrantPartnerRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, acct, g, level := p.actor(m), p.id("account", m.Account, "account"), p.grantee(m.Grantee), p.level(m.Level)
	return change(p, func() (access.Token, error) {
		return s.svc.GrantPartner(ctx, a, acct, g, level, timeOf(m.ExpiresAt))
	})
}

func (s *accessServer) RevokePartner(ctx context.Context, r *connect.Request[apiv1.GranteeRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, acct, g := p.actor(m), p.id("account", m.Account, "account"), p.grantee(m.Grantee)
	return change(p, func() (access.Token, error) { return s.svc.RevokePartner(ctx, a, acct, g) })
}

func (s *accessServer) PartnerGrants(ctx context.Context, r *connect.Request[apiv1.PartnerGrantsRequest]) (*connect.Response[apiv1.PartnerGrantsResponse], error) {
	m, p := r.Msg, &parser{}
	a, acct := p.actor(m), p.id("account", m.Account, "account")
	return answer(p, func() ([]access.PartnerGrant, error) { return collect(s.svc.PartnerGrants(ctx, a, acct), s.maxList) },
		func(gs []access.PartnerGrant) *apiv1.PartnerGrantsResponse {
			out := &apiv1.PartnerGrantsResponse{}
			for _, g := range gs {
				out.Grants = append(out.Grants, &apiv1.PartnerGrant{Account: "account:" + g.Account, Grantee: g.Grantee.String(), Level: string(g.Level), ExpiresAt: timestamp(g.ExpiresAt)})
			}
			return out
		})
}

func (s *accessServer) RequestPartnerLevel(ctx context.Context, r *connect.Request[apiv1.RequestPartnerLevelRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, acct, g, level := p.actor(m), p.id("account", m.Account, "account"), p.grantee(m.Grantee), p.level(m.Level)
	return change(p, func() (access.Token, error) { return s.svc.RequestPartnerLevel(ctx, a, acct, g, level) })
}

func (s *accessServer) PendingPartnerRequests(ctx context.Context, r *connect.Request[apiv1.PendingPartnerRequestsRequest]) (*connect.Response[apiv1.PendingPartnerRequestsResponse], error) {
	m, p := r.Msg, &parser{}
	a, acct := p.actor(m), p.id("account", m.Account, "account")
	return answer(p, func() ([]access.PartnerRequest, error) { return s.svc.PendingPartnerRequests(ctx, a, acct) },
		func(reqs []access.PartnerRequest) *apiv1.PendingPartnerRequestsResponse {
			out := &apiv1.PendingPartnerRequestsResponse{}
			for _, pr := range reqs {
				out.Requests = append(out.Requests, &apiv1.PartnerRequest{Account: "account:" + pr.Account, Grantee: pr.Grantee.String(), Level: string(pr.Level), ExpiresAt: timestamp(pr.ExpiresAt)})
			}
			return out
		})
}

func (s *accessServer) ApprovePartnerRequest(ctx context.Context, r *connect.Request[apiv1.GranteeRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, acct, g := p.actor(m), p.id("account", m.Account, "account"), p.grantee(m.Grantee)
	return change(p, func() (access.Token, error) { return s.svc.ApprovePartnerRequest(ctx, a, acct, g) })
}

func (s *accessServer) DenyPartnerRequest(ctx context.Context, r *connect.Request[apiv1.GranteeRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, acct, g := p.actor(m), p.id("account", m.Account, "account"), p.grantee(m.Grantee)
	return change(p, func() (access.Token, error) { return s.svc.DenyPartnerRequest(ctx, a, acct, g) })
}

// Partner data access.

func (s *accessServer) dataAccess(r *connect.Request[apiv1.DataAccessRequest], do func(access.Actor, string, string, bool) (access.Token, error)) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, acct, partner := p.actor(m), p.id("account", m.Account, "account"), p.id("partner", m.Partner, "partner")
	return change(p, func() (access.Token, error) { return do(a, acct, partner, m.Enabled) })
}

func (s *accessServer) LinkPartner(ctx context.Context, r *connect.Request[apiv1.DataAccessRequest]) (*writeResp, error) {
	return s.dataAccess(r, func(a access.Actor, acct, partner string, _ bool) (access.Token, error) {
		return s.svc.LinkPartner(ctx, a, acct, partner)
	})
}

func (s *accessServer) UnlinkPartner(ctx context.Context, r *connect.Request[apiv1.DataAccessRequest]) (*writeResp, error) {
	return s.dataAccess(r, func(a access.Actor, acct, partner string, _ bool) (access.Token, error) {
		return s.svc.UnlinkPartner(ctx, a, acct, partner)
	})
}

func (s *accessServer) SetSupportAccess(ctx context.Context, r *connect.Request[apiv1.DataAccessRequest]) (*writeResp, error) {
	return s.dataAccess(r, func(a access.Actor, acct, partner string, on bool) (access.Token, error) {
		return s.svc.SetSupportAccess(ctx, a, acct, partner, on)
	})
}

func (s *accessServer) SetVendorManage(ctx context.Context, r *connect.Request[apiv1.DataAccessRequest]) (*writeResp, error) {
	return s.dataAccess(r, func(a access.Actor, acct, partner string, on bool) (access.Token, error) {
		return s.svc.SetVendorManage(ctx, a, acct, partner, on)
	})
}

func (s *accessServer) SetCustomerManage(ctx context.Context, r *connect.Request[apiv1.DataAccessRequest]) (*writeResp, error) {
	return s.dataAccess(r, func(a access.Actor, acct, partner string, on bool) (access.Token, error) {
		return s.svc.SetCustomerManage(ctx, a, acct, partner, on)
	})
}

func (s *accessServer) DataAccessAgreements(ctx context.Context, r *connect.Request[apiv1.DataAccessAgreementsRequest]) (*connect.Response[apiv1.DataAccessAgreementsResponse], error) {
	m, p := r.Msg, &parser{}
	a, acct := p.actor(m), p.id("account", m.Account, "account")
	return answer(p, func() ([]access.DataAccess, error) { return s.svc.DataAccessAgreements(ctx, a, acct) },
		func(das []access.DataAccess) *apiv1.DataAccessAgreementsResponse {
			out := &apiv1.DataAccessAgreementsResponse{}
			for _, d := range das {
				out.Agreements = append(out.Agreements, &apiv1.DataAccess{Account: "account:" + d.Account, Partner: "partner:" + d.Partner, Support: d.Support, VendorManage: d.VendorManage, CustomerManage: d.CustomerManage})
			}
			return out
		})
}

// Groups and group read access.

func (s *accessServer) CreateGroup(ctx context.Context, r *connect.Request[apiv1.CreateGroupRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, group := p.actor(m), p.id("group", m.Group, "group")
	return change(p, func() (access.Token, error) { return s.svc.CreateGroup(ctx, a, group) })
}

func (s *accessServer) AddGroupMember(ctx context.Context, r *connect.Request[apiv1.GroupMemberRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, group, user := p.actor(m), p.id("group", m.Group, "group"), p.id("user", m.User, "user")
	return change(p, func() (access.Token, error) { return s.svc.AddGroupMember(ctx, a, group, user) })
}

func (s *accessServer) RemoveGroupMember(ctx context.Context, r *connect.Request[apiv1.GroupMemberRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, group, user := p.actor(m), p.id("group", m.Group, "group"), p.id("user", m.User, "user")
	return change(p, func() (access.Token, error) { return s.svc.RemoveGroupMember(ctx, a, group, user) })
}

func (s *accessServer) NestGroup(ctx context.Context, r *connect.Request[apiv1.NestGroupRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, child, parent := p.actor(m), p.id("child", m.Child, "group"), p.id("parent", m.Parent, "group")
	return change(p, func() (access.Token, error) { return s.svc.NestGroup(ctx, a, child, parent) })
}

func (s *accessServer) UnnestGroup(ctx context.Context, r *connect.Request[apiv1.NestGroupRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, child, parent := p.actor(m), p.id("child", m.Child, "group"), p.id("parent", m.Parent, "group")
	return change(p, func() (access.Token, error) { return s.svc.UnnestGroup(ctx, a, child, parent) })
}

func (s *accessServer) SetGroupReadAccess(ctx context.Context, r *connect.Request[apiv1.SetGroupReadAccessRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, user, group := p.actor(m), p.id("user", m.User, "user"), p.id("group", m.Group, "group")
	return change(p, func() (access.Token, error) { return s.svc.SetGroupReadAccess(ctx, a, user, group) })
}

func (s *accessServer) ClearGroupReadAccess(ctx context.Context, r *connect.Request[apiv1.GroupReadAccessRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, user := p.actor(m), p.id("user", m.User, "user")
	return change(p, func() (access.Token, error) { return s.svc.ClearGroupReadAccess(ctx, a, user) })
}

func (s *accessServer) GroupReadAccess(ctx context.Context, r *connect.Request[apiv1.GroupReadAccessRequest]) (*connect.Response[apiv1.GroupReadAccessResponse], error) {
	m, p := r.Msg, &parser{}
	a, user := p.actor(m), p.id("user", m.User, "user")
	return answer(p, func() (string, error) { return s.svc.GroupReadAccess(ctx, a, user) },
		func(group string) *apiv1.GroupReadAccessResponse {
			if group == "" {
				return &apiv1.GroupReadAccessResponse{}
			}
			return &apiv1.GroupReadAccessResponse{Group: "group:" + group}
		})
}

// Cases.

func (s *accessServer) CreateCase(ctx context.Context, r *connect.Request[apiv1.CreateCaseRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a := p.actor(m)
	nc := access.NewCase{
		ID:          p.id("case", m.Case, "case"),
		Account:     p.id("account", m.Account, "account"),
		SoldProduct: p.id("sold_product", m.SoldProduct, "sold_product"),
		InstallBase: p.id("install_base", m.InstallBase, "install_base"),
	}
	return change(p, func() (access.Token, error) { return s.svc.CreateCase(ctx, a, nc) })
}

func (s *accessServer) CloseCase(ctx context.Context, r *connect.Request[apiv1.CaseRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, id := p.actor(m), p.id("case", m.Case, "case")
	return change(p, func() (access.Token, error) { return s.svc.CloseCase(ctx, a, id) })
}

func (s *accessServer) ReopenCase(ctx context.Context, r *connect.Request[apiv1.CaseRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, id := p.actor(m), p.id("case", m.Case, "case")
	return change(p, func() (access.Token, error) { return s.svc.ReopenCase(ctx, a, id) })
}

func (s *accessServer) AddCaseContact(ctx context.Context, r *connect.Request[apiv1.CaseContactRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, id, user := p.actor(m), p.id("case", m.Case, "case"), p.id("user", m.User, "user")
	return change(p, func() (access.Token, error) { return s.svc.AddCaseContact(ctx, a, id, user, m.Primary) })
}

func (s *accessServer) RemoveCaseContact(ctx context.Context, r *connect.Request[apiv1.CaseContactRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, id, user := p.actor(m), p.id("case", m.Case, "case"), p.id("user", m.User, "user")
	return change(p, func() (access.Token, error) { return s.svc.RemoveCaseContact(ctx, a, id, user) })
}

func (s *accessServer) VisibleCases(ctx context.Context, r *connect.Request[apiv1.UserCasesRequest]) (*objectsResp, error) {
	m, p := r.Msg, &parser{}
	a, user, status := p.actor(m), p.id("user", m.User, "user"), p.status(m.Status)
	return s.objects(p, func() ([]ref.Object, error) {
		return collect(s.svc.VisibleCases(ctx, a, user, status), s.maxList)
	})
}

func (s *accessServer) GroupCases(ctx context.Context, r *connect.Request[apiv1.UserCasesRequest]) (*objectsResp, error) {
	m, p := r.Msg, &parser{}
	a, user, status := p.actor(m), p.id("user", m.User, "user"), p.status(m.Status)
	return s.objects(p, func() ([]ref.Object, error) {
		return collect(s.svc.GroupCases(ctx, a, user, status), s.maxList)
	})
}

func (s *accessServer) PartnerManagedCases(ctx context.Context, r *connect.Request[apiv1.PartnerManagedCasesRequest]) (*objectsResp, error) {
	m, p := r.Msg, &parser{}
	a, acct := p.actor(m), p.id("account", m.Account, "account")
	return s.objects(p, func() ([]ref.Object, error) {
		return collect(s.svc.PartnerManagedCases(ctx, a, acct), s.maxList)
	})
}

// Products, service organisations and functional roles.

func (s *accessServer) CreateSoldProduct(ctx context.Context, r *connect.Request[apiv1.CreateSoldProductRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, prod, acct := p.actor(m), p.id("sold_product", m.SoldProduct, "sold_product"), p.id("account", m.Account, "account")
	return change(p, func() (access.Token, error) { return s.svc.CreateSoldProduct(ctx, a, prod, acct) })
}

func (s *accessServer) CreateInstallBase(ctx context.Context, r *connect.Request[apiv1.CreateInstallBaseRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, item := p.actor(m), p.id("install_base", m.InstallBase, "install_base")
	acct, prod := p.id("account", m.Account, "account"), p.id("sold_product", m.SoldProduct, "sold_product")
	return change(p, func() (access.Token, error) { return s.svc.CreateInstallBase(ctx, a, item, acct, prod) })
}

func (s *accessServer) CreateServiceOrg(ctx context.Context, r *connect.Request[apiv1.CreateServiceOrgRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, org := p.actor(m), p.id("service_org", m.ServiceOrg, "service_org")
	return change(p, func() (access.Token, error) { return s.svc.CreateServiceOrg(ctx, a, org) })
}

func (s *accessServer) AddServiceOrgMember(ctx context.Context, r *connect.Request[apiv1.ServiceOrgMemberRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, org, user := p.actor(m), p.id("service_org", m.ServiceOrg, "service_org"), p.id("user", m.User, "user")
	return change(p, func() (access.Token, error) { return s.svc.AddServiceOrgMember(ctx, a, org, user) })
}

func (s *accessServer) RemoveServiceOrgMember(ctx context.Context, r *connect.Request[apiv1.ServiceOrgMemberRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, org, user := p.actor(m), p.id("service_org", m.ServiceOrg, "service_org"), p.id("user", m.User, "user")
	return change(p, func() (access.Token, error) { return s.svc.RemoveServiceOrgMember(ctx, a, org, user) })
}

func (s *accessServer) AssignFunctionalRole(ctx context.Context, r *connect.Request[apiv1.FunctionalRoleRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, obj, role, party := p.actor(m), p.object("object", m.Object), p.functionalRole(m.Role), p.object("party", m.Party)
	return change(p, func() (access.Token, error) { return s.svc.AssignFunctionalRole(ctx, a, obj, role, party) })
}

func (s *accessServer) RemoveFunctionalRole(ctx context.Context, r *connect.Request[apiv1.FunctionalRoleRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, obj, role, party := p.actor(m), p.object("object", m.Object), p.functionalRole(m.Role), p.object("party", m.Party)
	return change(p, func() (access.Token, error) { return s.svc.RemoveFunctionalRole(ctx, a, obj, role, party) })
}

func (s *accessServer) RelatedParties(ctx context.Context, r *connect.Request[apiv1.RelatedPartiesRequest]) (*connect.Response[apiv1.RelatedPartiesResponse], error) {
	m, p := r.Msg, &parser{}
	a, obj := p.actor(m), p.object("object", m.Object)
	return answer(p, func() ([]access.RelatedParty, error) { return s.svc.RelatedParties(ctx, a, obj) },
		func(rps []access.RelatedParty) *apiv1.RelatedPartiesResponse {
			out := &apiv1.RelatedPartiesResponse{}
			for _, rp := range rps {
				out.Parties = append(out.Parties, &apiv1.RelatedParty{Role: rp.Role, Party: rp.Party.String()})
			}
			return out
		})
}

// Custom roles.

func (s *accessServer) DefineRole(ctx context.Context, r *connect.Request[apiv1.DefineRoleRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, privs := p.actor(m), p.privileges(m.Privileges)
	return change(p, func() (access.Token, error) { return s.svc.DefineRole(ctx, a, m.Role, privs) })
}

func (s *accessServer) RolePrivileges(ctx context.Context, r *connect.Request[apiv1.RolePrivilegesRequest]) (*connect.Response[apiv1.RolePrivilegesResponse], error) {
	return answer(&parser{}, func() ([]access.Privilege, error) { return s.svc.RolePrivileges(ctx, r.Msg.Role) },
		func(privs []access.Privilege) *apiv1.RolePrivilegesResponse {
			out := &apiv1.RolePrivilegesResponse{}
			for _, pr := range privs {
				out.Privileges = append(out.Privileges, string(pr))
			}
			return out
		})
}

func (s *accessServer) CustomRoles(ctx context.Context, _ *connect.Request[apiv1.CustomRolesRequest]) (*connect.Response[apiv1.CustomRolesResponse], error) {
	return answer(&parser{}, func() ([]string, error) { return s.svc.CustomRoles(ctx) },
		func(roles []string) *apiv1.CustomRolesResponse { return &apiv1.CustomRolesResponse{Roles: roles} })
}

func (s *accessServer) BindRole(ctx context.Context, r *connect.Request[apiv1.RoleBindingRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, obj, grantee := p.actor(m), p.object("object", m.Object), p.subject("grantee", m.Grantee)
	return change(p, func() (access.Token, error) { return s.svc.BindRole(ctx, a, m.Role, obj, grantee) })
}

func (s *accessServer) UnbindRole(ctx context.Context, r *connect.Request[apiv1.RoleBindingRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, obj, grantee := p.actor(m), p.object("object", m.Object), p.subject("grantee", m.Grantee)
	return change(p, func() (access.Token, error) { return s.svc.UnbindRole(ctx, a, m.Role, obj, grantee) })
}

func (s *accessServer) RoleBindings(ctx context.Context, r *connect.Request[apiv1.RoleBindingsRequest]) (*connect.Response[apiv1.RoleBindingsResponse], error) {
	m, p := r.Msg, &parser{}
	a, obj := p.actor(m), p.object("object", m.Object)
	return answer(p, func() ([]access.RoleBinding, error) { return s.svc.RoleBindings(ctx, a, obj) },
		func(rbs []access.RoleBinding) *apiv1.RoleBindingsResponse {
			out := &apiv1.RoleBindingsResponse{}
			for _, rb := range rbs {
				b := &apiv1.RoleBinding{Role: rb.Role, Object: rb.Object.String()}
				for _, g := range rb.Grantees {
					b.Grantees = append(b.Grantees, g.String())
				}
				out.Bindings = append(out.Bindings, b)
			}
			return out
		})
}

// The platform.

func (s *accessServer) Bootstrap(ctx context.Context, r *connect.Request[apiv1.BootstrapRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	user := p.id("user", m.User, "user")
	return change(p, func() (access.Token, error) { return s.svc.Bootstrap(ctx, user, m.Reason) })
}

func (s *accessServer) AddPlatformRole(ctx context.Context, r *connect.Request[apiv1.PlatformRoleRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, user := p.actor(m), p.id("user", m.User, "user")
	return change(p, func() (access.Token, error) {
		return s.svc.AddPlatformRole(ctx, a, user, access.PlatformRole(m.Role))
	})
}

func (s *accessServer) RemovePlatformRole(ctx context.Context, r *connect.Request[apiv1.PlatformRoleRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, user := p.actor(m), p.id("user", m.User, "user")
	return change(p, func() (access.Token, error) {
		return s.svc.RemovePlatformRole(ctx, a, user, access.PlatformRole(m.Role))
	})
}

func (s *accessServer) AddRolloutParticipant(ctx context.Context, r *connect.Request[apiv1.RolloutParticipantRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, feature, user := p.actor(m), p.id("feature", m.Feature, "feature"), p.id("user", m.User, "user")
	return change(p, func() (access.Token, error) { return s.svc.AddRolloutParticipant(ctx, a, feature, user) })
}

func (s *accessServer) RemoveRolloutParticipant(ctx context.Context, r *connect.Request[apiv1.RolloutParticipantRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, feature, user := p.actor(m), p.id("feature", m.Feature, "feature"), p.id("user", m.User, "user")
	return change(p, func() (access.Token, error) { return s.svc.RemoveRolloutParticipant(ctx, a, feature, user) })
}

func (s *accessServer) ReleaseToEveryone(ctx context.Context, r *connect.Request[apiv1.ReleaseToEveryoneRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, feature := p.actor(m), p.id("feature", m.Feature, "feature")
	return change(p, func() (access.Token, error) { return s.svc.ReleaseToEveryone(ctx, a, feature, m.Open) })
}

func (s *accessServer) CreateAccount(ctx context.Context, r *connect.Request[apiv1.CreateAccountRequest]) (*writeResp, error) {
	m, p := r.Msg, &parser{}
	a, acct, admin := p.actor(m), p.id("account", m.Account, "account"), p.id("first_admin", m.FirstAdmin, "user")
	return change(p, func() (access.Token, error) { return s.svc.CreateAccount(ctx, a, acct, admin) })
}
