package reach

import (
	"fmt"
	"sync"

	caveattypes "github.com/authzed/spicedb/pkg/caveats/types"
	core "github.com/authzed/spicedb/pkg/proto/core/v1"
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

// anchor is one of the permissions a view listing or check asks SpiceDB about: what
// case#view reads beyond the case's own relationships (see Index.viewAnchors).
type anchor uint8

const (
	viewAllCases anchor = iota
	partnerAny
	partnerUpdate
	soldProductReader
	installBaseReader
	anchorCount
)

// anchorPermissions are each anchor's resource type and permission.
var anchorPermissions = [anchorCount][2]string{
	viewAllCases:      {"account", "view_all_cases"},
	partnerAny:        {"account", "partner_any"},
	partnerUpdate:     {"account", "partner_update"},
	soldProductReader: {"sold_product", "case_reader"},
	installBaseReader: {"install_base", "case_reader"},
}

func (a anchor) resourceType() string { return anchorPermissions[a][0] }
func (a anchor) permission() string   { return anchorPermissions[a][1] }

// anchorSet is a set of anchors, a bit each.
type anchorSet uint8

const everyAnchor anchorSet = 1<<anchorCount - 1

func (s anchorSet) has(a anchor) bool { return s&(1<<a) != 0 }

// anchorDependencies returns, for every relation ("type#relation") SpiceDB may read to
// answer an anchor under the schema text, the anchors that read it: an anchor's answers
// at two revisions are equal when no relationship of a relation it reads changed in
// between. It walks each permission's rewrite through computed usersets, arrows (the
// tupleset relation, then the computed relation on each type it allows) and subject
// relations. Anything it does not know is an error: the caller then treats every change
// as one to every anchor.
func anchorDependencies(text string) (map[string]anchorSet, error) {
	cs, err := compiler.Compile(compiler.InputSchema{Source: input.Source(schema.FileName), SchemaString: text}, compiler.AllowUnprefixedObjectType())
	if err != nil {
		return nil, fmt.Errorf("compiling: %w", err)
	}
	relations := map[string]*core.Relation{}
	for _, def := range cs.ObjectDefinitions {
		for _, rel := range def.GetRelation() {
			relations[def.GetName()+"#"+rel.GetName()] = rel
		}
	}
	var deps map[string]bool
	var visited map[string]bool
	var walk func(typ, name string) error
	var walkRewrite func(typ string, rw *core.UsersetRewrite) error
	walk = func(typ, name string) error {
		key := typ + "#" + name
		if visited[key] {
			return nil
		}
		visited[key] = true
		rel, ok := relations[key]
		if !ok {
			return fmt.Errorf("%s is not defined", key)
		}
		if rw := rel.GetUsersetRewrite(); rw != nil {
			return walkRewrite(typ, rw)
		}
		deps[key] = true
		for _, allowed := range rel.GetTypeInformation().GetAllowedDirectRelations() {
			if sub := allowed.GetRelation(); sub != "" && sub != "..." {
				if err := walk(allowed.GetNamespace(), sub); err != nil {
					return err
				}
			}
		}
		return nil
	}
	// arrow follows tupleset → computed on every type the tupleset relation allows.
	arrow := func(typ, tupleset, computed string) error {
		if err := walk(typ, tupleset); err != nil {
			return err
		}
		for _, allowed := range relations[typ+"#"+tupleset].GetTypeInformation().GetAllowedDirectRelations() {
			if _, ok := relations[allowed.GetNamespace()+"#"+computed]; !ok {
				continue // SpiceDB skips a type without the computed relation
			}
			if err := walk(allowed.GetNamespace(), computed); err != nil {
				return err
			}
		}
		return nil
	}
	walkRewrite = func(typ string, rw *core.UsersetRewrite) error {
		var op *core.SetOperation
		switch {
		case rw.GetUnion() != nil:
			op = rw.GetUnion()
		case rw.GetIntersection() != nil:
			op = rw.GetIntersection()
		case rw.GetExclusion() != nil:
			op = rw.GetExclusion()
		default:
			return fmt.Errorf("an unknown rewrite in %s", typ)
		}
		for _, child := range op.GetChild() {
			var err error
			switch {
			case child.GetComputedUserset() != nil:
				err = walk(typ, child.GetComputedUserset().GetRelation())
			case child.GetTupleToUserset() != nil:
				ttu := child.GetTupleToUserset()
				err = arrow(typ, ttu.GetTupleset().GetRelation(), ttu.GetComputedUserset().GetRelation())
			case child.GetFunctionedTupleToUserset() != nil:
				ttu := child.GetFunctionedTupleToUserset()
				err = arrow(typ, ttu.GetTupleset().GetRelation(), ttu.GetComputedUserset().GetRelation())
			case child.GetUsersetRewrite() != nil:
				err = walkRewrite(typ, child.GetUsersetRewrite())
			case child.GetXNil() != nil:
			default:
				err = fmt.Errorf("an operation the index does not follow in %s", typ)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	out := map[string]anchorSet{}
	for a := range anchorCount {
		deps, visited = map[string]bool{}, map[string]bool{}
		if err := walk(a.resourceType(), a.permission()); err != nil {
			return nil, err
		}
		for key := range deps {
			out[key] |= 1 << a
		}
	}
	return out, nil
}
