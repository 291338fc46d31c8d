// Package output prints command results the same way for every command: an aligned table
// with a header on a terminal, tab-separated lines without a header when piped, one JSON
// document with --output json, or CSV with a header row (RFC 4180) with --output csv for
// listings. Data goes to standard output; status goes to standard error.
package output

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"text/tabwriter"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/cli/iostreams"
)

// Format is how results are printed.
type Format string

// Formats.
const (
	FormatTable Format = "table"
	FormatJSON  Format = "json"
	FormatCSV   Format = "csv"
)

// ParseFormat reads a --output value.
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case "", FormatTable:
		return FormatTable, nil
	case FormatJSON, FormatCSV:
		return Format(s), nil
	}
	return "", fmt.Errorf("unknown output format %q (table, json, csv)", s)
}

// Printer writes results to one set of streams in one format.
type Printer struct {
	ios    *iostreams.IOStreams
	format Format
}

// New returns a printer.
func New(ios *iostreams.IOStreams, format Format) *Printer {
	return &Printer{ios: ios, format: format}
}

// JSON reports whether results are printed as JSON.
func (p *Printer) JSON() bool { return p.format == FormatJSON }

// CSV reports whether results are printed as CSV.
func (p *Printer) CSV() bool { return p.format == FormatCSV }

// RefuseCSV is the error of a command whose result is not a listing, for --output csv.
func (p *Printer) RefuseCSV(command string) error {
	if !p.CSV() {
		return nil
	}
	return fmt.Errorf("%s prints a table or json: --output csv is for listings", command)
}

// Table prints rows under a header. In JSON mode it prints value instead, which should be
// a slice (a nil slice prints as []).
func (p *Printer) Table(header []string, rows [][]string, value any) error {
	if p.JSON() {
		return p.writeJSON(value)
	}
	if p.CSV() {
		return writeCSV(p.ios.Out, header, rows)
	}
	if !p.ios.IsStdoutTTY() {
		for _, r := range rows {
			if _, err := fmt.Fprintln(p.ios.Out, strings.Join(clean(r, ""), "\t")); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(p.ios.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(clean(r, "-"), "\t"))
	}
	return tw.Flush()
}

// Fields prints one record as "KEY  value" lines on a terminal (tab-separated when piped),
// or value in JSON mode.
func (p *Printer) Fields(fields [][2]string, value any) error {
	if p.JSON() {
		return p.writeJSON(value)
	}
	if p.CSV() {
		rows := make([][]string, 0, len(fields))
		for _, f := range fields {
			rows = append(rows, []string{f[0], f[1]})
		}
		return writeCSV(p.ios.Out, []string{"field", "value"}, rows)
	}
	rows := make([][]string, 0, len(fields))
	for _, f := range fields {
		rows = append(rows, []string{f[0] + ":", f[1]})
	}
	if !p.ios.IsStdoutTTY() {
		for _, f := range fields {
			if _, err := fmt.Fprintf(p.ios.Out, "%s\t%s\n", f[0], cleanCell(f[1], "")); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(p.ios.Out, 0, 0, 1, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(clean(r, "-"), "\t"))
	}
	return tw.Flush()
}

// Line prints one line of text, or value in JSON mode.
func (p *Printer) Line(text string, value any) error {
	if p.JSON() {
		return p.writeJSON(value)
	}
	_, err := fmt.Fprintln(p.ios.Out, text)
	return err
}

// Raw prints text as is (a schema, an export), or value in JSON mode.
func (p *Printer) Raw(text string, value any) error {
	if p.JSON() {
		return p.writeJSON(value)
	}
	_, err := fmt.Fprint(p.ios.Out, text)
	return err
}

// Change reports a change: the confirmation on standard error, the revision token on
// standard output ("revision: TOKEN" on a terminal, the bare token when piped,
// {"revision": "TOKEN"} in JSON), so scripts can read their own writes.
func (p *Printer) Change(token access.Token, confirmation string) error {
	p.Status("%s", confirmation)
	if p.JSON() {
		return p.writeJSON(map[string]string{"revision": string(token)})
	}
	if p.ios.IsStdoutTTY() && !p.CSV() {
		_, err := fmt.Fprintf(p.ios.Out, "revision: %s\n", token)
		return err
	}
	_, err := fmt.Fprintln(p.ios.Out, token)
	return err
}

// Status prints a line for the person on standard error.
func (p *Printer) Status(format string, args ...any) {
	fmt.Fprintf(p.ios.ErrOut, format+"\n", args...)
}

func (p *Printer) writeJSON(value any) error {
	if v := reflect.ValueOf(value); v.Kind() == reflect.Slice && v.IsNil() {
		value = []any{}
	}
	enc := json.NewEncoder(p.ios.Out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(value)
}

// clean keeps each cell on one line, free of separators and terminal escapes; an empty
// cell becomes empty (a dash on a terminal, so columns stay readable).
func clean(row []string, empty string) []string {
	out := make([]string, len(row))
	for i, c := range row {
		out[i] = cleanCell(c, empty)
	}
	return out
}

func cleanCell(c, empty string) string {
	if c == "" {
		return empty
	}
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, c)
}
