package access_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/ref"
	"github.com/accessgraph/accessgraph/schema"
)

// relationshipCount counts every stored relationship, type by type.
func (w *world) relationshipCount() int {
	w.t.Helper()
	defs, err := schema.Definitions()
	if err != nil {
		w.t.Fatal(err)
	}
	n := 0
	for _, d := range defs {
		stream, err := w.e.Permissions().ReadRelationships(w.ctx, &v1.ReadRelationshipsRequest{
			Consistency:        &v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: w.e.FreshestToken(nil)}},
			RelationshipFilter: &v1.RelationshipFilter{ResourceType: d.Name},
		})
		if err != nil {
			w.t.Fatal(err)
		}
		for {
			_, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				w.t.Fatal(err)
			}
			n++
		}
	}
	return n
}

// badIDs are inputs that must never reach SpiceDB as ids.
var badIDs = []string{
	"", "*", "#", "@", ":", "a b", " bill", "bill\n", "bi\x00ll", "bill\x1b[31m", "bíll", "☃",
	"user:bill", "bill#admin", strings.Repeat("x", 1025),
}

func TestBadInputIsRefusedAndChangesNothing(t *testing.T) {
	t.Parallel()
	w := partners(t)
	before := w.relationshipCount()
	ctx := w.ctx
	bill := access.As("bill")
	tried, accepted := 0, 0
	attempt := func(what string, err error) {
		tried++
		if err == nil {
			accepted++
			t.Errorf("%s: accepted", what)
			return
		}
		if !errors.Is(err, access.ErrInvalidArgument) && !errors.Is(err, access.ErrNotFound) {
			t.Errorf("%s: error %v is neither invalid argument nor not found", what, err)
		}
	}
	for _, bad := range badIDs {
		_, err := w.c.RequestAccess(ctx, access.As(bad), "acme", access.RoleStandard)
		attempt("request as "+bad, err)
		_, err = w.c.RequestAccess(ctx, access.As("dave"), bad, access.RoleStandard)
		attempt("request on "+bad, err)
		_, err = w.c.GrantPartner(ctx, bill, "acme", access.Individual(bad), access.LevelLook, time.Time{})
		attempt("grant to "+bad, err)
		_, err = w.c.GrantPartner(ctx, bill, "acme", access.PartnerOrg(bad), access.LevelLook, time.Time{})
		attempt("grant to partner "+bad, err)
		_, err = w.c.ChangeRole(ctx, bill, "acme", bad, access.RoleAdmin)
		attempt("role of "+bad, err)
		_, err = w.c.CreateCase(ctx, bill, access.NewCase{ID: bad, Account: "acme"})
		attempt("case "+bad, err)
		_, err = w.c.AddGroupMember(ctx, access.As(careAgent), bad, "bill")
		attempt("group "+bad, err)
		_, err = w.c.AddRolloutParticipant(ctx, access.As(vendorAdmin), "entitlement_view", bad)
		attempt("participant "+bad, err)
	}
	for _, level := range []string{"", "admin", "LOOK", "full-admin", "*"} {
		_, err := w.c.GrantPartner(ctx, bill, "acme", access.Individual("pam"), access.Level(level), time.Time{})
		attempt("level "+level, err)
	}
	for _, r := range []string{"", "Admin", "owner", "*"} {
		_, err := w.c.RequestAccess(ctx, access.As("dave"), "acme", access.Role(r))
		attempt("role "+r, err)
	}
	_, err := w.c.GrantPartner(ctx, bill, "acme", access.Grantee{Partner: "integrator", User: "pam"}, access.LevelLook, time.Time{})
	attempt("grant to both", err)
	_, err = w.c.GrantPartner(ctx, bill, "acme", access.Grantee{}, access.LevelLook, time.Time{})
	attempt("grant to nobody", err)
	_, err = w.c.DefineRole(ctx, access.As(vendorAdmin), "r", []access.Privilege{"case_delete"})
	attempt("unknown privilege", err)
	_, err = w.c.BindRole(ctx, bill, "r", obj("account:acme"), ref.Subject{Object: ref.Object{Type: "user", ID: "*"}})
	attempt("wildcard grantee", err)
	// Unknown permissions and types are errors, never a silent no.
	for _, perm := range []string{"viw", "", "view_all_case", "VIEW"} {
		_, err := w.c.Check(ctx, userSubj("bill"), perm, obj("case:c-bill"), access.Fresh())
		attempt("check "+perm, err)
	}
	_, err = w.c.Check(ctx, userSubj("bill"), "view", ref.Object{Type: "ticket", ID: "1"}, access.Fresh())
	attempt("check unknown type", err)
	if after := w.relationshipCount(); after != before {
		t.Fatalf("bad input changed the store: %d relationships before, %d after", before, after)
	}
	t.Logf("bad input: %d inputs tried, %d accepted, relationships unchanged (%d)", tried, accepted, before)
}

func TestEveryChangeNeedsAnActor(t *testing.T) {
	t.Parallel()
	w := acme(t)
	_, err := w.c.Approve(w.ctx, access.Actor{}, "acme", "dave")
	if !errors.Is(err, access.ErrInvalidArgument) || !strings.Contains(err.Error(), "acting user") {
		t.Fatalf("missing actor: %v", err)
	}
}

func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	w := acme(t)
	w.account("globex", "gina", map[string]access.Role{"gus": access.RoleStandard})
	w.must(w.c.CreateCase(w.ctx, access.As("gus"), access.NewCase{ID: "c-gus", Account: "globex"}))
	w.expect(no("bill", "view", "case:c-gus"), no("gina", "view", "case:c-bill"), no("bill", "view_members", "account:globex"))
	// An admin of another account cannot change this one.
	w.refuse(access.ErrPermissionDenied)(w.c.ChangeRole(w.ctx, access.As("gina"), "acme", "sally", access.RoleAdmin))
	w.refuse(access.ErrPermissionDenied)(w.c.GrantPartner(w.ctx, access.As("gina"), "acme", access.Individual("gus"), access.LevelFullAdmin, time.Time{}))
	w.refuse(access.ErrPermissionDenied)(w.c.CloseCase(w.ctx, access.As("gina"), "c-bill"))
	w.refuse(access.ErrPermissionDenied)(w.c.CreateCase(w.ctx, access.As("gina"), access.NewCase{ID: "x", Account: "acme"}))
	// Guessed ids of cases that do not exist are not found, not silently created.
	w.refuse(access.ErrNotFound)(w.c.CloseCase(w.ctx, access.As("bill"), "c-0"))
	w.refuse(access.ErrNotFound)(w.c.RequestAccess(w.ctx, access.As("dave"), "no-such-sid", access.RoleViewer))
	// Bootstrapping again cannot take over the platform.
	w.refuse(access.ErrConflict)(w.c.Bootstrap(context.Background(), "mallory", "takeover"))
}
