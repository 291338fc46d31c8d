package reach

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/schema"
)

// TestChangesMoveOnlyTheAnchorsThatReadThem: a revision moves the dated revision of each
// anchor that reads one of its relations, and empties that anchor's reused answers, and
// leaves every other anchor where it was; with unknown dependencies every anchor moves, and
// an anchor not moved for anchorsRefresh moves with the next revision. Generated: 300
// revisions of 1 to 4 changes drawn from every relation the anchors read and some they do not.
func TestChangesMoveOnlyTheAnchorsThatReadThem(t *testing.T) {
	deps, err := anchorDependencies(schema.Text)
	if err != nil {
		t.Fatal(err)
	}
	keys := slices.Sorted(maps.Keys(deps))
	keys = append(keys, "feature#participant", "account#partner_managed_case", "platform#customer_care")
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	for _, known := range []bool{true, false} {
		x := &Index{state: newGraph(), advanced: make(chan struct{}), at: &v1.ZedToken{Token: "r0"}}
		if known {
			x.anchorDeps = deps
		}
		now := time.Now()
		for a := range anchorCount {
			x.anchorsAt[a], x.anchorsSet[a] = x.at, now
		}
		for rev := 1; rev <= 300; rev++ {
			var updates []*v1.RelationshipUpdate
			var want anchorSet
			if !known {
				want = everyAnchor
			}
			for range 1 + rng.IntN(4) {
				key := keys[rng.IntN(len(keys))]
				typ, relation, _ := strings.Cut(key, "#")
				updates = append(updates, &v1.RelationshipUpdate{
					Operation: v1.RelationshipUpdate_OPERATION_TOUCH,
					Relationship: &v1.Relationship{
						Resource: &v1.ObjectReference{ObjectType: typ, ObjectId: "o"}, Relation: relation,
						Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "u"}},
					},
				})
				if known {
					want |= deps[key]
				}
			}
			// Now and then an anchor has not moved for anchorsRefresh: it moves too.
			if rng.IntN(10) == 0 {
				stale := anchor(rng.IntN(int(anchorCount)))
				x.anchorsSet[stale] = time.Now().Add(-anchorsRefresh)
				want |= 1 << stale
			}
			for a := range anchorCount {
				x.answers[a].put("u", anchorAsk{anchor: a, id: "o"}, true)
			}
			before := x.anchorsAt
			through := &v1.ZedToken{Token: fmt.Sprintf("r%d", rev)}
			if err := x.applyChanges(updates, through); err != nil {
				t.Fatal(err)
			}
			if x.at != through {
				t.Fatalf("revision %d: the index is at %s", rev, x.at.GetToken())
			}
			for a := range anchorCount {
				moved := x.anchorsAt[a] != before[a]
				_, reused := x.answers[a].get("u", anchorAsk{anchor: a, id: "o"})
				switch {
				case want.has(a) && (!moved || x.anchorsAt[a] != through):
					t.Errorf("revision %d (%v): %s#%s reads a change but stayed at %s", rev, keysOf(updates), a.resourceType(), a.permission(), x.anchorsAt[a].GetToken())
				case !want.has(a) && moved:
					t.Errorf("revision %d (%v): %s#%s reads none of the changes but moved", rev, keysOf(updates), a.resourceType(), a.permission())
				case moved == reused:
					t.Errorf("revision %d: %s#%s moved %v, its answers reused %v", rev, a.resourceType(), a.permission(), moved, reused)
				}
			}
		}
	}
}

func keysOf(updates []*v1.RelationshipUpdate) []string {
	var out []string
	for _, u := range updates {
		out = append(out, u.GetRelationship().GetResource().GetObjectType()+"#"+u.GetRelationship().GetRelation())
	}
	return out
}
