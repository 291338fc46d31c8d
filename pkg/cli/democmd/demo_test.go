package democmd_test

import (
	"testing"

	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
)

func TestLoad(t *testing.T) {
	t.Parallel()
	env := clitest.New(t)
	r := env.Must("demo", "load")
	if r.Stderr != "loaded the demo portal: 8 stories, 74 changes\n" {
		t.Errorf("stderr %q", r.Stderr)
	}
	env.Allowed(false, "user:joan", "view_all_cases", "account:acme")
	env.Allowed(true, "user:sue", "view", "case:203")
	env.Expect(1, "the demo loads into an empty store", "demo", "load")
}
