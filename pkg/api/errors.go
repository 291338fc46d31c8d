package api

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/principal"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// ErrorDomain is the domain of the google.rpc.ErrorInfo detail every error carries.
const ErrorDomain = "accessgraph.dev"

// Reason is the machine-readable class of an error on the wire: the Reason of its
// google.rpc.ErrorInfo detail. Each names one sentinel error of pkg/access (or pkg/principal).
type Reason string

// The reasons, with the sentinel and the status code of each (errorClasses).
const (
	ReasonNotAuthorized   Reason = "NOT_AUTHORIZED"         // access.ErrPermissionDenied: the acting user lacks the permission
	ReasonForbidden       Reason = "PRINCIPAL_FORBIDDEN"    // principal.ErrPermissionDenied: the caller's kind may not do this
	ReasonUnauthenticated Reason = "UNAUTHENTICATED"        // principal.ErrUnauthenticated: no key, or an unknown one
	ReasonLastAdmin       Reason = "LAST_ADMIN"             // access.ErrLastAdmin
	ReasonAlreadyDecided  Reason = "ALREADY_DECIDED"        // access.ErrAlreadyDecided
	ReasonCycle           Reason = "CYCLE"                  // access.ErrCycle
	ReasonInvalidArgument Reason = "INVALID_ARGUMENT"       // access.ErrInvalidArgument
	ReasonNotFound        Reason = "NOT_FOUND"              // access.ErrNotFound
	ReasonConflict        Reason = "CONFLICT"               // access.ErrConflict
	ReasonLimit           Reason = "LIMIT"                  // access.ErrLimit
	ReasonEngineKey       Reason = "ENGINE_UNAUTHENTICATED" // access.ErrUnauthenticated (also ErrUnavailable)
	ReasonUnavailable     Reason = "UNAVAILABLE"            // access.ErrUnavailable
	ReasonCanceled        Reason = "CANCELED"               // context.Canceled
	ReasonDeadline        Reason = "DEADLINE_EXCEEDED"      // context.DeadlineExceeded
	ReasonInternal        Reason = "INTERNAL"               // anything else
)

type errorClass struct {
	reason Reason
	code   connect.Code
	errs   []error // the sentinels the error wraps, the first one decisive
}

// errorClasses is the one translation between errors and the wire, in both directions. The
// first class whose sentinel an error wraps wins, so the more specific ones come first.
var errorClasses = []errorClass{
	{ReasonNotAuthorized, connect.CodePermissionDenied, []error{access.ErrPermissionDenied}},
	{ReasonForbidden, connect.CodePermissionDenied, []error{principal.ErrPermissionDenied}},
	{ReasonUnauthenticated, connect.CodeUnauthenticated, []error{principal.ErrUnauthenticated}},
	{ReasonLastAdmin, connect.CodeFailedPrecondition, []error{access.ErrLastAdmin}},
	{ReasonAlreadyDecided, connect.CodeFailedPrecondition, []error{access.ErrAlreadyDecided}},
	{ReasonCycle, connect.CodeFailedPrecondition, []error{access.ErrCycle}},
	{ReasonInvalidArgument, connect.CodeInvalidArgument, []error{access.ErrInvalidArgument}},
	{ReasonNotFound, connect.CodeNotFound, []error{access.ErrNotFound}},
	{ReasonConflict, connect.CodeAborted, []error{access.ErrConflict}},
	{ReasonLimit, connect.CodeResourceExhausted, []error{access.ErrLimit}},
	{ReasonEngineKey, connect.CodeUnavailable, []error{access.ErrUnauthenticated, access.ErrUnavailable}},
	{ReasonUnavailable, connect.CodeUnavailable, []error{access.ErrUnavailable}},
	{ReasonCanceled, connect.CodeCanceled, []error{context.Canceled}},
	{ReasonDeadline, connect.CodeDeadlineExceeded, []error{context.DeadlineExceeded}},
}

