package localstore

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

var (
	// ErrDamaged is matched (errors.Is) by every DamagedError: the directory holds
	// data that fails verification, so it was not opened.
	ErrDamaged = errors.New("localstore: data directory is damaged")

	// ErrLocked is returned by Open when another process (or another Datastore in
	// this process) holds the directory's lock.
	ErrLocked = errors.New("localstore: data directory is in use")

	// ErrDiskFull is matched (errors.Is) by every DiskFullError: the file system
	// holding the directory has too little free space for the store to write safely.
	ErrDiskFull = errors.New("localstore: disk full")
)

// recoveryAdvice is the fix every DamagedError names.
const recoveryAdvice = "restore the directory from a backup with `accessctl restore` " +
	"(see \"Recovering a damaged local data directory\" in docs/deploy.md); " +
	"the damaged directory was not opened and is left as it is"

// DamagedError reports a data directory that holds data Open cannot trust: a file
// fails its checksum, is missing or truncated, or the data ends before the last
// revision the store acknowledged. Open never serves such a directory with less.
type DamagedError struct {
	// Dir is the data directory.
	Dir string
	// File is the damaged or missing file, relative to Dir ("" when no single
	// file can be named).
	File string
	// Problem says what is wrong, in a few words.
	Problem string
	// Err is the underlying cause, if any.
	Err error
}

func (e *DamagedError) Error() string {
	where := e.Dir
	if e.File != "" {
		where = e.File + " in " + e.Dir
	}
	msg := fmt.Sprintf("localstore: damaged data directory: %s: %s", where, e.Problem)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg + ": " + recoveryAdvice
}

// Unwrap returns the cause.
func (e *DamagedError) Unwrap() error { return e.Err }

// Is reports whether target is ErrDamaged.
func (e *DamagedError) Is(target error) bool { return target == ErrDamaged }

// DiskFullError reports a write (or an Open) refused because the file system holding
// Dir has less than Need bytes free. Nothing of the refused write was applied; writes
// succeed again once space is freed, without a restart. Its gRPC code is
// ResourceExhausted.
type DiskFullError struct {
	Dir  string
	Free uint64
	Need uint64
	// Doing is what was refused ("writing revision ...", "opening").
	Doing string
}

func (e *DiskFullError) Error() string {
	fix := "free space on that file system; writes resume once it is freed, without a restart"
	if e.Doing == doingOpen {
		fix = "free space on that file system, then start again"
	}
	return fmt.Sprintf("localstore: %s in %s: disk full: %s free, the store needs %s: %s",
		e.Doing, e.Dir, formatBytes(e.Free), formatBytes(e.Need), fix)
}

// doingOpen is DiskFullError.Doing for a refused Open.
const doingOpen = "opening the store"

// Is reports whether target is ErrDiskFull.
func (e *DiskFullError) Is(target error) bool { return target == ErrDiskFull }

// GRPCStatus makes SpiceDB answer a refused write with ResourceExhausted and this
// message instead of an internal error.
func (e *DiskFullError) GRPCStatus() *status.Status {
	return status.New(codes.ResourceExhausted, e.Error())
}

func formatBytes(n uint64) string {
	const mib = 1 << 20
	switch {
	case n >= 10*mib:
		return fmt.Sprintf("%d MiB", n/mib)
	case n >= mib:
		return fmt.Sprintf("%.1f MiB", float64(n)/mib)
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
