package cmdutil

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// Line is one line of an input file read by ReadLines.
type Line struct {
	// Number is the 1-based line number.
	Number int
	// Text is the line without its newline; only its first max bytes when the line is longer.
	Text string
	// Len is the length of the whole line in bytes, without its newline.
	Len int
	// Newline reports whether the line ended with a newline (the last line of a file may not).
	Newline bool
}

// Long reports whether the line was longer than ReadLines' max, so Text holds only its start.
func (l Line) Long() bool { return l.Len > len(l.Text) }

// ReadLines calls each for every line of r, holding at most max bytes of any line: a longer
// line is passed cut to max bytes (Long reports it), so a file with a huge line costs no more
// memory than one with short lines, and its error can quote a short excerpt. It stops at the
// first error each returns.
func ReadLines(r io.Reader, max int, each func(Line) error) error {
	br := bufio.NewReaderSize(r, max+1)
	for n := 1; ; n++ {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) == 0 && errors.Is(err, io.EOF) {
			return nil
		}
		first := string(chunk[:min(len(chunk), max+1)])
		total := len(chunk)
		for errors.Is(err, bufio.ErrBufferFull) {
			chunk, err = br.ReadSlice('\n')
			total += len(chunk)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("reading line %d: %w", n, err)
		}
		line := Line{Number: n, Len: total, Newline: err == nil}
		if line.Newline {
			line.Len--
			first = first[:min(len(first), line.Len)]
		}
		line.Text = first[:min(len(first), max)]
		if err := each(line); err != nil {
			return err
		}
		if !line.Newline {
			return nil
		}
	}
}
