package platform_test

import (
	"testing"

	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
)

func TestBootstrapAndRoles(t *testing.T) {
	t.Parallel()
	env := clitest.New(t)
	r := env.Must("platform", "bootstrap", "--as", "user:vera")
	if r.Stderr != "user:vera is the first platform administrator\n" {
		t.Errorf("stderr %q", r.Stderr)
	}
	env.Expect(1, "already has an administrator", "platform", "bootstrap", "--as", "user:mallory")
	env.Must("platform", "role", "add", "user:carol", "customer_care", "--as", "user:vera")
	env.Allowed(true, "user:carol", "onboard_customers", "platform:main")
	env.Expect(2, `unknown platform role "boss"`, "platform", "role", "add", "user:carol", "boss", "--as", "user:vera")
	env.Expect(1, "permission denied", "platform", "role", "add", "user:eve", "administrator", "--as", "user:carol")
	env.Must("platform", "role", "remove", "user:carol", "customer_care", "--as", "user:vera")
	env.Allowed(false, "user:carol", "onboard_customers", "platform:main")
}

func TestFeatureRollout(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	env.Allowed(false, "user:leo", "download_software", "account:acme") // viewer
	env.Must("member", "role", "account:acme", "user:leo", "standard", "--as", "user:bill")
	env.Allowed(false, "user:leo", "download_software", "account:acme") // not in the pilot
	env.Must("feature", "participant", "add", "feature:entitlement_view", "user:leo", "--as", "user:vera")
	env.Allowed(true, "user:leo", "download_software", "account:acme")
	env.Must("feature", "participant", "remove", "feature:entitlement_view", "user:leo", "--as", "user:vera")
	env.Allowed(false, "user:leo", "download_software", "account:acme")
	r := env.Must("feature", "release", "feature:entitlement_view", "--as", "user:vera")
	if r.Stderr != "feature:entitlement_view is released to every user\n" {
		t.Errorf("stderr %q", r.Stderr)
	}
	env.Allowed(true, "user:leo", "generate_license_key", "account:acme")
	env.Allowed(false, "user:joan", "generate_license_key", "account:acme")
	env.Must("feature", "release", "feature:entitlement_view", "--withdraw", "--as", "user:vera")
	env.Allowed(false, "user:leo", "download_software", "account:acme")
	env.Allowed(true, "user:sally", "download_software", "account:acme")
	env.Expect(1, "permission denied", "feature", "release", "feature:entitlement_view", "--as", "user:bill")
}
