package auditlog

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// RandomEntry gives external tests generated entries.
func RandomEntry(rng *rand.Rand, i int, at time.Time) Entry { return randomEntry(rng, i, at) }

// ChainHash gives external tests the chain's hash, to forge entries as someone who has read
// the code would.
func ChainHash(pos int64, prev string, e Entry) string { return chainHash(pos, prev, e) }

// AppendAt appends e to l as recorded at the time given rather than now, so that a
// benchmark can lay down a year of history in minutes.
func AppendAt(ctx context.Context, l Log, e Entry, at time.Time) (bool, error) {
	switch l := l.(type) {
	case *LocalLog:
		return l.appendAt(e, at)
	case *Store:
		return l.appendAt(ctx, e, at)
	}
	panic(fmt.Sprintf("AppendAt: unknown log %T", l))
}

// BaseDigest gives external tests the digest an anchor commits to, to forge a base as
// someone who has read the code would.
func BaseDigest(base []BaseRelationship) string {
	d := newBaseDigest()
	for _, b := range base {
		d.add(b)
	}
	return d.hex()
}
