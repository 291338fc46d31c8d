package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// lookupSubjects returns LookupSubjects' users, and whether it returned the wildcard.
func lookupSubjects(t *testing.T, c *access.Client, q question) ([]string, bool) {
	t.Helper()
	var out []string
	wildcard := false
	for o, err := range c.LookupSubjects(context.Background(), obj(q.object), q.perm, "user", access.Fresh()) {
		if err != nil {
			t.Fatal(err)
		}
		if o.ID == "*" {
			wildcard = true
			continue
		}
		out = append(out, o.ID)
	}
	slices.Sort(out)
	return out, wildcard
}

// The expand tree's holders, computed with set semantics (users under an exclusion's
// subtracted branch are not holders), equal LookupSubjects and who-can.
func TestExpandHoldersEqualLookupSubjectsAndWhoCan(t *testing.T) {
	p := sharedPortal(t)
	for _, q := range append(portalQuestions, question{"feature:entitlement_view", "participate"}) {
		tree, err := p.a.Expand(p.ctx, obj(q.object), q.perm)
		if err != nil {
			t.Fatal(err)
		}
		h := tree.Holders()
		users, wildcard := lookupSubjects(t, p.c, q)
		if h.Everyone != wildcard || !slices.Equal(nonNil(h.Users), nonNil(users)) {
			t.Errorf("%s %s: expand holders %+v, LookupSubjects %v (wildcard %v)", q.perm, q.object, h, users, wildcard)
		}
		if ids := holderIDs(whoCan(t, p.a, q)); !slices.Equal(nonNil(ids), nonNil(users)) {
			t.Errorf("%s %s: who can %v, LookupSubjects %v", q.perm, q.object, ids, users)
		}
		if !slices.Equal(nonNil(tree.Pruned().Holders().Users), nonNil(h.Users)) {
			t.Errorf("%s %s: pruning changed the holders", q.perm, q.object)
		}
	}
}

func TestExpandRenderers(t *testing.T) {
	p := sharedPortal(t)
	tree, err := p.a.Expand(p.ctx, obj("account:acme"), "view_members")
	if err != nil {
		t.Fatal(err)
	}
	tree = tree.Pruned()
	for _, r := range []struct {
		name  string
		write func(io.Writer, audit.Tree) error
		want  string
	}{
		{"text", audit.WriteTreeText, wantTreeText},
		{"dot", audit.WriteTreeDOT, wantTreeDOT},
		{"mermaid", audit.WriteTreeMermaid, wantTreeMermaid},
	} {
		var b bytes.Buffer
		if err := r.write(&b, tree); err != nil {
			t.Fatal(err)
		}
		if b.String() != r.want {
			t.Errorf("%s rendering:\n got:\n%s\nwant:\n%s", r.name, b.String(), r.want)
		}
	}
	var b bytes.Buffer
	if err := audit.WriteTreeJSON(&b, tree); err != nil {
		t.Fatal(err)
	}
	var decoded struct {
		Resource string `json:"resource"`
		Holders  struct {
			Users []string `json:"users"`
		} `json:"holders"`
		Root struct {
			Kind     string            `json:"kind"`
			Children []json.RawMessage `json:"children"`
		} `json:"root"`
	}
	if err := json.Unmarshal(b.Bytes(), &decoded); err != nil {
		t.Fatal(err)
	}
	if decoded.Resource != "account:acme" || !slices.Equal(decoded.Holders.Users, []string{bill, carol, fred}) ||
		decoded.Root.Kind != "union" || len(decoded.Root.Children) != 3 {
		t.Errorf("JSON rendering: %s", b.String())
	}
}

const wantTreeText = `account:acme#view_members (union)
├── account:acme#admin
│   └── user:bill
├── account:acme#partner_full_admin (exclusion)
│   ├── account:acme#org_full_admin_level (union)
│   │   └── account:acme#org_full_admin
│   │       └── partner:fixit#member
│   │           └── user:fred
│   └── minus account:acme#individual_grantee (union)
│       ├── account:acme#individual_cc
│       │   └── user:pete
│       └── account:acme#individual_update
│           └── user:tara
└── account:acme#care (union)
    └── platform:main#act_as_customer_care (union)
        └── platform:main#customer_care
            └── user:carol
`

