package account_test

import (
	"testing"

	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
)

func TestCreate(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	r := env.Must("account", "create", "account:globex", "--admin", "user:gary", "--as", "user:carol")
	if r.Stderr != "created account:globex with admin user:gary\n" {
		t.Errorf("stderr %q", r.Stderr)
	}
	env.Allowed(true, "user:gary", "manage_members", "account:globex")
	env.Expect(1, "already exists", "account", "create", "account:globex", "--as", "user:carol")
	env.Expect(1, "permission denied", "account", "create", "account:initech", "--as", "user:bill")
	env.Expect(2, "is a user; a account is needed", "account", "create", "user:x", "--as", "user:carol")

	// Without an admin, requests go to Customer Care.
	env.Must("account", "create", "account:initech", "--as", "user:carol")
	env.Must("member", "request", "account:initech", "standard", "--as", "user:ian")
	r = env.Must("member", "approvers", "account:initech", "user:ian", "--as", "user:ian")
	if r.Stdout != "user:carol\tcustomer care\n" {
		t.Errorf("approvers = %q", r.Stdout)
	}
	env.Must("member", "approve", "account:initech", "user:ian", "--as", "user:carol")
	env.Allowed(true, "user:ian", "create_case", "account:initech")
}
