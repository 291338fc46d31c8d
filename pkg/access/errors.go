package access

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/status"

	"github.com/accessgraph/accessgraph/pkg/ref"
	"github.com/accessgraph/accessgraph/pkg/spice"
)

// Sentinel errors. Every error the domain layer returns wraps one of them, so callers can
// branch with errors.Is; the message names the object and, where there is one, the fix.
// The classes of a failed SpiceDB call are pkg/spice's, under the same names.
var (
	// ErrInvalidArgument: malformed reference, unknown type or permission, bad value.
	ErrInvalidArgument = spice.ErrInvalidArgument
	// ErrNotFound: the object, member, grant or request does not exist.
	ErrNotFound = spice.ErrNotFound
	// ErrPermissionDenied: the acting user lacks the permission that governs the change.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrConflict: the object already exists, or a concurrent change won.
	ErrConflict = spice.ErrConflict
	// ErrLastAdmin: the change would leave the account without an administrator.
	ErrLastAdmin = errors.New("last administrator")
	// ErrAlreadyDecided: the request was approved, denied or withdrawn by someone else first.
	ErrAlreadyDecided = errors.New("request already decided")
	// ErrCycle: the group nesting would make a group contain itself.
	ErrCycle = errors.New("group cycle")
	// ErrUnavailable: SpiceDB could not be reached, is not ready, or refused the preshared
	// key; nothing was changed.
	ErrUnavailable = spice.ErrUnavailable
	// ErrUnauthenticated: the server refused the key (also ErrUnavailable). It is
	// about this process's credentials, never the acting user's permissions.
	ErrUnauthenticated = spice.ErrUnauthenticated
	// ErrForbidden: the server refused the key's principal this call (an auditor's write,
	// a user key on the raw API); never a refusal of the actor by the access rules.
	ErrForbidden = spice.ErrForbidden
	// ErrLimit: a request exceeded one of the server's request limits.
	ErrLimit = spice.ErrLimit
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

// engineError classifies a gRPC failure (pkg/spice); a domain error passes unchanged.
func engineError(doing string, err error) error {
	if _, ok := err.(interface{ GRPCStatus() *status.Status }); !ok {
		return err
	}
	return spice.Classify(doing, err)
}

func isPreconditionFailure(err error) bool { return spice.IsPreconditionFailure(err) }
