package cmdutil_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
)

// ReadLines gives every line, its full length and whether it ended with a newline, holding at
// most max bytes of it, for every line length around max and around bufio's own buffer.
func TestReadLines(t *testing.T) {
	t.Parallel()
	for _, max := range []int{1, 5, 16, 17, 100} {
		for _, n := range []int{0, 1, max - 1, max, max + 1, max + 2, 3*max + 7, 5000} {
			long := strings.Repeat("x", n)
			for _, tail := range []string{"", "\n"} {
				in := "a\n" + long + "\nb\r\n" + long + tail
				var got []cmdutil.Line
				err := cmdutil.ReadLines(strings.NewReader(in), max, func(l cmdutil.Line) error {
					got = append(got, l)
					return nil
				})
				name := fmt.Sprintf("max %d, line %d, tail %q", max, n, tail)
				if n == 0 && tail == "" {
					got = append(got, cmdutil.Line{Number: 4}) // no fourth line: the input ends after the third
				}
				if err != nil || len(got) != 4 {
					t.Fatalf("%s: %d lines, %v", name, len(got), err)
				}
				want := []cmdutil.Line{
					{Number: 1, Text: "a"[:min(1, max)], Len: 1, Newline: true},
					{Number: 2, Text: long[:min(n, max)], Len: n, Newline: true},
					{Number: 3, Text: "b\r"[:min(2, max)], Len: 2, Newline: true},
					{Number: 4, Text: long[:min(n, max)], Len: n, Newline: tail != ""},
				}
				for i := range want {
					if got[i] != want[i] {
						t.Errorf("%s: line %d = %+v, want %+v", name, i+1, got[i], want[i])
					}
					if got[i].Long() != (want[i].Len > max) {
						t.Errorf("%s: line %d: Long() = %v", name, i+1, got[i].Long())
					}
				}
			}
		}
	}
	var lines int
	if err := cmdutil.ReadLines(strings.NewReader(""), 10, func(cmdutil.Line) error { lines++; return nil }); err != nil || lines != 0 {
		t.Errorf("empty input: %d lines, %v", lines, err)
	}
}
