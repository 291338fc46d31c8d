package relationship_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
)

func TestReadWriteDelete(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"relationship", "read", "account:acme#admin"}, "account:acme#admin@user:bill\n"},
		{[]string{"relationship", "read", "account", "--subject", "user:joan"}, "account:acme#viewer@user:joan\n"},
		{[]string{"relationship", "read", "group:district#reader"}, "group:district#reader@user:sue\n"},
		{[]string{"relationship", "read", "account:acme#admin", "-o", "json"}, `[
  {
    "relationship": "account:acme#admin@user:bill",
    "resource": "account:acme",
    "relation": "admin",
    "subject": "user:bill",
    "expires_at": null
  }
]
`},
	}
	for _, tt := range tests {
		if r := env.Must(tt.args...); r.Stdout != tt.want {
			t.Errorf("%v = %q, want %q", tt.args, r.Stdout, tt.want)
		}
	}
	r := env.RunTTY("relationship", "read", "account:acme#individual_update")
	if got := clitest.Normalize(r.Stdout); got != "RELATIONSHIP\naccount:acme#individual_update@user:tara[expiration:TIME]\n" {
		t.Errorf("expiring relationship: %q", got)
	}

	rel := "account:acme#admin@user:sally"
	env.Expect(1, "permission denied: user:bill lacks administer on platform:main", "relationship", "write", rel, "--as", "user:bill")
	r = env.Must("relationship", "write", rel, "--as", "user:vera", "--reason", "repair")
	if r.Stderr != "wrote 1 relationship(s)\n" {
		t.Errorf("stderr %q", r.Stderr)
	}
	env.Allowed(true, "user:sally", "view_all_cases", "account:acme")
	env.Expect(2, "needs confirmation", "relationship", "delete", rel, "--as", "user:vera")
	env.Must("relationship", "delete", rel, "--as", "user:vera", "--yes")
	env.Allowed(false, "user:sally", "view_all_cases", "account:acme")

	env.Expect(2, "use `accessctl feature release`", "relationship", "write", "feature:entitlement_view#participant@user:*", "--as", "user:vera")
	env.Expect(2, "no @SUBJECT", "relationship", "write", "account:acme#admin", "--as", "user:vera")
	env.Expect(2, `unknown object type "acount"`, "relationship", "read", "acount:acme")
	env.Expect(2, `account has no relation "nonsense" (its relations: platform, admin,`, "relationship", "write", "account:acme#nonsense@user:x", "--as", "user:vera")
}

// relationship read lists every match however many pages it takes, around each page
// boundary (SpiceDB pages 1,000 at a time; a read that changed its consistency after the
// first page was refused the cursor).
func TestReadListsEveryPage(t *testing.T) {
	t.Parallel()
	env := clitest.New(t)
	for _, n := range []int{999, 1000, 1001, 2000, 2537} {
		account := fmt.Sprintf("bulk-%d", n)
		var updates []*v1.RelationshipUpdate
		want := map[string]bool{}
		for i := range n {
			rel := &v1.Relationship{
				Resource: &v1.ObjectReference{ObjectType: "account", ObjectId: account},
				Relation: "viewer",
				Subject:  &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: fmt.Sprintf("u%d", i)}},
			}
			want[fmt.Sprintf("account:%s#viewer@user:u%d", account, i)] = true
			updates = append(updates, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: rel})
			if len(updates) == 500 || i == n-1 {
				if _, err := env.Engine.WriteRelationships(context.Background(), &v1.WriteRelationshipsRequest{Updates: updates}); err != nil {
					t.Fatal(err)
				}
				updates = nil
			}
		}
		r := env.Must("relationship", "read", "account:"+account+"#viewer")
		lines := strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n")
		for _, l := range lines {
			if !want[l] {
				t.Fatalf("n=%d: unexpected or repeated line %q", n, l)
			}
			delete(want, l)
		}
		if len(want) != 0 {
			t.Fatalf("n=%d: %d relationships missing from relationship read (got %d lines)", n, len(want), len(lines))
		}
	}
}
