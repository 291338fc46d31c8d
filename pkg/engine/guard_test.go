package engine_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/grpcutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/principal"
	"github.com/accessgraph/accessgraph/pkg/principal/keys"
	"github.com/accessgraph/accessgraph/pkg/spice"
	"github.com/accessgraph/accessgraph/schema"
)

// keyServer is an embedded server on a TCP port with one key of each kind.
type keyServer struct {
	*engine.Embedded
	keys map[principal.Kind]string
}

func startKeyServer(t *testing.T, cfg engine.EmbeddedConfig) *keyServer {
	t.Helper()
	ctx := context.Background()
	cfg.ListenAddress = freeLoopbackAddr(t)
	e, err := engine.StartEmbedded(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	s := &keyServer{Embedded: e, keys: map[principal.Kind]string{}}
	for _, k := range principal.Kinds {
		p := principal.Principal{Name: "the-" + string(k), Kind: k}
		if k == principal.User {
			p.User = "bill"
		}
		key, _, err := e.Registry().Create(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		s.keys[k] = key
	}
	return s
}

// rawClient is authzed-go's generated clients of every v1 service, on one connection.
type rawClient struct {
	v1.PermissionsServiceClient
	v1.SchemaServiceClient
	v1.WatchServiceClient
	v1.ExperimentalServiceClient
}

// client connects over TCP with key, as any SpiceDB client would.
func (s *keyServer) client(t *testing.T, key string) *rawClient {
	t.Helper()
	conn, err := grpc.NewClient(s.Target(), grpc.WithTransportCredentials(insecure.NewCredentials()), grpcutil.WithInsecureBearerToken(key))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &rawClient{v1.NewPermissionsServiceClient(conn), v1.NewSchemaServiceClient(conn), v1.NewWatchServiceClient(conn), v1.NewExperimentalServiceClient(conn)}
}

// rawOp is one call of the raw API: on the access model's types, or naming an internal one.
type rawOp struct {
	method   string
	internal bool
	call     func(ctx context.Context, c *rawClient) error
}

func drainAll[T any](recv func() (T, error)) error {
	for {
		if _, err := recv(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

func objRef(typ, id string) *v1.ObjectReference {
	return &v1.ObjectReference{ObjectType: typ, ObjectId: id}
}
func subj(typ, id string) *v1.SubjectReference {
	return &v1.SubjectReference{Object: objRef(typ, id)}
}

func relOf(typ, id, relation, stype, sid string) *v1.Relationship {
	return &v1.Relationship{Resource: objRef(typ, id), Relation: relation, Subject: subj(stype, sid)}
}

// forgedCredential is a credential a raw write might try to plant: an operator key whose
// hash the attacker knows.
var forgedCredential = relOf(keys.CredentialType, keys.Hash("agk_forged-key-chosen-by-the-attacker"), "operator", keys.PrincipalType, "mallory")

func rawOps() []rawOp {
	full := spice.FullyConsistent()
	var ops []rawOp
	add := func(method string, internal bool, call func(ctx context.Context, c *rawClient) error) {
		if internal && strings.Contains(method, "RelationshipCounter") && !strings.Contains(method, "/ExperimentalRegister") || internal && strings.HasSuffix(method, "/ExperimentalCountRelationships") {
			return // named, not typed: only the access model's variant
		}
		ops = append(ops, rawOp{method, internal, call})
	}
	for _, internal := range []bool{false, true} {
		typ, id, perm, rel, stype, sid := "account", "acme", "manage_members", "admin", "user", "bill"
		if internal {
			typ, id, perm, rel, stype, sid = keys.CredentialType, forgedCredential.Resource.ObjectId, "operator", "operator", keys.PrincipalType, "mallory"
		}
		r := relOf(typ, id, rel, stype, sid)
		filter := &v1.RelationshipFilter{ResourceType: typ}
		write := func(meta map[string]any) *v1.WriteRelationshipsRequest {
			m, _ := structpb.NewStruct(meta)
			return &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: r}}, OptionalTransactionMetadata: m}
		}
		add("/authzed.api.v1.PermissionsService/CheckPermission", internal, func(ctx context.Context, c *rawClient) error {
			_, err := c.CheckPermission(ctx, &v1.CheckPermissionRequest{Consistency: full, Resource: objRef(typ, id), Permission: perm, Subject: subj(stype, sid)})
			return err
		})
		add("/authzed.api.v1.PermissionsService/CheckBulkPermissions", internal, func(ctx context.Context, c *rawClient) error {
			_, err := c.CheckBulkPermissions(ctx, &v1.CheckBulkPermissionsRequest{Consistency: full, Items: []*v1.CheckBulkPermissionsRequestItem{{Resource: objRef(typ, id), Permission: perm, Subject: subj(stype, sid)}}})
			return err
		})
		add("/authzed.api.v1.PermissionsService/ExpandPermissionTree", internal, func(ctx context.Context, c *rawClient) error {
			_, err := c.ExpandPermissionTree(ctx, &v1.ExpandPermissionTreeRequest{Consistency: full, Resource: objRef(typ, id), Permission: perm})
			return err
		})
		add("/authzed.api.v1.PermissionsService/LookupResources", internal, func(ctx context.Context, c *rawClient) error {
			s, err := c.LookupResources(ctx, &v1.LookupResourcesRequest{Consistency: full, ResourceObjectType: typ, Permission: perm, Subject: subj(stype, sid)})
			if err != nil {
				return err
			}
			return drainAll(s.Recv)
		})
		add("/authzed.api.v1.PermissionsService/LookupSubjects", internal, func(ctx context.Context, c *rawClient) error {
			s, err := c.LookupSubjects(ctx, &v1.LookupSubjectsRequest{Consistency: full, Resource: objRef(typ, id), Permission: perm, SubjectObjectType: stype})
			if err != nil {
				return err
			}
			return drainAll(s.Recv)
		})
		add("/authzed.api.v1.PermissionsService/ReadRelationships", internal, func(ctx context.Context, c *rawClient) error {
			s, err := c.ReadRelationships(ctx, &v1.ReadRelationshipsRequest{Consistency: full, RelationshipFilter: filter})
			if err != nil {
				return err
			}
			return drainAll(s.Recv)
		})
		add("/authzed.api.v1.PermissionsService/WriteRelationships", internal, func(ctx context.Context, c *rawClient) error {
			_, err := c.WriteRelationships(ctx, write(map[string]any{"operation": "test.write"}))
			return err
		})
		if internal {
			// A raw write dressed as the registry's own is still refused: it must have
			// the registry's shape, and only an operator may make it (tested below).
			add("/authzed.api.v1.PermissionsService/WriteRelationships#registry", internal, func(ctx context.Context, c *rawClient) error {
				_, err := c.WriteRelationships(ctx, write(map[string]any{"operation": keys.OpCreate}))
				return err
			})
			// The registry's own create: the server issues the key and returns it.
			add("/authzed.api.v1.PermissionsService/WriteRelationships#issue", internal, func(ctx context.Context, c *rawClient) error {
				req := write(map[string]any{"operation": keys.OpCreate})
				req.Updates[0].Operation = v1.RelationshipUpdate_OPERATION_CREATE
				req.Updates[0].Relationship = relOf(keys.CredentialType, keys.IssuePlaceholder, "operator", keys.PrincipalType, fmt.Sprintf("issued-%d", time.Now().UnixNano()))
				var header metadata.MD
				_, err := c.WriteRelationships(ctx, req, grpc.Header(&header))
				if err == nil && len(header.Get(keys.IssuedKeyHeader)) != 1 {
					return fmt.Errorf("no key issued")
				}
				return err
			})
		}
		add("/authzed.api.v1.PermissionsService/DeleteRelationships", internal, func(ctx context.Context, c *rawClient) error {
			_, err := c.DeleteRelationships(ctx, &v1.DeleteRelationshipsRequest{RelationshipFilter: &v1.RelationshipFilter{ResourceType: typ, OptionalResourceId: "nothing-here"}})
			return err
		})
		add("/authzed.api.v1.PermissionsService/ImportBulkRelationships", internal, func(ctx context.Context, c *rawClient) error {
			s, err := c.ImportBulkRelationships(ctx)
			if err != nil {
				return err
			}
			imp := relOf(typ, id+"2", rel, stype, sid)
			if internal {
				imp = relOf(keys.CredentialType, keys.Hash("agk_imported"), "operator", keys.PrincipalType, "mallory")
			}
			if err := s.Send(&v1.ImportBulkRelationshipsRequest{Relationships: []*v1.Relationship{imp}}); err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			_, err = s.CloseAndRecv()
			return err
		})
		add("/authzed.api.v1.ExperimentalService/BulkImportRelationships", internal, func(ctx context.Context, c *rawClient) error {
			s, err := c.BulkImportRelationships(ctx)
			if err != nil {
				return err
			}
			imp := relOf(typ, id+"3", rel, stype, sid)
			if internal {
				imp = relOf(keys.CredentialType, keys.Hash("agk_imported2"), "operator", keys.PrincipalType, "mallory")
			}
			if err := s.Send(&v1.BulkImportRelationshipsRequest{Relationships: []*v1.Relationship{imp}}); err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			_, err = s.CloseAndRecv()
			return err
		})
		add("/authzed.api.v1.PermissionsService/ExportBulkRelationships", internal, func(ctx context.Context, c *rawClient) error {
			s, err := c.ExportBulkRelationships(ctx, &v1.ExportBulkRelationshipsRequest{Consistency: full, OptionalRelationshipFilter: filter})
			if err != nil {
				return err
			}
			return drainAll(s.Recv)
		})
		add("/authzed.api.v1.ExperimentalService/BulkExportRelationships", internal, func(ctx context.Context, c *rawClient) error {
			s, err := c.BulkExportRelationships(ctx, &v1.BulkExportRelationshipsRequest{Consistency: full, OptionalRelationshipFilter: filter})
			if err != nil {
				return err
			}
			return drainAll(s.Recv)
		})
		add("/authzed.api.v1.ExperimentalService/BulkCheckPermission", internal, func(ctx context.Context, c *rawClient) error {
			_, err := c.BulkCheckPermission(ctx, &v1.BulkCheckPermissionRequest{Consistency: full, Items: []*v1.BulkCheckPermissionRequestItem{{Resource: objRef(typ, id), Permission: perm, Subject: subj(stype, sid)}}})
			return err
		})
		// Counters are named, not typed: only the access model's variant.
		add("/authzed.api.v1.ExperimentalService/ExperimentalCountRelationships", internal, func(ctx context.Context, c *rawClient) error {
			_, err := c.ExperimentalCountRelationships(ctx, &v1.ExperimentalCountRelationshipsRequest{Name: "counter"})
			if status.Code(err) == codes.FailedPrecondition || status.Code(err) == codes.NotFound {
				return nil // no such counter: the call was let through
			}
			return err
		})
		add("/authzed.api.v1.ExperimentalService/ExperimentalRegisterRelationshipCounter", internal, func(ctx context.Context, c *rawClient) error {
			_, err := c.ExperimentalRegisterRelationshipCounter(ctx, &v1.ExperimentalRegisterRelationshipCounterRequest{Name: fmt.Sprintf("c%d", time.Now().UnixNano()), RelationshipFilter: filter})
			return err
		})
		add("/authzed.api.v1.ExperimentalService/ExperimentalUnregisterRelationshipCounter", internal, func(ctx context.Context, c *rawClient) error {
			_, err := c.ExperimentalUnregisterRelationshipCounter(ctx, &v1.ExperimentalUnregisterRelationshipCounterRequest{Name: "no-such-counter"})
			if status.Code(err) == codes.FailedPrecondition || status.Code(err) == codes.NotFound {
				return nil
			}
			return err
		})
		add("/authzed.api.v1.SchemaService/ComputablePermissions", internal, func(ctx context.Context, c *rawClient) error {
			_, err := c.ComputablePermissions(ctx, &v1.ComputablePermissionsRequest{Consistency: full, DefinitionName: typ, RelationName: rel})
			return err
		})
		add("/authzed.api.v1.SchemaService/DependentRelations", internal, func(ctx context.Context, c *rawClient) error {
			_, err := c.DependentRelations(ctx, &v1.DependentRelationsRequest{Consistency: full, DefinitionName: "account", PermissionName: "manage_members"})
			if internal {
				_, err = c.DependentRelations(ctx, &v1.DependentRelationsRequest{Consistency: full, DefinitionName: typ, PermissionName: "x"})
			}
			return err
		})
		add("/authzed.api.v1.ExperimentalService/ExperimentalComputablePermissions", internal, func(ctx context.Context, c *rawClient) error {
			_, err := c.ExperimentalComputablePermissions(ctx, &v1.ExperimentalComputablePermissionsRequest{Consistency: full, DefinitionName: typ, RelationName: rel})
			return err
		})
		add("/authzed.api.v1.ExperimentalService/ExperimentalDependentRelations", internal, func(ctx context.Context, c *rawClient) error {
			_, err := c.ExperimentalDependentRelations(ctx, &v1.ExperimentalDependentRelationsRequest{Consistency: full, DefinitionName: "account", PermissionName: "manage_members"})
			if internal {
				_, err = c.ExperimentalDependentRelations(ctx, &v1.ExperimentalDependentRelationsRequest{Consistency: full, DefinitionName: typ, PermissionName: "x"})
			}
			return err
		})
		schemaText := schema.Text
		if internal {
			schemaText = schema.Text + "\n" + schema.ServerText + "\ndefinition accessgraph_server/backdoor {}\n"
		}
		add("/authzed.api.v1.SchemaService/WriteSchema", internal, func(ctx context.Context, c *rawClient) error {
			_, err := c.WriteSchema(ctx, &v1.WriteSchemaRequest{Schema: schemaText})
			return err
		})
		add("/authzed.api.v1.SchemaService/DiffSchema", internal, func(ctx context.Context, c *rawClient) error {
			_, err := c.DiffSchema(ctx, &v1.DiffSchemaRequest{Consistency: full, ComparisonSchema: schemaText})
			return err
		})
		add("/authzed.api.v1.ExperimentalService/ExperimentalDiffSchema", internal, func(ctx context.Context, c *rawClient) error {
			_, err := c.ExperimentalDiffSchema(ctx, &v1.ExperimentalDiffSchemaRequest{Consistency: full, ComparisonSchema: schemaText})
			return err
		})
		add("/authzed.api.v1.WatchService/Watch", internal, func(ctx context.Context, c *rawClient) error {
			wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			defer cancel()
			req := &v1.WatchRequest{}
			if internal {
				req.OptionalObjectTypes = []string{keys.CredentialType}
			}
			s, err := c.Watch(wctx, req)
			if err != nil {
				return err
			}
			_, err = s.Recv()
			if status.Code(err) == codes.DeadlineExceeded || status.Code(err) == codes.Canceled {
				return nil // let through, and nothing changed meanwhile
			}
			return err
		})
		if !internal {
			add("/authzed.api.v1.SchemaService/ReadSchema", false, func(ctx context.Context, c *rawClient) error {
				_, err := c.ReadSchema(ctx, &v1.ReadSchemaRequest{})
				return err
			})
			add("/authzed.api.v1.SchemaService/ReflectSchema", false, func(ctx context.Context, c *rawClient) error {
				_, err := c.ReflectSchema(ctx, &v1.ReflectSchemaRequest{Consistency: full})
				return err
			})
			add("/authzed.api.v1.ExperimentalService/ExperimentalReflectSchema", false, func(ctx context.Context, c *rawClient) error {
				_, err := c.ExperimentalReflectSchema(ctx, &v1.ExperimentalReflectSchemaRequest{Consistency: full})
				return err
			})
		}
	}
	return ops
}

// wantAllowed is the policy the matrix checks: reads for operators and auditors, writes for
// operators; an internal definition only in an operator's reads of relationships and in
// registry-shaped writes.
func wantAllowed(k principal.Kind, op rawOp) bool {
	method, variant, _ := strings.Cut(op.method, "#")
	if !engine.MethodAccess[method].Allowed(k) {
		return false
	}
	if !op.internal {
		return true
	}
	// An operator reads the registry (accessctl key list) and has the server issue keys
	// (accessctl key create); no one plants a credential for a key of their choosing.
	return k == principal.Operator && (method == "/authzed.api.v1.PermissionsService/ReadRelationships" || variant == "issue")
}

// TestRawAPIEscalationMatrix calls every raw method over TCP with an authzed-go client, as
// every kind of principal, on the access model's types and on the internal definitions:
// each call is let through exactly when the policy says, and a refused call is refused as
// PermissionDenied and writes nothing.
func TestRawAPIEscalationMatrix(t *testing.T) {
	s := startKeyServer(t, engine.EmbeddedConfig{})
	ctx := context.Background()
	ops := rawOps()
	covered := map[string]bool{}
	escalations := 0
	for _, k := range principal.Kinds {
		c := s.client(t, s.keys[k])
		for _, op := range ops {
			covered[strings.SplitN(op.method, "#", 2)[0]] = true
			name := fmt.Sprintf("%s %s internal=%v", k, op.method, op.internal)
			before := registrySnapshot(t, s)
			err := op.call(ctx, c)
			want := wantAllowed(k, op)
			switch {
			case want && (status.Code(err) == codes.PermissionDenied || status.Code(err) == codes.Unauthenticated):
				t.Errorf("%s: refused, want allowed: %v", name, err)
			case !want && status.Code(err) != codes.PermissionDenied:
				escalations++
				t.Errorf("%s: got %v, want PermissionDenied", name, err)
			}
			if after := registrySnapshot(t, s); after != before && !(want && k == principal.Operator) {
				escalations++
				t.Errorf("%s: the stored data changed:\n%s\n->\n%s", name, before, after)
			}
		}
	}
	for method, access := range engine.MethodAccess {
		if access != engine.Open && !covered[method] {
			t.Errorf("the matrix does not call %s", method)
		}
	}
	if escalations != 0 {
		t.Fatalf("%d escalations", escalations)
	}
}

// registrySnapshot is the registry's contents, the accounts' relationships (every write in
// the matrix is on an account or the registry) and the stored schema, read on the server's
// own connection.
func registrySnapshot(t *testing.T, s *keyServer) string {
	t.Helper()
	var b strings.Builder
	for _, typ := range []string{keys.CredentialType, keys.PrincipalType, "account"} {
		rels, err := spice.CollectRelationships(context.Background(), s.Permissions(), spice.FullyConsistent(), &v1.RelationshipFilter{ResourceType: typ})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rels {
			fmt.Fprintf(&b, "%s:%s#%s@%s\n", r.Resource.ObjectType, r.Resource.ObjectId, r.Relation, r.Subject.Object.ObjectId)
		}
	}
	resp, err := s.ReadSchemaSince(context.Background(), nil) // sees a schema write just made
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(strings.TrimSpace(resp.GetSchemaText()), strings.TrimSpace(schema.ServerText)) || strings.Contains(resp.GetSchemaText(), "backdoor") {
		b.WriteString("schema changed\n")
	}
	return b.String()
}

// TestEveryRawMethodIsClassified fails when SpiceDB's v1 API gains a method the guard does
// not classify (an unclassified method is refused to every client, so it would silently stop
// working), or when the table names a method that does not exist.
func TestEveryRawMethodIsClassified(t *testing.T) {
	t.Parallel()
	served := map[string]bool{}
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if fd.Package() != "authzed.api.v1" {
			return true
		}
		for i := 0; i < fd.Services().Len(); i++ {
			svc := fd.Services().Get(i)
			for j := 0; j < svc.Methods().Len(); j++ {
				served[fmt.Sprintf("/%s/%s", svc.FullName(), svc.Methods().Get(j).Name())] = true
			}
		}
		return true
	})
	if len(served) < 25 {
		t.Fatalf("found only %d v1 methods", len(served))
	}
	for m := range served {
		if engine.MethodAccess[m] == engine.Unclassified {
			t.Errorf("%s is not classified in engine.MethodAccess", m)
		}
	}
	for m, a := range engine.MethodAccess {
		if strings.HasPrefix(m, "/authzed.") && !served[m] {
			t.Errorf("engine.MethodAccess names %s, which SpiceDB does not serve", m)
		}
		if a == engine.Open && strings.HasPrefix(m, "/authzed.") {
			t.Errorf("%s is open to unauthenticated clients", m)
		}
	}
}
