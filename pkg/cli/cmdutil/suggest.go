package cmdutil

import (
	"strings"

	"github.com/accessgraph/accessgraph/pkg/ref"
)

// SuggestPermission returns the public permission of typ (ref.PublicPermissions) closest to
// name (at most two edits away), or "". Internal helpers are never suggested.
func SuggestPermission(typ, name string) string {
	best, bestDist := "", 3
	for _, c := range ref.PublicPermissions(typ) {
		if d := editDistance(name, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Closest returns the candidate closest to name, ignoring case, when it is at most two edits
// away; "" otherwise. It is the "did you mean" of keys and words that are not schema names.
func Closest(name string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(name), strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}
