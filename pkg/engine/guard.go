package engine

import (
	"context"
	"crypto/subtle"
	"errors"
	"strings"
	"sync/atomic"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/spicedb/pkg/cmd/server"
	grpcauth "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/accessgraph/accessgraph/pkg/principal"
	"github.com/accessgraph/accessgraph/pkg/principal/keys"
	"github.com/accessgraph/accessgraph/pkg/spice"
	"github.com/accessgraph/accessgraph/schema"
)

// Access is what a raw SpiceDB method needs of its caller.
type Access int

// The classes of raw method. A method in no class is refused to everyone.
const (
	// Unclassified methods are refused.
	Unclassified Access = iota
	// Open methods (health, reflection) need no credential; SpiceDB does not authenticate them.
	Open
	// Read methods are for operators and auditors.
	Read
	// Write methods (relationship and schema writes, imports, counters, schema diffs) are for
	// operators.
	Write
)

// MethodAccess classifies every method of the raw API the embedded server serves. User and
// service principals use the domain API; the raw API refuses them.
var MethodAccess = map[string]Access{
	"/grpc.health.v1.Health/Check":                                   Open,
	"/grpc.health.v1.Health/List":                                    Open,
	"/grpc.health.v1.Health/Watch":                                   Open,
	"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo":      Open,
	"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": Open,

	"/authzed.api.v1.PermissionsService/CheckPermission":         Read,
	"/authzed.api.v1.PermissionsService/CheckBulkPermissions":    Read,
	"/authzed.api.v1.PermissionsService/ExpandPermissionTree":    Read,
	"/authzed.api.v1.PermissionsService/LookupResources":         Read,
	"/authzed.api.v1.PermissionsService/LookupSubjects":          Read,
	"/authzed.api.v1.PermissionsService/ReadRelationships":       Read,
	"/authzed.api.v1.PermissionsService/ExportBulkRelationships": Read,
	"/authzed.api.v1.PermissionsService/WriteRelationships":      Write,
	"/authzed.api.v1.PermissionsService/DeleteRelationships":     Write,
	"/authzed.api.v1.PermissionsService/ImportBulkRelationships": Write,

	"/authzed.api.v1.ExperimentalService/BulkCheckPermission":                       Read,
	"/authzed.api.v1.ExperimentalService/BulkExportRelationships":                   Read,
	"/authzed.api.v1.ExperimentalService/ExperimentalReflectSchema":                 Read,
	"/authzed.api.v1.ExperimentalService/ExperimentalComputablePermissions":         Read,
	"/authzed.api.v1.ExperimentalService/ExperimentalDependentRelations":            Read,
	"/authzed.api.v1.ExperimentalService/ExperimentalCountRelationships":            Read,
	"/authzed.api.v1.ExperimentalService/BulkImportRelationships":                   Write,
	"/authzed.api.v1.ExperimentalService/ExperimentalDiffSchema":                    Write,
	"/authzed.api.v1.ExperimentalService/ExperimentalRegisterRelationshipCounter":   Write,
	"/authzed.api.v1.ExperimentalService/ExperimentalUnregisterRelationshipCounter": Write,

	"/authzed.api.v1.SchemaService/ReadSchema":            Read,
	"/authzed.api.v1.SchemaService/ReflectSchema":         Read,
	"/authzed.api.v1.SchemaService/ComputablePermissions": Read,
	"/authzed.api.v1.SchemaService/DependentRelations":    Read,
	"/authzed.api.v1.SchemaService/WriteSchema":           Write,
	"/authzed.api.v1.SchemaService/DiffSchema":            Write,

	"/authzed.api.v1.WatchService/Watch": Read,
}

// Allowed reports whether a principal of kind k may call a method of class a on the raw API.
func (a Access) Allowed(k principal.Kind) bool {
	switch a {
	case Open:
		return true
	case Read:
		return k == principal.Operator || k == principal.Auditor
	case Write:
		return k == principal.Operator
	}
	return false
}

// Metadata keys the server sets. principalHeader passes the principal the in-process domain
// layer acts for; the server reads it only from its own connection.
const (
	principalHeader = "x-accessgraph-principal"
)

// caller is who the guard found a request to come from.
type caller struct {
	internal  bool   // the engine's own connection
	principal string // kind:name for history; from the credential, or passed by the domain layer
	kind      principal.Kind
}

type callerKey struct{}

