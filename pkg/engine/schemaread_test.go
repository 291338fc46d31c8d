package engine_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/engine"
)

// TestSchemaReadsSinceContainEveryAcknowledgedWrite: with other clients reading the schema
// all the time (so SpiceDB coalesces head lookups), a schema read made after a write is
// acknowledged is at a revision containing that write, for hundreds of writes on each
// datastore that keeps revisions in order. A plain ReadSchema can answer from a lookup begun
// before the write; the count of those is logged to show the hazard the test guards against.
func TestSchemaReadsSinceContainEveryAcknowledgedWrite(t *testing.T) {
	for name, uri := range map[string]string{"memory": "", "local": engine.LocalURI(t.TempDir())} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{DatastoreURI: uri})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = e.Close() })
			rctx, stop := context.WithCancel(ctx)
			var readers sync.WaitGroup
			for range 4 {
				readers.Go(func() {
					for rctx.Err() == nil {
						_, _ = e.Schemas().ReadSchema(rctx, &v1.ReadSchemaRequest{})
					}
				})
			}
			defer func() { stop(); readers.Wait() }()

			const writes = 200
			var plainStale atomic.Int64
			for i := range writes {
				written, err := e.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{
					Operation:    v1.RelationshipUpdate_OPERATION_TOUCH,
					Relationship: rel("case", fmt.Sprintf("c%d", i), "reporter", "user", fmt.Sprintf("u%d", i), ""),
				}}})
				if err != nil {
					t.Fatal(err)
				}
				if i%2 == 0 {
					plain, err := e.Schemas().ReadSchema(ctx, &v1.ReadSchemaRequest{})
					if err != nil {
						t.Fatal(err)
					}
					if covers, _ := e.Covers(plain.GetReadAt(), written); !covers {
						plainStale.Add(1)
					}
				}
				resp, err := e.ReadSchemaSince(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				covers, known := e.Covers(resp.GetReadAt(), written)
				if !known || !covers {
					t.Fatalf("write %d: the schema read at %s after the write at %s was acknowledged (known %v)", i, resp.GetReadAt().GetToken(), written.GetToken(), known)
				}
				if resp.GetSchemaText() == "" {
					t.Fatalf("write %d: an empty schema", i)
				}
				since, err := e.ReadSchemaSince(ctx, written)
				if err != nil {
					t.Fatal(err)
				}
				if covers, _ := e.Covers(since.GetReadAt(), written); !covers {
					t.Fatalf("write %d: the schema read since %s is at %s", i, written.GetToken(), since.GetReadAt().GetToken())
				}
			}
			t.Logf("plain schema reads older than the write just acknowledged: %d of %d", plainStale.Load(), writes/2)
		})
	}
}
