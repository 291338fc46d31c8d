package engine_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/engine"
)

// TestFullReadsSeeEveryAcknowledgedWrite: writers each check, at Full consistency, the
// relationship they have just written, while the others write too. SpiceDB's own fully
// consistent read shares a head lookup among concurrent requests and can miss such a
// write; the engine's Full must not, on the memory and local datastores.
func TestFullReadsSeeEveryAcknowledgedWrite(t *testing.T) {
	for name, uri := range map[string]string{"memory": "", "local": engine.LocalURI(t.TempDir())} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{DatastoreURI: uri})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = e.Close() })
			const writers, writesEach = 8, 50
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					for i := range writesEach {
						acct, user := fmt.Sprintf("full-%d-%d", w, i), fmt.Sprintf("u%d", w)
						rel := &v1.Relationship{
							Resource: &v1.ObjectReference{ObjectType: "account", ObjectId: acct},
							Relation: "admin",
							Subject:  &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: user}},
						}
						if _, err := e.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: rel}}}); err != nil {
							t.Error(err)
							return
						}
						resp, err := e.Permissions().CheckPermission(ctx, &v1.CheckPermissionRequest{
							Consistency: e.Consistency(engine.Full()),
							Resource:    rel.GetResource(), Permission: "admin", Subject: rel.GetSubject(),
						})
						if err != nil {
							t.Error(err)
							return
						}
						if resp.GetPermissionship() != v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION {
							t.Errorf("a Full check of account:%s#admin@user:%s after its write was acknowledged: %v", acct, user, resp.GetPermissionship())
						}
					}
				})
			}
			wg.Wait()
		})
	}
}
