// Adapted from authzed/spicedb@v1.57.1 internal/datastore/memdb/readwrite.go.
// Copyright Authzed, Inc. Licensed under the Apache License, Version 2.0.

package localstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/datastore/options"
	core "github.com/authzed/spicedb/pkg/proto/core/v1"
	"github.com/authzed/spicedb/pkg/spiceerrors"
	"github.com/authzed/spicedb/pkg/tuple"
)

// readWriteTx is a write transaction. newRevision is provisional while the
// transaction function runs; the commit assigns the final revision and rewrites the
// rows that record it.
type readWriteTx struct {
	reader
	newRevision datastore.Revision
	changes     relChangeTracker
}

// WriteRelationships implements datastore.ReadWriteTransaction.
func (rwt *readWriteTx) WriteRelationships(_ context.Context, mutations []tuple.RelationshipUpdate) error {
	rwt.mustLock()
	defer rwt.Unlock()
	return rwt.write(mutations...)
}

// write applies mutations; the caller holds the concurrent-access lock.
func (rwt *readWriteTx) write(mutations ...tuple.RelationshipUpdate) error {
	for _, mutation := range mutations {
		rel := relationshipFromTuple(mutation.Relationship)

		if mutation.Operation == tuple.UpdateOperationCreate {
			if err := rwt.create(rel); err != nil {
				return err
			}
			continue
		}

		existing := rwt.rels.get(rel)
		switch mutation.Operation {
		case tuple.UpdateOperationTouch:
			if existing != nil {
				same, err := sameRelationship(existing, mutation.Relationship)
				if err != nil {
					return err
				}
				if same {
					continue
				}
			}
			rwt.rels.put(rel)
			rwt.changes.track(existing, rel)

		case tuple.UpdateOperationDelete:
			if existing != nil {
				rwt.rels.remove(existing)
				rwt.changes.track(existing, nil)
			}

		default:
			return spiceerrors.MustBugf("unknown tuple mutation operation type: %v", mutation.Operation)
		}
	}
	return nil
}

// sameRelationship reports whether a touch would leave the stored row unchanged
// (same caveat, context and expiration), in which case memdb records no change.
func sameRelationship(existing *relationship, rel tuple.Relationship) (bool, error) {
	rt, err := existing.Relationship()
	if err != nil {
		return false, err
	}
	existingString, err := tuple.String(rt)
	if err != nil {
		return false, err
	}
	newString, err := tuple.String(rel)
	if err != nil {
		return false, err
	}
	return existingString == newString, nil
}

// DeleteRelationships implements datastore.ReadWriteTransaction, including cursored
// deletes (see deleteCursoredWithLock).
func (rwt *readWriteTx) DeleteRelationships(_ context.Context, filter *v1.RelationshipFilter, opts ...options.DeleteOptionsOption) (datastore.DeleteRelationshipsResult, error) {
	rwt.mustLock()
	defer rwt.Unlock()

	delOpts := options.NewDeleteOptionsWithOptionsAndDefaults(opts...)
	if err := delOpts.ValidateCursoredDelete(); err != nil {
		return datastore.DeleteRelationshipsResult{}, err
	}
	var delLimit uint64
	if delOpts.DeleteLimit != nil && *delOpts.DeleteLimit > 0 {
		delLimit = *delOpts.DeleteLimit
	}
	if delOpts.IsCursoredDelete() {
		return rwt.deleteCursoredWithLock(filter, delLimit, delOpts.DeleteAfter)
	}
	return rwt.deleteWithLock(filter, delLimit)
}

// SupportsCursoredDelete implements datastore.CursoredDeleteDatastore.
func (ds *Datastore) SupportsCursoredDelete() bool { return true }

// deleteWithLock deletes matching relationships; the caller holds the lock.
func (rwt *readWriteTx) deleteWithLock(filter *v1.RelationshipFilter, limit uint64) (datastore.DeleteRelationshipsResult, error) {
	dsFilter, err := datastore.RelationshipsFilterFromPublicFilter(filter)
	if err != nil {
		return datastore.DeleteRelationshipsResult{}, err
	}
	rows := &filteredRows{source: planQuery(rwt.rels, dsFilter), match: relationshipFilterMatch(filter), visited: rwt.visited}

	// Collect first: a tree must not change while it is being scanned.
	var doomed []*relationship
	metLimit := false
	rows.each(func(row *relationship) bool {
		doomed = append(doomed, row)
		if limit > 0 && uint64(len(doomed)) == limit {
			metLimit = true
			return false
		}
		return true
	})
	rwt.removeRows(doomed)
	return datastore.DeleteRelationshipsResult{NumDeleted: uint64(len(doomed)), LimitReached: metLimit}, nil
}

