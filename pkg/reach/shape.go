package reach

import (
	"fmt"
	"sync"

	caveattypes "github.com/authzed/spicedb/pkg/caveats/types"
	"github.com/authzed/spicedb/pkg/schemadsl/compiler"
	"github.com/authzed/spicedb/pkg/schemadsl/generator"
	"github.com/authzed/spicedb/pkg/schemadsl/input"

	"github.com/accessgraph/accessgraph/schema"
)

// modelled names every relation and permission the index reproduces, by type. The index
// answers only while the served schema defines each exactly as the accessgraph schema does:
//
//	user#member_of: group
//	user#read_cases = member_of->read_member_cases
//	group#parent: group, group#reader: user
//	group#read_member_cases = reader + parent->read_member_cases
//	case#reporter, authorized_contact, authorized_consumer, authorized_contributor,
//	  partner_contact, primary_partner_contact: user
//	case#account: account, case#sold_product: sold_product, case#install_base: install_base
//	case#open: user:*
//	case#related_party = authorized_contact + authorized_consumer + authorized_contributor
//	case#partner_party = (partner_contact & account->partner_any) + (primary_partner_contact & account->partner_update)
//	case#view = reporter + related_party + partner_party + reporter->read_cases
//	  + account->view_all_cases + sold_product->case_reader + install_base->case_reader
//	case#view_open = view & open, case#view_closed = view - open
//	case#group_view = reporter->read_cases
//	case#group_view_open = group_view & open, case#group_view_closed = group_view - open
//
// What the arrows reach on accounts, products and items (view_all_cases, case_reader,
// partner_any, partner_update) is SpiceDB's to answer, whatever its definition.
var modelled = map[string][]string{
	"user":  {"member_of", "read_cases"},
	"group": {"parent", "reader", "read_member_cases"},
	"case": {
		"reporter", "open", "account", "sold_product", "install_base",
		"authorized_contact", "authorized_consumer", "authorized_contributor", "partner_contact", "primary_partner_contact",
		"related_party", "partner_party", "view", "view_open", "view_closed",
		"group_view", "group_view_open", "group_view_closed",
	},
}

var (
	expectedOnce sync.Once
	expected     map[string]string
	expectedErr  error
)

// checkShape returns an unsupportedError unless the served schema defines what the index
// reproduces exactly as the accessgraph schema does.
func checkShape(served string) error {
	expectedOnce.Do(func() {
		expected, expectedErr = relationSources(schema.Text)
		for typ, names := range modelled {
			for _, name := range names {
				if _, ok := expected[typ+"#"+name]; !ok && expectedErr == nil {
					expectedErr = unsupportedError{why: fmt.Sprintf("the accessgraph schema does not define %s#%s", typ, name)}
				}
			}
		}
	})
	if expectedErr != nil {
		return expectedErr
	}
	sources, err := relationSources(served)
	if err != nil {
		return unsupportedError{why: fmt.Sprintf("the served schema: %v", err)}
	}
	for key, want := range expected {
		if sources[key] != want {
			return unsupportedError{why: fmt.Sprintf("the served schema defines %s differently from the accessgraph schema", key)}
		}
	}
	return nil
}

// relationSources compiles text and returns the source of each modelled relation, by
// "type#relation" (missing ones are left out).
func relationSources(text string) (map[string]string, error) {
	cs, err := compiler.Compile(compiler.InputSchema{Source: input.Source(schema.FileName), SchemaString: text}, compiler.AllowUnprefixedObjectType())
	if err != nil {
		return nil, fmt.Errorf("compiling: %w", err)
	}
	out := map[string]string{}
	for _, def := range cs.ObjectDefinitions {
		for _, rel := range def.GetRelation() {
			for _, name := range modelled[def.GetName()] {
				if rel.GetName() != name {
					continue
				}
				// Doc comments are part of a relation's metadata, not its meaning.
				bare := rel.CloneVT()
				bare.Metadata = nil
				src, err := generator.GenerateRelationSource(bare, caveattypes.Default.TypeSet)
				if err != nil {
					return nil, fmt.Errorf("%s#%s: %w", def.GetName(), name, err)
				}
				out[def.GetName()+"#"+name] = src
			}
		}
	}
	return out, nil
}
