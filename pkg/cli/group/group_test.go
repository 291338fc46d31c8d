package group_test

import (
	"testing"

	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
)

func TestDistrict(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	r := env.Must("group", "read-access", "show", "user:sue", "--as", "user:sue")
	if r.Stdout != "group:district\n" {
		t.Errorf("read-access show = %q", r.Stdout)
	}
	r = env.Must("group", "read-access", "show", "user:amy", "-o", "json", "--as", "user:carol")
	if r.Stdout != "{\n  \"group\": null,\n  \"user\": \"user:amy\"\n}\n" {
		t.Errorf("read-access show json = %q", r.Stdout)
	}
	env.Expect(1, "permission denied", "group", "read-access", "show", "user:sue", "--as", "user:amy")
	env.Expect(1, "group cycle", "group", "nest", "group:district", "group:almond_class_3", "--as", "user:carol")
	env.Expect(1, "group cycle", "group", "nest", "group:district", "group:district", "--as", "user:carol")

	env.Must("group", "create", "group:cedar_school", "--as", "user:carol")
	env.Must("group", "nest", "group:cedar_school", "group:district", "--as", "user:carol")
	env.Must("group", "member", "add", "group:cedar_school", "user:cy", "--as", "user:carol")
	env.Must("member", "request", "account:valley", "viewer", "--as", "user:cy")
	env.Must("member", "approve", "account:valley", "user:cy", "--as", "user:dan")
	env.Must("case", "create", "case:301", "account:valley", "--as", "user:cy")
	env.Allowed(true, "user:sue", "view", "case:301")
	env.Must("group", "unnest", "group:cedar_school", "group:district", "--as", "user:carol")
	env.Allowed(false, "user:sue", "view", "case:301")
	env.Must("group", "nest", "group:cedar_school", "group:district", "--as", "user:carol")
	env.Must("group", "member", "remove", "group:cedar_school", "user:cy", "--as", "user:carol")
	env.Allowed(false, "user:sue", "view", "case:301")

	env.Must("group", "read-access", "set", "user:sue", "group:birch_school", "--as", "user:carol")
	env.Allowed(true, "user:sue", "view", "case:202")
	env.Allowed(false, "user:sue", "view", "case:201") // a user reads one group only
	env.Must("group", "read-access", "clear", "user:sue", "--as", "user:carol")
	env.Allowed(false, "user:sue", "view", "case:202")
	env.Expect(1, "they have none", "group", "read-access", "clear", "user:sue", "--as", "user:carol")
	env.Expect(1, "permission denied", "group", "create", "group:x", "--as", "user:bill")
}
