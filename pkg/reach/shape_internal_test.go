package reach

import (
	"maps"
	"slices"
	"testing"

	"github.com/accessgraph/accessgraph/schema"
)

// TestAnchorDependencies: the relations SpiceDB reads for each anchor of a view listing
// are found through computed usersets, arrows, subject relations and set operations, each
// named for the anchors that read it, and nothing else is named.
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
		if deps[key] == 0 {
			t.Errorf("%s is read by the anchor lookups but not named", key)
		}
	}
	// Which anchors read a relation, in the accessgraph schema.
	for _, tt := range []struct {
		key          string
		read, unread []anchor
	}{
		{"account#admin", []anchor{viewAllCases, installBaseReader}, []anchor{partnerAny, partnerUpdate, soldProductReader}},
		{"account#org_cc", []anchor{partnerAny}, []anchor{viewAllCases, partnerUpdate, soldProductReader, installBaseReader}},
		{"partner#member", []anchor{viewAllCases, partnerAny, partnerUpdate}, []anchor{soldProductReader, installBaseReader}},
		{"sold_product#authorized_contact", []anchor{soldProductReader}, []anchor{viewAllCases, partnerAny, partnerUpdate, installBaseReader}},
		{"role_binding#grantee", []anchor{viewAllCases, soldProductReader, installBaseReader}, []anchor{partnerAny, partnerUpdate}},
		{"service_org#direct_member", []anchor{installBaseReader}, []anchor{viewAllCases, partnerAny, partnerUpdate, soldProductReader}},
	} {
		for _, a := range tt.read {
			if !deps[tt.key].has(a) {
				t.Errorf("%s is read by %s#%s but not named for it", tt.key, a.resourceType(), a.permission())
			}
		}
		for _, a := range tt.unread {
			if deps[tt.key].has(a) {
				t.Errorf("%s is named for %s#%s, which does not read it", tt.key, a.resourceType(), a.permission())
			}
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
	want := map[anchor][]string{
		viewAllCases:      {"account#admin", "account#org", "org#banned", "org#owner"},
		partnerAny:        {"account#org", "account#standard", "org#team"},
		partnerUpdate:     {"account#viewer"},
		soldProductReader: {"sold_product#contact", "team#member"},
		installBaseReader: {"install_base#contact"},
	}
	for a := range anchorCount {
		var got []string
		for _, key := range slices.Sorted(maps.Keys(deps)) {
			if deps[key].has(a) {
				got = append(got, key)
			}
		}
		if !slices.Equal(got, want[a]) {
			t.Errorf("what %s#%s reads in the synthetic schema: %v, want %v", a.resourceType(), a.permission(), got, want[a])
		}
	}

	if _, err := anchorDependencies("definition user {}"); err == nil {
		t.Error("a schema without the anchor permissions gave no error")
	}
}
