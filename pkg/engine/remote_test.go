package engine_test

import (
	"context"
	"net"
	"strings"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/accessgraph/accessgraph/pkg/engine"
)

func freeLoopbackAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

func TestRemoteClientsUseTheStandardAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	server, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{ListenAddress: freeLoopbackAddr(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()

	remote, err := engine.Dial(ctx, engine.RemoteConfig{Endpoint: server.Target(), PresharedKey: server.PresharedKey(), Insecure: true})
	if err != nil {
		t.Fatalf("dialing the embedded server over TCP: %v", err)
	}
	defer remote.Close()
	if remote.Kind() != "remote" {
		t.Fatalf("kind = %q", remote.Kind())
	}
	tok, err := remote.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{
		{Operation: v1.RelationshipUpdate_OPERATION_CREATE, Relationship: rel("account", "acme", "admin", "user", "bill", "")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	// The write made through the remote client is visible in process at its token.
	if !check(t, server, tok, "account", "acme", "manage_members", "bill") {
		t.Fatal("bill should manage members")
	}

	// A wrong key is refused.
	bad, err := engine.Dial(ctx, engine.RemoteConfig{Endpoint: server.Target(), PresharedKey: "wrong", Insecure: true, SkipSchema: true})
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	_, err = bad.Schemas().ReadSchema(ctx, &v1.ReadSchemaRequest{})
	if status.Code(err) != codes.PermissionDenied && status.Code(err) != codes.Unauthenticated {
		t.Fatalf("wrong key: %v", err)
	}
}

// With port 0 the engine picks a free port and Target reports it, so clients can dial it.
func TestListenOnPortZeroReportsTheRealPort(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	server, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{ListenAddress: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	if strings.HasSuffix(server.Target(), ":0") || !strings.HasPrefix(server.Target(), "127.0.0.1:") {
		t.Fatalf("Target() = %q, want 127.0.0.1 with the port picked", server.Target())
	}
	remote, err := engine.Dial(ctx, engine.RemoteConfig{Endpoint: server.Target(), PresharedKey: server.PresharedKey(), Insecure: true, SkipSchema: true})
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	if _, err := remote.Schemas().ReadSchema(ctx, &v1.ReadSchemaRequest{}); err != nil {
		t.Fatalf("reading the schema through %s: %v", server.Target(), err)
	}
}
