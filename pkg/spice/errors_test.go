package spice_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/accessgraph/accessgraph/pkg/spice"
)

func TestClassify(t *testing.T) {
	classes := []error{spice.ErrInvalidArgument, spice.ErrNotFound, spice.ErrConflict, spice.ErrUnavailable, spice.ErrUnauthenticated, spice.ErrLimit}
	tests := []struct {
		code codes.Code
		want []error // classes the error must wrap; every other class must not match
		text string
	}{
		{codes.InvalidArgument, []error{spice.ErrInvalidArgument}, "reading: invalid argument: boom"},
		{codes.OutOfRange, []error{spice.ErrInvalidArgument}, "reading: invalid argument: boom"},
		{codes.FailedPrecondition, []error{spice.ErrConflict}, "reading: conflict: boom"},
		{codes.AlreadyExists, []error{spice.ErrConflict}, "reading: conflict: boom"},
		{codes.Aborted, []error{spice.ErrConflict}, "reading: conflict: boom"},
		{codes.NotFound, []error{spice.ErrNotFound}, "reading: not found: boom"},
		{codes.Unavailable, []error{spice.ErrUnavailable}, "reading: access engine unavailable: boom"},
		{codes.DeadlineExceeded, []error{spice.ErrUnavailable}, "reading: access engine unavailable: boom"},
		{codes.Unauthenticated, []error{spice.ErrUnauthenticated, spice.ErrUnavailable}, "reading: access engine unavailable: the server refused the preshared key (boom)"},
		{codes.PermissionDenied, []error{spice.ErrUnauthenticated, spice.ErrUnavailable}, "reading: access engine unavailable: the server refused the preshared key (boom)"},
		{codes.ResourceExhausted, []error{spice.ErrLimit}, "reading: request over a server limit: boom"},
		{codes.Internal, nil, "reading: boom"},
		{codes.Unknown, nil, "reading: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.code.String(), func(t *testing.T) {
			err := spice.Classify("reading", status.Error(tt.code, "boom"))
			if err.Error() != tt.text {
				t.Errorf("text %q, want %q", err.Error(), tt.text)
			}
			var se *spice.Error
			if !errors.As(err, &se) || se.Code != tt.code {
				t.Fatalf("%v is not a *spice.Error with code %s", err, tt.code)
			}
			for _, class := range classes {
				wanted := false
				for _, w := range tt.want {
					wanted = wanted || w == class
				}
				if errors.Is(err, class) != wanted {
					t.Errorf("errors.Is(%v, %q) = %v, want %v", err, class, !wanted, wanted)
				}
			}
			// Classifying again (a caller wrapping an already classified error) changes nothing.
			if again := spice.Classify("outer", err); again != err {
				t.Errorf("reclassified: %v", again)
			}
		})
	}
	if err := spice.Classify("x", status.Error(codes.Canceled, "gone")); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
	local := errors.New("local")
	if err := spice.Classify("x", fmt.Errorf("wrapped: %w", local)); !errors.Is(err, local) || err.Error() != "x: wrapped: local" {
		t.Errorf("non-gRPC error: %v", err)
	}
	if spice.Classify("x", nil) != nil {
		t.Error("nil became an error")
	}
	if !spice.IsPreconditionFailure(spice.Classify("x", status.Error(codes.FailedPrecondition, "p"))) || spice.IsPreconditionFailure(status.Error(codes.Aborted, "a")) {
		t.Error("IsPreconditionFailure")
	}
}
