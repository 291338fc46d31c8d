// Package engine connects accessgraph to SpiceDB: an embedded server or a remote endpoint, behind one type.
package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/accessgraph/accessgraph/pkg/reach"
	"github.com/accessgraph/accessgraph/pkg/spice"
	"github.com/accessgraph/accessgraph/schema"
)

// Engine is a connection to SpiceDB through its standard gRPC API, whether the server
// runs in this process or elsewhere. Every call the domain layer makes goes through it,
// so embedded and remote deployments behave the same.
//
// An Engine is safe for concurrent use. Its zero value is not usable: build one with
// StartEmbedded or Dial, and Close it when done.
type Engine struct {
	conn     *grpc.ClientConn
	internal bool // the embedded server's own connection, which stores its internal definitions
	kind     string
	target   string

	tokens *tokenTracker
	reaper *expiryReaper
	reach  *reach.Index

	closeOnce sync.Once
	closeFn   func() error
	closeErr  error
}

// Permissions is SpiceDB's permissions service: checks, lookups and relationship reads and writes.
func (e *Engine) Permissions() v1.PermissionsServiceClient {
	return v1.NewPermissionsServiceClient(e.conn)
}

// Schemas is SpiceDB's schema service.
func (e *Engine) Schemas() v1.SchemaServiceClient { return v1.NewSchemaServiceClient(e.conn) }

// Watch is SpiceDB's watch service, the stream of every change.
func (e *Engine) Watch() v1.WatchServiceClient { return v1.NewWatchServiceClient(e.conn) }

// Experimental is SpiceDB's experimental service (bulk export and counting).
func (e *Engine) Experimental() v1.ExperimentalServiceClient {
	return v1.NewExperimentalServiceClient(e.conn)
}

// Reach is the case reachability index, or nil when this engine has none (a remote
// server, PostgreSQL or CockroachDB, or turned off).
func (e *Engine) Reach() *reach.Index { return e.reach }

// Conn is the underlying gRPC connection, for SpiceDB clients this package does not wrap.
func (e *Engine) Conn() *grpc.ClientConn { return e.conn }

// Kind names what the engine talks to: "memory", "postgres", "cockroachdb" or "remote".
func (e *Engine) Kind() string { return e.kind }

// Target is the gRPC address other SpiceDB clients can use, or "" when the embedded
// server listens only in process.
func (e *Engine) Target() string { return e.target }

// Close stops the embedded server (if any) and closes the connection. It is safe to call twice.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		if e.reaper != nil {
			e.reaper.stop()
		}
		if e.reach != nil {
			e.reach.Stop()
		}
		if e.closeFn != nil {
			e.closeErr = e.closeFn()
		}
	})
	return e.closeErr
}

// ObserveToken records a revision token returned by a write made through this engine, so
// that later reads can be at least as fresh as every write this process has made.
func (e *Engine) ObserveToken(token *v1.ZedToken) { e.tokens.observe(token) }

// FreshestToken returns the newer of the given token and the newest token this engine has
// seen from its own writes (including expiry clean-up). A token the engine has never seen
// (issued by another process) is returned unchanged, since it cannot be ordered.
func (e *Engine) FreshestToken(token *v1.ZedToken) *v1.ZedToken { return e.tokens.freshest(token) }

// errNoRevisions is returned where a revision must be read or ordered but the engine talks
// to a remote server, whose tokens are opaque.
var errNoRevisions = errors.New("revisions can be read and ordered only with an embedded server")

// HeadToken returns a token for the datastore's newest revision: a read at it sees every
// write committed before the call. Only an embedded engine can tell.
func (e *Engine) HeadToken(ctx context.Context) (*v1.ZedToken, error) { return e.tokens.head(ctx) }

// Covers reports whether a read at token a sees everything committed at token b. known is
// false when either cannot be decoded (a remote engine, a token of another datastore).
func (e *Engine) Covers(a, b *v1.ZedToken) (covers, known bool) { return e.tokens.covers(a, b) }