// deleteCursoredWithLock deletes up to limit matching relationships that sort after the
// cursor in resource order (type, id, relation, subject), the first ones in that order,
// and returns the last one deleted as the cursor to resume after. Deleted rows leave the
// trees, so a later batch never walks over them. The caller holds the lock.
func (rwt *readWriteTx) deleteCursoredWithLock(filter *v1.RelationshipFilter, limit uint64, after options.Cursor) (datastore.DeleteRelationshipsResult, error) {
	dsFilter, err := datastore.RelationshipsFilterFromPublicFilter(filter)
	if err != nil {
		return datastore.DeleteRelationshipsResult{}, err
	}
	source := planQuery(rwt.rels, dsFilter).resumeAfter(after, options.ByResource)
	match, done := relationshipFilterMatch(filter), mustMakeCursorFilterFn(after, options.ByResource)
	rows := &filteredRows{source: source, match: func(r *relationship) bool { return match(r) && !done(r) }, visited: rwt.visited}

	var doomed []*relationship
	if source.order == orderByResource {
		// Every resource-order plan yields rows in exactly this order: stop at the limit.
		rows.each(func(row *relationship) bool {
			doomed = append(doomed, row)
			return uint64(len(doomed)) < limit
		})
	} else {
		rows.each(func(row *relationship) bool {
			doomed = append(doomed, row)
			return true
		})
		slices.SortFunc(doomed, compareByResource)
		doomed = doomed[:min(uint64(len(doomed)), limit)]
	}
	rwt.removeRows(doomed)

	result := datastore.DeleteRelationshipsResult{NumDeleted: uint64(len(doomed)), LimitReached: uint64(len(doomed)) == limit}
	if len(doomed) > 0 {
		last, err := doomed[len(doomed)-1].Relationship()
		if err != nil {
			return datastore.DeleteRelationshipsResult{}, err
		}
		result.Cursor = options.ToCursor(last)
	}
	return result, nil
}

// removeRows deletes rows from the transaction's trees and records the changes.
func (rwt *readWriteTx) removeRows(rows []*relationship) {
	for _, row := range rows {
		rwt.rels.remove(row)
		rwt.changes.track(row, nil)
	}
}

// RegisterCounter implements datastore.ReadWriteTransaction.
func (rwt *readWriteTx) RegisterCounter(_ context.Context, name string, filter *core.RelationshipFilter) error {
	rwt.mustLock()
	defer rwt.Unlock()

	tx, err := rwt.txSource()
	if err != nil {
		return err
	}

	foundRaw, err := tx.First(tableCounters, indexID, name)
	if err != nil {
		return fmt.Errorf("counter %q: %w", name, err)
	}
	if foundRaw != nil {
		return datastore.NewCounterAlreadyRegisteredErr(name, filter)
	}

	filterBytes, err := filter.MarshalVT()
	if err != nil {
		return fmt.Errorf("counter %q filter: %w", name, err)
	}
	return tx.Insert(tableCounters, &counter{name, filterBytes, 0, datastore.NoRevision})
}

// UnregisterCounter implements datastore.ReadWriteTransaction.
func (rwt *readWriteTx) UnregisterCounter(_ context.Context, name string) error {
	rwt.mustLock()
	defer rwt.Unlock()

	tx, err := rwt.txSource()
	if err != nil {
		return err
	}

	foundRaw, err := tx.First(tableCounters, indexID, name)
	if err != nil {
		return fmt.Errorf("counter %q: %w", name, err)
	}
	if foundRaw == nil {
		return datastore.NewCounterNotRegisteredErr(name)
	}
	return tx.Delete(tableCounters, foundRaw)
}

