package output_test

import (
	"encoding/csv"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/cli/iostreams"
	"github.com/accessgraph/accessgraph/pkg/cli/output"
)

// Generated lists print as CSV the same through Table, through the streaming writer and
// through a List, at every length around the window: a header row in lower case, then one
// record per item that reads back to its cells (tabs, newlines, quotes and commas kept),
// except that a cell a spreadsheet would run as a formula gains a leading quote.
func TestCSVReadsBackToTheCells(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 11))
	pieces := []string{"user:bill", "", "a,b", `say "hi"`, "two\twords", "line\nbreak", "=SUM(A1:A9)", "+1", "-2", "-x", "@here", "\tx", "鍵", "3.5", "-0.25"}
	for _, n := range []int{0, 1, 2, output.RowWindow - 1, output.RowWindow, output.RowWindow + 1, 2*output.RowWindow + 7} {
		items := make([]item, n)
		cells := make([][]string, n)
		for i := range items {
			items[i] = item{Name: pieces[rng.IntN(len(pieces))] + pieces[rng.IntN(len(pieces))], Note: pieces[rng.IntN(len(pieces))]}
			cells[i] = []string{items[i].Name, items[i].Note}
		}
		table, err := render(t, false, output.FormatCSV, func(p *output.Printer) error { return p.Table([]string{"NAME", "NOTE"}, cells, items) })
		if err != nil {
			t.Fatal(err)
		}
		list, err := render(t, true, output.FormatCSV, func(p *output.Printer) error { return itemList.Print(p, items) })
		if err != nil {
			t.Fatal(err)
		}
		if list != table {
			t.Fatalf("%d items: List and Table print different CSV", n)
		}
		records, err := csv.NewReader(strings.NewReader(table)).ReadAll()
		if err != nil {
			t.Fatalf("%d items: %v", n, err)
		}
		if len(records) != n+1 || !slices.Equal(records[0], []string{"name", "note"}) {
			t.Fatalf("%d items: %d records, header %q", n, len(records), records[0])
		}
		for i, rec := range records[1:] {
			for j, got := range rec {
				want := cells[i][j]
				if formula(want) {
					want = "'" + want
				}
				if got != want {
					t.Fatalf("%d items, row %d cell %d: %q, want %q", n, i, j, got, want)
				}
			}
		}
	}
}

// formula is an independent statement of which cells a spreadsheet runs: those starting
// with =, +, -, @, a tab or a carriage return, unless the cell is a plain number.
func formula(s string) bool {
	if s == "" || !strings.ContainsAny(s[:1], "=+-@\t\r") {
		return false
	}
	digits := strings.TrimLeft(s, "+-")
	if digits == "" || strings.Count(digits, ".") > 1 {
		return true
	}
	return strings.Trim(digits, "0123456789.") != "" || len(s)-len(digits) > 1
}

func TestCSVFieldsAndRefusal(t *testing.T) {
	t.Parallel()
	out, err := render(t, true, output.FormatCSV, func(p *output.Printer) error {
		return p.Fields([][2]string{{"Account", "acme"}, {"Note", "=1+1"}}, nil)
	})
	if err != nil || out != "field,value\nAccount,acme\nNote,'=1+1\n" {
		t.Fatalf("Fields as CSV: %q, %v", out, err)
	}
	ios, _, _, _ := iostreams.Test()
	if err := output.New(ios, output.FormatCSV).RefuseCSV("explain"); err == nil || !strings.Contains(err.Error(), "explain prints a table or json") {
		t.Fatalf("RefuseCSV: %v", err)
	}
	if err := output.New(ios, output.FormatJSON).RefuseCSV("explain"); err != nil {
		t.Fatalf("RefuseCSV in JSON: %v", err)
	}
}
