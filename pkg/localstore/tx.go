// Adapted from authzed/spicedb@v1.57.1 internal/datastore/memdb/memdb.go (ReadWriteTx).
// Copyright Authzed, Inc. Licensed under the Apache License, Version 2.0.

package localstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/go-memdb"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/datastore/options"
)

// ReadWriteTx implements datastore.Datastore. Transactions run one at a time: the
// write lock is taken when f first uses the transaction (as SpiceDB's memdb does, so
// a transaction that has not touched anything yet blocks no one) and held until the
// revision is published; the revision is assigned after f returns, and the storage
// batch is synced before the new snapshot becomes visible and before ReadWriteTx
// returns. A transaction f never used writes nothing and returns the head revision.
func (ds *Datastore) ReadWriteTx(ctx context.Context, f datastore.TxUserFunc, opts ...options.RWTOptionsOption) (datastore.Revision, error) {
	config := options.NewRWTOptionsWithOptions(opts...)
	attempts := maxRetries
	if config.DisableRetries {
		attempts = 1
	}

	for range attempts {
		rev, err := ds.runWriteTx(ctx, f, config)
		if errors.Is(err, errSerialization) {
			continue
		}
		// The function's error is returned unwrapped: callers match gRPC statuses.
		return rev, err
	}
	return datastore.NoRevision, fmt.Errorf("localstore: transaction retried %d times: %w", attempts, errSerialization)
}

func (ds *Datastore) runWriteTx(ctx context.Context, f datastore.TxUserFunc, config *options.RWTOptions) (datastore.Revision, error) {
	var (
		tx          *memdb.Txn
		provisional revision
		locked      bool
		closed      bool
		committed   bool
	)
	defer func() {
		if tx != nil && !committed {
			tx.Abort()
		}
		if locked {
			ds.writeMu.Unlock()
		}
	}()

	rwt := &readWriteTx{reader: reader{TryLocker: &sync.Mutex{}, visited: &ds.rowsVisited}}
	rwt.begin = func() {
		ds.writeMu.Lock()
		locked = true
		ds.mu.RLock()
		db := ds.db
		ds.mu.RUnlock()
		if db == nil {
			closed = true
			rwt.txSource = func() (*memdb.Txn, error) { return nil, ErrClosed }
			rwt.rels = newRelTrees()
			rwt.relsErr = ErrClosed
			return
		}
		tx = db.Txn(true)
		tx.TrackChanges()
		provisional = ds.nextRevisionLocked()
		rwt.txSource = func() (*memdb.Txn, error) { return tx, nil }
		rwt.rels = ds.headRels().clone()
		rwt.now = time.Now()
		rwt.newRevision = provisional
	}

	if config.SchemaHashPrecondition != "" {
		if err := assertSchemaHash(rwt, config.SchemaHashPrecondition); err != nil {
			return datastore.NoRevision, err
		}
	}
	if err := f(ctx, rwt); err != nil {
		return datastore.NoRevision, err
	}

	switch {
	case closed:
		return datastore.NoRevision, ErrClosed
	case !locked:
		return ds.headRevisionIfOpen()
	}

	// A caller that gave up (cancelled, or past its deadline) is told the write failed,
	// so it must not have happened: PostgreSQL refuses such a commit too.
	if err := ctx.Err(); err != nil {
		return datastore.NoRevision, fmt.Errorf("localstore: transaction not committed: %w", err)
	}

	// Assign the final revision now that f is done; it is at least the provisional
	// one, so nothing f observed is later than it.
	rev := ds.reserveRevisionLocked(provisional)
	if err := ds.commitLocked(tx, rwt.rels, &rwt.changes, rev, config.Metadata, true); err != nil {
		return datastore.NoRevision, err
	}
	committed = true
	return rev, nil
}

// headRevisionIfOpen returns the head revision, or ErrClosed.
func (ds *Datastore) headRevisionIfOpen() (datastore.Revision, error) {
	ds.mu.RLock()
	defer ds.mu.RUnlock()
	if ds.db == nil {
		return datastore.NoRevision, ErrClosed
	}
	return ds.snapshots[len(ds.snapshots)-1].revision, nil
}

