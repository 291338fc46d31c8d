package spice

import (
	"context"
	"errors"
	"io"
	"iter"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/protobuf/proto"
)

// PageSize is how many results one page of a paged call asks for.
const PageSize = 1000

type cursored interface{ GetAfterResultCursor() *v1.Cursor }

type receiver[T any] interface{ Recv() (T, error) }

// drain yields every message of one server-streaming call until its end; it reports how
// many it yielded and whether the caller may go on (no error, and yield did not stop).
func drain[T any](doing string, stream receiver[T], yield func(T, error) bool) (int, bool) {
	n := 0
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return n, true
		}
		if err != nil {
			var zero T
			yield(zero, Classify(doing, err))
			return n, false
		}
		n++
		if !yield(resp, nil) {
			return n, false
		}
	}
}

// paged streams every result of a cursored server-streaming call. call opens one page that
// resumes after cursor (nil for the first); every page must repeat the first page's
// arguments, consistency included, or SpiceDB refuses the cursor.
func paged[T cursored](doing string, call func(cursor *v1.Cursor) (receiver[T], error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		var cursor *v1.Cursor
		for {
			stream, err := call(cursor)
			if err != nil {
				yield(zero, Classify(doing, err))
				return
			}
			n, more := drain(doing, stream, func(resp T, err error) bool {
				if err == nil {
					cursor = resp.GetAfterResultCursor()
				}
				return yield(resp, err)
			})
			if !more || n < PageSize {
				return
			}
		}
	}
}

// ReadRelationships streams every relationship matching filter, page by page, all at the
// one consistency given (so the cursors stay valid).
func ReadRelationships(ctx context.Context, client v1.PermissionsServiceClient, consistency *v1.Consistency, filter *v1.RelationshipFilter) iter.Seq2[*v1.Relationship, error] {
	return func(yield func(*v1.Relationship, error) bool) {
		pages := paged("reading relationships", func(cursor *v1.Cursor) (receiver[*v1.ReadRelationshipsResponse], error) {
			return client.ReadRelationships(ctx, &v1.ReadRelationshipsRequest{
				Consistency: consistency, RelationshipFilter: filter, OptionalLimit: PageSize, OptionalCursor: cursor,
			})
		})
		for resp, err := range pages {
			if !yield(resp.GetRelationship(), err) || err != nil {
				return
			}
		}
	}
}

// ExportRelationships streams every relationship matching filter in one bulk export call,
// at the one consistency given: batches of relationships rather than one message each, for
// readers of whole relations.
func ExportRelationships(ctx context.Context, client v1.PermissionsServiceClient, consistency *v1.Consistency, filter *v1.RelationshipFilter) iter.Seq2[*v1.Relationship, error] {
	const doing = "exporting relationships"
	return func(yield func(*v1.Relationship, error) bool) {
		stream, err := client.ExportBulkRelationships(ctx, &v1.ExportBulkRelationshipsRequest{
			Consistency: consistency, OptionalRelationshipFilter: filter,
		})
		if err != nil {
			yield(nil, Classify(doing, err))
			return
		}
		drain(doing, stream, func(resp *v1.ExportBulkRelationshipsResponse, err error) bool {
			if err != nil {
				yield(nil, err)
				return false
			}
			for _, rel := range resp.GetRelationships() {
				if !yield(rel, nil) {
					return false
				}
			}
			return true
		})
	}
}

// CollectRelationships reads every relationship matching filter into a slice.
func CollectRelationships(ctx context.Context, client v1.PermissionsServiceClient, consistency *v1.Consistency, filter *v1.RelationshipFilter) ([]*v1.Relationship, error) {
	var out []*v1.Relationship
	for rel, err := range ReadRelationships(ctx, client, consistency, filter) {
		if err != nil {
			return nil, err
		}
		out = append(out, rel)
	}
	return out, nil
}

// LookupResources streams every answer of a LookupResources request in one call: req
// asks for no limit (its limit and cursor are cleared here). One stream is cheaper than
// pages: each page resumes SpiceDB's lookup from a cursor and redoes part of its work
// (docs/performance.md). Answers come as SpiceDB sends them: conditional ones included, and
// a resource once per path that reaches it.
func LookupResources(ctx context.Context, client v1.PermissionsServiceClient, req *v1.LookupResourcesRequest) iter.Seq2[*v1.LookupResourcesResponse, error] {
	return func(yield func(*v1.LookupResourcesResponse, error) bool) {
		doing := "looking up " + req.GetResourceObjectType()
		all := proto.CloneOf(req)
		all.OptionalLimit, all.OptionalCursor = 0, nil
		stream, err := client.LookupResources(ctx, all)
		if err != nil {
			yield(nil, Classify(doing, err))
			return
		}
		drain(doing, stream, yield)
	}
}
