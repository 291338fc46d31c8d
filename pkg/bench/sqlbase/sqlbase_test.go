package sqlbase_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/bench"
	"github.com/accessgraph/accessgraph/pkg/bench/sqlbase"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/gen"
	"github.com/accessgraph/accessgraph/pkg/spice"
)

// postgresEnv names a PostgreSQL server (a URI of any database on it, as a user allowed to
// create databases); each test loads the small portal into a fresh database there.
const postgresEnv = "ACCESSGRAPH_TEST_POSTGRES"

// loadSmall loads the small portal into a fresh database and returns the baseline and the
// generator whose stream it consumed.
func loadSmall(t *testing.T) (*sqlbase.Baseline, *gen.Generator) {
	t.Helper()
	base := os.Getenv(postgresEnv)
	if base == "" {
		t.Skipf("set %s=postgres://... (deploy/local-postgres/pg.sh start prints one) to test the SQL baseline", postgresEnv)
	}
	ctx := context.Background()
	uri, drop, err := bench.FreshDatabase(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Errorf("dropping the test database: %v", err)
		}
	})
	b, err := sqlbase.Open(ctx, uri, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	cfg, err := gen.Scale("small")
	if err != nil {
		t.Fatal(err)
	}
	g, err := gen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := b.Load(ctx, g)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if st.Relationships != g.Expected().Relationships || st.Rows == 0 || st.Rows+st.Skipped > st.Relationships || st.ClosureRows == 0 {
		t.Fatalf("load stats do not add up: %+v, %d relationships generated", st, g.Expected().Relationships)
	}
	// The harness's server runs as its superuser: the load settles completely.
	if st.Checkpoint != "" {
		t.Fatalf("no checkpoint after the load: %s", st.Checkpoint)
	}
	return b, g
}

// allProbes is every probe set the benchmark uses, and the hot probes.
func allProbes(g *gen.Generator) []gen.Probe {
	ps := slices.Clone(g.Hot().Probes)
	for _, kind := range append(slices.Clone(gen.PathKinds), "mixed") {
		ps = append(ps, g.ProbeSet(kind, 500)...)
	}
	return ps
}

func TestAnswersMatchTheGeneratedExpectations(t *testing.T) {
	b, g := loadSmall(t)
	ctx := context.Background()
	for _, p := range allProbes(g) {
		got, err := b.Check(ctx, p.Subject, p.Permission, p.Resource)
		if err != nil {
			t.Fatalf("%s: %v", p.Kind, err)
		}
		if got != p.Allowed {
			t.Errorf("%s: user:%s %s %s:%s = %v, want %v", p.Kind, p.Subject, p.Permission, p.Resource.ObjectType, p.Resource.ObjectId, got, p.Allowed)
		}
	}
	h, exp := g.Hot(), g.Expected()
	for _, l := range []struct {
		listing sqlbase.Listing
		user    string
		want    int
	}{
		{sqlbase.VisibleCases, h.Admin, exp.AdminCases},
		{sqlbase.GroupOpenCases, h.SuperCustomer, exp.DistrictOpenCases},
		{sqlbase.VisibleCases, h.PartnerMember, exp.PartnerMemberCases},
	} {
		ids, err := b.List(ctx, l.listing, l.user)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != l.want {
			t.Errorf("%s of user:%s: %d cases, want %d", l.listing, l.user, len(ids), l.want)
		}
		slices.Sort(ids)
		if len(slices.Compact(ids)) != len(ids) {
			t.Errorf("%s of user:%s lists a case twice", l.listing, l.user)
		}
	}
}

func TestQuestionsOutsideTheModelAreRefused(t *testing.T) {
	b, _ := loadSmall(t)
	ctx := context.Background()
	_, err := b.Check(ctx, "u-0-0", "update", &v1.ObjectReference{ObjectType: "case", ObjectId: "c-0-0"})
	if !errors.Is(err, sqlbase.ErrUnsupported) {
		t.Errorf("update on a case: got %v, want ErrUnsupported", err)
	}
	_, err = b.Check(ctx, "u-0-0", "view", &v1.ObjectReference{ObjectType: "account", ObjectId: "acc-000000"})
	if !errors.Is(err, sqlbase.ErrUnsupported) {
		t.Errorf("view on an account: got %v, want ErrUnsupported", err)
	}
	if _, err := b.List(ctx, "closed_cases", "u-0-0"); !errors.Is(err, sqlbase.ErrUnsupported) {
		t.Errorf("an unknown listing: got %v, want ErrUnsupported", err)
	}
}

