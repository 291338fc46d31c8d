package localstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/stretchr/testify/require"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/datastore/options"
	"github.com/authzed/spicedb/pkg/tuple"
)

// genRel is one generated relationship, kept as fields so the test matches filters
// without the code under test.
type genRel struct{ resType, resID, relation, subType, subID, subRel string }

func (r genRel) String() string {
	s := fmt.Sprintf("%s:%s#%s@%s:%s", r.resType, r.resID, r.relation, r.subType, r.subID)
	if r.subRel != "" {
		s += "#" + r.subRel
	}
	return s
}

func (r genRel) key() []string {
	return []string{r.resType, r.resID, r.relation, r.subType, r.subID, cmpOr(r.subRel, "...")}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (r genRel) matches(f *v1.RelationshipFilter) bool {
	if f.ResourceType != "" && r.resType != f.ResourceType ||
		f.OptionalResourceId != "" && r.resID != f.OptionalResourceId ||
		f.OptionalResourceIdPrefix != "" && !strings.HasPrefix(r.resID, f.OptionalResourceIdPrefix) ||
		f.OptionalRelation != "" && r.relation != f.OptionalRelation {
		return false
	}
	if sf := f.OptionalSubjectFilter; sf != nil {
		if r.subType != sf.SubjectType || sf.OptionalSubjectId != "" && r.subID != sf.OptionalSubjectId {
			return false
		}
		if rf := sf.OptionalRelation; rf != nil && r.subRel != rf.Relation {
			return false
		}
	}
	return true
}

func randomRels(rng *rand.Rand) []genRel {
	seen := map[string]genRel{}
	for range 20 + rng.IntN(80) {
		r := genRel{
			resType:  []string{"doc", "folder"}[rng.IntN(2)],
			resID:    fmt.Sprintf("%s%d", []string{"a", "ab", "b"}[rng.IntN(3)], rng.IntN(6)),
			relation: []string{"viewer", "editor", "owner"}[rng.IntN(3)],
		}
		if rng.IntN(4) == 0 {
			r.subType, r.subID, r.subRel = "group", fmt.Sprintf("g%d", rng.IntN(3)), "member"
		} else {
			r.subType, r.subID = "user", fmt.Sprintf("u%d", rng.IntN(8))
		}
		seen[r.String()] = r
	}
	out := make([]genRel, 0, len(seen))
	for _, r := range seen {
		out = append(out, r)
	}
	return out
}

func randomFilter(rng *rand.Rand) *v1.RelationshipFilter {
	f := &v1.RelationshipFilter{}
	if rng.IntN(5) > 0 {
		f.ResourceType = []string{"doc", "folder"}[rng.IntN(2)]
		switch rng.IntN(3) {
		case 0:
			f.OptionalResourceId = fmt.Sprintf("a%d", rng.IntN(6))
		case 1:
			f.OptionalResourceIdPrefix = []string{"a", "ab", "b"}[rng.IntN(3)]
		}
		if rng.IntN(2) == 0 {
			f.OptionalRelation = []string{"viewer", "editor", "owner"}[rng.IntN(3)]
		}
	}
	if f.ResourceType == "" || rng.IntN(3) == 0 {
		sf := &v1.SubjectFilter{SubjectType: "user"}
		if rng.IntN(3) == 0 {
			sf.SubjectType = "group"
			sf.OptionalRelation = &v1.SubjectFilter_RelationFilter{Relation: "member"}
		}
		if rng.IntN(2) == 0 {
			sf.OptionalSubjectId = fmt.Sprintf("u%d", rng.IntN(8))
			if sf.SubjectType == "group" {
				sf.OptionalSubjectId = fmt.Sprintf("g%d", rng.IntN(3))
			}
		}
		f.OptionalSubjectFilter = sf
	}
	return f
}

// Cursored deletes, over many generated stores, filters and batch sizes, remove exactly
// the matching relationships, in resource order, each batch resuming after the last.
func TestCursoredDeleteRemovesExactlyTheMatchingRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 13))
	ctx := context.Background()
	for round := range 150 {
		rels, filter := randomRels(rng), randomFilter(rng)
		batch := uint64(1 + rng.IntN(8))
		name := fmt.Sprintf("round%d", round)

		ds := openTest(t, t.TempDir(), Options{GCInterval: -1})
		strs := make([]string, len(rels))
		var want []string
		for i, r := range rels {
			strs[i] = r.String()
			if !r.matches(filter) {
				want = append(want, tuple.MustString(tuple.MustParse(r.String())))
			}
		}
		writeRels(t, ds, tuple.UpdateOperationTouch, strs...)

		var cursor options.Cursor
		var last []string
		for batches := 0; ; batches++ {
			require.Less(t, batches, len(rels)+2, "%s: cursored delete does not end", name)
			var res datastore.DeleteRelationshipsResult
			_, err := ds.ReadWriteTx(ctx, func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
				opts := []options.DeleteOptionsOption{options.WithDeleteLimit(&batch), options.WithCursoredDelete(true)}
				if cursor != nil {
					opts = append(opts, options.WithDeleteAfter(cursor))
				}
				var err error
				res, err = rwt.DeleteRelationships(ctx, filter, opts...)
				return err
			})
			require.NoError(t, err, name)
			require.LessOrEqual(t, res.NumDeleted, batch, name)
			require.Equal(t, res.NumDeleted == batch, res.LimitReached, name)
			if res.NumDeleted == 0 {
				require.Nil(t, res.Cursor, "%s: a batch that deleted nothing returns no cursor", name)
				break
			}
			require.NotNil(t, res.Cursor, name)
			c := (*tuple.Relationship)(res.Cursor)
			key := []string{c.Resource.ObjectType, c.Resource.ObjectID, c.Resource.Relation, c.Subject.ObjectType, c.Subject.ObjectID, c.Subject.Relation}
			require.Positive(t, slices.Compare(key, last), "%s: cursor %v does not move past %v", name, key, last)
			last, cursor = key, res.Cursor
		}
		require.Equal(t, sortedCopy(want), allRels(t, ds, head(t, ds)), "%s: filter %v", name, filter)
		require.NoError(t, ds.Close())
	}
}

func sortedCopy(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return out
}
