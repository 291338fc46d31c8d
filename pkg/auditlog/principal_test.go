package auditlog_test

import (
	"context"
	"net"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/grpcutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/accessgraph/accessgraph/pkg/auditlog"
	"github.com/accessgraph/accessgraph/pkg/engine"
)

// TestAuditLogKeepsThePrincipal: the durable audit log records the principal the server
// proved and a raw write's claimed actor in their own columns, never the claim as actor.
func TestAuditLogKeepsThePrincipal(t *testing.T) {
	uri := database(t)
	ctx := context.Background()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{DatastoreURI: uri, ListenAddress: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	store, err := auditlog.Open(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	consumer, err := auditlog.NewConsumer(ctx, e.Engine, store)
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = consumer.Run(cctx, nil) }()

	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpcutil.WithInsecureBearerToken(e.PresharedKey()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	meta, _ := structpb.NewStruct(map[string]any{"actor": "user:bill", "operation": "member.approve", "reason": "new hire"})
	if _, err := v1.NewPermissionsServiceClient(conn).WriteRelationships(ctx, &v1.WriteRelationshipsRequest{
		Updates: []*v1.RelationshipUpdate{{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: &v1.Relationship{
			Resource: &v1.ObjectReference{ObjectType: "account", ObjectId: "acme"}, Relation: "admin",
			Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "dave"}},
		}}},
		OptionalTransactionMetadata: meta,
	}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		for en, err := range store.Entries(ctx, auditlog.Filter{}) {
			if err != nil {
				t.Fatal(err)
			}
			if en.Operation == "member.approve" {
				if en.Actor != "" || en.Principal != "operator:serve" || en.ClaimedActor != "user:bill" {
					t.Fatalf("recorded actor %q principal %q claimed %q", en.Actor, en.Principal, en.ClaimedActor)
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the change was not recorded")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
