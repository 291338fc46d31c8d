package cmdutil

import (
	"strings"

	"github.com/accessgraph/accessgraph/schema"
)

// SuggestPermission returns the permission or relation of typ closest to name (at most two
// edits away), or "".
func SuggestPermission(typ, name string) string {
	def, ok := schema.Lookup(typ)
	if !ok {
		return ""
	}
	best, bestDist := "", 3
	for _, cands := range [][]string{def.Permissions, def.Relations} {
		for _, c := range cands {
			if d := editDistance(name, c); d < bestDist {
				best, bestDist = c, d
			}
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
