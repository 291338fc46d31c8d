package refmodel_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/refmodel"
)

// TestEnumsMatchTheDomain holds the model's copies of the contract's enumerations against
// the domain API's (pkg/access): site roles, partner levels, platform roles, privileges,
// case statuses and functional roles. The model shares no code with the domain on purpose,
// so nothing else keeps the two vocabularies in step.
//
// It fails if either side gains, loses or renames a value: every constant of these types
// (name and value, read from both packages' source) must exist on both sides; Roles, Levels
// and Privileges must each hold exactly the constants of their type; and the two sides'
// lists must be equal, FunctionalRoles by name, object type, party type and managing
// permission. Where order is a rank it must match too: Roles is highest first, Levels
// lowest first (cc < look < update < create < service_admin < full_admin), and AtLeast must
// agree on every pair of levels. Privileges and FunctionalRoles may be listed in any order.
func TestEnumsMatchTheDomain(t *testing.T) {
	t.Run("site roles", func(t *testing.T) {
		sameOrder(t, "Roles", strs(refmodel.Roles), strs(access.Roles))
	})
	t.Run("partner levels", func(t *testing.T) {
		if !sameOrder(t, "Levels", strs(refmodel.Levels), strs(access.Levels)) {
			return
		}
		for _, a := range access.Levels {
			for _, b := range access.Levels {
				got := refmodel.Level(a).AtLeast(refmodel.Level(b))
				if want := a.AtLeast(b); got != want {
					t.Errorf("%s.AtLeast(%s): model %v, domain %v", a, b, got, want)
				}
			}
		}
	})
	t.Run("privileges", func(t *testing.T) {
		sameSet(t, "Privileges", "model", strs(refmodel.Privileges), "domain", strs(access.Privileges))
	})
	t.Run("functional roles", func(t *testing.T) {
		// The domain also records the schema relation, which the model has no use for.
		var model, domain []string
		for _, r := range refmodel.FunctionalRoles {
			model = append(model, strings.Join([]string{r.Name, r.On, r.PartyType, r.ManagedBy}, " "))
		}
		for _, r := range access.FunctionalRoles {
			domain = append(domain, strings.Join([]string{r.Name, r.On, r.PartyType, r.ManagedBy}, " "))
		}
		sameSet(t, "FunctionalRoles (name, on, party type, managed by)", "model", model, "domain", domain)
	})
	t.Run("constants", func(t *testing.T) {
		model := constantsByType(t, ".")
		domain := constantsByType(t, filepath.Join("..", "access"))
		for _, typ := range []string{"Role", "Level", "PlatformRole", "Privilege", "CaseStatus"} {
			if len(model[typ]) == 0 || len(domain[typ]) == 0 {
				t.Errorf("type %s: %d constants in the model, %d in the domain; want some on both sides", typ, len(model[typ]), len(domain[typ]))
				continue
			}
			if !reflect.DeepEqual(model[typ], domain[typ]) {
				t.Errorf("constants of type %s differ:\n model:  %v\n domain: %v", typ, model[typ], domain[typ])
			}
		}
		// Each list holds exactly the constants of its type, so a value added to the
		// constants but not to the list (or the other way round) is caught as well.
		for _, side := range []struct {
			name   string
			consts map[string]map[string]string
			lists  map[string][]string
		}{
			{"model", model, map[string][]string{"Role": strs(refmodel.Roles), "Level": strs(refmodel.Levels), "Privilege": strs(refmodel.Privileges)}},
			{"domain", domain, map[string][]string{"Role": strs(access.Roles), "Level": strs(access.Levels), "Privilege": strs(access.Privileges)}},
		} {
			for typ, list := range side.lists {
				var values []string
				for _, v := range side.consts[typ] {
					values = append(values, v)
				}
				sameSet(t, side.name+" "+typ+"s", "list", list, "constants", values)
			}
		}
	})
}

func strs[T ~string](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return out
}

// sameOrder reports whether the model's list equals the domain's, order included.
func sameOrder(t *testing.T, what string, model, domain []string) bool {
	t.Helper()
	if !slices.Equal(model, domain) {
		t.Errorf("%s differ (order matters):\n model:  %v\n domain: %v", what, model, domain)
		return false
	}
	return true
}

// sameSet checks that two lists hold the same values, in any order.
func sameSet(t *testing.T, what, aName string, a []string, bName string, b []string) {
	t.Helper()
	a, b = slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b))
	if !slices.Equal(a, b) {
		t.Errorf("%s differ:\n %s: %v\n %s: %v", what, aName, a, bName, b)
	}
}

// constantsByType reads the typed string constants declared in the package in dir (test
// files excluded): type name -> constant name -> value.
func constantsByType(t *testing.T, dir string) map[string]map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in %s: %v", dir, err)
	}
	out := map[string]map[string]string{}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.CONST {
				continue
			}
			for _, spec := range gen.Specs {
				vs := spec.(*ast.ValueSpec)
				typ, ok := vs.Type.(*ast.Ident)
				if !ok {
					continue
				}
				for i, id := range vs.Names {
					if i >= len(vs.Values) {
						break
					}
					// A value that is not a string literal is still compared by name.
					v := "(not a string literal)"
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						if v, err = strconv.Unquote(lit.Value); err != nil {
							t.Fatalf("%s: %s: %v", name, id.Name, err)
						}
					}
					if out[typ.Name] == nil {
						out[typ.Name] = map[string]string{}
					}
					out[typ.Name][id.Name] = v
				}
			}
		}
	}
	return out
}
