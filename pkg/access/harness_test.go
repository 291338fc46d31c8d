package access_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// world is a fresh embedded engine with a platform administrator (vera) and a Customer
// Care agent (carol), and helpers that fail the test on unexpected errors.
type world struct {
	t   *testing.T
	ctx context.Context
	c   *access.Client
	e   *engine.Embedded
}

const (
	vendorAdmin = "vera"
	careAgent   = "carol"
)

func newWorld(t *testing.T, opts ...access.Option) *world {
	t.Helper()
	ctx := context.Background()
	e, err := engine.StartEmbedded(ctx, engineConfig(t))
	if err != nil {
		t.Fatalf("starting engine: %v", err)
	}
	t.Cleanup(func() { _ = e.Close() })
	t.Logf("datastore: %s", e.Kind())
	w := &world{t: t, ctx: ctx, c: access.New(e.Engine, opts...), e: e}
	w.must(w.c.Bootstrap(ctx, vendorAdmin, "test setup"))
	w.must(w.c.AddPlatformRole(ctx, access.As(vendorAdmin), careAgent, access.PlatformCustomerCare))
	return w
}

// must fails the test when a change fails.
func (w *world) must(tok access.Token, err error) access.Token {
	w.t.Helper()
	if err != nil {
		w.t.Fatalf("unexpected error: %v", err)
	}
	if tok == "" {
		w.t.Fatal("a change returned no revision token")
	}
	return tok
}

// refuse returns a function that fails the test unless the call it wraps fails with target:
// w.refuse(access.ErrPermissionDenied)(w.c.Approve(...)).
func (w *world) refuse(target error) func(any, error) {
	w.t.Helper()
	return func(result any, err error) {
		w.t.Helper()
		if err == nil {
			w.t.Fatalf("call succeeded (%v); want %v", result, target)
		}
		if !errors.Is(err, target) {
			w.t.Fatalf("error = %v; want %v", err, target)
		}
	}
}

func userSubj(id string) ref.Subject { return ref.Subject{Object: ref.Object{Type: "user", ID: id}} }

func obj(s string) ref.Object {
	o, err := ref.Parse(s)
	if err != nil {
		panic(err)
	}
	return o
}

func (w *world) can(user, permission, object string) bool {
	w.t.Helper()
	o, err := ref.Parse(object)
	if err != nil {
		w.t.Fatal(err)
	}
	d, err := w.c.Check(w.ctx, ref.Subject{Object: ref.Object{Type: "user", ID: user}}, permission, o, access.Fresh())
	if err != nil {
		w.t.Fatalf("check %s %s %s: %v", user, permission, object, err)
	}
	return d.Allowed
}

// expect asserts a table of checks: each row is user, permission, object, want.
func (w *world) expect(rows ...check) {
	w.t.Helper()
	for _, r := range rows {
		if got := w.can(r.user, r.perm, r.object); got != r.want {
			w.t.Errorf("%s %s %s = %v, want %v", r.user, r.perm, r.object, got, r.want)
		}
	}
}

type check struct {
	user, perm, object string
	want               bool
}

func yes(user, perm, object string) check { return check{user, perm, object, true} }
func no(user, perm, object string) check  { return check{user, perm, object, false} }

// account creates account SID with admin and the given members (role per user).
func (w *world) account(sid, admin string, members map[string]access.Role) {
	w.t.Helper()
	w.must(w.c.CreateAccount(w.ctx, access.As(careAgent), sid, admin))
	for u, r := range members {
		w.must(w.c.RequestAccess(w.ctx, access.As(u), sid, r))
		approver := admin
		if approver == "" {
			approver = careAgent
		}
		w.must(w.c.Approve(w.ctx, access.As(approver), sid, u))
	}
}

func (w *world) ids(seq func(func(ref.Object, error) bool)) []string {
	w.t.Helper()
	var out []string
	for o, err := range seq {
		if err != nil {
			w.t.Fatalf("listing: %v", err)
		}
		out = append(out, o.ID)
	}
	return out
}

// engineConfig runs each world on the memory datastore, or, when ACCESSGRAPH_TEST_POSTGRES
// names a PostgreSQL server, on a fresh database of its own (see postgres_test.go).
func engineConfig(t *testing.T) engine.EmbeddedConfig {
	cfg := engine.EmbeddedConfig{StartTimeout: 60 * time.Second}
	if base := os.Getenv(postgresEnv); base != "" {
		cfg.DatastoreURI = freshDatabase(t, base)
	} else if os.Getenv(datastoreEnv) == "local" {
		cfg.DatastoreURI = engine.LocalURI(t.TempDir())
	}
	return cfg
}

// datastoreEnv set to "local" runs the scenario suite on the durable local datastore
// (pkg/localstore), each test in its own directory; `make test-local` sets it.
const datastoreEnv = "ACCESSGRAPH_TEST_DATASTORE"

