// Adapted from authzed/spicedb@v1.57.1 internal/datastore/revisions/timestamprevision.go.
// Copyright Authzed, Inc. Licensed under the Apache License, Version 2.0.

package localstore

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"github.com/authzed/spicedb/pkg/datastore"
)

// revision is a revision expressed as nanoseconds since the Unix epoch.
type revision int64

func revisionFromAny(rhs datastore.Revision) int64 {
	if rhs == datastore.NoRevision || rhs == nil {
		return 0
	}
	if r, ok := rhs.(revision); ok {
		return int64(r)
	}
	return 0
}

// ParseRevisionString parses the string form of a localstore revision.
func ParseRevisionString(s string) (datastore.Revision, error) {
	parsed, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("invalid localstore revision %q: %w", s, err)
	}
	return revision(parsed), nil
}

func (r revision) ByteSortable() bool { return true }

// AppendSortKey implements datastore.SortKeyRevision: eight big-endian bytes with the sign
// bit flipped, so keys sort as the revisions do and none is a prefix of another. It is the
// encoding SpiceDB's own timestamp revisions use; it must never change once stored.
func (r revision) AppendSortKey(dst []byte) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(r)^(1<<63)) //nolint:gosec // the conversion is the encoding
}

func (r revision) Equal(rhs datastore.Revision) bool { return int64(r) == revisionFromAny(rhs) }
func (r revision) GreaterThan(rhs datastore.Revision) bool {
	return int64(r) > revisionFromAny(rhs)
}
func (r revision) LessThan(rhs datastore.Revision) bool { return int64(r) < revisionFromAny(rhs) }
func (r revision) String() string                       { return strconv.FormatInt(int64(r), 10) }

// TimestampNanoSec returns the revision as nanoseconds since the Unix epoch.
func (r revision) TimestampNanoSec() int64 { return int64(r) }

// Time returns the wall-clock time of the revision.
func (r revision) Time() time.Time { return time.Unix(0, int64(r)) }

func nowRevision() revision { return revision(time.Now().UnixNano()) }

var _ datastore.SortKeyRevision = revision(0)
