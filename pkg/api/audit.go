package api

import (
	"context"
	"fmt"
	"iter"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/accessgraph/accessgraph/pkg/access"
	apiv1 "github.com/accessgraph/accessgraph/pkg/api/gen/accessgraph/v1"
	"github.com/accessgraph/accessgraph/pkg/api/gen/accessgraph/v1/apiv1connect"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/auditlog"
)

// auditServer serves AuditService from an audit.Service.
type auditServer struct {
	svc     audit.Service
	maxList int
	graphs  graphs
}

var _ apiv1connect.AuditServiceHandler = (*auditServer)(nil)

func (s *auditServer) Explain(ctx context.Context, r *connect.Request[apiv1.ExplainRequest]) (*connect.Response[apiv1.Explanation], error) {
	m, p := r.Msg, &parser{}
	sub, res, cons := p.subject("subject", m.Subject), p.object("resource", m.Resource), p.consistency(m.Consistency, m.Token)
	if p.err != nil {
		return nil, p.err
	}
	_, svc, cons, done, err := s.graphs.at(ctx, m.At, m.AtRevision, cons)
	if err != nil {
		return nil, err
	}
	defer done()
	return answer(p, func() (audit.Explanation, error) { return svc.Explain(ctx, sub, m.Permission, res, cons) },
		func(e audit.Explanation) *apiv1.Explanation {
			out := &apiv1.Explanation{
				Subject: e.Subject.String(), Permission: e.Permission, Resource: e.Resource.String(),
				Allowed: e.Allowed, CheckedAt: string(e.CheckedAt), Paths: pathsOut(e.Paths),
				Combine: e.Combine, Truncated: e.Truncated,
			}
			for _, w := range e.Ways {
				out.Ways = append(out.Ways, &apiv1.Way{Expression: w.Expression, Description: w.Description, Status: string(w.Status), Details: w.Details})
			}
			return out
		})
}

func pathsOut(paths []audit.Path) []*apiv1.Path {
	var out []*apiv1.Path
	for _, p := range paths {
		out = append(out, &apiv1.Path{Kind: string(p.Kind), Text: p.Text, Relationships: p.Relationships})
	}
	return out
}

func (s *auditServer) Expand(ctx context.Context, r *connect.Request[apiv1.ExpandRequest]) (*connect.Response[apiv1.Tree], error) {
	m, p := r.Msg, &parser{}
	res := p.object("resource", m.Resource)
	if p.err != nil {
		return nil, p.err
	}
	_, svc, _, done, err := s.graphs.at(ctx, m.At, m.AtRevision, access.Full())
	if err != nil {
		return nil, err
	}
	defer done()
	return answer(p, func() (audit.Tree, error) { return svc.Expand(ctx, res, m.Permission) },
		func(t audit.Tree) *apiv1.Tree {
			return &apiv1.Tree{Resource: t.Resource.String(), Permission: t.Permission, ExpandedAt: string(t.ExpandedAt), Root: nodeOut(t.Root)}
		})
}

func nodeOut(n *audit.Node) *apiv1.Node {
	if n == nil {
		return nil
	}
	out := &apiv1.Node{Kind: string(n.Kind), Object: n.Object.String(), Relation: n.Relation, Cycle: n.Cycle, Truncated: n.Truncated}
	for _, c := range n.Children {
		out.Children = append(out.Children, nodeOut(c))
	}
	return out
}

func (s *auditServer) WhoCan(ctx context.Context, r *connect.Request[apiv1.WhoCanRequest]) (*connect.Response[apiv1.WhoCanResponse], error) {
	m, p := r.Msg, &parser{}
	res := p.object("resource", m.Resource)
	if p.err != nil {
		return nil, p.err
	}
	_, svc, _, done, err := s.graphs.at(ctx, m.At, m.AtRevision, access.Full())
	if err != nil {
		return nil, err
	}
	defer done()
	return answer(p, func() ([]audit.Holder, error) { return collect(svc.WhoCan(ctx, res, m.Permission), s.maxList) },
		func(hs []audit.Holder) *apiv1.WhoCanResponse {
			out := &apiv1.WhoCanResponse{}
			for _, h := range hs {
				wh := &apiv1.Holder{User: h.User, Except: h.Except, Paths: pathsOut(h.Paths), Truncated: h.Truncated}
				for _, k := range h.Kinds {
					wh.Kinds = append(wh.Kinds, string(k))
				}
				out.Holders = append(out.Holders, wh)
			}
			return out
		})
}

