package output

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// RowWindow is how many rows a RowWriter holds back before it starts printing: a list that
// fits (most do) prints exactly as Table would, sized to its widest cells, and an error
// within it prints nothing. Past it, rows are printed as they come, so a listing of any
// length needs memory for this many rows only.
const RowWindow = 1000

// RowWriter prints a list row by row as it is produced, in the printer's format: aligned
// columns on a terminal (sized to the first RowWindow rows, then kept; a longer cell later
// pushes the rest of its line right), tab-separated lines when piped, or a JSON array written
// element by element. Write each row, then Close. Not safe for concurrent use.
//
// If the list fails after RowWindow rows, what was printed stays printed: the command exits
// with an error and, in JSON, the array is left unterminated so no parser takes it for
// complete.
type RowWriter struct {
	p       *Printer
	w       *bufio.Writer
	header  []string
	held    [][]string
	values  []any
	started bool // rows have been printed
	rows    int
	widths  []int
	jsonBuf bytes.Buffer
	enc     *json.Encoder
	cw      *csv.Writer
}

// Rows returns a writer for a list under header.
func (p *Printer) Rows(header []string) *RowWriter {
	r := &RowWriter{p: p, w: bufio.NewWriter(p.ios.Out), header: header}
	r.enc = json.NewEncoder(&r.jsonBuf)
	r.enc.SetIndent("  ", "  ")
	r.enc.SetEscapeHTML(false)
	return r
}

// Write adds one row: its cells for a table, value for JSON.
func (r *RowWriter) Write(cells []string, value any) error {
	if r.p.CSV() {
		// CSV needs no widths: every row goes out as it comes.
		if err := r.csvRow(cells); err != nil {
			return err
		}
		if r.rows%RowWindow == 0 {
			r.cw.Flush()
			return r.cw.Error()
		}
		return nil
	}
	if r.p.JSON() {
		cells = nil
	} else {
		value = nil
	}
	if !r.started {
		r.held = append(r.held, cells)
		r.values = append(r.values, value)
		if len(r.held) < RowWindow {
			return nil
		}
		return r.release()
	}
	if err := r.row(cells, value); err != nil {
		return err
	}
	// Lines reach a pipe as they come, a page at a time.
	if r.rows%RowWindow == 0 {
		return r.w.Flush()
	}
	return nil
}

// release sizes the columns to the held rows and prints them.
func (r *RowWriter) release() error {
	r.started = true
	if !r.p.JSON() && r.p.ios.IsStdoutTTY() {
		r.widths = make([]int, len(r.header))
		for _, row := range append([][]string{r.header}, r.held...) {
			for i, c := range clean(row, "-") {
				if i < len(r.widths) {
					r.widths[i] = max(r.widths[i], utf8.RuneCountInString(c))
				}
			}
		}
		if err := r.line(r.header); err != nil {
			return err
		}
	}
	for i := range r.held {
		if err := r.row(r.held[i], r.values[i]); err != nil {
			return err
		}
	}
	r.held, r.values = nil, nil
	return r.w.Flush()
}

func (r *RowWriter) row(cells []string, value any) error {
	r.rows++
	if r.p.JSON() {
		sep := ",\n  "
		if r.rows == 1 {
			sep = "[\n  "
		}
		r.jsonBuf.Reset()
		if err := r.enc.Encode(value); err != nil {
			return err
		}
		r.w.WriteString(sep)
		_, err := r.w.Write(bytes.TrimSuffix(r.jsonBuf.Bytes(), []byte("\n")))
		return err
	}
	if !r.p.ios.IsStdoutTTY() {
		_, err := r.w.WriteString(strings.Join(clean(cells, ""), "\t") + "\n")
		return err
	}
	return r.line(clean(cells, "-"))
}

// line prints cells padded to the column widths, two spaces apart, as tabwriter would.
func (r *RowWriter) line(cells []string) error {
	var b strings.Builder
	for i, c := range cells {
		b.WriteString(c)
		if i < len(cells)-1 {
			pad := 2
			if i < len(r.widths) {
				pad += r.widths[i] - utf8.RuneCountInString(c)
			}
			b.WriteString(strings.Repeat(" ", max(pad, 1)))
		}
	}
	b.WriteByte('\n')
	_, err := r.w.WriteString(b.String())
	return err
}

// Close prints what is held and ends the list (an empty list is a header alone on a
// terminal, nothing when piped and [] in JSON).
func (r *RowWriter) Close() error {
	if r.p.CSV() {
		if r.cw == nil {
			if err := r.csvRow(nil); err != nil {
				return err
			}
		}
		r.cw.Flush()
		return r.cw.Error()
	}
	if !r.started {
		if err := r.release(); err != nil {
			return err
		}
	}
	if r.p.JSON() {
		end := "\n]\n"
		if r.rows == 0 {
			end = "[]\n"
		}
		r.w.WriteString(end)
	}
	return r.w.Flush()
}

// Flush sends CSV rows written so far on their way (a followed stream prints each as it
// comes); tables and JSON keep their own pace.
func (r *RowWriter) Flush() error {
	if r.cw == nil {
		return nil
	}
	r.cw.Flush()
	return r.cw.Error()
}

// csvRow writes the header before the first row, then cells (none: the header alone).
func (r *RowWriter) csvRow(cells []string) error {
	if r.cw == nil {
		r.cw = csv.NewWriter(r.p.ios.Out)
		if err := r.cw.Write(csvHeader(r.header)); err != nil {
			return err
		}
	}
	if cells == nil {
		return nil
	}
	r.rows++
	return r.cw.Write(CSVCells(cells))
}

// csvHeader names CSV columns as JSON names its fields: lower case, words joined by "_".
func csvHeader(header []string) []string {
	out := make([]string, len(header))
	for i, h := range header {
		out[i] = strings.ReplaceAll(strings.ToLower(h), " ", "_")
	}
	return out
}
