package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/grpcutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/accessgraph/accessgraph/pkg/engine"
)

// TestFreshReadsSeeEveryClientsWrites: once any client's write, delete or import through the
// embedded server is acknowledged, the engine's fresh reads see it at once, although the
// engine holds no token for it. Generated sequences of grants, revocations and imports from
// three clients (the raw API in process, authzed-go over TCP, a bulk import), four writers at
// a time, each followed at once by fresh checks of the pairs it changed and of others, against
// a model. Without the server handing the engine each write's revision, a fresh read of
// another client's write answers at the quantized revision and misses it for up to
// engine.DefaultReadLag.
func TestFreshReadsSeeEveryClientsWrites(t *testing.T) {
	datastores := testDatastores(t)
	const writers, opsEach, accountsEach, usersEach = 4, 40, 3, 4
	for name, uri := range datastores {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{DatastoreURI: uri, ListenAddress: "127.0.0.1:0"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = e.Close() })
			conn, err := grpc.NewClient(e.Target(), grpc.WithTransportCredentials(insecure.NewCredentials()), grpcutil.WithInsecureBearerToken(e.PresharedKey()))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = conn.Close() })
			overTCP := v1.NewPermissionsServiceClient(conn)
			run := fmt.Sprintf("fr%d", os.Getpid())
			seed := uint64(os.Getpid())
			t.Logf("seed %d", seed)

			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(seed, uint64(w)))
					account := func(i int) string { return fmt.Sprintf("%s-w%d-a%d", run, w, i) }
					user := func(j int) string { return fmt.Sprintf("%s-w%d-u%d", run, w, j) }
					granted := map[[2]int]bool{}
					fresh := func() *v1.Consistency { return e.Consistency(engine.Fresh()) }
					probe := func(op string, changed [][2]int) bool {
						pairs := append([][2]int{}, changed...)
						pairs = append(pairs, [2]int{rng.IntN(accountsEach), rng.IntN(usersEach)})
						for _, p := range pairs {
							resp, err := e.Permissions().CheckPermission(ctx, &v1.CheckPermissionRequest{
								Consistency: fresh(),
								Resource:    &v1.ObjectReference{ObjectType: "account", ObjectId: account(p[0])},
								Permission:  "view_all_cases",
								Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: user(p[1])}},
							})
							if err != nil {
								t.Errorf("writer %d, after %s: check: %v", w, op, err)
								return false
							}
							got := resp.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION
							if got != granted[p] {
								t.Errorf("writer %d, after %s: a fresh check of %s on %s answered %v, want %v", w, op, user(p[1]), account(p[0]), got, granted[p])
								return false
							}
						}
						return true
					}
					for range opsEach {
						p := [2]int{rng.IntN(accountsEach), rng.IntN(usersEach)}
						admin := rel("account", account(p[0]), "admin", "user", user(p[1]), "")
						var op string
						var err error
						switch k := rng.IntN(5); {
						case k == 0 && !granted[p]:
							// An import creates: only pairs not granted, a few at once.
							op = "import"
							batch := [][2]int{p}
							for j := range usersEach {
								q := [2]int{p[0], j}
								if q != p && !granted[q] && rng.IntN(2) == 0 {
									batch = append(batch, q)
								}
							}
							err = importRels(ctx, overTCP, batch, account, user)
							if err == nil {
								for _, q := range batch {
									granted[q] = true
								}
							}
							if !probe(op, batch) {
								return
							}
							continue
						case k <= 2:
							op = "grant"
							client := []v1.PermissionsServiceClient{e.Permissions(), overTCP}[rng.IntN(2)]
							_, err = client.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{
								{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: admin},
							}})
							granted[p] = err == nil || granted[p]
						case k == 3:
							op = "revoke"
							_, err = overTCP.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{
								{Operation: v1.RelationshipUpdate_OPERATION_DELETE, Relationship: admin},
							}})
							granted[p] = err != nil && granted[p]
						default:
							op = "delete by filter"
							_, err = e.Permissions().DeleteRelationships(ctx, &v1.DeleteRelationshipsRequest{RelationshipFilter: &v1.RelationshipFilter{
								ResourceType: "account", OptionalResourceId: account(p[0]), OptionalRelation: "admin",
							}})
							if err == nil {
								for q := range granted {
									if q[0] == p[0] {
										delete(granted, q)
									}
								}
							}
						}
						if err != nil {
							t.Errorf("writer %d: %s: %v", w, op, err)
							return
						}
						if !probe(op, [][2]int{p}) {
							return
						}
					}
				})
			}
			wg.Wait()
		})
	}
}

// importRels imports admin grants of the pairs through the bulk import API.
func importRels(ctx context.Context, client v1.PermissionsServiceClient, pairs [][2]int, account, user func(int) string) error {
	stream, err := client.ImportBulkRelationships(ctx)
	if err != nil {
		return err
	}
	rels := make([]*v1.Relationship, 0, len(pairs))
	for _, p := range pairs {
		rels = append(rels, rel("account", account(p[0]), "admin", "user", user(p[1]), ""))
	}
	if err := stream.Send(&v1.ImportBulkRelationshipsRequest{Relationships: rels}); err != nil {
		return err
	}
	_, err = stream.CloseAndRecv()
	return err
}

// testDatastores are the datastores an engine test runs on: memory, local, and the
// PostgreSQL of ACCESSGRAPH_TEST_POSTGRES when it is set.
func testDatastores(t *testing.T) map[string]string {
	datastores := map[string]string{"memory": "", "local": engine.LocalURI(t.TempDir())}
	if uri := os.Getenv("ACCESSGRAPH_TEST_POSTGRES"); uri != "" {
		datastores["postgres"] = uri
	}
	return datastores
}

// TestFullReadsSeeEveryAcknowledgedWrite: writers each check, at Full consistency, the
// relationship they have just written, while the others write too. SpiceDB's own fully
// consistent read shares a head lookup among concurrent requests and can miss such a
// write; the engine's Full must not, on any datastore.
func TestFullReadsSeeEveryAcknowledgedWrite(t *testing.T) {
	for name, uri := range testDatastores(t) {
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
