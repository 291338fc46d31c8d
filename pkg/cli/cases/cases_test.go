package cases_test

import (
	"testing"

	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
)

func TestLifecycle(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	r := env.Must("case", "create", "case:42", "account:acme", "--as", "user:sally")
	if r.Stderr != "opened case:42 on account:acme\n" {
		t.Errorf("stderr %q", r.Stderr)
	}
	env.Allowed(true, "user:sally", "update", "case:42")
	env.Allowed(true, "user:bill", "update", "case:42")
	env.Allowed(false, "user:joan", "view", "case:42")
	env.Must("case", "close", "case:42", "--as", "user:sally", "--reason", "solved")
	env.Allowed(false, "user:sally", "update", "case:42")
	env.Allowed(true, "user:sally", "view", "case:42")
	env.Expect(1, "already closed", "case", "close", "case:42", "--as", "user:sally")
	env.Expect(1, "permission denied", "case", "reopen", "case:42", "--as", "user:joan")
	env.Must("case", "reopen", "case:42", "--as", "user:bill")
	env.Allowed(true, "user:sally", "update", "case:42")
	env.Expect(1, "already exists", "case", "create", "case:42", "account:acme", "--as", "user:sally")
	env.Expect(1, "permission denied", "case", "create", "case:43", "account:acme", "--as", "user:nina")
	env.Must("case", "create", "case:43", "account:acme", "--install-base", "install_base:router_x200_hq", "--as", "user:olga")
	env.Allowed(true, "user:finn", "update", "case:43")
}

func TestListings(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	tests := []struct {
		args []string
		want string
	}{
		// sally reported 101 and 103; as the router's sold product authorized contact she
		// also sees the cases on its install base item (104, 105).
		{[]string{"case", "list", "--as", "user:sally"}, "case:101\ncase:103\ncase:104\ncase:105\n"},
		{[]string{"case", "list", "--status", "closed", "--as", "user:sally"}, "case:103\n"},
		{[]string{"case", "list", "user:pete", "--as", "user:carol"}, "case:102\n"},
		{[]string{"case", "group-list", "--as", "user:sue"}, "case:201\ncase:202\ncase:203\n"},
		{[]string{"case", "group-list", "--status", "closed", "--as", "user:sue"}, "case:202\n"},
		{[]string{"case", "group-list", "--status", "open", "--as", "user:sue"}, "case:201\ncase:203\n"},
		{[]string{"case", "partner-managed", "account:acme", "--as", "user:bill"}, "case:101\n"},
	}
	for _, tt := range tests {
		r := env.Must(tt.args...)
		if r.Stdout != tt.want {
			t.Errorf("%v = %q, want %q", tt.args, r.Stdout, tt.want)
		}
	}
	env.Expect(1, "permission denied", "case", "list", "user:sally", "--as", "user:joan")
	env.Expect(2, `unknown case status "shut"`, "case", "list", "--status", "shut", "--as", "user:sally")
}

func TestContacts(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	env.Allowed(false, "user:pete", "view", "case:101")
	env.Must("case", "contact", "add", "case:101", "user:pete", "--as", "user:bill")
	env.Allowed(true, "user:pete", "update", "case:101")
	env.Expect(1, "update or higher", "case", "contact", "add", "case:101", "user:pete", "--primary", "--as", "user:bill")
	env.Expect(1, "partner grant", "case", "contact", "add", "case:101", "user:nobody", "--as", "user:bill")
	env.Must("case", "contact", "remove", "case:101", "user:pete", "--as", "user:bill")
	env.Allowed(false, "user:pete", "view", "case:101")
	env.Must("case", "contact", "remove", "case:101", "user:tara", "--as", "user:bill")
	r := env.Must("case", "partner-managed", "account:acme", "--as", "user:bill")
	if r.Stdout != "" {
		t.Errorf("partner-managed after removing the primary contact = %q", r.Stdout)
	}
}
