package engine

import (
	"context"
	"sync/atomic"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/spicedb/pkg/cmd/server"
	"google.golang.org/grpc"
)

// writeObserver sees every write any client makes through the embedded server (this
// process's engine, the CLI, zed, authzed-go, imports). It tells the expiry reaper of every
// relationship with an expiry: without it the reaper would learn of other clients' grants
// only from its periodic scan, which cannot see a grant that expired before the scan ran.
// And it hands the engine each write's revision before the writer is answered, so the
// engine's fresh reads see every acknowledged write, whoever made it, not only its own.
type writeObserver struct {
	reaper atomic.Pointer[expiryReaper]
	tokens atomic.Pointer[tokenTracker]
}

// importMethods stream relationships in (client to server) and are observed per message.
var importMethods = map[string]bool{
	"/authzed.api.v1.PermissionsService/ImportBulkRelationships":  true,
	"/authzed.api.v1.ExperimentalService/BulkImportRelationships": true,
}

func (o *writeObserver) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	if err != nil {
		return resp, err
	}
	if w, ok := req.(*v1.WriteRelationshipsRequest); ok {
		if r := o.reaper.Load(); r != nil {
			r.noteUpdates(w.GetUpdates())
		}
	}
	if t := o.tokens.Load(); t != nil {
		switch written := resp.(type) {
		case *v1.WriteRelationshipsResponse:
			t.observe(written.GetWrittenAt())
		case *v1.DeleteRelationshipsResponse:
			t.observe(written.GetDeletedAt())
		case *v1.WriteSchemaResponse:
			t.observe(written.GetWrittenAt())
		}
	}
	return resp, err
}

func (o *writeObserver) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if !importMethods[info.FullMethod] {
		return handler(srv, ss)
	}
	rec := &expiringRecorder{ServerStream: ss, tokens: o.tokens.Load()}
	err := handler(srv, rec)
	if r := o.reaper.Load(); r != nil && err == nil && len(rec.updates) > 0 {
		r.noteUpdates(rec.updates)
	}
	return err
}

// expiringRecorder keeps the relationships with an expiry that an import streams in, and
// observes the import's revision before it is answered.
type expiringRecorder struct {
	grpc.ServerStream
	updates []*v1.RelationshipUpdate
	tokens  *tokenTracker // nil: nothing to tell
}

// SendMsg sends the import's one answer, which SpiceDB sends once the import committed.
// The answer carries no revision; the head, read now, contains the import, and is
// observed before the client can act on the answer.
func (s *expiringRecorder) SendMsg(m any) error {
	if s.tokens != nil {
		s.tokens.observeHead(s.Context())
	}
	return s.ServerStream.SendMsg(m)
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
