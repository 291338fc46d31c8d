package api_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/client"
	"github.com/accessgraph/accessgraph/pkg/principal"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// sentinels are the errors a transcript names an error by: every one it wraps.
var sentinels = []struct {
	name string
	err  error
}{
	{"ErrPermissionDenied", access.ErrPermissionDenied},
	{"ErrNotFound", access.ErrNotFound},
	{"ErrInvalidArgument", access.ErrInvalidArgument},
	{"ErrConflict", access.ErrConflict},
	{"ErrLastAdmin", access.ErrLastAdmin},
	{"ErrAlreadyDecided", access.ErrAlreadyDecided},
	{"ErrCycle", access.ErrCycle},
	{"ErrUnavailable", access.ErrUnavailable},
	{"ErrLimit", access.ErrLimit},
	{"principal.ErrPermissionDenied", principal.ErrPermissionDenied},
	{"principal.ErrUnauthenticated", principal.ErrUnauthenticated},
}

// describe renders a result for a transcript: a value, or the sentinels an error wraps
// with its message (the message only where the request reached the domain layer alike:
// a reference the server parses itself may be refused in other words).
func describe(v any, err error) string {
	if err == nil {
		return fmt.Sprintf("ok %v", v)
	}
	var names []string
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			names = append(names, s.name)
		}
	}
	var denied *access.DeniedError
	if errors.As(err, &denied) {
		names = append(names, fmt.Sprintf("DeniedError{%s %s %s}", denied.Actor, denied.Permission, denied.Resource))
	}
	if slices.Contains(names, "ErrInvalidArgument") {
		return "error " + strings.Join(names, ",")
	}
	return "error " + strings.Join(names, ",") + ": " + err.Error()
}