func classOf(err error) errorClass {
	for _, c := range errorClasses {
		if errors.Is(err, c.errs[0]) {
			return c
		}
	}
	return errorClass{reason: ReasonInternal, code: connect.CodeInternal}
}

// Metadata keys of a NOT_AUTHORIZED error's detail, naming the check that failed.
const (
	metaActor      = "actor"
	metaPermission = "permission"
	metaResource   = "resource"
)

// toWire turns an error of the domain layer into a connect error: its status code, its
// message, and a google.rpc.ErrorInfo detail with the Reason (and, for an access.DeniedError,
// the check that failed). A connect error passes unchanged.
func toWire(err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce
	}
	class := classOf(err)
	info := &errdetails.ErrorInfo{Reason: string(class.reason), Domain: ErrorDomain}
	var denied *access.DeniedError
	if errors.As(err, &denied) {
		info.Metadata = map[string]string{
			metaActor:      denied.Actor.String(),
			metaPermission: denied.Permission,
			metaResource:   denied.Resource.String(),
		}
	}
	out := connect.NewError(class.code, errors.New(err.Error()))
	if detail, derr := connect.NewErrorDetail(info); derr == nil {
		out.AddDetail(detail)
	}
	return out
}

// FromWire turns an error a call to the API returned back into the domain layer's: its
// message is the server's, and errors.Is holds for the same sentinels as on the server
// (an access.DeniedError comes back as one). Errors without the API's detail, such as a
// transport failure, wrap access.ErrUnavailable unless their code says otherwise.
func FromWire(err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return err
	}
	for _, d := range ce.Details() {
		msg, derr := d.Value()
		if derr != nil {
			continue
		}
		if info, ok := msg.(*errdetails.ErrorInfo); ok && info.GetDomain() == ErrorDomain {
			return fromReason(Reason(info.GetReason()), ce.Message(), info.GetMetadata())
		}
	}
	switch ce.Code() {
	case connect.CodeUnauthenticated:
		return &Error{msg: ce.Message(), errs: []error{principal.ErrUnauthenticated}}
	case connect.CodePermissionDenied:
		return &Error{msg: ce.Message(), errs: []error{principal.ErrPermissionDenied}}
	case connect.CodeCanceled:
		return &Error{msg: ce.Message(), errs: []error{context.Canceled}}
	case connect.CodeDeadlineExceeded:
		return &Error{msg: ce.Message(), errs: []error{context.DeadlineExceeded}}
	case connect.CodeUnavailable, connect.CodeUnknown:
		return &Error{msg: fmt.Sprintf("%s: %s", access.ErrUnavailable, ce.Message()), errs: []error{access.ErrUnavailable}}
	}
	return err
}

func fromReason(reason Reason, msg string, meta map[string]string) error {
	if reason == ReasonNotAuthorized && meta[metaActor] != "" {
		actor, aerr := ref.Parse(meta[metaActor])
		resource, rerr := ref.Parse(meta[metaResource])
		if aerr == nil && rerr == nil {
			d := &access.DeniedError{Actor: actor, Permission: meta[metaPermission], Resource: resource}
			if d.Error() == msg {
				return d
			}
			return &Error{msg: msg, errs: []error{d}}
		}
	}
	for _, c := range errorClasses {
		if c.reason == reason {
			return &Error{msg: msg, errs: c.errs}
		}
	}
	return &Error{msg: msg}
}

// Error is an error the API returned, with the server's message; errors.Is holds for the
// sentinels the server's error wrapped.
type Error struct {
	msg  string
	errs []error
}

func (e *Error) Error() string { return e.msg }

// Unwrap returns the sentinels.
func (e *Error) Unwrap() []error { return e.errs }

// wireError is the per-item error of a bulk check.
func wireError(err error) (reason Reason, message string) {
	return classOf(err).reason, err.Error()
}

// ItemError turns a bulk check item's error back into the domain layer's.
func ItemError(reason, message string) error {
	if reason == "" && message == "" {
		return nil
	}
	return fromReason(Reason(reason), message, nil)
}
