// Adapted from SpiceDB internal/datastore/memdb (revisions.go).
// Copyright Authzed, Inc. Licensed under the Apache License, Version 2.0.

package localstore

import (
	"context"

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
// the quantization period, but never before the oldest state that can be read.
func (ds *Datastore) OptimizedRevision(_ context.Context) (datastore.RevisionWithSchemaHash, error) {
	ds.mu.RLock()
	defer ds.mu.RUnlock()
	if ds.db == nil {
		return datastore.RevisionWithSchemaHash{}, ErrClosed
	}

	now := int64(nowRevision())
	optimized := revision(now - now%ds.quantization)
	optimized = max(optimized, ds.historyStart)
	return datastore.RevisionWithSchemaHash{
		Revision:   optimized,
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