// ReadSchemaSince reads the stored schema at a revision that contains after's (nil: every
// write committed before the call). ReadSchema always reads at the head, but SpiceDB
// coalesces concurrent head lookups, so one begun before a write can answer a read made
// after it; such an answer is read again. A remote engine's revisions cannot be ordered: it
// answers the first read.
func (e *Engine) ReadSchemaSince(ctx context.Context, after *v1.ZedToken) (*v1.ReadSchemaResponse, error) {
	if after == nil {
		head, err := e.HeadToken(ctx)
		switch {
		case err == nil:
			after = head
		case !errors.Is(err, errNoRevisions):
			return nil, fmt.Errorf("reading the head revision: %w", err)
		}
	}
	for attempt := 1; ; attempt++ {
		resp, err := e.Schemas().ReadSchema(ctx, &v1.ReadSchemaRequest{})
		if err != nil || after == nil {
			return resp, err
		}
		if covers, known := e.Covers(resp.GetReadAt(), after); covers || !known {
			return resp, nil
		}
		if attempt == staleSchemaReads {
			return nil, fmt.Errorf("reading the schema: %d reads in a row answered from before revision %s", attempt, after.GetToken())
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}

// staleSchemaReads bounds ReadSchemaSince's reads: a coalesced lookup ends within one
// datastore round trip, so the next read or the one after starts its own.
const staleSchemaReads = 100

// Fresh is the consistency that reads at least as fresh as token (nil for none) and as
// every write this engine made or observed, so a caller sees its own changes; fully
// consistent when there is neither.
func (e *Engine) Fresh(token *v1.ZedToken) *v1.Consistency {
	if tok := e.FreshestToken(token); tok != nil {
		return spice.AtLeastAsFresh(tok)
	}
	return spice.FullyConsistent()
}

// WriteRelationships writes through SpiceDB and records the returned token.
func (e *Engine) WriteRelationships(ctx context.Context, req *v1.WriteRelationshipsRequest) (*v1.ZedToken, error) {
	resp, err := e.Permissions().WriteRelationships(ctx, req)
	if err != nil {
		return nil, err
	}
	e.tokens.observe(resp.GetWrittenAt())
	if e.reaper != nil {
		e.reaper.noteUpdates(req.GetUpdates())
	}
	return resp.GetWrittenAt(), nil
}

// DeleteRelationships deletes through SpiceDB and records the returned token.
func (e *Engine) DeleteRelationships(ctx context.Context, req *v1.DeleteRelationshipsRequest) (*v1.ZedToken, error) {
	resp, err := e.Permissions().DeleteRelationships(ctx, req)
	if err != nil {
		return nil, err
	}
	e.tokens.observe(resp.GetDeletedAt())
	return resp.GetDeletedAt(), nil
}

// ErrSchemaConflict reports a stored schema that cannot be replaced by this version's schema
// without losing data (for example a relation that still has relationships was removed).
var ErrSchemaConflict = errors.New("stored schema cannot be safely replaced")

// EnsureSchema writes the accessgraph schema unless the stored one is already identical.
// SpiceDB itself refuses a replacement that would orphan stored relationships; that refusal
// is reported as ErrSchemaConflict.
func (e *Engine) EnsureSchema(ctx context.Context) error {
	if e.internal {
		return e.ensureSchemaText(ctx, schema.Served())
	}
	return e.ensureSchemaText(ctx, schema.Text)
}

func (e *Engine) ensureSchemaText(ctx context.Context, text string) error {
	current, err := e.Schemas().ReadSchema(ctx, &v1.ReadSchemaRequest{})
	switch {
	case err == nil && current.GetSchemaText() == text:
		return nil
	case err != nil && status.Code(err) != codes.NotFound:
		return fmt.Errorf("reading the stored schema: %w", err)
	}
	resp, err := e.Schemas().WriteSchema(ctx, &v1.WriteSchemaRequest{Schema: text})
	if err != nil {
		if status.Code(err) == codes.InvalidArgument || status.Code(err) == codes.FailedPrecondition {
			return fmt.Errorf("%w: %s (export the data, remove what the new schema no longer has, then start again)", ErrSchemaConflict, status.Convert(err).Message())
		}
		return fmt.Errorf("writing the schema: %w", err)
	}
	e.tokens.observe(resp.GetWrittenAt())
	return nil
}