// StoreCounterValue implements datastore.ReadWriteTransaction.
func (rwt *readWriteTx) StoreCounterValue(_ context.Context, name string, value int, computedAtRevision datastore.Revision) error {
	rwt.mustLock()
	defer rwt.Unlock()

	tx, err := rwt.txSource()
	if err != nil {
		return err
	}

	foundRaw, err := tx.First(tableCounters, indexID, name)
	if err != nil {
		return fmt.Errorf("counter %q: %w", name, err)
	}
	if foundRaw == nil {
		return datastore.NewCounterNotRegisteredErr(name)
	}

	// Rows are shared with older snapshots: replace, never mutate in place.
	updated := *foundRaw.(*counter)
	updated.count = value
	updated.updated = computedAtRevision
	return tx.Insert(tableCounters, &updated)
}

// LegacyWriteNamespaces implements datastore.ReadWriteTransaction.
func (rwt *readWriteTx) LegacyWriteNamespaces(_ context.Context, newConfigs ...*core.NamespaceDefinition) error {
	rwt.mustLock()
	defer rwt.Unlock()

	tx, err := rwt.txSource()
	if err != nil {
		return err
	}

	for _, newConfig := range newConfigs {
		serialized, err := newConfig.MarshalVT()
		if err != nil {
			return fmt.Errorf("namespace %q: %w", newConfig.Name, err)
		}
		if err := tx.Insert(tableNamespace, &namespace{name: newConfig.Name, configBytes: serialized, updated: rwt.newRevision}); err != nil {
			return fmt.Errorf("namespace %q: %w", newConfig.Name, err)
		}
	}
	return nil
}

// LegacyDeleteNamespaces implements datastore.ReadWriteTransaction.
func (rwt *readWriteTx) LegacyDeleteNamespaces(_ context.Context, nsNames []string, delOption datastore.DeleteNamespacesRelationshipsOption) error {
	if len(nsNames) == 0 {
		return nil
	}

	rwt.mustLock()
	defer rwt.Unlock()

	tx, err := rwt.txSource()
	if err != nil {
		return err
	}

	for _, nsName := range nsNames {
		foundRaw, err := tx.First(tableNamespace, indexID, nsName)
		if err != nil {
			return fmt.Errorf("namespace %q: %w", nsName, err)
		}
		if foundRaw == nil {
			return fmt.Errorf("namespace %q not found", nsName)
		}
		if err := tx.Delete(tableNamespace, foundRaw); err != nil {
			return fmt.Errorf("namespace %q: %w", nsName, err)
		}

		if delOption == datastore.DeleteNamespacesAndRelationships {
			if _, err := rwt.deleteWithLock(&v1.RelationshipFilter{ResourceType: nsName}, 0); err != nil {
				return fmt.Errorf("unable to delete relationships from deleted namespace %q: %w", nsName, err)
			}
		}
	}
	return nil
}

// bulkLoadCancelEvery is how many rows a bulk load writes between looks at its context.
const bulkLoadCancelEvery = 4096

// bulkLoadChunk is how many rows the reading side of a bulk load hands to the writing
// side at once, and bulkLoadChunksAhead how many chunks it may read ahead.
const (
	bulkLoadChunk       = 512
	bulkLoadChunksAhead = 4
)

// BulkLoad implements datastore.ReadWriteTransaction. All relationships land in the
// transaction's single storage batch at commit.
//
// Reading the source (for an import: receiving and validating each message) and
// building rows run in one goroutine while this one inserts them, so the two use two
// cores. Rows are inserted in the source's order and the first failure ends the load,
// exactly as a sequential load would; the reader is stopped and waited for before
// BulkLoad returns, because the caller owns the source again once it does.
func (rwt *readWriteTx) BulkLoad(ctx context.Context, iter datastore.BulkWriteRelationshipSource) (uint64, error) {
	rwt.mustLock()
	defer rwt.Unlock()

	chunks := make(chan []*relationship, bulkLoadChunksAhead)
	stop := make(chan struct{})
	read := make(chan error, 1)
	go func() {
		defer close(chunks)
		read <- readBulkSource(ctx, iter, chunks, stop)
	}()
	// finish stops the reader and waits for it; the load's own error comes first. The
	// chunks still queued are left to the collector: taking them would let the reader
	// send more.
	finish := func(err error) (uint64, error) {
		close(stop)
		if readErr := <-read; err == nil {
			err = readErr
		}
		return 0, err
	}

	var numCopied uint64
	for chunk := range chunks {
		for _, row := range chunk {
			if err := rwt.create(row); err != nil {
				return finish(err)
			}
			numCopied++
			// A long load stops soon after its caller gives up, rather than at its end.
			if numCopied%bulkLoadCancelEvery == 0 {
				if err := ctx.Err(); err != nil {
					return finish(err)
				}
			}
		}
	}
	if err := <-read; err != nil {
		return 0, err
	}
	return numCopied, nil
}

