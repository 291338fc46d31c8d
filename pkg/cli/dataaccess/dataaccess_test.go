package dataaccess_test

import (
	"testing"

	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
)

func TestConsent(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	r := env.RunTTY("data-access", "list", "account:acme", "--as", "user:bill")
	want := "" +
		"PARTNER           SUPPORT  VENDOR  CUSTOMER  MANAGE\n" +
		"partner:msp       yes      yes     yes       yes\n" +
		"partner:reseller  yes      yes     no        no\n"
	if r.Stdout != want {
		t.Errorf("list:\n%s\nwant:\n%s", r.Stdout, want)
	}
	env.Allowed(true, "user:rita", "view_dashboard", "account:acme")
	env.Allowed(false, "user:rita", "manage_service", "account:acme")
	env.Allowed(true, "user:max", "manage_service", "account:acme")

	r = env.Must("data-access", "customer-manage", "account:acme", "partner:reseller", "on", "--as", "user:bill")
	if r.Stderr != "customer-manage is on for partner:reseller on account:acme\n" {
		t.Errorf("stderr %q", r.Stderr)
	}
	env.Allowed(true, "user:rita", "manage_service", "account:acme")
	env.Must("data-access", "vendor-manage", "account:acme", "partner:reseller", "off", "--as", "user:vera")
	env.Allowed(false, "user:rita", "manage_service", "account:acme")
	env.Must("data-access", "support", "account:acme", "partner:reseller", "off", "--as", "user:bill")
	env.Allowed(false, "user:rita", "view_user_activity", "account:acme")
	env.Expect(1, "permission denied", "data-access", "support", "account:acme", "partner:reseller", "on", "--as", "user:rita")
	env.Expect(1, "permission denied", "data-access", "vendor-manage", "account:acme", "partner:reseller", "on", "--as", "user:bill")
	env.Expect(2, `"maybe" is not on or off`, "data-access", "support", "account:acme", "partner:reseller", "maybe", "--as", "user:bill")
	env.Must("data-access", "unlink", "account:acme", "partner:msp", "--as", "user:vera")
	env.Allowed(false, "user:max", "manage_service", "account:acme")
	env.Must("data-access", "link", "account:acme", "partner:msp", "--as", "user:vera")
	env.Allowed(true, "user:max", "view_dashboard", "account:acme")
	env.Allowed(false, "user:max", "manage_service", "account:acme")
	env.Expect(1, "already linked", "data-access", "link", "account:acme", "partner:msp", "--as", "user:vera")
}