func (s *auditServer) AccessReview(ctx context.Context, r *connect.Request[apiv1.AccessReviewRequest]) (*connect.Response[apiv1.Review], error) {
	m, p := r.Msg, &parser{}
	a, acct := p.actor(m), p.id("account", m.Account, "account")
	opts := audit.ReviewOptions{ExpiringWithin: time.Duration(m.ExpiringWithinSeconds) * time.Second}
	if p.err != nil {
		return nil, p.err
	}
	_, svc, _, done, err := s.graphs.at(ctx, m.At, m.AtRevision, access.Full())
	if err != nil {
		return nil, err
	}
	defer done()
	return answer(p, func() (audit.Review, error) { return svc.AccessReview(ctx, a, acct, opts) }, reviewOut)
}

func reviewOut(rv audit.Review) *apiv1.Review {
	out := &apiv1.Review{Account: rv.Account, ReviewedAt: string(rv.ReviewedAt), GeneratedAt: timestamp(rv.GeneratedAt), CustomerCare: rv.CustomerCare}
	for _, mem := range rv.Members {
		out.Members = append(out.Members, &apiv1.MemberAccess{User: mem.User, Role: string(mem.Role)})
	}
	grants := func(gs []audit.GrantAccess) []*apiv1.GrantAccess {
		var out []*apiv1.GrantAccess
		for _, g := range gs {
			out = append(out, &apiv1.GrantAccess{Grantee: g.Grantee, Kind: g.Kind, Level: string(g.Level), ExpiresAt: timestamp(g.ExpiresAt), Members: g.Members})
		}
		return out
	}
	out.Partners, out.VendorStaff = grants(rv.Partners), grants(rv.VendorStaff)
	for _, d := range rv.DataAccess {
		out.DataAccess = append(out.DataAccess, &apiv1.DataAccessEntry{Partner: d.Partner, Support: d.Support, VendorManage: d.VendorManage, CustomerManage: d.CustomerManage, Manage: d.Manage, Members: d.Members})
	}
	for _, sc := range rv.SuperCustomers {
		out.SuperCustomers = append(out.SuperCustomers, &apiv1.SuperCustomer{User: sc.User, Group: sc.Group, Reporters: sc.Reporters, Cases: sc.Cases})
	}
	for _, rp := range rv.RelatedParties {
		out.RelatedParties = append(out.RelatedParties, &apiv1.RelatedPartyEntry{Object: rp.Object, Role: rp.Role, Party: rp.Party, Members: rp.Members})
	}
	for _, rb := range rv.CustomRoles {
		out.CustomRoles = append(out.CustomRoles, &apiv1.RoleBindingEntry{Object: rb.Object, Role: rb.Role, Privileges: rb.Privileges, Grantees: rb.Grantees})
	}
	for _, f := range rv.Flags {
		out.Flags = append(out.Flags, &apiv1.Flag{Kind: string(f.Kind), Subject: f.Subject, Message: f.Message})
	}
	return out
}

// defaultHistoryPage is how many changes a history response holds when the request does
// not say.
const defaultHistoryPage = 1000

// historyPage is one page of history and where the next starts ("" after the last).
type historyPage struct {
	changes []audit.Change
	next    string
}

func (s *auditServer) History(ctx context.Context, r *connect.Request[apiv1.HistoryRequest]) (*connect.Response[apiv1.HistoryResponse], error) {
	m, p := r.Msg, &parser{}
	size := int(m.PageSize)
	switch {
	case size == 0:
		size = min(defaultHistoryPage, s.maxList)
	case size < 0 || size > s.maxList:
		return nil, fmt.Errorf("%w: page_size %d: from 1 to %d", access.ErrInvalidArgument, m.PageSize, s.maxList)
	}
	since := m.Since
	if m.PageToken != "" {
		// A page token is the revision of the last change the previous page held.
		since = m.PageToken
	}
	filter := audit.HistoryFilter{Object: p.object("object", m.Object), Account: p.object("account", m.Account), Actor: m.ChangedBy, Principal: m.Principal, Since: access.Token(since),
		Operation: m.Operation, From: timeOf(m.From), To: timeOf(m.To)}
	return answer(p, func() (historyPage, error) { return pageOf(s.svc.History(ctx, filter), size) },
		func(pg historyPage) *apiv1.HistoryResponse {
			out := &apiv1.HistoryResponse{NextPageToken: pg.next}
			for _, c := range pg.changes {
				wc := &apiv1.Change{
					Revision: string(c.Revision), Time: timestamp(c.Time), TimeFromRevision: c.TimeFromRevision,
					Actor: c.Actor, Reason: c.Reason, Operation: c.Operation,
					Principal: c.Principal, ClaimedActor: c.ClaimedActor,
					ChainPosition: c.ChainPosition, ChainHash: c.ChainHash,
				}
				if len(c.Metadata) > 0 {
					wc.Metadata, _ = structpb.NewStruct(c.Metadata)
				}
				for _, u := range c.Updates {
					wc.Updates = append(wc.Updates, &apiv1.Update{
						Operation: u.Operation, Relationship: u.Relationship, Resource: u.Resource.String(),
						Relation: u.Relation, Subject: u.Subject.String(), ExpiresAt: timestamp(u.ExpiresAt),
					})
				}
				out.Changes = append(out.Changes, wc)
			}
			return out
		})
}