func all[T any](seq iter.Seq2[T, error]) ([]T, error) {
	var out []T
	for v, err := range seq {
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// scenario runs domain and audit calls against svc and aud and returns what each answered,
// without revision tokens and times (which differ between two engines).
func scenario(t *testing.T, svc access.Service, aud audit.Service) []string {
	t.Helper()
	ctx := context.Background()
	seed(t, svc)
	var out []string
	rec := func(name string, v any, err error) { out = append(out, name+": "+describe(v, err)) }
	recT := func(name string) func(access.Token, error) {
		return func(_ access.Token, err error) { rec(name, "token", err) }
	}
	user := func(id string) ref.Subject { return ref.Subject{Object: ref.Object{Type: "user", ID: id}} }
	acme := ref.Object{Type: "account", ID: "acme"}
	case42 := ref.Object{Type: "case", ID: "42"}

	// Checks and lookups, each consistency.
	for _, cons := range []access.Consistency{access.Fresh(), access.Full(), access.Fastest()} {
		d, err := svc.Check(ctx, user("bill"), "view_all_cases", acme, cons)
		var answer any = d.Allowed
		if cons.Name() == access.Fastest().Name() {
			// Fastest may answer from a snapshot up to engine.DefaultReadLag behind the seed's writes, on
			// either side: only that it answers is the same.
			answer = "answered"
		}
		rec("check bill view_all_cases acme "+cons.Name(), answer, err)
	}
	for _, u := range []string{"bill", "sally", "pam", "joan", "gina"} {
		d, err := svc.Check(ctx, user(u), "view", case42, access.Fresh())
		rec("check "+u+" view case:42", d.Allowed, err)
	}
	_, err := svc.Check(ctx, user("bill"), "no_such_permission", acme, access.Fresh())
	rec("check unknown permission", nil, err)
	ds, errs, err := svc.CheckMany(ctx, []access.CheckItem{
		{Subject: user("bill"), Permission: "view_members", Resource: acme},
		{Subject: user("pam"), Permission: "view_members", Resource: acme},
		{Subject: user("pam"), Permission: "bogus", Resource: acme},
	}, access.Fresh())
	if err == nil {
		for i := range ds {
			rec(fmt.Sprintf("check many %d", i), ds[i].Allowed, errs[i])
		}
	} else {
		rec("check many", nil, err)
	}
	objs, err := all(svc.LookupResources(ctx, user("sally"), "view", "case", access.Fresh()))
	rec("lookup resources", objs, err)
	objs, err = all(svc.LookupSubjects(ctx, acme, "view_members", "user", access.Fresh()))
	slices.SortFunc(objs, func(a, b ref.Object) int { return strings.Compare(a.String(), b.String()) }) // SpiceDB's order varies
	rec("lookup subjects", objs, err)
	known, err := svc.Known(ctx, acme, access.Fresh())
	rec("known acme", known, err)
	known, err = svc.Known(ctx, ref.Object{Type: "account", ID: "nowhere"}, access.Fresh())
	rec("known nowhere", known, err)

	// Members and requests: allowed and refused.
	members, err := all(svc.Members(ctx, access.As("bill"), "acme"))
	rec("members as bill", members, err)
	_, err = all(svc.Members(ctx, access.As("pam"), "acme"))
	rec("members as pam", nil, err)
	recT("joan requests")(svc.RequestAccess(ctx, access.As("joan"), "acme", access.RoleViewer))
	reqs, err := svc.PendingRequests(ctx, access.As("bill"), "acme")
	for i := range reqs {
		reqs[i].ExpiresAt = time.Time{}
	}
	rec("pending", reqs, err)
	approvers, err := svc.Approvers(ctx, access.As("bill"), "acme", "joan")
	rec("approvers", approvers, err)
	recT("sally approves joan")(svc.Approve(ctx, access.As("sally"), "acme", "joan"))
	recT("bill approves joan")(svc.Approve(ctx, access.As("bill"), "acme", "joan"))
	recT("bill approves joan again")(svc.Approve(ctx, access.As("bill"), "acme", "joan"))
	recT("bill leaves (last admin)")(svc.Leave(ctx, access.As("bill"), "acme"))
	recT("bill makes joan standard")(svc.ChangeRole(ctx, access.As("bill"), "acme", "joan", access.RoleStandard))
	recT("no actor")(svc.ChangeRole(ctx, access.Actor{}, "acme", "joan", access.RoleViewer))
	recT("unknown account")(svc.Approve(ctx, access.As("bill"), "nowhere", "joan"))

	// Partners, data access, groups, cases, products, roles, platform.
	grants, err := all(svc.PartnerGrants(ctx, access.As("bill"), "acme"))
	rec("grants", grants, err)
	recT("pam requests update")(svc.RequestPartnerLevel(ctx, access.As("pam"), "acme", access.PartnerOrg("integrator"), access.LevelUpdate))
	preqs, err := svc.PendingPartnerRequests(ctx, access.As("bill"), "acme")
	for i := range preqs {
		preqs[i].ExpiresAt = time.Time{}
	}
	rec("partner requests", preqs, err)
	recT("approve partner request")(svc.ApprovePartnerRequest(ctx, access.As("bill"), "acme", access.PartnerOrg("integrator")))
	recT("link integrator")(svc.LinkPartner(ctx, access.As("bill"), "acme", "integrator"))
	recT("support on")(svc.SetSupportAccess(ctx, access.As("bill"), "acme", "integrator", true))
	das, err := svc.DataAccessAgreements(ctx, access.As("bill"), "acme")
	rec("agreements", das, err)
	recT("nest eng in eng")(svc.NestGroup(ctx, access.As("vera"), "eng", "eng"))
	recT("read access")(svc.SetGroupReadAccess(ctx, access.As("vera"), "bill", "eng"))
	g, err := svc.GroupReadAccess(ctx, access.As("vera"), "bill")
	rec("group read access", g, err)
	cases, err := all(svc.VisibleCases(ctx, access.As("sally"), "sally", access.StatusOpen))
	rec("visible cases", cases, err)
	cases, err = all(svc.GroupCases(ctx, access.As("bill"), "bill", access.StatusAll))
	rec("group cases", cases, err)
	recT("close 42")(svc.CloseCase(ctx, access.As("sally"), "42"))
	recT("pam closes 42")(svc.ReopenCase(ctx, access.As("pam"), "42"))
	recT("sold product")(svc.CreateSoldProduct(ctx, access.As("vera"), "sp1", "acme"))
	fr, _ := access.ParseFunctionalRole("sold_product_authorized_contact")
	sp1 := ref.Object{Type: "sold_product", ID: "sp1"}
	recT("functional role")(svc.AssignFunctionalRole(ctx, access.As("bill"), sp1, fr, ref.Object{Type: "user", ID: "joan"}))
	parties, err := svc.RelatedParties(ctx, access.As("bill"), sp1)
	rec("related parties", parties, err)
	recT("define role")(svc.DefineRole(ctx, access.As("vera"), "case_reader", []access.Privilege{access.PrivCaseRead}))
	recT("bind role")(svc.BindRole(ctx, access.As("bill"), "case_reader", acme, ref.Subject{Object: ref.Object{Type: "group", ID: "eng"}, Relation: "member"}))
	bindings, err := svc.RoleBindings(ctx, access.As("bill"), acme)
	rec("bindings", bindings, err)
	roles, err := svc.CustomRoles(ctx)
	rec("custom roles", roles, err)
	privs, err := svc.RolePrivileges(ctx, "case_reader")
	rec("role privileges", privs, err)
	recT("bill adds a platform role")(svc.AddPlatformRole(ctx, access.As("bill"), "bill", access.PlatformAdministrator))
	recT("rollout")(svc.AddRolloutParticipant(ctx, access.As("vera"), "entitlement_view", "bill"))

	// Audit.
	e, err := aud.Explain(ctx, user("pam"), "view", case42, access.Fresh())
	e.CheckedAt = ""
	rec("explain pam view case:42", e, err)
	e, err = aud.Explain(ctx, user("gina"), "view", case42, access.Fresh())
	e.CheckedAt = ""
	rec("explain gina view case:42", e, err)
	tree, err := aud.Expand(ctx, acme, "view_members")
	tree.ExpandedAt = ""
	rec("expand", fmt.Sprintf("%s %s %s", tree.Resource, tree.Permission, renderNode(tree.Root)), err)
	holders, err := all(aud.WhoCan(ctx, case42, "view"))
	rec("who can", holders, err)
	review, err := aud.AccessReview(ctx, access.As("bill"), "acme", audit.ReviewOptions{})
	review.ReviewedAt, review.GeneratedAt = "", time.Time{}
	rec("review", review, err)
	_, err = aud.AccessReview(ctx, access.As("pam"), "acme", audit.ReviewOptions{})
	rec("review as pam", nil, err)
	changes, err := all(aud.History(ctx, audit.HistoryFilter{Object: case42}))
	var summary []string
	for _, c := range changes {
		summary = append(summary, fmt.Sprintf("%s %s %s %d", c.Actor, c.Reason, c.Operation, len(c.Updates)))
	}
	rec("history case:42", summary, err)
	return out
}

func renderNode(n *audit.Node) string {
	if n == nil {
		return "-"
	}
	var kids []string
	for _, c := range n.Children {
		kids = append(kids, renderNode(c))
	}
	return fmt.Sprintf("%s(%s)[%s]", n.Kind, n.Label(), strings.Join(kids, " "))
}

// The same scenario, run on the domain layer in process and through the API (connect and
// gRPC protocols) with an operator key, answers the same, errors included.
func TestRemoteClientAnswersLikeTheEmbeddedDomainLayer(t *testing.T) {
	embedded := newServer(t, nil)
	want := scenario(t, embedded.embedded, embedded.auditor)
	t.Logf("scenario:\n%s", strings.Join(want, "\n"))

	for name, opts := range map[string][]client.Option{"connect": nil, "grpc": {client.WithGRPC()}} {
		t.Run(name, func(t *testing.T) {
			s := newServer(t, nil)
			remote := s.remote(t, operatorKey, opts...)
			got := scenario(t, remote, remote)
			if len(got) != len(want) {
				t.Fatalf("%d results remotely, %d embedded", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("remote differs:\n remote:   %s\n embedded: %s", got[i], want[i])
				}
			}
		})
	}
	// The scenario is not vacuous: it has allowed and refused calls of every kind.
	for _, line := range []string{
		"check bill view_all_cases acme fresh: ok true",
		"check gina view case:42: ok false",
		"bill approves joan: ok token",
	} {
		if !slices.Contains(want, line) {
			t.Errorf("scenario lacks %q:\n%s", line, strings.Join(want, "\n"))
		}
	}
	for _, prefix := range []string{"sally approves joan: error ErrPermissionDenied,DeniedError", "bill leaves (last admin): error ErrLastAdmin", "no actor: error ErrInvalidArgument"} {
		if !slices.ContainsFunc(want, func(l string) bool { return strings.HasPrefix(l, prefix) }) {
			t.Errorf("scenario lacks a line starting %q:\n%s", prefix, strings.Join(want, "\n"))
		}
	}
}
