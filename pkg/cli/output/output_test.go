package output_test

import (
	"errors"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/cli/iostreams"
	"github.com/accessgraph/accessgraph/pkg/cli/output"
)

type row struct {
	Name string `json:"name"`
	Note string `json:"note"`
}

func TestTable(t *testing.T) {
	t.Parallel()
	header := []string{"NAME", "NOTE"}
	rows := [][]string{{"user:bill", "admin"}, {"user:sally", ""}, {"user:x", "two\tcells\nand lines"}}
	value := []row{{"user:bill", "admin"}, {"user:sally", ""}}
	tests := []struct {
		name   string
		tty    bool
		format output.Format
		rows   [][]string
		value  any
		want   string
	}{
		{"terminal", true, output.FormatTable, rows, value, "" +
			"NAME        NOTE\n" +
			"user:bill   admin\n" +
			"user:sally  -\n" +
			"user:x      two cells and lines\n"},
		{"piped", false, output.FormatTable, rows, value, "user:bill\tadmin\nuser:sally\t\nuser:x\ttwo cells and lines\n"},
		{"json", true, output.FormatJSON, rows, value, "[\n  {\n    \"name\": \"user:bill\",\n    \"note\": \"admin\"\n  },\n  {\n    \"name\": \"user:sally\",\n    \"note\": \"\"\n  }\n]\n"},
		{"empty terminal", true, output.FormatTable, nil, []row(nil), "NAME  NOTE\n"},
		{"empty piped", false, output.FormatTable, nil, []row(nil), ""},
		{"empty json", false, output.FormatJSON, nil, []row(nil), "[]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, _, out, _ := iostreams.Test()
			ios.SetTTY(tt.tty)
			if err := output.New(ios, tt.format).Table(header, tt.rows, tt.value); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want {
				t.Errorf("got:\n%q\nwant:\n%q", out.String(), tt.want)
			}
		})
	}
}

func TestChange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		tty    bool
		format output.Format
		want   string
	}{
		{"terminal", true, output.FormatTable, "revision: tok123\n"},
		{"piped", false, output.FormatTable, "tok123\n"},
		{"json", false, output.FormatJSON, "{\n  \"revision\": \"tok123\"\n}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, _, out, errOut := iostreams.Test()
			ios.SetTTY(tt.tty)
			if err := output.New(ios, tt.format).Change("tok123", "approved user:dave"); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want || errOut.String() != "approved user:dave\n" {
				t.Errorf("stdout %q, stderr %q; want %q and the confirmation", out.String(), errOut.String(), tt.want)
			}
		})
	}
}

func TestParseFormat(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]output.Format{"": output.FormatTable, "table": output.FormatTable, "json": output.FormatJSON, "csv": output.FormatCSV} {
		if got, err := output.ParseFormat(in); got != want || err != nil {
			t.Errorf("ParseFormat(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := output.ParseFormat("yaml"); err == nil {
		t.Error("ParseFormat(yaml): want an error")
	}
}

type grant struct {
	Who     string
	Level   string
	Expires time.Time
	Manage  bool
}

type grantJSON struct {
	Who       string     `json:"who"`
	Level     string     `json:"level"`
	ExpiresAt *time.Time `json:"expires_at"`
	Manage    bool       `json:"manage"`
}

var grantList = output.List[grant]{Columns: []output.Column[grant]{
	{Header: "WHO", JSON: "who", Value: func(g grant) string { return g.Who }},
	{Header: "LEVEL", JSON: "level", Value: func(g grant) string { return g.Level }},
	{Header: "EXPIRES", JSON: "expires_at", Value: func(g grant) string { return output.Time(g.Expires) },
		JSONValue: func(g grant) any { return output.TimePtr(g.Expires) }},
	{Header: "MANAGE", JSON: "manage", Value: func(g grant) string { return map[bool]string{true: "yes", false: "no"}[g.Manage] },
		JSONValue: func(g grant) any { return g.Manage }},
}}

// A List prints exactly what Table prints for the same rows and the equivalent structs:
// keys in column order, a cell's own JSON value, no HTML escapes.
func TestList(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	grants := []grant{{"user:<tara>", "update & view", at, true}, {"partner:x", "look", time.Time{}, false}}
	header := []string{"WHO", "LEVEL", "EXPIRES", "MANAGE"}
	var rows [][]string
	var structs []grantJSON
	for _, g := range grants {
		rows = append(rows, []string{g.Who, g.Level, output.Time(g.Expires), map[bool]string{true: "yes", false: "no"}[g.Manage]})
		structs = append(structs, grantJSON{g.Who, g.Level, output.TimePtr(g.Expires), g.Manage})
	}
	names := output.StringList("NAME", func(g grant) string { return g.Who })
	for _, tty := range []bool{true, false} {
		for _, format := range []output.Format{output.FormatTable, output.FormatJSON} {
			render := func(f func(*output.Printer) error) string {
				ios, _, out, _ := iostreams.Test()
				ios.SetTTY(tty)
				if err := f(output.New(ios, format)); err != nil {
					t.Fatal(err)
				}
				return out.String()
			}
			cases := []struct {
				name      string
				got, want string
			}{
				{"columns", render(func(p *output.Printer) error { return grantList.Print(p, grants) }),
					render(func(p *output.Printer) error { return p.Table(header, rows, structs) })},
				{"empty", render(func(p *output.Printer) error { return grantList.Print(p, nil) }),
					render(func(p *output.Printer) error { return p.Table(header, nil, []grantJSON(nil)) })},
				{"string list", render(func(p *output.Printer) error { return names.Print(p, grants) }),
					render(func(p *output.Printer) error {
						return p.Table([]string{"NAME"}, [][]string{{"user:<tara>"}, {"partner:x"}}, []string{"user:<tara>", "partner:x"})
					})},
			}
			for _, c := range cases {
				if c.got != c.want {
					t.Errorf("%s, tty %v, %s:\n%s\nwant:\n%s", c.name, tty, format, c.got, c.want)
				}
			}
		}
	}
}

// PrintSeq stops at an error before printing anything.
func TestListSeqError(t *testing.T) {
	t.Parallel()
	ios, _, out, _ := iostreams.Test()
	boom := errors.New("boom")
	seq := func(yield func(grant, error) bool) {
		if yield(grant{Who: "user:a"}, nil) {
			yield(grant{}, boom)
		}
	}
	if err := grantList.PrintSeq(output.New(ios, output.FormatTable), seq); !errors.Is(err, boom) || out.Len() != 0 {
		t.Errorf("err %v, printed %q; want boom and nothing", err, out.String())
	}
}
