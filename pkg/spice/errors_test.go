package spice_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/accessgraph/accessgraph/pkg/spice"
)

func TestClassify(t *testing.T) {
	classes := []error{spice.ErrInvalidArgument, spice.ErrNotFound, spice.ErrConflict, spice.ErrUnavailable, spice.ErrUnauthenticated, spice.ErrForbidden, spice.ErrLimit}
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
		{codes.Unauthenticated, []error{spice.ErrUnauthenticated, spice.ErrUnavailable}, "reading: access engine unavailable: the server refused the key (boom)"},
		{codes.PermissionDenied, []error{spice.ErrForbidden}, "reading: the server refused this principal: boom"},
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
	// "max depth exceeded" is a limit, not a conflict, whichever code carries it, and its
	// message says what to do.
	for _, st := range []*status.Status{
		withReason(codes.FailedPrecondition, "max depth exceeded: this usually indicates a recursive or too deep data dependency", nil),
		withReason(codes.ResourceExhausted, "max depth exceeded", map[string]string{"maximum_depth_allowed": "50"}),
		status.New(codes.FailedPrecondition, "max depth exceeded: this usually indicates a recursive or too deep data dependency. See https://spicedb.dev/d/debug-max-depth"),
	} {
		err := spice.Classify("checking", st.Err())
		if !errors.Is(err, spice.ErrLimit) || errors.Is(err, spice.ErrConflict) || !strings.Contains(err.Error(), "find it with `accessctl expand`") {
			t.Errorf("%v: classified as %v", st, err)
		}
		if depth := st.Details(); len(depth) > 0 && st.Code() == codes.ResourceExhausted && !strings.Contains(err.Error(), "more than 50 nested relationships") {
			t.Errorf("the allowed depth is not named: %v", err)
		}
	}
	if !spice.IsPreconditionFailure(spice.Classify("x", status.Error(codes.FailedPrecondition, "p"))) || spice.IsPreconditionFailure(status.Error(codes.Aborted, "a")) {
		t.Error("IsPreconditionFailure")
	}
}

// withReason is a status with SpiceDB's error reason for max depth, as SpiceDB sends it.
func withReason(code codes.Code, msg string, meta map[string]string) *status.Status {
	st, err := status.New(code, msg).WithDetails(&errdetails.ErrorInfo{Reason: v1.ErrorReason_ERROR_REASON_MAXIMUM_DEPTH_EXCEEDED.String(), Metadata: meta})
	if err != nil {
		panic(err)
	}
	return st
}
