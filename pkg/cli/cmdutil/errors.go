// Package cmdutil holds what every accessctl command shares: exit codes, usage errors,
// the --as actor flags, argument parsing, confirmation of destructive changes, and Run,
// through which tests replace a command's run function.
package cmdutil

import (
	"errors"
	"fmt"

	"github.com/accessgraph/accessgraph/pkg/spice"
)

// Exit codes. They are part of the command line contract.
const (
	ExitOK     = 0 // success (a check that says "denied" without --exit-code too)
	ExitError  = 1 // the operation failed
	ExitUsage  = 2 // the command line was wrong: flags, arguments, references, confirmation
	ExitDenied = 3 // check --exit-code: the answer was "denied"
	// ExitTampered: history verify found the audit log departing from its hash chain.
	ExitTampered = 4
)

// UsageError is a mistake on the command line. It exits with ExitUsage.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef returns a UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// AsUsage marks err (a bad argument value) as a usage error; nil stays nil.
func AsUsage(err error) error {
	if err == nil {
		return nil
	}
	var ue *UsageError
	if errors.As(err, &ue) {
		return err
	}
	return &UsageError{Err: err}
}

// ExitCodeError ends the command with a code and no message (for example a denied check
// with --exit-code). RunE returns it; main exits with the code.
type ExitCodeError struct{ Code int }

func (e *ExitCodeError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// ExitCode maps an error returned by a command to the process exit code.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ec *ExitCodeError
	if errors.As(err, &ec) {
		return ec.Code
	}
	if IsUsage(err) {
		return ExitUsage
	}
	return ExitError
}

// IsUsage reports whether err is a command-line mistake: a *UsageError anywhere in its
// chain. The root command turns cobra's and pflag's own command-line errors (unknown
// commands and flags, bad flag values, missing required flags) into UsageErrors where they
// arise, and every Args validator returns one.
func IsUsage(err error) bool {
	var ue *UsageError
	return errors.As(err, &ue)
}

// IsSilent reports whether err carries no message to print.
func IsSilent(err error) bool {
	var ec *ExitCodeError
	return errors.As(err, &ec)
}

// RPCError classifies a failed SpiceDB call made directly by a command (pkg/spice): a
// short message without gRPC framing, wrapping the documented error classes.
func RPCError(doing string, err error) error { return spice.Classify(doing, err) }
