// Adapted from authzed/spicedb@v1.57.1 internal/datastore/memdb/revisions.go.
// Copyright Authzed, Inc. Licensed under the Apache License, Version 2.0.

package localstore

import (
	"context"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/authzed/spicedb/pkg/datastore"
)

// nextRevisionLocked returns the revision for the next commit: the current time, but
// always above the head so revisions stay strictly increasing even if the clock
// steps back or across a restart (the head is persisted). Caller holds writeMu.
func (ds *Datastore) nextRevisionLocked() revision {
	ds.mu.RLock()
	head := ds.snapshots[len(ds.snapshots)-1].revision
	ds.mu.RUnlock()
	return max(nowRevision(), head+1)
}

// HeadRevision implements datastore.Datastore.
func (ds *Datastore) HeadRevision(_ context.Context) (datastore.RevisionWithSchemaHash, error) {
	ds.mu.RLock()
	defer ds.mu.RUnlock()
	if ds.db == nil {
		return datastore.RevisionWithSchemaHash{}, ErrClosed
	}
	head := ds.snapshots[len(ds.snapshots)-1]
	return datastore.RevisionWithSchemaHash{Revision: head.revision, SchemaHash: head.schemaHash}, nil
}

// OptimizedRevision implements datastore.Datastore: the current time rounded down to
// the quantization period, but never before the oldest state that can be read. ValidFor
// is how long that choice stays the same: the rest of the quantization period, or zero
// when the oldest readable state was chosen instead (a later call may choose newer).
func (ds *Datastore) OptimizedRevision(_ context.Context) (datastore.RevisionWithSchemaHashAndValidity, error) {
	ds.mu.RLock()
	defer ds.mu.RUnlock()
	if ds.db == nil {
		return datastore.RevisionWithSchemaHashAndValidity{}, ErrClosed
	}

	now := int64(nowRevision())
	sinceQuantum := now % ds.quantization
	optimized := revision(now - sinceQuantum)
	var validFor time.Duration
	if ds.quantization > 1 {
		validFor = time.Duration(ds.quantization - sinceQuantum)
	}
	if optimized < ds.historyStart {
		optimized, validFor = ds.historyStart, 0
	}
	// A new directory's first snapshot is the empty state it was created with: rounding
	// down to it would hide everything committed since. Serve the head instead, valid only
	// for this call (as SpiceDB's memdb does).
	if head := ds.snapshots[len(ds.snapshots)-1].revision; ds.historyStart == 0 && optimized < head &&
		ds.snapshotAtLocked(optimized).revision == ds.createdAt {
		optimized, validFor = head, 0
	}
	return datastore.RevisionWithSchemaHashAndValidity{
		Revision:   optimized,
		ValidFor:   validFor,
		SchemaHash: ds.snapshotAtLocked(optimized).schemaHash,
	}, nil
}

// CheckRevision implements datastore.Datastore.
func (ds *Datastore) CheckRevision(_ context.Context, dr datastore.Revision) error {
	ds.mu.RLock()
	defer ds.mu.RUnlock()
	if ds.db == nil {
		return ErrClosed
	}
	return ds.checkRevisionLocked(dr)
}

func (ds *Datastore) checkRevisionLocked(dr datastore.Revision) error {
	if _, ok := dr.(revision); !ok && dr != datastore.NoRevision && dr != nil {
		return datastore.NewInvalidRevisionErr(dr, datastore.CouldNotDetermineRevision)
	}
	rev := revision(revisionFromAny(dr))
	head := ds.snapshots[len(ds.snapshots)-1].revision
	if rev == head {
		return nil
	}

	now := nowRevision()
	if rev < now-revision(ds.gcWindow.Nanoseconds()) || rev < ds.historyStart {
		return datastore.NewInvalidRevisionErr(dr, datastore.RevisionStale)
	}
	if rev > now && rev > head {
		return datastore.NewInvalidRevisionErr(dr, datastore.CouldNotDetermineRevision)
	}
	return nil
}

// currentSchemaHash returns the stored schema hash of the latest state.
func currentSchemaHash(db *memdb.MemDB) string {
	txn := db.Txn(false)
	defer txn.Abort()

	raw, err := txn.First(tableSchemaRevision, indexID, "current")
	if err != nil || raw == nil {
		return ""
	}
	srd, ok := raw.(*schemaRevisionData)
	if !ok {
		return ""
	}
	return string(srd.hash)
}
