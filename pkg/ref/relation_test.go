package ref_test

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/accessgraph/accessgraph/pkg/ref"
)

// Excerpt is bounded, keeps the byte at the position asked for, never splits a character,
// and marks each cut end, for every length and position around the width.
func TestExcerpt(t *testing.T) {
	t.Parallel()
	const width = 20
	for _, unit := range []string{"a", "é", "日本"} {
		for n := 0; n < 4*width; n++ {
			// Numbered, so every excerpt of the width occurs once and its place is known.
			var b strings.Builder
			for i := 0; b.Len() < n; i++ {
				b.WriteString(strconv.Itoa(i) + unit)
			}
			s := b.String()
			for at := -1; at <= len(s); at++ {
				got := ref.Excerpt(s, at, width)
				body := strings.TrimSuffix(strings.TrimPrefix(got, "..."), "...")
				switch {
				case len(s) <= width && got != s:
					t.Fatalf("Excerpt(%q, %d) = %q, want it whole", s, at, got)
				case !utf8.ValidString(got) || len(body) > width+utf8.UTFMax*2:
					t.Fatalf("Excerpt(%q, %d) = %q: %d bytes, or a split character", s, at, got, len(body))
				case len(s) > width && !strings.Contains(s, body):
					t.Fatalf("Excerpt(%q, %d) = %q is not a part of it", s, at, got)
				case len(s) > width && strings.HasPrefix(got, "...") == strings.HasPrefix(s, body):
					t.Fatalf("Excerpt(%q, %d) = %q: the start mark is wrong", s, at, got)
				case len(s) > width && strings.HasSuffix(got, "...") == strings.HasSuffix(s, body):
					t.Fatalf("Excerpt(%q, %d) = %q: the end mark is wrong", s, at, got)
				}
			}
		}
	}
	s := strings.Repeat("a", 100) + "!" + strings.Repeat("b", 100)
	if got := ref.Excerpt(s, 100, width); !strings.Contains(got, "!") {
		t.Errorf("Excerpt around the fault = %q, which does not show it", got)
	}
}
