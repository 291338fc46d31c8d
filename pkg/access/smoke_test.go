package access_test

import (
	"testing"

	"github.com/accessgraph/accessgraph/pkg/access"
)

func TestSmoke(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.account("acme", "bill", map[string]access.Role{"sally": access.RoleStandard, "joan": access.RoleViewer})
	w.must(w.c.CreateCase(w.ctx, access.As("sally"), access.NewCase{ID: "c1", Account: "acme"}))
	w.expect(
		yes("sally", "view", "case:c1"), yes("sally", "update", "case:c1"), yes("bill", "view", "case:c1"),
		no("joan", "view", "case:c1"),
	)
}