// commitLocked persists tx's changes at rev (reserved by reserveRevisionLocked),
// commits it and publishes the new snapshot. On a storage error nothing is applied.
// Either way the reservation ends. Caller holds writeMu.
func (ds *Datastore) commitLocked(tx *memdb.Txn, rels *relTrees, relChanges *relChangeTracker, rev revision, metadata *structpb.Struct, recordRelationships bool) (err error) {
	defer func() {
		if err != nil {
			ds.mu.Lock()
			ds.endCommitLocked()
			ds.mu.Unlock()
		}
	}()
	batch := ds.store.NewBatch()
	defer batch.Close()

	entry := &changelog{revisionNanos: int64(rev)}
	schemaChanges := newChangeSet()
	if metadata != nil && len(metadata.GetFields()) > 0 {
		schemaChanges.metadata = metadata
	}

	var recorded []relChange
	for _, change := range relChanges.changes() {
		if recordRelationships {
			if change.after != nil {
				recorded = append(recorded, relChange{row: change.after})
			} else {
				recorded = append(recorded, relChange{row: change.before, deleted: true})
			}
		}
		var before, after any
		if change.before != nil {
			before = change.before
		}
		if change.after != nil {
			after = change.after
		}
		if err := stageChange(batch, tableRelationship, before, after); err != nil {
			return fmt.Errorf("localstore: staging relationship change: %w", err)
		}
	}

	var restamped []restamp
	var schemaBefore []storedRow
	for _, change := range tx.Changes() {
		before, after := change.Before, change.After
		if isSchemaTable(change.Table) {
			if row, ok := schemaBeforeImage(change.Table, before, after); ok {
				schemaBefore = append(schemaBefore, row)
			}
		}
		switch change.Table {
		case tableNamespace:
			if after != nil {
				written := after.(*namespace)
				ns := &namespace{name: written.name, configBytes: written.configBytes, updated: rev}
				after = ns
				restamped = append(restamped, restamp{tableNamespace, after})
				def, err := ns.definition()
				if err != nil {
					return err
				}
				schemaChanges.addChangedNamespace(def)
			} else {
				schemaChanges.addDeletedNamespace(before.(*namespace).name)
			}
		case tableCaveats:
			if after != nil {
				c := *after.(*caveat)
				c.revision = rev
				after = &c
				restamped = append(restamped, restamp{tableCaveats, after})
				def, err := c.unwrap()
				if err != nil {
					return err
				}
				schemaChanges.addChangedCaveat(def)
			} else {
				schemaChanges.addDeletedCaveat(before.(*caveat).name)
			}
		}
		if err := stageChange(batch, change.Table, before, after); err != nil {
			return fmt.Errorf("localstore: staging %s change: %w", change.Table, err)
		}
	}

	// Rows written by f carry the provisional revision; record the final one.
	for _, r := range restamped {
		if err := tx.Insert(r.table, r.obj); err != nil {
			return fmt.Errorf("localstore: restamping %s: %w", r.table, err)
		}
	}
	if !schemaChanges.empty() {
		entry.schema = schemaChanges
	}
	entry.relChanges = len(recorded)
	// Every committed revision gets a changelog entry so Watch can checkpoint it. It
	// is stored in the same batch, so it is durable exactly when the transaction is.
	if err := tx.Insert(tableChangelog, entry); err != nil {
		return fmt.Errorf("localstore: writing changelog: %w", err)
	}
	encoded, err := encodeChangelog(entry, recorded, schemaBefore)
	if err != nil {
		return fmt.Errorf("localstore: encoding changelog entry: %w", err)
	}
	if err := batch.Set(changelogKey(int64(rev)), encoded, nil); err != nil {
		return fmt.Errorf("localstore: staging changelog entry: %w", err)
	}

	if err := batch.Set(metaHeadKey, headValue(rev), nil); err != nil {
		return fmt.Errorf("localstore: staging head revision: %w", err)
	}
	if err := ds.checkFreeSpace(fmt.Sprintf("writing revision %s", rev), batch.Len()); err != nil {
		return err
	}
	if err := ds.syncBatch(batch); err != nil {
		return fmt.Errorf("localstore: persisting revision %s to %s: %w", rev, ds.dir, err)
	}
	if err := ds.identity.record(rev); err != nil {
		// The commit is durable; only the next Open's check of the log's end is
		// weaker (it checks against an older revision).
		ds.log.Warn("recording the head revision in the identity file", zap.Error(err))
	}

	tx.Commit()
	ds.publishLocked(rev, rels, recorded)
	return nil
}

// syncBatch commits the batch and waits for it to reach stable storage.
func (ds *Datastore) syncBatch(batch *pebble.Batch) error {
	if ds.storageFault != nil {
		if err := ds.storageFault(); err != nil {
			return err
		}
	}
	return batch.Commit(pebble.Sync)
}

// headRels returns the published relationship trees of the head revision.
func (ds *Datastore) headRels() *relTrees {
	ds.mu.RLock()
	defer ds.mu.RUnlock()
	return ds.snapshots[len(ds.snapshots)-1].rels
}

type restamp struct {
	table string
	obj   any
}

// publishLocked makes the committed state readable at rev and wakes watchers; changes are
// its relationship changes as recorded in its changelog entry.
func (ds *Datastore) publishLocked(rev revision, rels *relTrees, changes []relChange) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	defer ds.endCommitLocked()
	if ds.db == nil {
		return
	}
	ds.recent.put(int64(rev), changes)
	ds.snapshots = append(ds.snapshots, snapshot{
		revision:   rev,
		schemaHash: currentSchemaHash(ds.db),
		db:         ds.db.Snapshot(),
		rels:       rels,
	})
	close(ds.published)
	ds.published = make(chan struct{})
}