// authenticator resolves bearer keys to principals: the engine's internal secret, else the
// key registry. It replaces SpiceDB's single preshared key.
type authenticator struct {
	internalSecret string
	registry       atomic.Pointer[keys.Registry]
}

// Refusals of the authenticator; authFailureReason maps them to log reasons.
const (
	msgNoKey      = "no bearer key: pass an access key (accessctl login, or --token)"
	msgUnknownKey = "unknown, expired or revoked key"
)

func (a *authenticator) authFunc(ctx context.Context) (context.Context, error) {
	token, err := grpcauth.AuthFromMD(ctx, "bearer")
	if err != nil {
		return nil, err
	}
	if token == "" {
		return nil, status.Error(codes.Unauthenticated, msgNoKey)
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(a.internalSecret)) == 1 {
		c := &caller{internal: true}
		if v := metadata.ValueFromIncomingContext(ctx, principalHeader); len(v) == 1 {
			if kind, name, ok := strings.Cut(v[0], ":"); ok && keys.CheckName(name) == nil {
				if k, err := principal.ParseKind(kind); err == nil {
					c.principal, c.kind = v[0], k
				}
			}
		}
		return context.WithValue(ctx, callerKey{}, c), nil
	}
	reg := a.registry.Load()
	if reg == nil {
		return nil, status.Error(codes.Unavailable, "the server is starting")
	}
	p, err := reg.Resolve(ctx, token)
	switch {
	case errors.Is(err, principal.ErrUnauthenticated):
		return nil, status.Error(codes.Unauthenticated, msgUnknownKey)
	case err != nil:
		return nil, status.Error(codes.Unavailable, "reading the key registry failed")
	}
	ctx = principal.NewContext(ctx, p)
	return context.WithValue(ctx, callerKey{}, &caller{principal: p.String(), kind: p.Kind}), nil
}

// guard enforces MethodAccess and hides and protects the internal definitions. It runs
// right after authentication.
type guard struct{}

var errInternalTypes = status.Error(codes.PermissionDenied, "the accessgraph_server definitions are the server's own: only the key registry (accessctl key) reads and writes them")

func callerOf(ctx context.Context) *caller {
	c, _ := ctx.Value(callerKey{}).(*caller)
	return c
}

// admit decides a request: nil to let it through.
func admit(c *caller, method string) error {
	access := MethodAccess[method]
	if access == Open || (c != nil && c.internal) {
		return nil
	}
	if c == nil {
		return status.Error(codes.Unauthenticated, msgNoKey)
	}
	if access == Unclassified {
		return status.Errorf(codes.PermissionDenied, "%s is not served to clients", method)
	}
	if !access.Allowed(c.kind) {
		what := "reads"
		if access == Write {
			what = "writes"
		}
		return status.Errorf(codes.PermissionDenied, "principal %s may not call %s: raw API %s are for %s", c.principal, method, what, allowedKinds(access))
	}
	return nil
}

func allowedKinds(a Access) string {
	if a == Write {
		return "operators"
	}
	return "operators and auditors"
}

// checkRequest refuses an external request that names an internal definition, except the
// registry's own reads and writes by an operator; and stamps the caller on writes.
func checkRequest(c *caller, method string, m any) error {
	msg, ok := m.(proto.Message)
	if !ok || c == nil || c.internal {
		if ok && c != nil && c.internal && c.principal != "" {
			stampInternal(msg, c.principal)
		}
		return nil
	}
	if mentionsInternal(msg.ProtoReflect()) {
		switch r := msg.(type) {
		case *v1.ReadRelationshipsRequest:
			if c.kind != principal.Operator {
				return errInternalTypes
			}
		case *v1.WriteRelationshipsRequest:
			if c.kind != principal.Operator {
				return errInternalTypes
			}
			if err := keys.CheckWrite(r); err != nil {
				return status.Errorf(codes.PermissionDenied, "%v", err)
			}
		default:
			return errInternalTypes
		}
	}
	switch r := msg.(type) {
	case *v1.WriteRelationshipsRequest:
		r.OptionalTransactionMetadata = stamp(r.GetOptionalTransactionMetadata(), c.principal)
	case *v1.DeleteRelationshipsRequest:
		r.OptionalTransactionMetadata = stamp(r.GetOptionalTransactionMetadata(), c.principal)
	case *v1.WriteSchemaRequest:
		r.Schema = strings.TrimRight(r.GetSchema(), "\n") + "\n\n" + schema.ServerText
	}
	return nil
}

