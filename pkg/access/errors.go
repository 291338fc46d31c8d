package access

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/accessgraph/accessgraph/pkg/ref"
)

// Sentinel errors. Every error the domain layer returns wraps one of them, so callers can
// branch with errors.Is; the message names the object and, where there is one, the fix.
var (
	// ErrInvalidArgument: malformed reference, unknown type or permission, bad value.
	ErrInvalidArgument = ref.ErrInvalid
	// ErrNotFound: the object, member, grant or request does not exist.
	ErrNotFound = errors.New("not found")
	// ErrPermissionDenied: the acting user lacks the permission that governs the change.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrConflict: the object already exists, or a concurrent change won.
	ErrConflict = errors.New("conflict")
	// ErrLastAdmin: the change would leave the account without an administrator.
	ErrLastAdmin = errors.New("last administrator")
	// ErrAlreadyDecided: the request was approved, denied or withdrawn by someone else first.
	ErrAlreadyDecided = errors.New("request already decided")
	// ErrCycle: the group nesting would make a group contain itself.
	ErrCycle = errors.New("group cycle")
	// ErrUnavailable: SpiceDB could not be reached or is not ready; nothing was changed.
	ErrUnavailable = errors.New("access engine unavailable")
)

// DeniedError is a permission refusal with the check that failed.
type DeniedError struct {
	Actor      ref.Object
	Permission string
	Resource   ref.Object
}

func (e *DeniedError) Error() string {
	return fmt.Sprintf("permission denied: %s lacks %s on %s", e.Actor, e.Permission, e.Resource)
}

// Unwrap makes errors.Is(err, ErrPermissionDenied) true.
func (e *DeniedError) Unwrap() error { return ErrPermissionDenied }

// engineError turns a gRPC failure into a domain error, keeping SpiceDB's message short.
func engineError(doing string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(interface{ GRPCStatus() *status.Status }); !ok {
		return err // already a domain error
	}
	st := status.Convert(err)
	switch st.Code() {
	case codes.InvalidArgument, codes.OutOfRange:
		return fmt.Errorf("%s: %w: %s", doing, ErrInvalidArgument, st.Message())
	case codes.FailedPrecondition, codes.AlreadyExists, codes.Aborted:
		return fmt.Errorf("%s: %w: %s", doing, ErrConflict, st.Message())
	case codes.NotFound:
		return fmt.Errorf("%s: %w: %s", doing, ErrNotFound, st.Message())
	case codes.Unavailable, codes.DeadlineExceeded:
		return fmt.Errorf("%s: %w: %s", doing, ErrUnavailable, st.Message())
	case codes.Unauthenticated, codes.PermissionDenied:
		// SpiceDB itself authorises nothing: these come from a wrong or missing preshared key.
		return fmt.Errorf("%s: %w: the server refused the preshared key (%s)", doing, ErrUnavailable, st.Message())
	}
	return fmt.Errorf("%s: %s", doing, st.Message())
}

func isPreconditionFailure(err error) bool {
	return status.Code(err) == codes.FailedPrecondition
}