const wantTreeDOT = `digraph expand {
  rankdir=LR;
  node [fontname="Helvetica"];
  n0 [label="account:acme#view_members (union)", shape=diamond];
  n1 [label="account:acme#admin", shape=box];
  n2 [label="user:bill", shape=ellipse];
  n3 [label="account:acme#partner_full_admin (exclusion)", shape=diamond];
  n4 [label="account:acme#org_full_admin_level (union)", shape=diamond];
  n5 [label="account:acme#org_full_admin", shape=box];
  n6 [label="partner:fixit#member", shape=box];
  n7 [label="user:fred", shape=ellipse];
  n8 [label="account:acme#individual_grantee (union)", shape=diamond];
  n9 [label="account:acme#individual_cc", shape=box];
  n10 [label="user:pete", shape=ellipse];
  n11 [label="account:acme#individual_update", shape=box];
  n12 [label="user:tara", shape=ellipse];
  n13 [label="account:acme#care (union)", shape=diamond];
  n14 [label="platform:main#act_as_customer_care (union)", shape=diamond];
  n15 [label="platform:main#customer_care", shape=box];
  n16 [label="user:carol", shape=ellipse];
  n0 -> n1;
  n1 -> n2;
  n0 -> n3;
  n3 -> n4;
  n4 -> n5;
  n5 -> n6;
  n6 -> n7;
  n3 -> n8 [style=dashed, label="minus"];
  n8 -> n9;
  n9 -> n10;
  n8 -> n11;
  n11 -> n12;
  n0 -> n13;
  n13 -> n14;
  n14 -> n15;
  n15 -> n16;
}
`

const wantTreeMermaid = `flowchart LR
  n0{"account:acme#35;view_members (union)"}
  n1["account:acme#35;admin"]
  n2(["user:bill"])
  n3{"account:acme#35;partner_full_admin (exclusion)"}
  n4{"account:acme#35;org_full_admin_level (union)"}
  n5["account:acme#35;org_full_admin"]
  n6["partner:fixit#35;member"]
  n7(["user:fred"])
  n8{"account:acme#35;individual_grantee (union)"}
  n9["account:acme#35;individual_cc"]
  n10(["user:pete"])
  n11["account:acme#35;individual_update"]
  n12(["user:tara"])
  n13{"account:acme#35;care (union)"}
  n14{"platform:main#35;act_as_customer_care (union)"}
  n15["platform:main#35;customer_care"]
  n16(["user:carol"])
  n0 --> n1
  n1 --> n2
  n0 --> n3
  n3 --> n4
  n4 --> n5
  n5 --> n6
  n6 --> n7
  n3 -. minus .-> n8
  n8 --> n9
  n9 --> n10
  n8 --> n11
  n11 --> n12
  n0 --> n13
  n13 --> n14
  n14 --> n15
  n15 --> n16
`

