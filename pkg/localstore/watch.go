// Adapted from authzed/spicedb@v1.57.1 internal/datastore/memdb/watch.go.
// Copyright Authzed, Inc. Licensed under the Apache License, Version 2.0.

package localstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/authzed/spicedb/pkg/datastore"
)

const errWatchError = "watch error: %w"

// Watch implements datastore.Datastore. Changes come from the changelog of the latest
// published snapshot, so a watcher never sees a revision before readers can read it.
// The changelog is stored with each transaction and reloaded by Open for the GC
// window, so a Watch from a revision written before a restart replays the same
// changes (and metadata) it would have before the restart.
func (ds *Datastore) Watch(ctx context.Context, afterRevision datastore.Revision, opts datastore.WatchOptions) (<-chan datastore.RevisionChanges, <-chan error) {
	watchBufferLength := opts.WatchBufferLength
	if watchBufferLength == 0 {
		watchBufferLength = ds.watchBufferLength
	}

	updates := make(chan datastore.RevisionChanges, watchBufferLength)
	errs := make(chan error, 1)

	if opts.EmissionStrategy == datastore.EmitImmediatelyStrategy {
		close(updates)
		errs <- errors.New("emit immediately strategy is unsupported in localstore")
		return updates, errs
	}

	watchBufferWriteTimeout := opts.WatchBufferWriteTimeout
	if watchBufferWriteTimeout == 0 {
		watchBufferWriteTimeout = ds.watchBufferWriteTimeout
	}

	sendChange := func(change datastore.RevisionChanges) bool {
		select {
		case updates <- change:
			return true
		default:
		}

		timer := time.NewTimer(watchBufferWriteTimeout)
		defer timer.Stop()
		select {
		case updates <- change:
			return true
		case <-timer.C:
			errs <- datastore.NewWatchDisconnectedErr()
			return false
		}
	}

	go func() {
		defer close(updates)
		defer close(errs)

		currentTxn := revisionFromAny(afterRevision)
		for {
			staged, last, published, err := ds.loadChanges(currentTxn, opts)
			if err != nil {
				errs <- err
				return
			}
			currentTxn = last

			for _, change := range staged {
				if !sendChange(change) {
					return
				}
			}

			select {
			case <-published:
			case <-ctx.Done():
				if errors.Is(ctx.Err(), context.Canceled) {
					errs <- datastore.NewWatchCanceledErr()
				} else {
					errs <- fmt.Errorf(errWatchError, ctx.Err())
				}
				return
			}
		}
	}()

	return updates, errs
}

// loadChanges returns the changes after currentTxn, the last revision seen, and a
// channel closed at the next publish.
func (ds *Datastore) loadChanges(currentTxn int64, opts datastore.WatchOptions) ([]datastore.RevisionChanges, int64, <-chan struct{}, error) {
	ds.mu.RLock()
	if ds.db == nil {
		ds.mu.RUnlock()
		return nil, 0, nil, ErrClosed
	}
	latest := ds.snapshots[len(ds.snapshots)-1].db
	published := ds.published
	ds.mu.RUnlock()

	txn := latest.Txn(false)
	it, err := txn.LowerBound(tableChangelog, indexRevision, currentTxn+1)
	if err != nil {
		return nil, 0, nil, fmt.Errorf(errWatchError, err)
	}

	var changes []datastore.RevisionChanges
	lastRevision := currentTxn
	for changeRaw := it.Next(); changeRaw != nil; changeRaw = it.Next() {
		entry := changeRaw.(*changelog)

		wantRels := opts.Content&datastore.WatchRelationships == datastore.WatchRelationships && entry.relChanges > 0
		wantSchema := opts.Content&datastore.WatchSchema == datastore.WatchSchema && entry.hasSchemaChanges()
		if wantRels || wantSchema {
			var rels []relChange
			if entry.relChanges > 0 {
				stored, found, err := ds.storedRelChanges(entry.revisionNanos)
				if err != nil {
					return nil, 0, nil, fmt.Errorf(errWatchError, err)
				}
				if !found {
					// Collected since this snapshot was read: the watcher has fallen
					// behind the GC window.
					return nil, 0, nil, fmt.Errorf(errWatchError,
						datastore.NewInvalidRevisionErr(revision(entry.revisionNanos), datastore.RevisionStale))
				}
				rels = stored
			}
			change, err := entry.revisionChanges(rels)
			if err != nil {
				return nil, 0, nil, fmt.Errorf(errWatchError, err)
			}
			// SpiceDB's memdb emits a combined entry once per matching content kind;
			// keep that so consumers see the same stream.
			if wantRels {
				changes = append(changes, change)
			}
			if wantSchema {
				changes = append(changes, change)
			}
		}
		if opts.Content&datastore.WatchCheckpoints == datastore.WatchCheckpoints && entry.revisionNanos > lastRevision {
			changes = append(changes, datastore.RevisionChanges{
				Revision:     revision(entry.revisionNanos),
				IsCheckpoint: true,
			})
		}
		lastRevision = entry.revisionNanos
	}
	return changes, lastRevision, published, nil
}
