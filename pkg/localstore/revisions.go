// Adapted from authzed/spicedb@v1.57.1 internal/datastore/memdb/revisions.go.
// Copyright Authzed, Inc. Licensed under the Apache License, Version 2.0.

package localstore

import (
	"context"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/authzed/spicedb/pkg/datastore"
)

// nextRevisionLocked returns a provisional revision for a transaction that is starting:
// the current time, but always above the head so revisions stay strictly increasing
// even if the clock steps back or across a restart (the head is persisted). Caller
// holds writeMu.
func (ds *Datastore) nextRevisionLocked() revision {
	ds.mu.RLock()
	head := ds.snapshots[len(ds.snapshots)-1].revision
	ds.mu.RUnlock()
	return max(nowRevision(), head+1)
}

// reserveRevisionLocked fixes the revision of the commit about to be made: at least
// floor, above the head, and above every revision anyone has been handed to read at,
// so no state that has been read can change. Until endCommitLocked, readers are kept
// before it. Caller holds writeMu.
func (ds *Datastore) reserveRevisionLocked(floor revision) revision {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	head := ds.snapshots[len(ds.snapshots)-1].revision
	rev := max(nowRevision(), head+1, floor, revision(ds.readUpTo.Load())+1)
	ds.pending = rev
	ds.pendingDone = make(chan struct{})
	return rev
}

// endCommitLocked ends the commit reserved by reserveRevisionLocked, published or not.
// Caller holds mu's write lock.
func (ds *Datastore) endCommitLocked() {
	if ds.pending == 0 {
		return
	}
	ds.pending = 0
	close(ds.pendingDone)
	ds.pendingDone = nil
}

// noteReadLocked records that rev has been handed out to be read at. Caller holds mu
// (read or write).
func (ds *Datastore) noteReadLocked(rev revision) {
	for {
		seen := ds.readUpTo.Load()
		if int64(rev) <= seen || ds.readUpTo.CompareAndSwap(seen, int64(rev)) {
			return
		}
	}
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
	// A commit is being made at a revision the clock has reached: its state is not
	// readable yet, so serve the last instant before it (the published head's state).
	if ds.pending != 0 && optimized >= ds.pending {
		optimized, validFor = ds.pending-1, 0
	}
	ds.noteReadLocked(optimized)
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
	if rev > now && rev > head && int64(rev) > ds.readUpTo.Load() {
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