// stamp records the authenticated principal on a raw write and demotes any actor the
// client claimed to claimed_actor.
func stamp(meta *structpb.Struct, who string) *structpb.Struct {
	if meta == nil {
		meta = &structpb.Struct{}
	}
	if meta.Fields == nil {
		meta.Fields = map[string]*structpb.Value{}
	}
	if actor, ok := meta.Fields[spice.KeyActor]; ok {
		meta.Fields[spice.KeyClaimedActor] = actor
		delete(meta.Fields, spice.KeyActor)
	} else {
		delete(meta.Fields, spice.KeyClaimedActor)
	}
	meta.Fields[spice.KeyPrincipal] = structpb.NewStringValue(who)
	return meta
}

// stampInternal records the principal the domain layer acts for on its writes; the actor
// it authorised stays.
func stampInternal(msg proto.Message, who string) {
	var meta **structpb.Struct
	switch r := msg.(type) {
	case *v1.WriteRelationshipsRequest:
		meta = &r.OptionalTransactionMetadata
	case *v1.DeleteRelationshipsRequest:
		meta = &r.OptionalTransactionMetadata
	default:
		return
	}
	if *meta == nil {
		*meta = &structpb.Struct{}
	}
	if (*meta).Fields == nil {
		(*meta).Fields = map[string]*structpb.Value{}
	}
	(*meta).Fields[spice.KeyPrincipal] = structpb.NewStringValue(who)
}

// mentionsInternal reports whether any string in m names an internal definition.
func mentionsInternal(m protoreflect.Message) bool {
	found := false
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		found = valueMentions(fd, v)
		return !found
	})
	return found
}

func valueMentions(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
	switch {
	case fd.IsList():
		l := v.List()
		for i := 0; i < l.Len(); i++ {
			if scalarMentions(fd, l.Get(i)) {
				return true
			}
		}
		return false
	case fd.IsMap():
		found := false
		v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
			found = strings.Contains(k.String(), schema.ServerPrefix) || scalarMentions(fd.MapValue(), mv)
			return !found
		})
		return found
	}
	return scalarMentions(fd, v)
}

func scalarMentions(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return strings.Contains(v.String(), schema.ServerPrefix)
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return mentionsInternal(v.Message())
	}
	return false
}

// filterResponse hides internal definitions from an external caller's response; false drops
// the message altogether.
//
// Exports leave the internal definitions out for every caller, the engine's own included:
// an export is the access model's data, and keys are not carried from one server to another.
func filterResponse(c *caller, m any) bool {
	switch r := m.(type) {
	case *v1.ExportBulkRelationshipsResponse:
		r.Relationships = keep(r.GetRelationships(), func(rel *v1.Relationship) bool { return !isInternalRel(rel) })
		return len(r.Relationships) > 0
	case *v1.BulkExportRelationshipsResponse:
		r.Relationships = keep(r.GetRelationships(), func(rel *v1.Relationship) bool { return !isInternalRel(rel) })
		return len(r.Relationships) > 0
	}
	if c == nil || c.internal {
		return true
	}
	switch r := m.(type) {
	case *v1.ReadRelationshipsResponse:
		return c.kind == principal.Operator || !isInternalRel(r.GetRelationship())
	case *v1.WatchResponse:
		r.Updates = keep(r.GetUpdates(), func(u *v1.RelationshipUpdate) bool { return !isInternalRel(u.GetRelationship()) })
	case *v1.ReadSchemaResponse:
		r.SchemaText = publicSchema(r.GetSchemaText())
	case *v1.ReflectSchemaResponse:
		r.Definitions = keep(r.GetDefinitions(), func(d *v1.ReflectionDefinition) bool { return !strings.HasPrefix(d.GetName(), schema.ServerPrefix) })
	case *v1.ExperimentalReflectSchemaResponse:
		r.Definitions = keep(r.GetDefinitions(), func(d *v1.ExpDefinition) bool { return !strings.HasPrefix(d.GetName(), schema.ServerPrefix) })
	}
	return true
}

func keep[T any](in []T, ok func(T) bool) []T {
	out := in[:0]
	for _, x := range in {
		if ok(x) {
			out = append(out, x)
		}
	}
	return out
}

