package schemacmd

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
)

// SpiceDB's reader ignores keys it does not know, so a misspelled "assertions:" would turn
// a suite into one that checks nothing and passes. These are the keys zed documents.
var (
	fileKeys      = []string{"schema", "schemaFile", "relationships", "assertions", "validation"}
	assertionKeys = []string{"assertTrue", "assertFalse", "assertCaveated"}
	// replacedKeys are keys SpiceDB still reads but reserves for its own use.
	replacedKeys = map[string]string{"namespace_configs": "schema", "validation_tuples": "relationships"}
)

// checkStructure reports what SpiceDB's reader would silently accept: an empty file, keys
// it does not know (with the nearest known one), an empty assertions block, and a file
// that checks nothing. A file that is not YAML is left to SpiceDB, whose message says why.
func checkStructure(file string, src []byte) []Problem {
	var doc yaml.Node
	if blank(src) {
		return []Problem{{File: file, Message: emptyFile}}
	}
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil
	}
	problem := func(n *yaml.Node, format string, args ...any) Problem {
		p := Problem{File: file, Message: fmt.Sprintf(format, args...)}
		if n != nil {
			p.Line, p.Column = n.Line, n.Column
		}
		return p
	}
	if doc.Kind == 0 || len(doc.Content) == 0 || doc.Content[0].Tag == "!!null" {
		return []Problem{problem(nil, emptyFile)}
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return []Problem{problem(top, "the file is not a mapping of keys: a validation file has the keys %s", strings.Join(fileKeys, ", "))}
	}
	var out []Problem
	seen := map[string]*yaml.Node{} // key -> value
	keys := map[string]*yaml.Node{}
	for i := 0; i+1 < len(top.Content); i += 2 {
		key, value := top.Content[i], top.Content[i+1]
		if repl, ok := replacedKeys[key.Value]; ok {
			out = append(out, problem(key, "key %q is reserved for SpiceDB's own use: write %q instead", key.Value, repl))
			continue
		}
		if !slices.Contains(fileKeys, key.Value) {
			out = append(out, problem(key, "unknown key %q%s; the keys of a validation file are %s", key.Value, didYouMean(key.Value, fileKeys), strings.Join(fileKeys, ", ")))
			continue
		}
		seen[key.Value], keys[key.Value] = value, key
	}
	assertions, expected := 0, 0
	if a, ok := seen["assertions"]; ok {
		n, problems := countAssertions(a, problem)
		out = append(out, problems...)
		assertions = n
		if n == 0 && len(problems) == 0 {
			out = append(out, problem(keys["assertions"], "assertions: is empty: list relationships under assertTrue: or assertFalse:, or remove the key"))
		}
	}
	if v, ok := seen["validation"]; ok && v.Kind == yaml.MappingNode {
		expected = len(v.Content) / 2
	}
	if len(out) > 0 {
		return out
	}
	if seen["schema"] == nil && seen["schemaFile"] == nil {
		out = append(out, problem(top, "no schema: add schema: (the schema itself) or schemaFile: (its path, relative to this file)"))
	}
	if assertions == 0 && expected == 0 {
		out = append(out, problem(top, "nothing to check: the file has no assertions (assertions: with assertTrue: or assertFalse:) and no expected relations (validation:)"))
	}
	return out
}

// countAssertions counts the entries of an assertions block and reports its unknown keys.
// A block of another shape is left to SpiceDB.
func countAssertions(a *yaml.Node, problem func(*yaml.Node, string, ...any) Problem) (int, []Problem) {
	if a.Kind != yaml.MappingNode {
		return 0, nil
	}
	n := 0
	var out []Problem
	for i := 0; i+1 < len(a.Content); i += 2 {
		key, value := a.Content[i], a.Content[i+1]
		if !slices.Contains(assertionKeys, key.Value) {
			out = append(out, problem(key, "unknown key %q under assertions%s; the keys of assertions are %s", key.Value, didYouMean(key.Value, assertionKeys), strings.Join(assertionKeys, ", ")))
			continue
		}
		if value.Kind == yaml.SequenceNode {
			n += len(value.Content)
		}
	}
	return n, out
}

const emptyFile = "the file is empty: a validation file has a schema (schema: or schemaFile:), relationships: and assertions: (or validation:)"

// blank reports whether src holds only blank lines, comments and document markers.
func blank(src []byte) bool {
	for _, line := range strings.Split(string(src), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && line != "---" && line != "..." && !strings.HasPrefix(line, "#") {
			return false
		}
	}
	return true
}

func didYouMean(name string, candidates []string) string {
	if s := cmdutil.Closest(name, candidates); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}