// pageOf reads up to size changes, and one more to learn whether another page follows.
func pageOf(changes iter.Seq2[audit.Change, error], size int) (historyPage, error) {
	var pg historyPage
	for c, err := range changes {
		if err != nil {
			return historyPage{}, err
		}
		if len(pg.changes) == size {
			pg.next = string(pg.changes[size-1].Revision)
			break
		}
		pg.changes = append(pg.changes, c)
	}
	return pg, nil
}

func (s *auditServer) VerifyHistory(ctx context.Context, r *connect.Request[apiv1.VerifyHistoryRequest]) (*connect.Response[apiv1.HistoryVerification], error) {
	var cp *auditlog.Checkpoint
	if m := r.Msg.GetCheckpoint(); m != nil {
		c := checkpointOf(m)
		if c.Position <= 0 || len(c.Hash) != 64 {
			return nil, fmt.Errorf("%w: checkpoint: a position of at least 1 and a 64-digit hash are needed (got %d, %q)", access.ErrInvalidArgument, c.Position, c.Hash)
		}
		cp = &c
	}
	v, err := s.svc.VerifyHistory(ctx, cp)
	if err != nil {
		return nil, err
	}
	out := &apiv1.HistoryVerification{Entries: v.Entries, Head: checkpointMessage(v.Head),
		StateChecked: v.StateChecked, StateNote: v.StateNote, StateDifferences: int64(v.StateDifferences)}
	if v.Checkpoint != nil {
		out.Checkpoint = checkpointMessage(*v.Checkpoint)
	}
	if v.Anchor != nil {
		out.PrunedThrough, out.RelationshipsKept = checkpointMessage(v.Anchor.Checkpoint()), v.Anchor.Relationships
	}
	for _, p := range v.Problems {
		out.Problems = append(out.Problems, &apiv1.ChainProblem{Position: p.Position, Seq: p.Seq, Revision: p.Revision, Detail: p.Detail})
	}
	return connect.NewResponse(out), nil
}

func (s *auditServer) HistoryCheckpoint(ctx context.Context, _ *connect.Request[apiv1.HistoryCheckpointRequest]) (*connect.Response[apiv1.Checkpoint], error) {
	cp, err := s.svc.HistoryCheckpoint(ctx)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(checkpointMessage(cp)), nil
}

func checkpointMessage(cp auditlog.Checkpoint) *apiv1.Checkpoint {
	return &apiv1.Checkpoint{Position: cp.Position, Hash: cp.Hash, Revision: cp.Revision, RecordedAt: timestamp(cp.RecordedAt)}
}

func checkpointOf(m *apiv1.Checkpoint) auditlog.Checkpoint {
	cp := auditlog.Checkpoint{Position: m.GetPosition(), Hash: m.GetHash(), Revision: m.GetRevision()}
	if m.GetRecordedAt() != nil {
		cp.RecordedAt = m.GetRecordedAt().AsTime()
	}
	return cp
}

// maxProvenance bounds the relationships of one Provenance request.
const maxProvenance = 1000

func (s *auditServer) Provenance(ctx context.Context, r *connect.Request[apiv1.ProvenanceRequest]) (*connect.Response[apiv1.ProvenanceResponse], error) {
	m := r.Msg
	if len(m.Relationships) > maxProvenance {
		return nil, fmt.Errorf("%w: %d relationships, at most %d per request", access.ErrInvalidArgument, len(m.Relationships), maxProvenance)
	}
	at, err := asOf(m.At, m.AtRevision)
	if err != nil {
		return nil, err
	}
	origins, err := s.svc.Provenance(ctx, m.Relationships, at)
	if err != nil {
		return nil, err
	}
	out := &apiv1.ProvenanceResponse{}
	for _, rel := range m.Relationships {
		if o, ok := origins[rel]; ok {
			out.Origins = append(out.Origins, &apiv1.Origin{
				Relationship: o.Relationship, Time: timestamp(o.Time), Actor: o.Actor, Principal: o.Principal,
				Reason: o.Reason, Operation: o.Operation, Revision: o.Revision, ChainPosition: o.ChainPosition,
			})
		}
	}
	return connect.NewResponse(out), nil
}