func isInternalRel(rel *v1.Relationship) bool {
	return strings.HasPrefix(rel.GetResource().GetObjectType(), schema.ServerPrefix) ||
		strings.HasPrefix(rel.GetSubject().GetObject().GetObjectType(), schema.ServerPrefix)
}

// publicSchema removes the internal definitions (each with its doc comment) from stored
// schema text, wherever SpiceDB placed them.
func publicSchema(text string) string {
	var out, block []string
	flush := func() {
		joined := strings.Join(block, "\n")
		if !strings.Contains(joined, "definition "+schema.ServerPrefix) {
			out = append(out, block...)
		}
		block = nil
	}
	inDef := false
	for _, line := range strings.Split(text, "\n") {
		block = append(block, line)
		switch {
		case strings.HasPrefix(line, "definition ") || strings.HasPrefix(line, "caveat "):
			inDef = !strings.HasSuffix(strings.TrimSpace(line), "}")
			if !inDef {
				flush()
			}
		case inDef && line == "}":
			inDef = false
			flush()
		case !inDef && strings.TrimSpace(line) == "":
			flush()
		}
	}
	flush()
	res := strings.Join(out, "\n")
	for strings.Contains(res, "\n\n\n") {
		res = strings.ReplaceAll(res, "\n\n\n", "\n\n")
	}
	return strings.TrimLeft(res, "\n")
}

func (guard) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	c := callerOf(ctx)
	if err := admit(c, info.FullMethod); err != nil {
		return nil, err
	}
	if err := checkRequest(c, info.FullMethod, req); err != nil {
		return nil, err
	}
	issued, err := issueKey(req)
	if err != nil {
		return nil, err
	}
	resp, err := handler(ctx, req)
	if err == nil {
		filterResponse(c, resp)
		if issued != "" {
			err = grpc.SetHeader(ctx, metadata.Pairs(keys.IssuedKeyHeader, issued))
		}
	}
	return resp, err
}

// issueKey generates the key of a registry write's new credential (keys.IssuePlaceholder)
// and puts its hash in the request; "" when the request makes none. One per write.
func issueKey(req any) (string, error) {
	w, ok := req.(*v1.WriteRelationshipsRequest)
	if !ok {
		return "", nil
	}
	key := ""
	for _, u := range w.GetUpdates() {
		res := u.GetRelationship().GetResource()
		if res.GetObjectType() != keys.CredentialType || res.GetObjectId() != keys.IssuePlaceholder {
			continue
		}
		if key != "" {
			return "", status.Error(codes.InvalidArgument, "a registry write issues one key")
		}
		var err error
		if key, err = keys.Generate(); err != nil {
			return "", status.Error(codes.Internal, "generating a key failed")
		}
		res.ObjectId = keys.Hash(key)
	}
	return key, nil
}

func (guard) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	c := callerOf(ss.Context())
	if err := admit(c, info.FullMethod); err != nil {
		return err
	}
	return handler(srv, &guardedStream{ServerStream: ss, caller: c, method: info.FullMethod})
}

type guardedStream struct {
	grpc.ServerStream
	caller *caller
	method string
}

func (s *guardedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return checkRequest(s.caller, s.method, m)
}

func (s *guardedStream) SendMsg(m any) error {
	if !filterResponse(s.caller, m) {
		return nil
	}
	return s.ServerStream.SendMsg(m)
}

func (g guard) serverOptions() []server.ConfigOption {
	const name = "accessgraph-principal-guard"
	return []server.ConfigOption{
		server.WithUnaryMiddlewareModification(afterAuth(name, grpc.UnaryServerInterceptor(g.unary))),
		server.WithStreamingMiddlewareModification(afterAuth(name, grpc.StreamServerInterceptor(g.stream))),
	}
}

// principalUnary and principalStream pass the principal a call's context carries
// (principal.NewContext) to the server on the engine's own connection, so history records
// who the domain layer acted for.
func principalUnary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	return invoker(withPrincipalHeader(ctx), method, req, reply, cc, opts...)
}

func principalStream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return streamer(withPrincipalHeader(ctx), desc, cc, method, opts...)
}

func withPrincipalHeader(ctx context.Context) context.Context {
	if p, ok := principal.FromContext(ctx); ok && p.Kind != "" {
		return metadata.AppendToOutgoingContext(ctx, principalHeader, p.String())
	}
	return ctx
}
