package output_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/cli/iostreams"
	"github.com/accessgraph/accessgraph/pkg/cli/output"
)

type item struct {
	Name string `json:"name"`
	Note string `json:"note"`
}

var itemList = output.List[item]{Columns: []output.Column[item]{
	{Header: "NAME", JSON: "name", Value: func(i item) string { return i.Name }},
	{Header: "NOTE", JSON: "note", Value: func(i item) string { return i.Note }},
}}

// genItems makes n items with cells of varied width, some empty, some with tabs, newlines,
// non-ASCII letters and characters JSON would escape for HTML.
func genItems(rng *rand.Rand, n int) []item {
	pieces := []string{"user:bill", "", "ä", "<x>&", "two\twords", "line\nbreak", "case:101", "鍵"}
	items := make([]item, n)
	for i := range items {
		items[i] = item{Name: fmt.Sprintf("user:%d%s", rng.IntN(1_000_000), pieces[rng.IntN(len(pieces))]), Note: strings.Repeat(pieces[rng.IntN(len(pieces))], rng.IntN(4))}
	}
	return items
}

func render(t *testing.T, tty bool, format output.Format, f func(p *output.Printer) error) (string, error) {
	t.Helper()
	ios, _, out, _ := iostreams.Test()
	ios.SetTTY(tty)
	err := f(output.New(ios, format))
	return out.String(), err
}

// TestRowsPrintAsTableWithinTheWindow prints generated lists of up to RowWindow items through
// the streaming writer and through Table (which holds everything): byte for byte the same in
// every format.
func TestRowsPrintAsTableWithinTheWindow(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 7, 50, output.RowWindow - 1, output.RowWindow} {
		items := genItems(rng, n)
		var rows [][]string
		for _, it := range items {
			rows = append(rows, []string{it.Name, it.Note})
		}
		for _, tty := range []bool{true, false} {
			for _, format := range []output.Format{output.FormatTable, output.FormatJSON} {
				got, err := render(t, tty, format, func(p *output.Printer) error { return itemList.Print(p, items) })
				if err != nil {
					t.Fatal(err)
				}
				want, _ := render(t, tty, format, func(p *output.Printer) error {
					return p.Table([]string{"NAME", "NOTE"}, rows, append([]item{}, items...))
				})
				if got != want {
					t.Fatalf("%d items, tty %v, %s: streamed\n%.300q\nwant\n%.300q", n, tty, format, got, want)
				}
			}
		}
	}
}

// TestRowsStreamPastTheWindow prints lists longer than the window: JSON is one valid array of
// every item in order, piped lines are every item in order, and a terminal shows a header and
// one line per item, the window's lines aligned.
func TestRowsStreamPastTheWindow(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{output.RowWindow + 1, 2*output.RowWindow + 17, 5000} {
		items := genItems(rng, n)
		js, err := render(t, false, output.FormatJSON, func(p *output.Printer) error { return itemList.Print(p, items) })
		if err != nil {
			t.Fatal(err)
		}
		var back []item
		if err := json.Unmarshal([]byte(js), &back); err != nil || len(back) != n {
			t.Fatalf("%d items as JSON: %v, %d decoded", n, err, len(back))
		}
		for i := range back {
			if back[i] != items[i] {
				t.Fatalf("%d items as JSON: item %d is %+v, want %+v", n, i, back[i], items[i])
			}
		}
		tsv, _ := render(t, false, output.FormatTable, func(p *output.Printer) error { return itemList.Print(p, items) })
		lines := strings.Split(strings.TrimSuffix(tsv, "\n"), "\n")
		if len(lines) != n || !strings.HasPrefix(lines[n-1], strings.Fields(items[n-1].Name)[0]) {
			t.Fatalf("%d items piped: %d lines", n, len(lines))
		}
		table, _ := render(t, true, output.FormatTable, func(p *output.Printer) error { return itemList.Print(p, items) })
		tl := strings.Split(strings.TrimSuffix(table, "\n"), "\n")
		if len(tl) != n+1 || !strings.HasPrefix(tl[0], "NAME  ") {
			t.Fatalf("%d items on a terminal: %d lines, header %q", n, len(tl), tl[0])
		}
		col := strings.Index(tl[0], "NOTE")
		for _, l := range tl[1 : output.RowWindow+1] {
			if r := []rune(l); len(r) > col && (r[col-1] != ' ' || r[col-2] != ' ') {
				t.Fatalf("%d items on a terminal: line %q is not aligned under NOTE at %d", n, l, col)
			}
		}
	}
}

// An error within the window prints nothing; one after it leaves what was printed and, in
// JSON, an array no parser accepts.
func TestRowsErrorMidway(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	rng := rand.New(rand.NewPCG(5, 6))
	for _, at := range []int{0, 1, output.RowWindow - 1, output.RowWindow, output.RowWindow + 1, 3 * output.RowWindow} {
		items := genItems(rng, at)
		seq := func(yield func(item, error) bool) {
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			yield(item{}, boom)
		}
		for _, format := range []output.Format{output.FormatTable, output.FormatJSON} {
			out, err := render(t, false, format, func(p *output.Printer) error { return itemList.PrintSeq(p, seq) })
			if !errors.Is(err, boom) {
				t.Fatalf("error after %d items, %s: %v", at, format, err)
			}
			switch {
			case at < output.RowWindow && out != "":
				t.Fatalf("error after %d items, %s: printed %.100q, want nothing", at, format, out)
			case at >= output.RowWindow && out == "":
				t.Fatalf("error after %d items, %s: printed nothing, want the rows so far", at, format)
			case at >= output.RowWindow && format == output.FormatJSON && json.Valid([]byte(out)):
				t.Fatalf("error after %d items: the JSON printed is valid, want an unterminated array", at)
			}
		}
	}
}
