package ref_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/ref"
	"github.com/accessgraph/accessgraph/schema"
)

// modelTable reads one "| type | permissions |" table of docs/model.md, the one under heading.
func modelTable(t *testing.T, doc, heading string) map[string][]string {
	t.Helper()
	start := strings.Index(doc, "\n"+heading+"\n")
	if start < 0 {
		t.Fatalf("docs/model.md has no %q", heading)
	}
	section := doc[start+len(heading)+2:]
	if end := strings.Index(section, "\n#"); end >= 0 {
		section = section[:end]
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| (.+) \\|$")
	out := map[string][]string{}
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		for _, cell := range strings.Split(m[2], ", ") {
			out[m[1]] = append(out[m[1]], strings.ReplaceAll(cell, "`", ""))
		}
	}
	if len(out) == 0 {
		t.Fatalf("docs/model.md: no rows under %q", heading)
	}
	return out
}

// The vocabulary in code is the one docs/model.md documents, and every permission of the
// schema is either in it or documented as an internal helper: a new permission fails here
// until it is classified.
func TestVocabularyMatchesModelDoc(t *testing.T) {
	raw, err := os.ReadFile("../../docs/model.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	public := modelTable(t, doc, "### Public permissions (named in the contract)")
	further := modelTable(t, doc, "### Further permissions used by the domain layer and its listings")
	internal := modelTable(t, doc, "### Internal helper permissions: not public API")

	defs, err := schema.Definitions()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range defs {
		want := append(slices.Clone(public[d.Name]), further[d.Name]...)
		if ref.IsInternal(d.Name) {
			want = nil
		}
		if got := ref.PublicPermissions(d.Name); !slices.Equal(got, want) {
			t.Errorf("%s: PublicPermissions = %v; docs/model.md lists %v", d.Name, got, want)
		}
		for _, p := range d.Permissions {
			isPublic := ref.IsPublicPermission(d.Name, p)
			isInternal := slices.ContainsFunc(internal[d.Name], func(entry string) bool {
				switch {
				case entry == p, strings.HasPrefix(entry, "every permission"):
					return true
				case strings.HasPrefix(entry, "every ") && strings.HasSuffix(entry, "* permission"):
					return strings.HasPrefix(p, strings.TrimSuffix(strings.TrimPrefix(entry, "every "), "* permission"))
				}
				return false
			})
			switch {
			case isPublic && isInternal:
				t.Errorf("%s#%s is documented both as public and as an internal helper", d.Name, p)
			case !isPublic && !isInternal:
				t.Errorf("%s#%s is neither public nor documented as an internal helper in docs/model.md", d.Name, p)
			}
			if isPublic != slices.Contains(ref.PublicPermissions(d.Name), p) {
				t.Errorf("%s#%s: IsPublicPermission and PublicPermissions disagree", d.Name, p)
			}
		}
		for _, p := range ref.PublicPermissions(d.Name) {
			if !d.HasPermission(p) {
				t.Errorf("the vocabulary names %s#%s, which the schema does not define as a permission", d.Name, p)
			}
		}
	}
	types := regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| (yes|no)").FindAllStringSubmatch(doc, -1)
	var documented []string
	for _, m := range types {
		if m[2] == "yes" {
			documented = append(documented, m[1])
		}
	}
	if got := ref.PublicTypes(); !slices.Equal(got, documented) && !sameSet(got, documented) {
		t.Errorf("PublicTypes = %v; docs/model.md's public types are %v", got, documented)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
