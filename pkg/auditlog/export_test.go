package auditlog

import (
	"math/rand/v2"
	"time"
)

// RandomEntry gives external tests generated entries.
func RandomEntry(rng *rand.Rand, i int, at time.Time) Entry { return randomEntry(rng, i, at) }
