package schema

import (
	"context"
	"slices"
	"testing"

	"github.com/authzed/spicedb/pkg/development"
	core "github.com/authzed/spicedb/pkg/proto/core/v1"
	devinterface "github.com/authzed/spicedb/pkg/proto/developer/v1"
	"github.com/authzed/spicedb/pkg/schemadsl/compiler"
	"github.com/authzed/spicedb/pkg/schemadsl/input"
)

// publicTypes are the object types the access model specification names as public (its
// "Vocabulary" section); the lists below are copied from it by hand on purpose.
var publicTypes = []string{
	"user", "platform", "account", "partner", "group", "case", "sold_product",
	"install_base", "service_org", "role", "feature",
}

// publicPermissions are the permissions the specification names as public, by type. Each must
// exist as a permission (not a bare relation) in the compiled schema.
var publicPermissions = map[string][]string{
	"account": {
		"view_members", "manage_members", "remove_members", "create_case", "view_all_cases",
		"download_software", "generate_license_key", "manage_partners", "administer", "manage_contacts",
		"receive_notifications", "view_dashboard", "view_reports", "view_user_activity", "manage_service",
	},
	"case": {"view", "update", "manage_related_parties"},
	"sold_product": {
		"view", "view_related_parties", "manage_related_parties", "view_consumers",
		"manage_consumers", "create_case",
	},
	"install_base": {"view", "view_related_parties", "manage_related_parties", "create_case", "manage_cases"},
}

// TestSchemaHasNoLintWarnings fails on any warning SpiceDB's schema linter reports.
func TestSchemaHasNoLintWarnings(t *testing.T) {
	ctx := context.Background()
	devCtx, devErrs, err := development.NewDevContext(ctx, &devinterface.RequestContext{Schema: Text})
	if err != nil {
		t.Fatalf("building a dev context from %s: %v", FileName, err)
	}
	if devErrs != nil {
		for _, e := range devErrs.InputErrors {
			t.Errorf("%s:%d:%d: %s", FileName, e.Line, e.Column, e.Message)
		}
		t.FailNow()
	}
	defer devCtx.Dispose()

	warnings, err := development.GetWarnings(ctx, devCtx)
	if err != nil {
		t.Fatalf("linting %s: %v", FileName, err)
	}
	for _, w := range warnings {
		t.Errorf("%s:%d:%d: %s [%s]", FileName, w.Line, w.Column, w.Message, w.SourceCode)
	}
}

// TestSchemaDefinesPublicVocabulary checks that every public type and permission of the
// specification exists in the compiled schema, and that the public names are permissions.
func TestSchemaDefinesPublicVocabulary(t *testing.T) {
	compiled, devErr, err := development.CompileSchema(Text)
	if err != nil {
		t.Fatalf("compiling %s: %v", FileName, err)
	}
	if devErr != nil {
		t.Fatalf("%s:%d:%d: %s", FileName, devErr.Line, devErr.Column, devErr.Message)
	}

	// permissions[type][name] is true for a permission and false for a plain relation.
	permissions := map[string]map[string]bool{}
	for _, def := range compiled.ObjectDefinitions {
		names := map[string]bool{}
		for _, rel := range def.GetRelation() {
			names[rel.GetName()] = rel.GetUsersetRewrite() != nil
		}
		permissions[def.GetName()] = names
	}

	for _, typ := range publicTypes {
		if _, ok := permissions[typ]; !ok {
			t.Errorf("public type %q is not defined in %s", typ, FileName)
		}
	}
	for typ, names := range publicPermissions {
		for _, name := range names {
			isPermission, ok := permissions[typ][name]
			switch {
			case !ok:
				t.Errorf("public permission %s#%s is not defined in %s", typ, name, FileName)
			case !isPermission:
				t.Errorf("public name %s#%s is a relation in %s, want a permission", typ, name, FileName)
			}
		}
	}
}

// TestLevelLaddersAreFlat: each partner level helper on account (`individual_look_level`,
// `org_update_level`, ...) is a union of the grant relations at that level and every level
// above it, named directly. A helper that named the level above instead would give the same
// answers at the cost of one more dispatch per rung on every check that reaches it.
func TestLevelLaddersAreFlat(t *testing.T) {
	cs, err := compiler.Compile(compiler.InputSchema{Source: input.Source(FileName), SchemaString: Text}, compiler.AllowUnprefixedObjectType())
	if err != nil {
		t.Fatal(err)
	}
	var account *core.NamespaceDefinition
	for _, d := range cs.ObjectDefinitions {
		if d.GetName() == "account" {
			account = d
		}
	}
	if account == nil {
		t.Fatal("no account definition")
	}
	rewrites := map[string]*core.UsersetRewrite{}
	for _, r := range account.GetRelation() {
		rewrites[r.GetName()] = r.GetUsersetRewrite()
	}
	levels := []string{"full_admin", "service_admin", "create", "update", "look", "cc"}
	for _, kind := range []string{"individual", "org"} {
		for i, level := range levels {
			name := kind + "_" + level + "_level"
			if level == "cc" {
				if kind == "individual" {
					continue // individual_grantee plays that part
				}
				name = "org_any_level"
			}
			rw, ok := rewrites[name]
			if !ok || rw == nil {
				t.Errorf("account has no permission %s", name)
				continue
			}
			var got []string
			for _, child := range rw.GetUnion().GetChild() {
				cu := child.GetComputedUserset()
				if cu == nil {
					t.Errorf("%s: a branch is not a relation of account: %v", name, child)
					continue
				}
				if rewrites[cu.GetRelation()] != nil {
					t.Errorf("%s names the permission %s: name its relations instead", name, cu.GetRelation())
				}
				got = append(got, cu.GetRelation())
			}
			var want []string
			for _, above := range levels[:i+1] {
				want = append(want, kind+"_"+above)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s = %v, want the relations %v", name, got, want)
			}
		}
	}
}
