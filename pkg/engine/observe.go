package engine

import (
	"context"
	"sync/atomic"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/spicedb/pkg/cmd/server"
	"google.golang.org/grpc"
)

// writeObserver tells the embedded server's expiry reaper of every relationship with an
// expiry that any client writes through the server: this process's engine, the CLI, zed,
// authzed-go, imports. Without it the reaper would learn of other clients' grants only
// from its periodic scan, which cannot see a grant that expired before the scan ran.
type writeObserver struct {
	reaper atomic.Pointer[expiryReaper]
}

// importMethods stream relationships in (client to server) and are observed per message.
var importMethods = map[string]bool{
	"/authzed.api.v1.PermissionsService/ImportBulkRelationships":  true,
	"/authzed.api.v1.ExperimentalService/BulkImportRelationships": true,
}

func (o *writeObserver) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	if w, ok := req.(*v1.WriteRelationshipsRequest); ok && err == nil {
		if r := o.reaper.Load(); r != nil {
			r.noteUpdates(w.GetUpdates())
		}
	}
	return resp, err
}

func (o *writeObserver) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if !importMethods[info.FullMethod] {
		return handler(srv, ss)
	}
	rec := &expiringRecorder{ServerStream: ss}
	err := handler(srv, rec)
	if r := o.reaper.Load(); r != nil && err == nil && len(rec.updates) > 0 {
		r.noteUpdates(rec.updates)
	}
	return err
}

// expiringRecorder keeps the relationships with an expiry that an import streams in.
type expiringRecorder struct {
	grpc.ServerStream
	updates []*v1.RelationshipUpdate
}

func (s *expiringRecorder) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if err != nil {
		return err
	}
	var rels []*v1.Relationship
	switch msg := m.(type) {
	case *v1.ImportBulkRelationshipsRequest:
		rels = msg.GetRelationships()
	case *v1.BulkImportRelationshipsRequest:
		rels = msg.GetRelationships()
	}
	for _, rel := range rels {
		if rel.GetOptionalExpiresAt() != nil {
			s.updates = append(s.updates, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: rel})
		}
	}
	return nil
}

// afterAuth places one of our interceptors right after SpiceDB's authentication, so an
// unauthenticated caller never reaches it.
func afterAuth[T grpc.UnaryServerInterceptor | grpc.StreamServerInterceptor](name string, middleware T) server.MiddlewareModification[T] {
	return server.MiddlewareModification[T]{
		DependencyMiddlewareName: server.DefaultMiddlewareGRPCAuth,
		Operation:                server.OperationAppend,
		Middlewares:              []server.ReferenceableMiddleware[T]{{Name: name, Middleware: middleware}},
	}
}
