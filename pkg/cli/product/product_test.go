package product_test

import (
	"testing"

	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
)

func TestRelatedParties(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	r := env.RunTTY("related-party", "list", "install_base:router_x200_hq", "--as", "user:bill")
	want := "" +
		"ROLE                               PARTY\n" +
		"install_base_authorized_contact    user:joan\n" +
		"install_base_authorized_contact    user:nina\n" +
		"install_base_authorized_consumer   user:olga\n" +
		"install_base_service_organization  service_org:fieldfix\n"
	if r.Stdout != want {
		t.Errorf("list:\n%s\nwant:\n%s", r.Stdout, want)
	}
	env.Allowed(true, "user:joan", "create_case", "install_base:router_x200_hq")
	env.Allowed(false, "user:nina", "create_case", "install_base:router_x200_hq")
	env.Allowed(true, "user:olga", "create_case", "install_base:router_x200_hq")
	env.Allowed(false, "user:finn", "create_case", "install_base:router_x200_hq")
	env.Allowed(true, "user:finn", "view", "install_base:router_x200_hq")

	env.Must("product", "create", "sold_product:firewall", "account:acme", "--as", "user:carol")
	env.Must("install-base", "create", "install_base:firewall_branch", "account:acme", "--sold-product", "sold_product:firewall", "--as", "user:carol")
	env.Expect(1, "sold_product:firewall is not one of account:valley's", "install-base", "create", "install_base:x", "account:valley", "--sold-product", "sold_product:firewall", "--as", "user:carol")
	env.Must("service-org", "create", "service_org:quickfix", "--as", "user:vera")
	env.Must("service-org", "member", "add", "service_org:quickfix", "user:quin", "--as", "user:vera")
	env.Must("related-party", "assign", "install_base:firewall_branch", "install_base_service_organization", "service_org:quickfix", "--as", "user:bill")
	env.Allowed(true, "user:quin", "view", "install_base:firewall_branch")
	env.Must("service-org", "member", "remove", "service_org:quickfix", "user:quin", "--as", "user:vera")
	env.Allowed(false, "user:quin", "view", "install_base:firewall_branch")
	env.Must("related-party", "assign", "sold_product:firewall", "sold_product_authorized_consumer", "user:zed", "--as", "user:bill")
	env.Allowed(true, "user:zed", "view", "install_base:firewall_branch")
	env.Must("related-party", "remove", "sold_product:firewall", "sold_product_authorized_consumer", "user:zed", "--as", "user:bill")
	env.Allowed(false, "user:zed", "view", "install_base:firewall_branch")

	env.Expect(2, "is given to a service_org, not user:zed", "related-party", "assign", "install_base:firewall_branch", "install_base_service_organization", "user:zed", "--as", "user:bill")
	env.Expect(2, "unknown functional role", "related-party", "assign", "install_base:firewall_branch", "boss", "user:zed", "--as", "user:bill")
	env.Expect(1, "permission denied", "related-party", "assign", "install_base:firewall_branch", "install_base_authorized_contact", "user:zed", "--as", "user:joan")
}
