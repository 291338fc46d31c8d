package role_test

import (
	"testing"

	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
)

func TestCustomRoles(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	if r := env.Must("role", "show", "role:support_lead"); r.Stdout != "case_read\ncase_write\n" {
		t.Errorf("show = %q", r.Stdout)
	}
	if r := env.Must("role", "list"); r.Stdout != "role:support_lead\n" {
		t.Errorf("list = %q", r.Stdout)
	}
	r := env.RunTTY("role", "bindings", "account:acme", "--as", "user:bill")
	if want := "ROLE               GRANTEE\nrole:support_lead  group:acme_support#member\n"; r.Stdout != want {
		t.Errorf("bindings:\n%s\nwant:\n%s", r.Stdout, want)
	}
	r = env.Must("role", "define", "role:reader", "case_read", "--as", "user:vera")
	if r.Stderr != "role:reader is case_read\n" {
		t.Errorf("stderr %q", r.Stderr)
	}
	env.Must("role", "bind", "role:reader", "account:acme", "user:joan", "--as", "user:bill")
	env.Allowed(true, "user:joan", "view", "case:101")
	env.Allowed(false, "user:joan", "update", "case:101")
	env.Must("role", "define", "role:reader", "case_read,case_write", "--as", "user:vera")
	env.Allowed(true, "user:joan", "update", "case:101")
	env.Must("role", "unbind", "role:reader", "account:acme", "user:joan", "--as", "user:bill")
	env.Allowed(false, "user:joan", "view", "case:101")
	env.Must("role", "bind", "role:reader", "account:acme", "group:district", "--as", "user:bill")
	env.Allowed(true, "user:amy", "view", "case:101")

	env.Expect(2, `unknown privilege "case_delete"`, "role", "define", "role:x", "case_delete", "--as", "user:vera")
	env.Expect(1, "permission denied", "role", "define", "role:x", "case_read", "--as", "user:bill")
	env.Expect(1, "permission denied", "role", "bind", "role:reader", "account:acme", "user:pam", "--as", "user:pam")
	env.Expect(2, "missing ROLE and at least one PRIVILEGE", "role", "define", "role:x", "--as", "user:vera")
}
