package relationship_test

import (
	"testing"

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
	env.Expect(2, "is not a relationship", "relationship", "write", "account:acme#admin", "--as", "user:vera")
	env.Expect(2, `unknown object type "acount"`, "relationship", "read", "acount:acme")
	env.Expect(1, "writing relationships", "relationship", "write", "account:acme#nonsense@user:x", "--as", "user:vera")
}
