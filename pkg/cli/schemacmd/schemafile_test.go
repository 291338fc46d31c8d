package schemacmd_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
)

// A .zed file is compiled as a schema, as zed validate does, not read as YAML.
func TestValidateSchemaFiles(t *testing.T) {
	t.Parallel()
	env := clitest.Offline(t)
	project := filepath.Join("..", "..", "..", "schema", "accessgraph.zed")
	r := env.Run("schema", "validate", project, filepath.Join("testdata", "schema.zed"))
	want := project + ": schema with 13 definitions: ok\n" + filepath.Join("testdata", "schema.zed") + ": schema with 2 definitions: ok\n"
	if r.Code != 0 || r.Stdout != want {
		t.Errorf("valid schemas: code %d, stdout:\n%s\nstderr:\n%s\nwant:\n%s", r.Code, r.Stdout, r.Stderr, want)
	}

	dir := t.TempDir()
	tests := []struct {
		name, text, want string
	}{
		{"empty", "", ": the schema has no definitions"},
		{"comments only", "// nothing yet\n/* still nothing */\n", ": the schema has no definitions"},
		{"unknown subject type", "definition user {}\ndefinition doc {\n  relation owner: usr\n}\n", ":3:19: could not lookup definition `usr` for relation `owner`"},
		{"unknown relation in a permission", "definition user {}\ndefinition doc {\n  relation owner: user\n  permission read = ownr\n}\n", ":4:21: relation/permission `ownr` not found under definition `doc`"},
		{"unfinished expression", "definition user {}\ndefinition doc {\n  relation owner: user\n  permission read = owner +\n}\n", ":5:1: Expected right hand expression"},
		{"missing brace", "definition user {\n", ":1:1: Expected end of statement or definition"},
		{"duplicate definition", "definition user {}\ndefinition user {}\n", ":2:1: found name reused between multiple definitions and/or caveats: user"},
		{"YAML given a .zed name", "schema: definition user {}\n", ":1:1: Unexpected token"},
	}
	for i, tt := range tests {
		file := writeFile(t, dir, fmt.Sprintf("case-%d.zed", i), tt.text)
		r := env.Run("schema", "validate", file)
		if r.Code != cmdutil.ExitError || !strings.Contains(r.Stdout, file+tt.want) {
			t.Errorf("%s: code %d, stdout:\n%s\nwant exit 1 and %q", tt.name, r.Code, r.Stdout, file+tt.want)
		}
		if want := file + ": schema: FAILED (1 problem(s))\n"; !strings.HasSuffix(r.Stdout, want) {
			t.Errorf("%s: stdout does not end in %q:\n%s", tt.name, want, r.Stdout)
		}
	}
}
