package reach

import (
	"maps"
	"slices"
	"testing"

	"github.com/accessgraph/accessgraph/schema"
)

// TestAnchorDependencies: the relations SpiceDB reads for a view listing's lookups are
// found through computed usersets, arrows, subject relations and set operations, and
// nothing else is named.
func TestAnchorDependencies(t *testing.T) {
	deps, err := anchorDependencies(schema.Text)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{
		"account#admin", "account#individual_look", "account#org_look", "partner#member", "account#role_binding",
		"role_binding#grantee", "role_binding#role", "role#case_read", "sold_product#authorized_contact",
		"install_base#service_organization", "service_org#direct_member", "install_base#sold_product",
	} {
		if !deps[key] {
			t.Errorf("%s is read by the anchor lookups but not named", key)
		}
	}
	for key := range deps {
		if _, held := edgeRelations[key]; held || key == "case#open" || key == "feature#participant" || key == "account#partner_managed_case" {
			t.Errorf("%s is named, but the anchor lookups do not read it", key)
		}
	}

	synthetic := `definition user {}
definition team {
	relation member: user | team#member
}
definition org {
	relation owner: user
	relation banned: user
	relation team: team
	permission manage = owner - banned
}
definition account {
	relation org: org
	relation admin: user
	relation standard: user
	relation viewer: user
	relation role_binding: org
	relation unrelated: user
	permission view_all_cases = admin + org->manage
	permission partner_any = standard & org->team
	permission partner_update = viewer
}
definition sold_product {
	relation contact: team#member
	permission case_reader = contact
}
definition install_base {
	relation contact: user
	permission case_reader = contact
}`
	deps, err = anchorDependencies(synthetic)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"account#admin", "account#org", "account#standard", "account#viewer", "install_base#contact",
		"org#banned", "org#owner", "org#team", "sold_product#contact", "team#member",
	}
	if got := slices.Sorted(maps.Keys(deps)); !slices.Equal(got, want) {
		t.Errorf("dependencies of the synthetic schema: %v, want %v", got, want)
	}

	if _, err := anchorDependencies("definition user {}"); err == nil {
		t.Error("a schema without the anchor permissions gave no error")
	}
}
