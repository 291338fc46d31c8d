package engine_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"sync"
	"testing"

	"github.com/authzed/authzed-go/pkg/requestmeta"
	"github.com/authzed/authzed-go/pkg/responsemeta"
	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/accessgraph/accessgraph/pkg/engine"
)

// linkedSpiceDB is the SpiceDB version go.mod requires.
func linkedSpiceDB(t *testing.T) string {
	t.Helper()
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*github\.com/authzed/spicedb (v\S+)`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod does not require github.com/authzed/spicedb")
	}
	return string(m[1])
}

func TestSpiceDBVersionIsTheLinkedRelease(t *testing.T) {
	want := linkedSpiceDB(t)
	if got := engine.SpiceDBVersion(); got != want {
		t.Fatalf("SpiceDBVersion() = %q, want go.mod's %q", got, want)
	}
}

// A SpiceDB client that asks for the server's version (zed does, and warns about unreleased
// servers) gets the SpiceDB release, not the embedding program's development version.
func TestServedAPIReportsTheSpiceDBRelease(t *testing.T) {
	e := startMemory(t)
	ctx := requestmeta.AddRequestHeaders(context.Background(), requestmeta.RequestServerVersion)
	var trailer metadata.MD
	if _, err := e.Schemas().ReadSchema(ctx, &v1.ReadSchemaRequest{}, grpc.Trailer(&trailer)); err != nil {
		t.Fatal(err)
	}
	got := trailer.Get(string(responsemeta.ServerVersion))
	if len(got) != 1 || got[0] != linkedSpiceDB(t) {
		t.Fatalf("server version trailer = %q, want [%s]", got, linkedSpiceDB(t))
	}
}

// Every writer, among many concurrent ones, sees its own write when it reads at least as
// fresh as the token the write returned. Through the raw SpiceDB API, so nothing of ours
// orders the writes (SpiceDB v1.56's memory datastore missed such writes; the embedded server
// used to serialise every write to hide it). Fully consistent reads are not part of this
// promise: SpiceDB coalesces concurrent head-revision lookups, so one started before a write
// committed can answer a read made after it (measured: 2 misses in 400 on memory).
func TestConcurrentWritersReadTheirOwnWrites(t *testing.T) {
	const writers, writesEach = 16, 40
	for name, uri := range testDatastores(t) {
		t.Run(name, func(t *testing.T) {
			e, err := engine.StartEmbedded(context.Background(), engine.EmbeddedConfig{DatastoreURI: uri})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = e.Close() })
			ctx := context.Background()
			run := fmt.Sprintf("ryw%d", os.Getpid())

			var mu sync.Mutex
			misses := map[string]int{}
			var wg sync.WaitGroup
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range writesEach {
						account, user := fmt.Sprintf("%s-%d-%d", run, w, i), fmt.Sprintf("%s-u%d-%d", run, w, i)
						resp, err := e.Permissions().WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{
							{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: rel("account", account, "admin", "user", user, "")},
						}})
						if err != nil {
							t.Error(err)
							return
						}
						for mode, consistency := range map[string]*v1.Consistency{
							"at_least_as_fresh": {Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: resp.GetWrittenAt()}},
						} {
							got, err := e.Permissions().CheckPermission(ctx, &v1.CheckPermissionRequest{
								Consistency: consistency,
								Resource:    &v1.ObjectReference{ObjectType: "account", ObjectId: account},
								Permission:  "view_all_cases",
								Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: user}},
							})
							if err != nil {
								t.Error(err)
								return
							}
							if got.GetPermissionship() != v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION {
								mu.Lock()
								misses[mode]++
								mu.Unlock()
							}
						}
					}
				}()
			}
			wg.Wait()
			if len(misses) > 0 {
				t.Fatalf("writers missed their own writes (of %d each): %v", writers*writesEach, misses)
			}
		})
	}
}
