package spice

import (
	"context"
	"errors"
	"fmt"
	"strings"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/accessgraph/accessgraph/pkg/ref"
)

// The classes of a failed SpiceDB call. Every error Classify returns wraps exactly one of
// them (ErrUnauthenticated also wraps ErrUnavailable), so callers branch with errors.Is.
// pkg/access re-exports them under the same names.
var (
	// ErrInvalidArgument: the request was malformed (a bad id, type, relation or value).
	ErrInvalidArgument = ref.ErrInvalid
	// ErrNotFound: the schema, object or definition the request names does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the state the request assumed no longer holds (a write precondition
	// failed, the object already exists, a concurrent change won).
	ErrConflict = errors.New("conflict")
	// ErrUnavailable: SpiceDB could not be reached, did not answer in time, or refused our
	// credentials; nothing was changed.
	ErrUnavailable = errors.New("access engine unavailable")
	// ErrUnauthenticated: the server refused the key (missing, unknown, expired or
	// revoked). It is also ErrUnavailable: the server cannot be used until the key is
	// fixed. It is never a refusal of the actor.
	ErrUnauthenticated = errors.New("the server refused the key")
	// ErrForbidden: the server knows the key, but its principal's kind may not make this
	// call (docs/security.md). It is never a refusal of the actor by the access rules.
	ErrForbidden = errors.New("the server refused this principal")
	// ErrLimit: the request exceeded one of the server's request limits.
	ErrLimit = errors.New("request over a server limit")
)

// Error is a classified SpiceDB failure: what was being done, the gRPC code and the
// server's message.
type Error struct {
	Doing   string
	Code    codes.Code
	Message string
	class   error
}

func (e *Error) Error() string {
	switch {
	case e.class == ErrUnauthenticated:
		return fmt.Sprintf("%s: %s: %s (%s)", e.Doing, ErrUnavailable, ErrUnauthenticated, e.Message)
	case e.class != nil:
		return fmt.Sprintf("%s: %s: %s", e.Doing, e.class, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Doing, e.Message)
}

// Unwrap returns the error's classes.
func (e *Error) Unwrap() []error {
	switch e.class {
	case nil:
		return nil
	case ErrUnauthenticated:
		return []error{ErrUnauthenticated, ErrUnavailable}
	}
	return []error{e.class}
}

// Classify turns a failed gRPC call into an *Error wrapping its class, with "doing" naming
// the operation ("reading relationships"). A cancelled call becomes context.Canceled; an
// error that is not a gRPC status (already classified, or local) is returned wrapped with
// doing; nil stays nil.
func Classify(doing string, err error) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("%s: %w", doing, err)
	}
	if st.Code() == codes.Canceled {
		return fmt.Errorf("%s: %w", doing, context.Canceled)
	}
	if depth, ok := maxDepthExceeded(st); ok {
		// SpiceDB reports it as a failed precondition when it crosses a dispatch boundary,
		// but nothing concurrent caused it and a retry cannot succeed: the data nests deeper
		// than the server walks, almost always because of a loop.
		return &Error{Doing: doing, Code: st.Code(), class: ErrLimit, Message: fmt.Sprintf(
			"max depth exceeded: answering needs %s, which almost always means a loop (a group nested in itself, directly or through others): find it with `accessctl expand` and remove it with `accessctl group unnest` or `accessctl relationship delete`", depth)}
	}
	return &Error{Doing: doing, Code: st.Code(), Message: st.Message(), class: classOf(st.Code())}
}

// classOf maps a gRPC code to its class. SpiceDB authorises no actor itself: Unauthenticated
// is a wrong or missing key, PermissionDenied a principal whose kind may not make the call.
func classOf(code codes.Code) error {
	switch code {
	case codes.InvalidArgument, codes.OutOfRange:
		return ErrInvalidArgument
	case codes.FailedPrecondition, codes.AlreadyExists, codes.Aborted:
		return ErrConflict
	case codes.NotFound:
		return ErrNotFound
	case codes.Unavailable, codes.DeadlineExceeded:
		return ErrUnavailable
	case codes.Unauthenticated:
		return ErrUnauthenticated
	case codes.PermissionDenied:
		return ErrForbidden
	case codes.ResourceExhausted:
		return ErrLimit
	}
	return nil
}

// IsPreconditionFailure reports whether err is SpiceDB refusing a write whose precondition
// did not hold.
func IsPreconditionFailure(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Code == codes.FailedPrecondition
	}
	return status.Code(err) == codes.FailedPrecondition
}

// IsStaleRevision reports whether err is SpiceDB refusing a revision older than the history
// it keeps.
func IsStaleRevision(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Code == codes.OutOfRange
	}
	return status.Code(err) == codes.OutOfRange
}

// maxDepthExceeded reports whether st is SpiceDB's "max depth exceeded", and what the answer
// needed, with the depth the server allows when it says.
func maxDepthExceeded(st *status.Status) (string, bool) {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetReason() == v1.ErrorReason_ERROR_REASON_MAXIMUM_DEPTH_EXCEEDED.String() {
			if depth := info.GetMetadata()["maximum_depth_allowed"]; depth != "" {
				return "more than " + depth + " nested relationships", true
			}
			return "more nested relationships than the server allows", true
		}
	}
	if strings.HasPrefix(st.Message(), "max depth exceeded") {
		return "more nested relationships than the server allows", true
	}
	return "", false
}
