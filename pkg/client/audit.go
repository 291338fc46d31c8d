package client

import (
	"context"
	"iter"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accessgraph/accessgraph/pkg/access"
	apiv1 "github.com/accessgraph/accessgraph/pkg/api/gen/accessgraph/v1"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/auditlog"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

func timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func timeOf(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}

// looseObject reads back a TYPE:ID the server wrote without validating it again: answers
// may name what a request may not, such as the wildcard user:*.
func looseObject(s string) ref.Object {
	typ, id, _ := strings.Cut(s, ":")
	return ref.Object{Type: typ, ID: id}
}

func looseSubject(s string) ref.Subject {
	o, rel, _ := strings.Cut(s, "#")
	return ref.Subject{Object: looseObject(o), Relation: rel}
}

func pathsIn(ps []*apiv1.Path) []audit.Path {
	var out []audit.Path
	for _, p := range ps {
		out = append(out, audit.Path{Kind: audit.PathKind(p.Kind), Text: p.Text, Relationships: p.Relationships})
	}
	return out
}

// Explain answers whether subject holds permission on resource and why.
func (c *Client) Explain(ctx context.Context, subject ref.Subject, permission string, resource ref.Object, cons access.Consistency) (audit.Explanation, error) {
	r, err := call(ctx, c.audit.Explain, &apiv1.ExplainRequest{
		Subject: subjectString(subject), Permission: permission, Resource: objectString(resource),
		Consistency: cons.Name(), Token: cons.Token(), At: c.atStamp(), AtRevision: string(c.at.Revision),
	})
	if err != nil {
		return audit.Explanation{}, err
	}
	e := audit.Explanation{
		Subject: looseSubject(r.Subject), Permission: r.Permission, Resource: looseObject(r.Resource),
		Allowed: r.Allowed, CheckedAt: access.Token(r.CheckedAt), Paths: pathsIn(r.Paths), Combine: r.Combine, Truncated: r.Truncated,
	}
	for _, w := range r.Ways {
		e.Ways = append(e.Ways, audit.Way{Expression: w.Expression, Description: w.Description, Status: audit.WayStatus(w.Status), Details: w.Details})
	}
	return e, nil
}

// Expand returns the complete tree of who holds permission on resource.
func (c *Client) Expand(ctx context.Context, resource ref.Object, permission string) (audit.Tree, error) {
	r, err := call(ctx, c.audit.Expand, &apiv1.ExpandRequest{Resource: objectString(resource), Permission: permission, At: c.atStamp(), AtRevision: string(c.at.Revision)})
	if err != nil {
		return audit.Tree{}, err
	}
	return audit.Tree{Resource: looseObject(r.Resource), Permission: r.Permission, ExpandedAt: access.Token(r.ExpandedAt), Root: nodeIn(r.Root)}, nil
}

func nodeIn(n *apiv1.Node) *audit.Node {
	if n == nil {
		return nil
	}
	out := &audit.Node{Kind: audit.NodeKind(n.Kind), Object: looseObject(n.Object), Relation: n.Relation, Cycle: n.Cycle, Truncated: n.Truncated}
	for _, ch := range n.Children {
		out.Children = append(out.Children, nodeIn(ch))
	}
	return out
}

// WhoCan lists every user holding permission on resource, with the kinds of path that
// give it.
func (c *Client) WhoCan(ctx context.Context, resource ref.Object, permission string) iter.Seq2[audit.Holder, error] {
	return lazy(func() ([]audit.Holder, error) {
		r, err := call(ctx, c.audit.WhoCan, &apiv1.WhoCanRequest{Resource: objectString(resource), Permission: permission, At: c.atStamp(), AtRevision: string(c.at.Revision)})
		if err != nil {
			return nil, err
		}
		var out []audit.Holder
		for _, h := range r.Holders {
			hd := audit.Holder{User: h.User, Except: h.Except, Paths: pathsIn(h.Paths), Truncated: h.Truncated}
			for _, k := range h.Kinds {
				hd.Kinds = append(hd.Kinds, audit.PathKind(k))
			}
			out = append(out, hd)
		}
		return out, nil
	})
}

// AccessReview lists everyone with access to an account and flags what needs attention.
func (c *Client) AccessReview(ctx context.Context, actor access.Actor, supportID string, opts audit.ReviewOptions) (audit.Review, error) {
	a, why := actorOf(actor)
	r, err := call(ctx, c.audit.AccessReview, &apiv1.AccessReviewRequest{
		Actor: a, Reason: why, Account: obj("account", supportID), ExpiringWithinSeconds: int64(opts.ExpiringWithin / time.Second), At: c.atStamp(), AtRevision: string(c.at.Revision),
	})
	if err != nil {
		return audit.Review{}, err
	}
	rv := audit.Review{Account: r.Account, ReviewedAt: access.Token(r.ReviewedAt), GeneratedAt: timeOf(r.GeneratedAt), CustomerCare: r.CustomerCare}
	for _, m := range r.Members {
		rv.Members = append(rv.Members, audit.MemberAccess{User: m.User, Role: access.Role(m.Role)})
	}
	grants := func(gs []*apiv1.GrantAccess) []audit.GrantAccess {
		var out []audit.GrantAccess
		for _, g := range gs {
			out = append(out, audit.GrantAccess{Grantee: g.Grantee, Kind: g.Kind, Level: access.Level(g.Level), ExpiresAt: timeOf(g.ExpiresAt), Members: g.Members})
		}
		return out
	}
	rv.Partners, rv.VendorStaff = grants(r.Partners), grants(r.VendorStaff)
	for _, d := range r.DataAccess {
		rv.DataAccess = append(rv.DataAccess, audit.DataAccessEntry{Partner: d.Partner, Support: d.Support, VendorManage: d.VendorManage, CustomerManage: d.CustomerManage, Manage: d.Manage, Members: d.Members})
	}
	for _, s := range r.SuperCustomers {
		rv.SuperCustomers = append(rv.SuperCustomers, audit.SuperCustomer{User: s.User, Group: s.Group, Reporters: s.Reporters, Cases: s.Cases})
	}
	for _, p := range r.RelatedParties {
		rv.RelatedParties = append(rv.RelatedParties, audit.RelatedPartyEntry{Object: p.Object, Role: p.Role, Party: p.Party, Members: p.Members})
	}
	for _, b := range r.CustomRoles {
		rv.CustomRoles = append(rv.CustomRoles, audit.RoleBindingEntry{Object: b.Object, Role: b.Role, Privileges: b.Privileges, Grantees: b.Grantees})
	}
	for _, f := range r.Flags {
		rv.Flags = append(rv.Flags, audit.Flag{Kind: audit.FlagKind(f.Kind), Subject: f.Subject, Message: f.Message})
	}
	return rv, nil
}

// History lists the changes after filter.Since up to the newest at the time of the call,
// oldest first, a page at a time (each page is one request, made as the iteration reaches
// it).
func (c *Client) History(ctx context.Context, filter audit.HistoryFilter) iter.Seq2[audit.Change, error] {
	return func(yield func(audit.Change, error) bool) {
		req := &apiv1.HistoryRequest{Object: objectString(filter.Object), Account: objectString(filter.Account), ChangedBy: filter.Actor, Principal: filter.Principal, Since: string(filter.Since),
			Operation: filter.Operation, From: timestamp(filter.From), To: timestamp(filter.To), PageSize: c.historyPage}
		for {
			r, err := call(ctx, c.audit.History, req)
			if err != nil {
				yield(audit.Change{}, err)
				return
			}
			for _, ch := range r.Changes {
				if !yield(changeOf(ch), nil) {
					return
				}
			}
			if r.NextPageToken == "" {
				return
			}
			req.PageToken = r.NextPageToken
		}
	}
}

func changeOf(ch *apiv1.Change) audit.Change {
	change := audit.Change{
		Revision: access.Token(ch.Revision), Time: timeOf(ch.Time), TimeFromRevision: ch.TimeFromRevision,
		Actor: ch.Actor, Reason: ch.Reason, Operation: ch.Operation, Metadata: ch.Metadata.AsMap(),
		Principal: ch.Principal, ClaimedActor: ch.ClaimedActor,
		ChainPosition: ch.ChainPosition, ChainHash: ch.ChainHash,
	}
	if ch.Metadata == nil {
		change.Metadata = nil
	}
	for _, u := range ch.Updates {
		change.Updates = append(change.Updates, audit.Update{
			Operation: u.Operation, Relationship: u.Relationship, Resource: looseObject(u.Resource),
			Relation: u.Relation, Subject: looseSubject(u.Subject), ExpiresAt: timeOf(u.ExpiresAt),
		})
	}
	return change
}

// VerifyHistory checks the server's durable audit log against its hash chain, and against
// cp when it is not nil.
func (c *Client) VerifyHistory(ctx context.Context, cp *auditlog.Checkpoint) (auditlog.Verification, error) {
	req := &apiv1.VerifyHistoryRequest{}
	if cp != nil {
		req.Checkpoint = &apiv1.Checkpoint{Position: cp.Position, Hash: cp.Hash, Revision: cp.Revision, RecordedAt: timestamp(cp.RecordedAt)}
	}
	r, err := call(ctx, c.audit.VerifyHistory, req)
	if err != nil {
		return auditlog.Verification{}, err
	}
	v := auditlog.Verification{Entries: r.Entries, Head: checkpointOf(r.Head), Problems: []auditlog.Problem{}}
	if r.Checkpoint != nil {
		cp := checkpointOf(r.Checkpoint)
		v.Checkpoint = &cp
	}
	for _, p := range r.Problems {
		v.Problems = append(v.Problems, auditlog.Problem{Position: p.Position, Seq: p.Seq, Revision: p.Revision, Detail: p.Detail})
	}
	v.StateChecked, v.StateNote, v.StateDifferences = r.StateChecked, r.StateNote, int(r.StateDifferences)
	if r.PrunedThrough != nil {
		// The digests stay on the server: what an auditor reads is where the log begins.
		through := checkpointOf(r.PrunedThrough)
		v.Anchor = &auditlog.Anchor{Position: through.Position, Hash: through.Hash, Revision: through.Revision, RecordedAt: through.RecordedAt, Relationships: r.RelationshipsKept}
	}
	return v, nil
}

// HistoryCheckpoint returns the head of the server's durable audit log.
func (c *Client) HistoryCheckpoint(ctx context.Context) (auditlog.Checkpoint, error) {
	r, err := call(ctx, c.audit.HistoryCheckpoint, &apiv1.HistoryCheckpointRequest{})
	if err != nil {
		return auditlog.Checkpoint{}, err
	}
	return checkpointOf(r), nil
}

func checkpointOf(m *apiv1.Checkpoint) auditlog.Checkpoint {
	if m == nil {
		return auditlog.Checkpoint{}
	}
	return auditlog.Checkpoint{Position: m.Position, Hash: m.Hash, Revision: m.Revision, RecordedAt: timeOf(m.RecordedAt)}
}

// Provenance names, for each relationship, the change that created it as of a moment (the
// present when zero), from the server's durable audit log.
func (c *Client) Provenance(ctx context.Context, relationships []string, at audit.AsOf) (map[string]audit.Origin, error) {
	r, err := call(ctx, c.audit.Provenance, &apiv1.ProvenanceRequest{Relationships: relationships, At: timestamp(at.Time), AtRevision: string(at.Revision)})
	if err != nil {
		return nil, err
	}
	out := make(map[string]audit.Origin, len(r.Origins))
	for _, o := range r.Origins {
		out[o.Relationship] = audit.Origin{
			Relationship: o.Relationship, Time: timeOf(o.Time), Actor: o.Actor, Principal: o.Principal,
			Reason: o.Reason, Operation: o.Operation, Revision: o.Revision, ChainPosition: o.ChainPosition,
		}
	}
	return out, nil
}
