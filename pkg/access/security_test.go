package access_test

import (
	"context"
	"errors"
	"fmt"
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
	// Guessed ids of cases that do not exist are refused exactly like other tenants' cases
	// (nothing says whether the id exists), and nothing is silently created.
	w.refuse(access.ErrPermissionDenied)(w.c.CloseCase(w.ctx, access.As("bill"), "c-0"))
	for _, id := range []string{"c-gus", "c-0"} {
		for name, err := range map[string]error{
			"close":  second(w.c.CloseCase(w.ctx, access.As("bill"), id)),
			"reopen": second(w.c.ReopenCase(w.ctx, access.As("bill"), id)),
			"add":    second(w.c.AddCaseContact(w.ctx, access.As("bill"), id, "gus", false)),
			"remove": second(w.c.RemoveCaseContact(w.ctx, access.As("bill"), id, "gus")),
		} {
			if !errors.Is(err, access.ErrPermissionDenied) || errors.Is(err, access.ErrNotFound) {
				t.Errorf("%s case:%s: %v; want the same permission refusal for both", name, id, err)
			}
		}
	}
	// Naming another tenant's product when opening a case looks like naming one that does
	// not exist.
	w.must(w.c.CreateSoldProduct(w.ctx, access.As(careAgent), "globex-router", "globex"))
	_, foreign := w.c.CreateCase(w.ctx, access.As("bill"), access.NewCase{ID: "x1", Account: "acme", SoldProduct: "globex-router"})
	_, missing := w.c.CreateCase(w.ctx, access.As("bill"), access.NewCase{ID: "x2", Account: "acme", SoldProduct: "no-such-product"})
	if !errors.Is(foreign, access.ErrNotFound) || !errors.Is(missing, access.ErrNotFound) ||
		strings.Replace(foreign.Error(), "globex-router", "ID", 1) != strings.Replace(missing.Error(), "no-such-product", "ID", 1) {
		t.Errorf("another tenant's product and a missing one differ: %v / %v", foreign, missing)
	}
	w.refuse(access.ErrNotFound)(w.c.RequestAccess(w.ctx, access.As("dave"), "no-such-sid", access.RoleViewer))
	// Bootstrapping again cannot take over the platform.
	w.refuse(access.ErrConflict)(w.c.Bootstrap(context.Background(), "mallory", "takeover"))
}

// An admin of one account walks the ids of another account's cases (sequential, as a
// guessing attacker would, past the last one that exists) and of its members: every check is
// refused, every change fails, nothing is written, and listings show only their own.
func TestTenantIsolationAgainstSequentialIDs(t *testing.T) {
	t.Parallel()
	w := acme(t)
	w.account("globex", "gina", map[string]access.Role{"gus": access.RoleStandard})
	const existing = 20
	for i := 1; i <= existing; i++ {
		w.must(w.c.CreateCase(w.ctx, access.As("gus"), access.NewCase{ID: fmt.Sprintf("g-%d", i), Account: "globex"}))
	}
	before := w.relationshipCount()
	bill := access.As("bill")
	probes, allowed, changed := 0, 0, 0
	for i := 0; i <= existing+10; i++ {
		id := fmt.Sprintf("g-%d", i)
		for _, perm := range []string{"view", "update", "reopen", "view_open"} {
			probes++
			d, err := w.c.Check(w.ctx, userSubj("bill"), perm, obj("case:"+id), access.Fresh())
			if err != nil {
				t.Fatalf("check %s on case:%s: %v", perm, id, err)
			}
			if d.Allowed {
				allowed++
				t.Errorf("bill (admin of acme) holds %s on case:%s of globex", perm, id)
			}
		}
		for name, change := range map[string]func() (access.Token, error){
			"close":          func() (access.Token, error) { return w.c.CloseCase(w.ctx, bill, id) },
			"reopen":         func() (access.Token, error) { return w.c.ReopenCase(w.ctx, bill, id) },
			"add contact":    func() (access.Token, error) { return w.c.AddCaseContact(w.ctx, bill, id, "sally", false) },
			"remove contact": func() (access.Token, error) { return w.c.RemoveCaseContact(w.ctx, bill, id, "gus") },
		} {
			probes++
			if _, err := change(); err == nil {
				changed++
				t.Errorf("bill could %s case:%s of globex", name, id)
			} else if !errors.Is(err, access.ErrPermissionDenied) && !errors.Is(err, access.ErrNotFound) && !errors.Is(err, access.ErrInvalidArgument) {
				t.Errorf("%s case:%s: unexpected error %v", name, id, err)
			}
		}
	}
	for _, member := range []string{"gina", "gus", "nobody"} {
		probes++
		if _, err := w.c.ChangeRole(w.ctx, bill, "globex", member, access.RoleViewer); err == nil {
			changed++
			t.Errorf("bill changed the role of %s on globex", member)
		}
	}
	if after := w.relationshipCount(); after != before {
		t.Errorf("relationships %d -> %d: a refused change wrote something", before, after)
	}
	for o, err := range w.c.VisibleCases(w.ctx, bill, "bill", access.StatusAll) {
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(o.ID, "g-") {
			t.Errorf("bill's case listing shows %s of globex", o)
		}
	}
	t.Logf("tenant isolation: %d probes over %d sequential case ids (%d existing) and 3 member ids, %d allowed, %d changes accepted", probes, existing+11, existing, allowed, changed)
}

// second returns the error of a (value, error) pair.
func second[T any](_ T, err error) error { return err }