// acme builds the site of the spec: bill admin, sally standard, joan viewer, and cases
// reported by each.
func acme(t *testing.T) *world {
	w := newWorld(t)
	w.account("acme", "bill", map[string]access.Role{"sally": access.RoleStandard, "joan": access.RoleViewer})
	for id, reporter := range map[string]string{"c-bill": "bill", "c-sally": "sally", "c-joan": "joan"} {
		w.must(w.c.CreateCase(w.ctx, access.As(reporter), access.NewCase{ID: id, Account: "acme"}))
	}
	return w
}

// partners adds to acme: partner integrator (pam, pete, piper) and a second partner.
func partners(t *testing.T) *world {
	w := acme(t)
	w.must(w.c.CreatePartner(w.ctx, access.As(vendorAdmin), "integrator", ""))
	for _, u := range []string{"pam", "pete", "piper"} {
		w.must(w.c.AddPartnerMember(w.ctx, access.As(vendorAdmin), "integrator", u))
	}
	return w
}

// district: group district contains almond and birch schools; almond contains class_a.
// Staff report cases on account shoe; sue reads the district, amy reads almond only.
func district(t *testing.T) *world {
	w := newWorld(t)
	w.account("shoe", "sam", map[string]access.Role{"al": access.RoleStandard, "bea": access.RoleStandard, "cal": access.RoleViewer, "dina": access.RoleStandard})
	for _, g := range []string{"district", "almond", "birch", "class_a"} {
		w.must(w.c.CreateGroup(w.ctx, access.As(careAgent), g))
	}
	w.must(w.c.NestGroup(w.ctx, access.As(careAgent), "almond", "district"))
	w.must(w.c.NestGroup(w.ctx, access.As(careAgent), "birch", "district"))
	w.must(w.c.NestGroup(w.ctx, access.As(careAgent), "class_a", "almond"))
	for u, g := range map[string]string{"al": "almond", "bea": "birch", "cal": "class_a", "dina": "district"} {
		w.must(w.c.AddGroupMember(w.ctx, access.As(careAgent), g, u))
	}
	for id, reporter := range map[string]string{"al-1": "al", "al-2": "al", "bea-1": "bea", "cal-1": "cal", "dina-1": "dina"} {
		w.must(w.c.CreateCase(w.ctx, access.As(reporter), access.NewCase{ID: id, Account: "shoe"}))
	}
	w.must(w.c.CloseCase(w.ctx, access.As("al"), "al-2"))
	w.must(w.c.SetGroupReadAccess(w.ctx, access.As(careAgent), "sue", "district"))
	w.must(w.c.SetGroupReadAccess(w.ctx, access.As(careAgent), "amy", "almond"))
	return w
}

func sorted(ids []string) []string { slices.Sort(ids); return ids }

// installBase: acme owns sold product router and its item router_hq; globex is another
// account; fieldfix a service organisation.
func installBase(t *testing.T) *world {
	w := acme(t)
	w.account("globex", "gina", map[string]access.Role{"gus": access.RoleStandard})
	w.must(w.c.CreateSoldProduct(w.ctx, access.As(careAgent), "router", "acme"))
	w.must(w.c.CreateInstallBase(w.ctx, access.As(careAgent), "router_hq", "acme", "router"))
	w.must(w.c.CreateServiceOrg(w.ctx, access.As(vendorAdmin), "fieldfix"))
	w.must(w.c.AddServiceOrgMember(w.ctx, access.As(vendorAdmin), "fieldfix", "fred"))
	ib, sp := obj("install_base:router_hq"), obj("sold_product:router")
	assign := func(o ref.Object, name string, party string) {
		w.must(w.c.AssignFunctionalRole(w.ctx, access.As("bill"), o, role(t, name), obj(party)))
	}
	assign(sp, "sold_product_authorized_contact", "user:sophie")
	assign(sp, "sold_product_authorized_consumer", "user:conrad")
	assign(ib, "install_base_authorized_contact", "user:sally")   // acme member
	assign(ib, "install_base_authorized_contact", "user:olga")    // not an acme member
	assign(ib, "install_base_authorized_consumer", "user:carmen") // outside consumer
	assign(ib, "install_base_authorized_contributor", "user:ivan")
	assign(ib, "install_base_authorized_member", "user:mia")
	assign(ib, "install_base_authorized_account", "account:globex")
	assign(ib, "install_base_service_organization", "service_org:fieldfix")
	w.must(w.c.CreateCase(w.ctx, access.As("sally"), access.NewCase{ID: "ib-1", Account: "acme", SoldProduct: "router", InstallBase: "router_hq"}))
	return w
}

func role(t *testing.T, name string) access.FunctionalRole {
	t.Helper()
	r, err := access.ParseFunctionalRole(name)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
