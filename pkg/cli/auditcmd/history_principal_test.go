package auditcmd_test

import (
	"context"
	"net"
	"strings"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/grpcutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/principal"
)

// TestHistoryNeverShowsAClaimedActorAsTheAuthor replays the forged approval: a raw write
// through a standard SpiceDB client, carrying metadata that claims user:bill approved a
// member. With an operator key, history shows the operator as the author and bill only as
// claimed, and --actor user:bill does not find it; with an auditor key the write is refused.
func TestHistoryNeverShowsAClaimedActorAsTheAuthor(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	ctx := context.Background()
	e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{ListenAddress: addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	auditorKey, _, err := e.Registry().Create(ctx, principal.Principal{Name: "compliance", Kind: principal.Auditor})
	if err != nil {
		t.Fatal(err)
	}
	forge := func(key, id string) error {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpcutil.WithInsecureBearerToken(key))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		meta, _ := structpb.NewStruct(map[string]any{"actor": "user:bill", "operation": "member.approve", "reason": "new hire"})
		_, err = v1.NewPermissionsServiceClient(conn).WriteRelationships(ctx, &v1.WriteRelationshipsRequest{
			Updates: []*v1.RelationshipUpdate{{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: &v1.Relationship{
				Resource: &v1.ObjectReference{ObjectType: "account", ObjectId: id}, Relation: "admin",
				Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "dave"}},
			}}},
			OptionalTransactionMetadata: meta,
		})
		return err
	}
	if err := forge(e.PresharedKey(), "acme"); err != nil {
		t.Fatal(err)
	}
	if err := forge(auditorKey, "valley"); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("the auditor's forged write: %v, want PermissionDenied", err)
	}

	env := clitest.Offline(t)
	env.Env["ACCESSCTL_ENDPOINT"], env.Env["ACCESSCTL_INSECURE"], env.Env["ACCESSCTL_TOKEN"] = addr, "true", auditorKey
	env.Env["ACCESSCTL_CONFIG_DIR"] = t.TempDir()

	all := env.Must("history")
	want := `  -  member.approve  "new hire"  (by operator:serve)  (claimed user:bill)` + "\n    touch  account:acme#admin@user:dave\n"
	if !strings.HasSuffix(all.Stdout, want) || strings.Contains(all.Stdout, "valley") || strings.Contains(all.Stdout, "accessgraph_server") {
		t.Fatalf("history:\n%s\nwant it to end with:\n%s", all.Stdout, want)
	}
	if got := env.Must("history", "--actor", "user:bill").Stdout; got != "" {
		t.Fatalf("history --actor user:bill shows the claim as bill's:\n%s", got)
	}
	if got := env.Must("history", "--principal", "operator:serve").Stdout; !strings.HasSuffix(got, want) {
		t.Fatalf("history --principal operator:serve:\n%s", got)
	}
	if got := env.Must("history", "--principal", "auditor:compliance").Stdout; got != "" {
		t.Fatalf("history --principal auditor:compliance:\n%s", got)
	}
	env.Expect(2, "--principal", "history", "--principal", "bill")
}
