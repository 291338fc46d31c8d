package schemacmd_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
)

// validSuite passes; each case below breaks one thing in it. Its assertTrue on line 9 is
// false, so a suite whose assertions SpiceDB skipped would pass where it must fail.
const validSuite = `schema: |-
  definition user {}
  definition doc {
    relation owner: user
    permission read = owner
  }
relationships: doc:plan#owner@user:ann
assertions:
  assertTrue:
    - doc:plan#read@user:ann
  assertFalse:
    - doc:plan#read@user:bob
validation:
  doc:plan#read:
    - "[user:ann] is <doc:plan#owner>"
`

// misspellings returns names a hand might type for key: each letter dropped, each pair of
// neighbours swapped, each letter doubled, the case changed, a plural s added or dropped.
func misspellings(key string, valid []string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if s != "" && !seen[s] && !slices.Contains(valid, s) {
			seen[s] = true
			out = append(out, s)
		}
	}
	for i := range key {
		add(key[:i] + key[i+1:])
		add(key[:i] + key[i:i+1] + key[i:])
		if i+1 < len(key) {
			add(key[:i] + key[i+1:i+2] + key[i:i+1] + key[i+2:])
		}
	}
	add(strings.ToLower(key))
	add(strings.ToUpper(key[:1]) + key[1:])
	add(key + "s")
	add(strings.TrimSuffix(key, "s"))
	return out
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Every misspelling of every key of a validation file, at the top level and under
// assertions, fails the file, naming the file, the line, the key and the key meant.
func TestValidateRefusesMisspelledKeys(t *testing.T) {
	t.Parallel()
	env := clitest.Offline(t)
	dir := t.TempDir()
	if r := env.Run("schema", "validate", writeFile(t, dir, "valid.yaml", validSuite)); r.Code != 0 {
		t.Fatalf("the unbroken suite fails: code %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	type key struct {
		name, indent string
		valid        []string
		line         int
	}
	topKeys := []string{"schema", "relationships", "assertions", "validation"}
	nestedKeys := []string{"assertTrue", "assertFalse"}
	var keys []key
	for _, k := range topKeys {
		line := strings.Count(validSuite[:strings.Index(validSuite, "\n"+k+":")+1], "\n") + 1
		if k == "schema" {
			line = 1
		}
		keys = append(keys, key{k, "", append(topKeys, "schemaFile"), line})
	}
	for _, k := range nestedKeys {
		line := strings.Count(validSuite[:strings.Index(validSuite, "  "+k+":")], "\n") + 1
		keys = append(keys, key{k, "  ", append(nestedKeys, "assertCaveated"), line})
	}
	cases := 0
	for _, k := range keys {
		for i, typo := range misspellings(k.name, k.valid) {
			text := strings.Replace(validSuite, "\n"+k.indent+k.name+":", "\n"+k.indent+typo+":", 1)
			if k.line == 1 {
				text = typo + strings.TrimPrefix(validSuite, k.name)
			}
			file := writeFile(t, dir, fmt.Sprintf("%s-%d.yaml", k.name, i), text)
			r := env.Run("schema", "validate", file)
			cases++
			where := fmt.Sprintf("%s:%d:%d: unknown key %q", file, k.line, len(k.indent)+1, typo)
			if r.Code != cmdutil.ExitError || !strings.Contains(r.Stdout, where) {
				t.Errorf("%q for %q: code %d, stdout:\n%s\nwant exit 1 and %q", typo, k.name, r.Code, r.Stdout, where)
				continue
			}
			if hint := fmt.Sprintf("(did you mean %q?)", k.name); !strings.Contains(r.Stdout, hint) {
				t.Errorf("%q for %q: no %s in:\n%s", typo, k.name, hint, r.Stdout)
			}
			if !strings.Contains(r.Stdout, strings.Join(k.valid[:1], "")) || !strings.Contains(r.Stdout, "FAILED") {
				t.Errorf("%q for %q: the message does not list the valid keys or the summary does not fail:\n%s", typo, k.name, r.Stdout)
			}
		}
	}
	if cases < 100 {
		t.Errorf("only %d misspellings generated", cases)
	}
}

func TestValidateRefusesSuitesThatCheckNothing(t *testing.T) {
	t.Parallel()
	env := clitest.Offline(t)
	dir := t.TempDir()
	noAssertions := strings.Replace(validSuite, validSuite[strings.Index(validSuite, "assertions:"):], "", 1)
	tests := []struct {
		name, text, want string
	}{
		{"empty", "", "the file is empty"},
		{"whitespace only", " \n\t\n\n", "the file is empty"},
		{"comments only", "# a suite\n# to be written\n", "the file is empty"},
		{"document marker only", "---\n", "the file is empty"},
		{"a list", "- schema\n- assertions\n", ":1:1: the file is not a mapping of keys"},
		{"a scalar", "assertions\n", ":1:1: the file is not a mapping of keys"},
		{"assertions with nothing under it", noAssertions + "assertions:\n", `:8:1: assertions: is empty`},
		{"assertions an empty mapping", noAssertions + "assertions: {}\n", `:8:1: assertions: is empty`},
		{"assertions with empty lists", noAssertions + "assertions:\n  assertTrue: []\n  assertFalse:\n", `:8:1: assertions: is empty`},
		{"no assertions, no validation", noAssertions, ":1:1: nothing to check"},
		{"unknown key under assertions", strings.Replace(validSuite, "  assertFalse:", "  assertMaybe:", 1), `:11:3: unknown key "assertMaybe" under assertions; the keys of assertions are assertTrue, assertFalse, assertCaveated`},
		{"unknown key, nothing near", validSuite + "owners: ann\n", `:16:1: unknown key "owners"; the keys of a validation file are schema, schemaFile, relationships, assertions, validation`},
		{"reserved key", validSuite + "validation_tuples: []\n", `:16:1: key "validation_tuples" is reserved for SpiceDB's own use: write "relationships" instead`},
		{"no schema", validSuite[strings.Index(validSuite, "relationships:"):], ":1:1: no schema: add schema:"},
		{"misspelled and failing", strings.Replace(strings.Replace(validSuite, "ann\n  assertFalse", "bob\n  assertFalse", 1), "assertions:", "assertion:", 1), `:8:1: unknown key "assertion" (did you mean "assertions"?)`},
	}
	for i, tt := range tests {
		file := writeFile(t, dir, fmt.Sprintf("case-%d.yaml", i), tt.text)
		r := env.Run("schema", "validate", file)
		if r.Code != cmdutil.ExitError || !strings.Contains(r.Stdout, file+tt.want) && !strings.Contains(r.Stdout, file+": "+tt.want) {
			t.Errorf("%s: code %d, stdout:\n%s\nwant exit 1 and %q", tt.name, r.Code, r.Stdout, tt.want)
		}
		if !strings.HasSuffix(r.Stdout, "FAILED (1 problem(s))\n") || r.Stderr != "error: validation failed: 1 of 1 file(s)\n" {
			t.Errorf("%s: want one problem and a failed summary, got stdout:\n%s\nstderr: %q", tt.name, r.Stdout, r.Stderr)
		}
	}
}
