package spice

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"
)

// ErrChangeStreamEnded is the error of a change stream the server closed: a change stream
// has no end of its own, so its consumer must reconnect.
var ErrChangeStreamEnded = errors.New("the change stream ended")

// Watch opens SpiceDB's change stream when iterated and yields its messages; the first
// error (opening, reading, or the server closing it: ErrChangeStreamEnded) is yielded
// last. Cancel ctx to stop it.
func Watch(ctx context.Context, client v1.WatchServiceClient, req *v1.WatchRequest, opts ...grpc.CallOption) iter.Seq2[*v1.WatchResponse, error] {
	return func(yield func(*v1.WatchResponse, error) bool) {
		stream, err := client.Watch(ctx, req, opts...)
		if err != nil {
			yield(nil, fmt.Errorf("opening the change stream: %w", err))
			return
		}
		for {
			resp, err := stream.Recv()
			switch {
			case errors.Is(err, io.EOF):
				yield(nil, ErrChangeStreamEnded)
				return
			case err != nil:
				yield(nil, fmt.Errorf("reading the change stream: %w", err))
				return
			}
			if !yield(resp, nil) {
				return
			}
		}
	}
}
