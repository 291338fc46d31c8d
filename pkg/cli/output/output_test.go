package output_test

import (
	"testing"

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
	for in, want := range map[string]output.Format{"": output.FormatTable, "table": output.FormatTable, "json": output.FormatJSON} {
		if got, err := output.ParseFormat(in); got != want || err != nil {
			t.Errorf("ParseFormat(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := output.ParseFormat("yaml"); err == nil {
		t.Error("ParseFormat(yaml): want an error")
	}
}
