package engine

import (
	"context"
	"sync"

	"github.com/authzed/spicedb/pkg/cmd/server"
	"google.golang.org/grpc"
)

// writeMethods are the gRPC methods that change relationships or the schema.
var writeMethods = map[string]bool{
	"/authzed.api.v1.PermissionsService/WriteRelationships":       true,
	"/authzed.api.v1.PermissionsService/DeleteRelationships":      true,
	"/authzed.api.v1.PermissionsService/ImportBulkRelationships":  true,
	"/authzed.api.v1.SchemaService/WriteSchema":                   true,
	"/authzed.api.v1.ExperimentalService/BulkImportRelationships": true,
}

// writeSerializer runs the server's writes one at a time, whoever sends them. SpiceDB
// v1.56's memory datastore can hide a write from a read at that write's own revision when
// writers run concurrently; serialising writes inside the server removes the race for every
// client, not only ours.
type writeSerializer struct{ mu sync.Mutex }

func newWriteSerializer() *writeSerializer { return &writeSerializer{} }

func (s *writeSerializer) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if !writeMethods[info.FullMethod] {
		return handler(ctx, req)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return handler(ctx, req)
}

func (s *writeSerializer) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if !writeMethods[info.FullMethod] {
		return handler(srv, ss)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return handler(srv, ss)
}

// The serializer runs after authentication so an unauthenticated caller never holds the lock.
func (s *writeSerializer) unaryModification() server.MiddlewareModification[grpc.UnaryServerInterceptor] {
	return server.MiddlewareModification[grpc.UnaryServerInterceptor]{
		DependencyMiddlewareName: server.DefaultMiddlewareGRPCAuth,
		Operation:                server.OperationAppend,
		Middlewares: []server.ReferenceableMiddleware[grpc.UnaryServerInterceptor]{
			{Name: "accessgraph-serialize-writes", Middleware: s.unary},
		},
	}
}

func (s *writeSerializer) streamModification() server.MiddlewareModification[grpc.StreamServerInterceptor] {
	return server.MiddlewareModification[grpc.StreamServerInterceptor]{
		DependencyMiddlewareName: server.DefaultMiddlewareGRPCAuth,
		Operation:                server.OperationAppend,
		Middlewares: []server.ReferenceableMiddleware[grpc.StreamServerInterceptor]{
			{Name: "accessgraph-serialize-writes", Middleware: s.stream},
		},
	}
}
