package spice

import v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

// FullyConsistent reads at the datastore's newest revision. Under concurrent writers it can
// miss a write that committed just before (SpiceDB coalesces head-revision lookups): read
// at least as fresh as the write's token to see it.
func FullyConsistent() *v1.Consistency {
	return &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}}
}

// MinimizeLatency reads from cache where possible: up to the revision quantization (5 s by
// default) stale.
func MinimizeLatency() *v1.Consistency {
	return &v1.Consistency{Requirement: &v1.Consistency_MinimizeLatency{MinimizeLatency: true}}
}

// AtLeastAsFresh reads at the revision of token or a newer one.
func AtLeastAsFresh(token *v1.ZedToken) *v1.Consistency {
	return &v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: token}}
}

// AtExactSnapshot reads at exactly the revision of token, as an earlier answer did.
func AtExactSnapshot(token string) *v1.Consistency {
	return &v1.Consistency{Requirement: &v1.Consistency_AtExactSnapshot{AtExactSnapshot: &v1.ZedToken{Token: token}}}
}
