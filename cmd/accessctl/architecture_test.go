package main

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const modulePath = "github.com/accessgraph/accessgraph/"

// TestArchitectureDiagramMatchesImports holds the README's architecture diagram to the code:
// between the pkg/ packages it names (pkg/cli standing for everything under it), there is an
// arrow exactly where one imports the other.
func TestArchitectureDiagramMatchesImports(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)## Architecture.*?```mermaid\n(.*?)```").FindSubmatch(readme)
	if block == nil {
		t.Fatal("README.md has no mermaid block under ## Architecture")
	}
	nodes := map[string]string{} // mermaid id -> package
	for _, m := range regexp.MustCompile(`(\w+)[\[({]+"?(pkg/[a-z/]+)`).FindAllStringSubmatch(string(block[1]), -1) {
		nodes[m[1]] = m[2]
	}
	drawn := map[string]bool{}
	for _, line := range strings.Split(string(block[1]), "\n") {
		m := regexp.MustCompile(`^\s*(\w+)\S*\s*-->(?:\|[^|]*\|)?\s*(\w+)`).FindStringSubmatch(line)
		if m == nil {
			continue
		}
		from, to := nodes[m[1]], nodes[m[2]]
		if from != "" && to != "" {
			drawn[from+" -> "+to] = true
		}
	}
	pkgs := make([]string, 0, len(nodes))
	for _, p := range nodes {
		pkgs = append(pkgs, p)
	}
	slices.Sort(pkgs)
	if len(pkgs) < 5 {
		t.Fatalf("the diagram names too few packages to check: %v", pkgs)
	}

	// A package belongs to the longest node that holds it (pkg/principal/keys is a node of
	// its own inside pkg/principal).
	owner := func(importPath string) string {
		rel := strings.TrimPrefix(importPath, modulePath)
		best := ""
		for _, p := range pkgs {
			if (rel == p || strings.HasPrefix(rel, p+"/")) && len(p) > len(best) {
				best = p
			}
		}
		return best
	}
	actual := map[string]bool{}
	for _, p := range pkgs {
		err := filepath.WalkDir(filepath.Join("../..", p), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if rel, _ := filepath.Rel("../..", path); d.IsDir() && rel != p && owner(modulePath+filepath.ToSlash(rel)) != p {
				return filepath.SkipDir // a node of its own
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
			if err != nil {
				return err
			}
			for _, imp := range f.Imports {
				target, _ := strconv.Unquote(imp.Path.Value)
				if o := owner(target); o != "" && o != p {
					actual[p+" -> "+o] = true
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for edge := range actual {
		if !drawn[edge] {
			t.Errorf("README diagram lacks %s (the code imports it)", edge)
		}
	}
	for edge := range drawn {
		if !actual[edge] {
			t.Errorf("README diagram draws %s, which the code does not import", edge)
		}
	}
}
