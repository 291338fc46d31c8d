package gen_test

import (
	"context"
	"os"
	"sort"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/gen"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

func small(t *testing.T) *gen.Generator {
	t.Helper()
	cfg, err := gen.Scale("small")
	if err != nil {
		t.Fatal(err)
	}
	g, err := gen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestDeterministicAndUnique(t *testing.T) {
	t.Parallel()
	a, b := small(t), small(t)
	var first []string
	seen := map[string]bool{}
	for r := range a.Relationships() {
		k := r.String()
		if seen[k] {
			t.Fatalf("duplicate relationship %s", k)
		}
		seen[k] = true
		first = append(first, k)
	}
	i := 0
	for r := range b.Relationships() {
		if i >= len(first) || r.String() != first[i] {
			t.Fatalf("relationship %d differs between two runs with the same seed", i)
		}
		i++
	}
	if i != len(first) {
		t.Fatalf("second run gave %d relationships, first %d", i, len(first))
	}
	exp := a.Expected()
	if exp.Relationships < 8_000 || exp.Relationships > 14_000 {
		t.Errorf("small scale has %d relationships, want about 10k", exp.Relationships)
	}
	if exp.AdminCases != 200 || exp.DistrictOpenCases == 0 || exp.PartnerMemberCases == 0 || exp.AccountsWithoutAdmn == 0 {
		t.Errorf("expected answers look wrong: %+v", exp)
	}
	t.Logf("small: %+v", exp)
}

// TestSmallPortalLoadsAndAnswers imports the small portal into the memory engine, then
// asks every probe and the hot lookups through the domain API.
func TestSmallPortalLoadsAndAnswers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{StartTimeout: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	g := small(t)
	// Streams of at most 3,000 relationships: the answers below need every stream committed.
	st, err := gen.Load(ctx, e.Permissions(), g.Relationships(), gen.LoadOptions{BatchSize: 1000, StreamSize: 3000})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if st.Relationships != g.Expected().Relationships {
		t.Fatalf("imported %d, generated %d", st.Relationships, g.Expected().Relationships)
	}
	if want := (st.Relationships + 2999) / 3000; st.Streams != want {
		t.Errorf("imported in %d streams, want %d of at most 3,000", st.Streams, want)
	}
	t.Logf("imported %d relationships in %s (%.0f/s)", st.Relationships, st.Elapsed, st.PerSecond())

	e.ObserveToken(st.Token)
	c := access.New(e.Engine)
	h := g.Hot()
	for _, p := range h.Probes {
		d, err := c.Check(ctx, ref.Subject{Object: ref.Object{Type: "user", ID: p.Subject}}, p.Permission,
			ref.Object{Type: p.Resource.GetObjectType(), ID: p.Resource.GetObjectId()}, access.Full())
		if err != nil {
			t.Fatalf("%s: %v", p.Kind, err)
		}
		if d.Allowed != p.Allowed {
			t.Errorf("%s: user:%s %s %s:%s = %v, want %v", p.Kind, p.Subject, p.Permission, p.Resource.GetObjectType(), p.Resource.GetObjectId(), d.Allowed, p.Allowed)
		}
	}
	for _, kind := range append(gen.PathKinds, "mixed") {
		for _, p := range g.ProbeSet(kind, 60) {
			d, err := c.Check(ctx, ref.Subject{Object: ref.Object{Type: "user", ID: p.Subject}}, p.Permission,
				ref.Object{Type: p.Resource.GetObjectType(), ID: p.Resource.GetObjectId()}, access.Fresh())
			if err != nil {
				t.Fatalf("%s: %v", p.Kind, err)
			}
			if d.Allowed != p.Allowed {
				t.Errorf("probe set %s: user:%s %s %s:%s = %v, want %v", p.Kind, p.Subject, p.Permission, p.Resource.GetObjectType(), p.Resource.GetObjectId(), d.Allowed, p.Allowed)
			}
		}
	}
	count := func(seq func(func(ref.Object, error) bool)) (n int, ids map[string]bool) {
		ids = map[string]bool{}
		for o, err := range seq {
			if err != nil {
				t.Fatal(err)
			}
			ids[o.ID] = true
			n++
		}
		return n, ids
	}
	exp := g.Expected()
	n, ids := count(c.VisibleCases(ctx, access.As(h.Admin), h.Admin, access.StatusAll))
	if n != exp.AdminCases {
		t.Errorf("admin sees %d cases, want %d", n, exp.AdminCases)
	}
	for k := 0; k < 200; k++ {
		if !ids[gen.CaseID(0, k)] {
			t.Errorf("admin does not see %s", gen.CaseID(0, k))
			break
		}
	}
	if n, _ := count(c.GroupCases(ctx, access.As(h.SuperCustomer), h.SuperCustomer, access.StatusOpen)); n != exp.DistrictOpenCases {
		t.Errorf("super customer sees %d open group cases, want %d", n, exp.DistrictOpenCases)
	}
	if n, _ := count(c.VisibleCases(ctx, access.As(h.PartnerMember), h.PartnerMember, access.StatusAll)); n != exp.PartnerMemberCases {
		t.Errorf("partner member sees %d cases, want %d", n, exp.PartnerMemberCases)
	}
	// The pending join request is there, and the admin can approve it.
	tok, err := c.Approve(ctx, access.As(h.Admin), h.AdminAccount, h.Joiner)
	if err != nil {
		t.Fatalf("approving the generated join request: %v", err)
	}
	d, err := c.Check(ctx, ref.Subject{Object: ref.Object{Type: "user", ID: h.Joiner}}, "member", ref.Object{Type: "account", ID: h.AdminAccount}, access.AtLeast(tok))
	if err != nil || !d.Allowed {
		t.Errorf("joiner is not a member after approval: %v %v", d, err)
	}
	// Expiring grants were imported with their expiry.
	stream, err := e.Permissions().ReadRelationships(ctx, &v1.ReadRelationshipsRequest{
		Consistency:        &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
		RelationshipFilter: &v1.RelationshipFilter{ResourceType: "account", OptionalRelation: "individual_look", OptionalSubjectFilter: &v1.SubjectFilter{SubjectType: "user", OptionalSubjectId: "staff-0"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil || resp.GetRelationship().GetOptionalExpiresAt() == nil {
		t.Errorf("staff-0's grant has no expiry: %v %v", resp, err)
	}
}

func TestScales(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"small", "medium", "large"} {
		if _, err := gen.Scale(name); err != nil {
			t.Error(err)
		}
	}
	if _, err := gen.Scale("huge"); err == nil {
		t.Error("unknown scale accepted")
	}
}

// TestShapeSummary prints how many relationships of each resource type and relation a
// scale has: ACCESSGRAPH_GEN_SUMMARY=medium go test ./pkg/gen -run TestShapeSummary -v
func TestShapeSummary(t *testing.T) {
	scale := os.Getenv("ACCESSGRAPH_GEN_SUMMARY")
	if scale == "" {
		t.Skip("set ACCESSGRAPH_GEN_SUMMARY to a scale")
	}
	cfg, err := gen.Scale(scale)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	expiring := 0
	for r := range g.Relationships() {
		counts[r.GetResource().GetObjectType()+"#"+r.GetRelation()]++
		if r.GetOptionalExpiresAt() != nil {
			expiring++
		}
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("%-40s %9d", k, counts[k])
	}
	t.Logf("expiring: %d; expected: %+v", expiring, g.Expected())
}

// Every generated id is one the domain layer accepts (so no public id contains "|"), and every
// role_binding and partner_link id is the one ref builds from the objects it links, so the
// generated data has the shapes BindRole and LinkPartner write.
func TestIDsAreValidAndInternalIDsSplit(t *testing.T) {
	t.Parallel()
	bindings, links := 0, 0
	for r := range small(t).Relationships() {
		res, sub := r.GetResource(), r.GetSubject().GetObject()
		if _, err := ref.New(res.GetObjectType(), res.GetObjectId()); err != nil {
			t.Fatalf("%s: resource: %v", r, err)
		}
		if sub.GetObjectId() != "*" {
			if _, err := ref.New(sub.GetObjectType(), sub.GetObjectId()); err != nil {
				t.Fatalf("%s: subject: %v", r, err)
			}
		}
		switch {
		case sub.GetObjectType() == "role_binding":
			object, _, err := ref.ParseRoleBindingID(sub.GetObjectId())
			if err != nil || object != (ref.Object{Type: res.GetObjectType(), ID: res.GetObjectId()}) {
				t.Fatalf("%s: binding id splits into %v, %v", r, object, err)
			}
			bindings++
		case res.GetObjectType() == "role_binding" && r.GetRelation() == "role":
			if _, role, err := ref.ParseRoleBindingID(res.GetObjectId()); err != nil || role != sub.GetObjectId() {
				t.Fatalf("%s: binding id splits into role %q, %v", r, role, err)
			}
		case sub.GetObjectType() == "partner_link":
			account, _, err := ref.ParsePartnerLinkID(sub.GetObjectId())
			if err != nil || res.GetObjectType() != "account" || account != res.GetObjectId() {
				t.Fatalf("%s: link id splits into account %q, %v", r, account, err)
			}
			links++
		case res.GetObjectType() == "partner_link" && r.GetRelation() == "partner":
			if _, partner, err := ref.ParsePartnerLinkID(res.GetObjectId()); err != nil || partner != sub.GetObjectId() {
				t.Fatalf("%s: link id splits into partner %q, %v", r, partner, err)
			}
		}
	}
	if bindings == 0 || links == 0 {
		t.Fatalf("the small portal has %d role bindings and %d partner links; want some of each", bindings, links)
	}
}
