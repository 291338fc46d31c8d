package localstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	core "github.com/authzed/spicedb/pkg/proto/core/v1"
)

// TestChangelogEncodingIsTheRecordsJSON holds the changelog encoder, which builds the
// relationships apart and in parts, to json.Marshal of the whole record: byte for byte,
// over generated entries (no changes up to 40,000, caveats, integrity, expirations,
// deletes, schema changes, metadata, the parts' boundaries), and decoded back to the
// same changes.
func TestChangelogEncodingIsTheRecordsJSON(t *testing.T) {
	// Enough encoders for several parts even on a machine with one core.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))

	sizes := []int{0, 1, 2, 3, relChangesPerEncoder - 1, relChangesPerEncoder, 2*relChangesPerEncoder - 1,
		2 * relChangesPerEncoder, 3*relChangesPerEncoder + 7, 40_000}
	rng := rand.New(rand.NewPCG(7, 21))
	for range 60 {
		sizes = append(sizes, rng.IntN(300))
	}
	for i, n := range sizes {
		t.Run(fmt.Sprintf("%d/%d", i, n), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i), 99))
			entry, rels, schemaBefore := generatedChangelogEntry(t, rng, n)

			got, err := encodeChangelog(entry, rels, schemaBefore)
			if err != nil {
				t.Fatal(err)
			}
			if want := changelogAsOneJSON(t, entry, rels, schemaBefore); !bytes.Equal(got, want) {
				t.Fatalf("encoded %d bytes, json.Marshal %d; first difference at %d", len(got), len(want), firstDifference(got, want))
			}

			decoded, decodedRels, decodedBefore, err := decodeChangelog(entry.revisionNanos, got, true)
			if err != nil {
				t.Fatal(err)
			}
			if decoded.relChanges != n || len(decodedRels) != n || len(decodedBefore) != len(schemaBefore) {
				t.Fatalf("decoded %d changes (%d rows), %d schema rows; want %d, %d", decoded.relChanges, len(decodedRels), len(decodedBefore), n, len(schemaBefore))
			}
			for j, rc := range rels {
				want, _ := rowToCoreTuple(rc.row)
				got, _ := rowToCoreTuple(decodedRels[j].row)
				if !proto.Equal(want, got) || decodedRels[j].deleted != rc.deleted {
					t.Fatalf("change %d decoded as %v (deleted %v), want %v (deleted %v)", j, got, decodedRels[j].deleted, want, rc.deleted)
				}
			}
		})
	}
}

// changelogAsOneJSON is the record encoded as it was before the relationships were
// encoded apart: each change marshalled, the whole record through json.Marshal. The
// schema fields are taken from the encoder's own output without relationships.
func changelogAsOneJSON(t *testing.T, entry *changelog, rels []relChange, schemaBefore []storedRow) []byte {
	t.Helper()
	withoutRels, err := encodeChangelog(entry, nil, schemaBefore)
	if err != nil {
		t.Fatal(err)
	}
	var rec changelogRecord
	if err := json.Unmarshal(withoutRels, &rec); err != nil {
		t.Fatal(err)
	}
	for _, rc := range rels {
		rt, err := rowToCoreTuple(rc.row)
		if err != nil {
			t.Fatal(err)
		}
		op := core.RelationTupleUpdate_TOUCH
		if rc.deleted {
			op = core.RelationTupleUpdate_DELETE
		}
		b, err := (&core.RelationTupleUpdate{Operation: op, Tuple: rt}).MarshalVT()
		if err != nil {
			t.Fatal(err)
		}
		rec.Relationships = append(rec.Relationships, b)
	}
	b, err := json.Marshal(&rec)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// generatedChangelogEntry makes an entry of n relationship changes and, for some
// entries, schema changes (one of each kind, so the record's order is fixed).
func generatedChangelogEntry(t *testing.T, rng *rand.Rand, n int) (*changelog, []relChange, []storedRow) {
	t.Helper()
	entry := &changelog{revisionNanos: rng.Int64N(1 << 62)}
	idChars := []rune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_|-=+ é\"\\<>&")
	id := func() string {
		r := make([]rune, 1+rng.IntN(40))
		for i := range r {
			r[i] = idChars[rng.IntN(len(idChars))]
		}
		return string(r)
	}
	rels := make([]relChange, n)
	for i := range rels {
		var cv *contextualizedCaveat
		if rng.IntN(5) == 0 {
			// One key: a context's protobuf map has no fixed order, in either encoding.
			cv = &contextualizedCaveat{caveatName: "on_" + id(), context: map[string]any{"who": id()}}
		}
		var ri *relationshipIntegrity
		if rng.IntN(7) == 0 {
			ri = &relationshipIntegrity{keyID: id(), hash: []byte(id()), timestamp: time.Unix(rng.Int64N(1<<31), rng.Int64N(1e9)).UTC()}
		}
		var exp *time.Time
		if rng.IntN(4) == 0 {
			e := time.Unix(rng.Int64N(1<<33), rng.Int64N(1e9)).UTC()
			exp = &e
		}
		subRel := "..."
		if rng.IntN(3) == 0 {
			subRel = "member"
		}
		rels[i] = relChange{
			row:     newRow("case", id(), "reporter", "user", id(), subRel, cv, ri, exp),
			deleted: rng.IntN(3) == 0,
		}
	}
	var schemaBefore []storedRow
	if rng.IntN(2) == 0 {
		cs := newChangeSet()
		cs.addChangedNamespace(&core.NamespaceDefinition{Name: "ns_" + id()})
		cs.addChangedCaveat(&core.CaveatDefinition{Name: "cv_" + id(), SerializedExpression: []byte(id())})
		cs.addDeletedNamespace("gone_" + id())
		cs.addDeletedCaveat("gone_" + id())
		md, err := structpb.NewStruct(map[string]any{"actor": id()})
		if err != nil {
			t.Fatal(err)
		}
		cs.metadata = md
		entry.schema = cs
		schemaBefore = []storedRow{{Key: []byte(id()), Value: []byte(id())}, {Key: []byte(id()), Absent: true}}
	}
	return entry, rels, schemaBefore
}

func firstDifference(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