// Holders uses set semantics: exclusions subtract, intersections keep what every side
// holds, wildcards stand for everyone.
func TestTreeHoldersSetSemantics(t *testing.T) {
	u := func(id string) *audit.Node {
		return &audit.Node{Kind: audit.NodeUser, Object: ref.Object{Type: "user", ID: id}}
	}
	all := &audit.Node{Kind: audit.NodeWildcard, Object: ref.Object{Type: "user", ID: "*"}}
	rel := func(children ...*audit.Node) *audit.Node {
		return &audit.Node{Kind: audit.NodeRelation, Children: children}
	}
	op := func(kind audit.NodeKind, children ...*audit.Node) *audit.Node {
		return &audit.Node{Kind: kind, Children: children}
	}
	for _, tc := range []struct {
		name string
		root *audit.Node
		want audit.Holders
	}{
		{"exclusion subtracts", op(audit.NodeExclusion, rel(u("a"), u("b"), u("c")), rel(u("b"))), audit.Holders{Users: []string{"a", "c"}}},
		{"excluded but granted elsewhere", op(audit.NodeUnion, op(audit.NodeExclusion, rel(u("a"), u("b")), rel(u("b"))), rel(u("b"))), audit.Holders{Users: []string{"a", "b"}}},
		{"wildcard minus one", op(audit.NodeUnion, op(audit.NodeExclusion, rel(all), rel(u("d"))), rel(u("a"))), audit.Holders{Everyone: true, Except: []string{"d"}}},
		{"flag intersection", op(audit.NodeIntersection, rel(u("a"), u("b")), rel(all)), audit.Holders{Users: []string{"a", "b"}}},
		{"intersection", op(audit.NodeIntersection, rel(u("a"), u("b")), rel(u("b"), u("c"))), audit.Holders{Users: []string{"b"}}},
		{"minus everyone", op(audit.NodeExclusion, rel(u("a")), rel(all)), audit.Holders{Users: []string{}}},
		{"unexpanded set", op(audit.NodeUnion, rel(&audit.Node{Kind: audit.NodeSubjectSet, Truncated: true}), rel(u("a"))), audit.Holders{Users: []string{"a"}, Incomplete: true}},
	} {
		got := audit.Tree{Root: tc.root}.Holders()
		got.Users, got.Except = nonNil(got.Users), nilIfEmpty(got.Except)
		tc.want.Users = nonNil(tc.want.Users)
		if got.Everyone != tc.want.Everyone || !slices.Equal(got.Users, tc.want.Users) || !slices.Equal(got.Except, tc.want.Except) || got.Incomplete != tc.want.Incomplete {
			t.Errorf("%s: holders %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// A loop in the data (which the domain layer refuses to write, but another writer could)
// ends in a node marked Cycle instead of expanding forever.
func TestExpandStopsAtCycles(t *testing.T) {
	ctx := context.Background()
	e, c, err := newEngine(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s := &steps{}
	s.do(c.Bootstrap(ctx, vera, "setup"))
	s.do(c.CreateGroup(ctx, as(vera, "setup"), "g1"))
	s.do(c.CreateGroup(ctx, as(vera, "setup"), "g2"))
	s.do(c.AddGroupMember(ctx, as(vera, "setup"), "g1", "x"))
	if s.err != nil {
		t.Fatal(s.err)
	}
	set := func(from, to string) *v1.RelationshipUpdate {
		return &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: &v1.Relationship{
			Resource: &v1.ObjectReference{ObjectType: "group", ObjectId: from}, Relation: "direct_member",
			Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "group", ObjectId: to}, OptionalRelation: "member"},
		}}
	}
	if _, err := e.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{set("g1", "g2"), set("g2", "g1")}}); err != nil {
		t.Fatal(err)
	}
	tree, err := audit.New(c).Expand(ctx, obj("group:g1"), "member")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	_ = audit.WriteTreeText(&b, tree)
	if !strings.Contains(b.String(), "group:g1#member (cycle: expanded above)") {
		t.Errorf("no cycle marker in\n%s", b.String())
	}
	if h := tree.Holders(); !slices.Equal(h.Users, []string{"x"}) {
		t.Errorf("holders = %+v, want x", h)
	}
}

// The depth limit leaves deeper subject sets unexpanded and says so.
func TestExpandDepthLimit(t *testing.T) {
	p := sharedPortal(t)
	tree, err := audit.New(p.c, audit.WithExpandDepth(1)).Expand(p.ctx, obj("case:101"), "view")
	if err != nil {
		t.Fatal(err)
	}
	if h := tree.Holders(); !h.Incomplete || slices.Contains(h.Users, leo) || !slices.Contains(h.Users, bill) {
		t.Errorf("holders at depth 1 = %+v; want bill, no leo (behind a group), incomplete", h)
	}
}
