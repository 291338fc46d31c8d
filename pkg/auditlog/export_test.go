package auditlog

import (
	"math/rand/v2"
	"time"
)

// RandomEntry gives external tests generated entries.
func RandomEntry(rng *rand.Rand, i int, at time.Time) Entry { return randomEntry(rng, i, at) }

// ChainHash gives external tests the chain's hash, to forge entries as someone who has read
// the code would.
func ChainHash(pos int64, prev string, e Entry) string { return chainHash(pos, prev, e) }
