package query_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
	"github.com/accessgraph/accessgraph/pkg/ref"
	"github.com/accessgraph/accessgraph/schema"
)

// typos returns a few misspellings of name: a letter dropped, two swapped, one doubled.
func typos(name string) []string {
	out := []string{name[1:], name[:len(name)-1], name + "s"}
	if len(name) > 3 {
		out = append(out, name[:2]+name[3:], name[:1]+name[2:3]+name[1:2]+name[3:])
	}
	return out
}

// An unknown permission or type is answered in the public vocabulary only: the error's
// list and its "did you mean" never name an internal helper permission or an internal type,
// whatever was typed (including misspellings of the helpers themselves), on check, explain,
// who-can, expand and lookup.
func TestUnknownNamesAreAnsweredInThePublicVocabulary(t *testing.T) {
	t.Parallel()
	env := clitest.Offline(t) // the names are refused before any server call
	defs, err := schema.Definitions()
	if err != nil {
		t.Fatal(err)
	}
	var internalNames []string
	for _, d := range defs {
		if ref.IsInternal(d.Name) {
			internalNames = append(internalNames, d.Name)
		}
		for _, p := range append(slices.Clone(d.Permissions), d.Relations...) {
			// A relation may share its name with a public type (account#platform) or a public
			// permission of another type (group#member); those names are public anyway.
			public := slices.Contains(ref.PublicTypes(), p) || slices.ContainsFunc(ref.PublicTypes(), func(typ string) bool { return ref.IsPublicPermission(typ, p) })
			if !public && !slices.Contains(internalNames, p) {
				internalNames = append(internalNames, p)
			}
		}
	}
	leaks := func(msg, typed string) []string {
		msg = strings.ReplaceAll(msg, `"`+typed+`"`, "")
		var out []string
		for _, name := range internalNames {
			if regexp.MustCompile(`\b` + name + `\b`).MatchString(msg) {
				out = append(out, name)
			}
		}
		return out
	}
	cases := 0
	for _, d := range defs {
		if ref.IsInternal(d.Name) {
			continue
		}
		var typed []string
		for _, p := range append(slices.Clone(d.Permissions), d.Relations...) {
			for _, typo := range typos(p) {
				if !d.HasPermission(typo) && !d.HasRelation(typo) {
					typed = append(typed, typo)
				}
			}
		}
		for i, perm := range typed {
			object := d.Name + ":x"
			lines := [][]string{
				{"check", "user:bill", perm, object},
				{"explain", "user:bill", perm, object},
				{"who-can", object, perm},
				{"expand", object, perm},
				{"lookup", "resources", "user:bill", perm, d.Name},
			}
			args := lines[i%len(lines)]
			r := env.Run(args...)
			cases++
			if r.Code != cmdutil.ExitUsage || !strings.Contains(r.Stderr, d.Name+" has no permission") {
				t.Errorf("%v: code %d, stderr %q; want exit 2 naming the missing permission", args, r.Code, r.Stderr)
			}
			if l := leaks(r.Stderr, perm); len(l) > 0 {
				t.Errorf("%v: the error names internal %v:\n%s", args, l, r.Stderr)
			}
		}
	}
	for _, typ := range append(ref.Types(), "usr", "acount", "partner_lnk", "rolebinding") {
		bad := typ[:len(typ)-1] + "_"
		r := env.Run("check", "user:bill", "view", bad+":x")
		cases++
		if r.Code != cmdutil.ExitUsage || !strings.Contains(r.Stderr, "unknown object type") {
			t.Errorf("type %q: code %d, stderr %q", bad, r.Code, r.Stderr)
		}
		if l := leaks(r.Stderr, bad); len(l) > 0 {
			t.Errorf("type %q: the error names internal %v:\n%s", bad, l, r.Stderr)
		}
	}
	if cases < 500 {
		t.Errorf("only %d cases", cases)
	}
}
