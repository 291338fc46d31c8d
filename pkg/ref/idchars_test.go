package ref

import (
	"regexp"
	"testing"
)

// The hand-written character check must accept exactly SpiceDB's object id pattern.
func TestValidIDCharsMatchesSpiceDBPattern(t *testing.T) {
	pattern := regexp.MustCompile(`^[a-zA-Z0-9/_|\-=+]+$`)
	for b := 0; b < 256; b++ {
		id := "a" + string([]byte{byte(b)}) + "z"
		if got, want := validIDChars(id), pattern.MatchString(id); got != want {
			t.Errorf("byte %#x: validIDChars = %v, pattern says %v", b, got, want)
		}
	}
	for _, id := range []string{"acme", "u-1/2_3|4=5+6", "ACME", "é", "a b", "a:b", "a#b", "a*b", "a\x00b"} {
		if got, want := validIDChars(id), pattern.MatchString(id); got != want {
			t.Errorf("%q: validIDChars = %v, pattern says %v", id, got, want)
		}
	}
}