// TestAgreesWithSpiceDB asks SpiceDB (memory datastore) and the SQL baseline the same
// questions on the same small portal: every probe, a grid of contacts, partner members,
// staff and super customers against cases and items across the accounts, and the listings
// of those users.
func TestAgreesWithSpiceDB(t *testing.T) {
	b, g := loadSmall(t)
	ctx := context.Background()
	e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{StartTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = e.Close() }()
	g2, err := gen.New(g.Config())
	if err != nil {
		t.Fatal(err)
	}
	st, err := gen.Load(ctx, e.Permissions(), g2.Relationships(), gen.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	consistency := spice.AtLeastAsFresh(st.Token)
	spiceCheck := func(user, perm string, res *v1.ObjectReference) bool {
		resp, err := e.Permissions().CheckPermission(ctx, &v1.CheckPermissionRequest{
			Consistency: consistency, Resource: res, Permission: perm,
			Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: user}},
		})
		if err != nil {
			t.Fatalf("SpiceDB check: %v", err)
		}
		return resp.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION
	}

	questions := allProbes(g)
	cfg := g.Config()
	var users []string
	for a := 0; a < cfg.Accounts; a += 5 {
		users = append(users, gen.UserID(a, 0), gen.UserID(a, 1), gen.UserID(a, 3))
	}
	for p := 0; p < cfg.Partners; p++ {
		users = append(users, gen.PartnerUser(p, 0), gen.PartnerUser(p, 1))
	}
	for s := 0; s < cfg.StaffUsers; s++ {
		users = append(users, fmt.Sprintf("staff-%d", s))
	}
	users = append(users, "super-0", "super-1", "school-super-0", "school-super-3", "cr-0", "su-0-0", "su-3-1")
	for i, u := range users {
		for a := i % 10; a < cfg.Accounts; a += 10 {
			questions = append(questions,
				gen.Probe{Kind: "grid", Subject: u, Permission: "view", Resource: &v1.ObjectReference{ObjectType: "case", ObjectId: gen.CaseID(a, i%3)}},
				gen.Probe{Kind: "grid", Subject: u, Permission: "view", Resource: &v1.ObjectReference{ObjectType: "install_base", ObjectId: gen.ItemID(a, 0, 0)}})
		}
	}
	allowed := 0
	for _, q := range questions {
		want := spiceCheck(q.Subject, q.Permission, q.Resource)
		got, err := b.Check(ctx, q.Subject, q.Permission, q.Resource)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s: user:%s %s %s:%s: SQL %v, SpiceDB %v", q.Kind, q.Subject, q.Permission, q.Resource.ObjectType, q.Resource.ObjectId, got, want)
		}
		if want {
			allowed++
		}
	}
	// Both answers must occur often enough for the comparison to mean something.
	if allowed < len(questions)/10 || allowed > len(questions)*9/10 {
		t.Errorf("%d of %d questions allowed: the grid does not exercise both answers", allowed, len(questions))
	}
	t.Logf("%d questions, %d allowed, same answers", len(questions), allowed)

	spiceList := func(user, perm string) []string {
		var ids []string
		for resp, err := range spice.LookupResources(ctx, e.Permissions(), &v1.LookupResourcesRequest{
			Consistency: consistency, ResourceObjectType: "case", Permission: perm,
			Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: user}},
		}) {
			if err != nil {
				t.Fatalf("SpiceDB lookup: %v", err)
			}
			ids = append(ids, resp.GetResourceObjectId())
		}
		slices.Sort(ids)
		return slices.Compact(ids)
	}
	nonEmpty := 0
	for _, u := range users {
		for _, l := range []struct {
			listing sqlbase.Listing
			perm    string
		}{{sqlbase.VisibleCases, "view"}, {sqlbase.GroupOpenCases, "group_view_open"}} {
			want := spiceList(u, l.perm)
			got, err := b.List(ctx, l.listing, u)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s of user:%s: SQL %d cases, SpiceDB %d (first SQL %v, first SpiceDB %v)", l.listing, u, len(got), len(want), head(got), head(want))
			}
			if len(want) > 0 {
				nonEmpty++
			}
		}
	}
	if nonEmpty < len(users)/2 {
		t.Errorf("only %d of %d listings are non-empty: the comparison is too weak", nonEmpty, 2*len(users))
	}
}

func head(ids []string) []string { return ids[:min(3, len(ids))] }
