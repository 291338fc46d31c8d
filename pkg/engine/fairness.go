package engine

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/spicedb/pkg/cmd/server"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// bulkCheckMethod is the call the fairness gate splits.
const bulkCheckMethod = "/authzed.api.v1.PermissionsService/CheckBulkPermissions"

// bulkChunkItems is the most items of one group (same permission and subject) sent in one
// piece: SpiceDB's own dispatch chunk size, so a piece is one dispatch.
const bulkChunkItems = 100

// bulkGate keeps a large bulk check from starving other clients. SpiceDB runs the groups of
// one CheckBulkPermissions (items sharing a permission and subject) 50 at a time whatever
// the machine, so a bulk of 10,000 distinct subjects fills every core for a minute and every
// other request waits behind it. The gate splits a bulk of more than one piece into pieces of
// one group (at most bulkChunkItems items each), answers them all at the revision of the
// first, and lets at most `slots` pieces run at once across all clients, in the order they
// queue. Single checks, lookups and a bulk that is one piece never wait for the gate: they
// compete only with those few pieces.
//
// Each piece is sent back to the server as a request of its own, through the server's own
// in-process client: SpiceDB's middleware keeps per-request state that one request cannot
// share between concurrent pieces.
type bulkGate struct {
	slots  chan struct{}
	client atomic.Value // v1.PermissionsServiceClient, set once the server runs
	pieces atomic.Int64 // pieces sent, for tests
}

// newBulkGate returns a gate with one slot per core the Go scheduler uses.
func newBulkGate() *bulkGate {
	return &bulkGate{slots: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))}
}

func (g *bulkGate) serverOptions() []server.ConfigOption {
	return []server.ConfigOption{
		// Right after the request limits, so a bulk over its limit is refused whole.
		server.WithUnaryMiddlewareModification(server.MiddlewareModification[grpc.UnaryServerInterceptor]{
			DependencyMiddlewareName: requestLimitsMiddleware,
			Operation:                server.OperationAppend,
			Middlewares:              []server.ReferenceableMiddleware[grpc.UnaryServerInterceptor]{{Name: "accessgraph-bulk-gate", Middleware: g.unary}},
		}),
	}
}

func (g *bulkGate) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	bulk, ok := req.(*v1.CheckBulkPermissionsRequest)
	if !ok || info.FullMethod != bulkCheckMethod {
		return handler(ctx, req)
	}
	client, _ := g.client.Load().(v1.PermissionsServiceClient)
	pieces := splitBulk(bulk.GetItems())
	if len(pieces) <= 1 || client == nil {
		return handler(ctx, req)
	}
	return g.run(ctx, bulk, pieces, client)
}

// piece is some items of a bulk check, with their places in the request.
type piece struct {
	index []int
	items []*v1.CheckBulkPermissionsRequestItem
}

// splitBulk groups items as SpiceDB does (same resource type, permission, subject and
// context) and cuts each group into pieces of at most bulkChunkItems, in first-seen order.
func splitBulk(items []*v1.CheckBulkPermissionsRequestItem) []*piece {
	var pieces []*piece
	open := map[string]*piece{}
	for i, it := range items {
		key := groupKey(it)
		p := open[key]
		if p == nil || len(p.items) == bulkChunkItems {
			p = &piece{}
			open[key] = p
			pieces = append(pieces, p)
		}
		p.index = append(p.index, i)
		p.items = append(p.items, it)
	}
	return pieces
}

func groupKey(it *v1.CheckBulkPermissionsRequestItem) string {
	s := it.GetSubject()
	ctxBytes, _ := proto.MarshalOptions{Deterministic: true}.Marshal(it.GetContext())
	return it.GetResource().GetObjectType() + "#" + it.GetPermission() + "@" + s.GetObject().GetObjectType() + ":" +
		s.GetObject().GetObjectId() + "#" + s.GetOptionalRelation() + "\x00" + string(ctxBytes)
}

// run answers the pieces: the first at the request's consistency, the others at exactly the
// revision the first was answered at, so the whole bulk reads one snapshot as SpiceDB would.
// A request error (not an item's) fails the bulk, as it would unsplit.
func (g *bulkGate) run(ctx context.Context, bulk *v1.CheckBulkPermissionsRequest, pieces []*piece, client v1.PermissionsServiceClient) (any, error) {
	pairs := make([]*v1.CheckBulkPermissionsPair, len(bulk.GetItems()))
	call := func(ctx context.Context, p *piece, cons *v1.Consistency) (*v1.CheckBulkPermissionsResponse, error) {
		select {
		case g.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		defer func() { <-g.slots }()
		g.pieces.Add(1)
		r, err := client.CheckBulkPermissions(ctx, &v1.CheckBulkPermissionsRequest{Consistency: cons, Items: p.items, WithTracing: bulk.GetWithTracing()})
		if err != nil {
			return nil, err
		}
		if len(r.GetPairs()) != len(p.items) {
			return nil, status.Errorf(codes.Internal, "checking %d items in pieces: a piece of %d items got %d answers", len(bulk.GetItems()), len(p.items), len(r.GetPairs()))
		}
		for j, pair := range r.GetPairs() {
			pairs[p.index[j]] = pair
		}
		return r, nil
	}
	first, err := call(ctx, pieces[0], bulk.GetConsistency())
	if err != nil {
		return nil, err
	}
	at := &v1.Consistency{Requirement: &v1.Consistency_AtExactSnapshot{AtExactSnapshot: first.GetCheckedAt()}}

	// One worker per slot: together with the other bulks they queue on the slots in turn.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan *piece)
	var once sync.Once
	var firstErr error
	var wg sync.WaitGroup
	for range cap(g.slots) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				if _, err := call(ctx, p, at); err != nil {
					once.Do(func() { firstErr = err; cancel() })
				}
			}
		}()
	}
feed:
	for _, p := range pieces[1:] {
		select {
		case work <- p:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &v1.CheckBulkPermissionsResponse{CheckedAt: first.GetCheckedAt(), Pairs: pairs}, nil
}
