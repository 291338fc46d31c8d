package schema

import (
	"context"
	"testing"

	"github.com/authzed/spicedb/pkg/development"
	devinterface "github.com/authzed/spicedb/pkg/proto/developer/v1"
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