// readBulkSource reads a bulk load's source to its end (a nil relationship) or its
// first error, building rows and sending them in chunks, until stop closes. The rows
// read before an error are sent first: one of them may fail earlier in the source's
// order.
func readBulkSource(ctx context.Context, iter datastore.BulkWriteRelationshipSource, chunks chan<- []*relationship, stop <-chan struct{}) error {
	send := func(chunk []*relationship) bool {
		if len(chunk) == 0 {
			return true
		}
		// Stopped is checked first: a select with both ready picks either.
		select {
		case <-stop:
			return false
		default:
		}
		select {
		case chunks <- chunk:
			return true
		case <-stop:
			return false
		}
	}
	chunk := make([]*relationship, 0, bulkLoadChunk)
	for {
		row, err := readBulkRow(ctx, iter)
		if err != nil || row == nil {
			send(chunk)
			return err
		}
		chunk = append(chunk, row)
		if len(chunk) == bulkLoadChunk {
			if !send(chunk) {
				return nil
			}
			chunk = make([]*relationship, 0, bulkLoadChunk)
		}
	}
}

// readBulkRow reads the source's next relationship as a row (nil at its end). The row
// is built before the source is called again, since the source may reuse what it
// returned. A panic becomes an error: this runs outside the request's goroutine,
// beyond the server's recovery.
func readBulkRow(ctx context.Context, iter datastore.BulkWriteRelationshipSource) (row *relationship, err error) {
	defer func() {
		if r := recover(); r != nil {
			row, err = nil, fmt.Errorf("localstore: bulk load source failed: %v", r)
		}
	}()
	next, err := iter.Next(ctx)
	if err != nil || next == nil {
		return nil, err
	}
	return relationshipFromTuple(*next), nil
}

// create stores a new row; a row already stored under its key is kept and refused.
func (rwt *readWriteTx) create(rel *relationship) error {
	// One descent per tree instead of a lookup followed by the stores: store first and
	// undo on a conflict.
	if existing := rwt.rels.put(rel); existing != nil {
		rwt.rels.put(existing)
		rt, err := existing.Relationship()
		if err != nil {
			return err
		}
		return datastore.NewCreateRelationshipExistsError(&rt)
	}
	rwt.changes.track(nil, rel)
	return nil
}

// relationshipFilterMatch reports whether a row matches a public relationship filter.
func relationshipFilterMatch(filter *v1.RelationshipFilter) func(*relationship) bool {
	return func(tuple *relationship) bool {
		switch {
		case filter.ResourceType != "" && filter.ResourceType != tuple.namespace():
			return false
		case filter.OptionalResourceId != "" && filter.OptionalResourceId != tuple.resourceID():
			return false
		case filter.OptionalResourceIdPrefix != "" && !strings.HasPrefix(tuple.resourceID(), filter.OptionalResourceIdPrefix):
			return false
		case filter.OptionalRelation != "" && filter.OptionalRelation != tuple.relation():
			return false
		}

		if subjectFilter := filter.OptionalSubjectFilter; subjectFilter != nil {
			switch {
			case subjectFilter.SubjectType != tuple.subjectNamespace():
				return false
			case subjectFilter.OptionalSubjectId != "" && subjectFilter.OptionalSubjectId != tuple.subjectObjectID():
				return false
			case subjectFilter.OptionalRelation != nil &&
				cmp.Or(subjectFilter.OptionalRelation.Relation, datastore.Ellipsis) != tuple.subjectRelation():
				return false
			}
		}
		return true
	}
}

var _ datastore.ReadWriteTransaction = (*readWriteTx)(nil)
