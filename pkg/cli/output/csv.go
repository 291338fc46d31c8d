package output

import (
	"encoding/csv"
	"io"
	"strings"
)

// writeCSV writes a header row and rows as CSV.
func writeCSV(w io.Writer, header []string, rows [][]string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader(header)); err != nil {
		return err
	}
	for _, r := range rows {
		if err := cw.Write(CSVCells(r)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// CSVCells makes cells safe to open in a spreadsheet: a cell that a spreadsheet would take
// for a formula (starting with =, +, -, @, a tab or a carriage return: a reason or an id
// someone typed could) is prefixed with a single quote, so it shows as the text it is
// (OWASP's advice on CSV injection). Numbers, including negative ones, are left alone.
func CSVCells(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = csvCell(c)
	}
	return out
}

func csvCell(c string) string {
	if c == "" || !strings.ContainsRune("=+-@\t\r", rune(c[0])) || isNumber(c) {
		return c
	}
	return "'" + c
}

func isNumber(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	if s == "" {
		return false
	}
	dot := false
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
		case r == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return true
}
