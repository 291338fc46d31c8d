package audit

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accessgraph/accessgraph/pkg/auditlog"
)

// randomWatchResponse is one transaction as SpiceDB's change stream reports it: random
// relationships (subject relations, expiries, every operation) and metadata.
func randomWatchResponse(rng *rand.Rand) *v1.WatchResponse {
	resp := &v1.WatchResponse{ChangesThrough: &v1.ZedToken{Token: fmt.Sprintf("tok%d", rng.IntN(1000))}}
	meta := map[string]any{"actor": []string{"user:bill", "system:expiry", ""}[rng.IntN(3)], "reason": "r", "operation": "member.approve"}
	resp.OptionalTransactionMetadata, _ = structpb.NewStruct(meta)
	for range 1 + rng.IntN(5) {
		rel := &v1.Relationship{
			Resource: &v1.ObjectReference{ObjectType: []string{"account", "group", "case"}[rng.IntN(3)], ObjectId: fmt.Sprintf("o%d", rng.IntN(4))},
			Relation: []string{"admin", "member", "viewer"}[rng.IntN(3)],
			Subject:  &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: fmt.Sprintf("u%d", rng.IntN(4))}},
		}
		if rng.IntN(3) == 0 {
			rel.Subject = &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "group", ObjectId: fmt.Sprintf("g%d", rng.IntN(3))}, OptionalRelation: "member"}
		}
		if rng.IntN(3) == 0 {
			rel.OptionalExpiresAt = timestamppb.New(time.Date(2030, 1, 1+rng.IntN(28), 0, 0, 0, 0, time.UTC))
		}
		ops := []v1.RelationshipUpdate_Operation{v1.RelationshipUpdate_OPERATION_TOUCH, v1.RelationshipUpdate_OPERATION_CREATE, v1.RelationshipUpdate_OPERATION_DELETE}
		resp.Updates = append(resp.Updates, &v1.RelationshipUpdate{Operation: ops[rng.IntN(3)], Relationship: rel})
	}
	return resp
}

// A transaction read back from the durable audit log is the same change the change stream
// reported (but for when it was recorded): the two history sources cannot disagree.
func TestLogAndStreamGiveTheSameChange(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	for i := range 500 {
		resp := randomWatchResponse(rng)
		fromStream := toChange(resp, time.Time{})
		entry := auditlog.EntryFromWatch(resp)
		entry.Seq = int64(i + 1)
		fromLog, err := entryChange(entry)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		fromStream.Time, fromStream.TimeFromRevision, fromLog.Time = time.Time{}, false, time.Time{}
		if fromStream.Metadata != nil {
			// The log keeps the three accessgraph keys, not empty values.
			for k, v := range fromStream.Metadata {
				if v == "" {
					delete(fromStream.Metadata, k)
				}
			}
			if len(fromStream.Metadata) == 0 {
				fromStream.Metadata = nil
			}
		}
		if !reflect.DeepEqual(fromStream, fromLog) {
			t.Fatalf("case %d:\nstream %+v\nlog    %+v", i, fromStream, fromLog)
		}
	}
}
