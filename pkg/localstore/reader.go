// Adapted from authzed/spicedb@v1.57.1 internal/datastore/memdb/readonly.go.
// Copyright Authzed, Inc. Licensed under the Apache License, Version 2.0.

package localstore

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/authzed/spicedb/pkg/datastore"
	core "github.com/authzed/spicedb/pkg/proto/core/v1"
)

type txFactory func() (*memdb.Txn, error)

// reader reads one published snapshot (or, inside a write transaction, the
// transaction's own view).
type reader struct {
	TryLocker
	txSource txFactory
	// rels is the relationship table of the snapshot (or the transaction's clone).
	rels    *relTrees
	initErr error
	// relsErr, when set, fails relationship and counter reads (a reader that only
	// knows the schema; see preRestartSchemaReaderLocked).
	relsErr error
	now     time.Time
	// visited, when set, counts relationship rows examined by queries.
	visited *atomic.Uint64
	// begin, when set, starts a write transaction on its first use (see ReadWriteTx).
	begin func()
	// shareDefinitions hands out the stored definitions' shared decoded form (see
	// namespaceDefinition); set for snapshot readers only.
	shareDefinitions bool
}

// CountRelationships implements datastore.Reader.
func (r *reader) CountRelationships(ctx context.Context, name string) (int, error) {
	counters, err := r.LookupCounters(ctx)
	if err != nil {
		return 0, err
	}

	var found *core.RelationshipFilter
	for _, counter := range counters {
		if counter.Name == name {
			found = counter.Filter
			break
		}
	}
	if found == nil {
		return 0, datastore.NewCounterNotRegisteredErr(name)
	}

	coreFilter, err := datastore.RelationshipsFilterFromCoreFilter(found)
	if err != nil {
		return 0, fmt.Errorf("counter %q: %w", name, err)
	}

	iter, err := r.QueryRelationships(ctx, coreFilter)
	if err != nil {
		return 0, err
	}

	count := 0
	for _, err := range iter {
		if err != nil {
			return 0, err
		}
		count++
	}
	return count, nil
}

// LookupCounters implements datastore.Reader.
func (r *reader) LookupCounters(_ context.Context) ([]datastore.RelationshipCounter, error) {
	if r.initErr != nil {
		return nil, r.initErr
	}
	if r.relsErr != nil {
		return nil, r.relsErr
	}

	r.mustLock()
	defer r.Unlock()

	tx, err := r.txSource()
	if err != nil {
		return nil, err
	}

	it, err := tx.LowerBound(tableCounters, indexID)
	if err != nil {
		return nil, err
	}

	var counters []datastore.RelationshipCounter
	for foundRaw := it.Next(); foundRaw != nil; foundRaw = it.Next() {
		found := foundRaw.(*counter)

		loaded := &core.RelationshipFilter{}
		if err := loaded.UnmarshalVT(found.filterBytes); err != nil {
			return nil, fmt.Errorf("counter %q: %w", found.name, err)
		}

		counters = append(counters, datastore.RelationshipCounter{
			Name:               found.name,
			Filter:             loaded,
			Count:              found.count,
			ComputedAtRevision: found.updated,
		})
	}
	return counters, nil
}

// LegacyReadNamespaceByName implements datastore.Reader.
func (r *reader) LegacyReadNamespaceByName(_ context.Context, nsName string) (*core.NamespaceDefinition, datastore.Revision, error) {
	if r.initErr != nil {
		return nil, datastore.NoRevision, r.initErr
	}

	r.mustLock()
	defer r.Unlock()

	tx, err := r.txSource()
	if err != nil {
		return nil, datastore.NoRevision, err
	}

	foundRaw, err := tx.First(tableNamespace, indexID, nsName)
	if err != nil {
		return nil, datastore.NoRevision, err
	}
	if foundRaw == nil {
		return nil, datastore.NoRevision, datastore.NewNamespaceNotFoundErr(nsName)
	}

	found := foundRaw.(*namespace)
	loaded, err := r.namespaceDefinition(found)
	if err != nil {
		return nil, datastore.NoRevision, err
	}
	return loaded, found.updated, nil
}

// namespaceDefinition is a stored definition, decoded. A snapshot reader hands out one
// decoded definition per stored row, shared by every reader of it: decoding every
// definition again at each new revision was half the CPU of a lookup at a revision nothing
// had been asked at. Readers of a snapshot only read what they are given (SpiceDB's own
// schema cache shares one decoded definition among every reader at a revision); a write
// transaction, which may build on what it reads, gets a copy of its own.
func (r *reader) namespaceDefinition(found *namespace) (*core.NamespaceDefinition, error) {
	if !r.shareDefinitions {
		return found.definition()
	}
	if def := found.decoded.Load(); def != nil {
		return def, nil
	}
	def, err := found.definition()
	if err != nil {
		return nil, err
	}
	found.decoded.CompareAndSwap(nil, def)
	return found.decoded.Load(), nil
}

// LegacyListAllNamespaces implements datastore.Reader.
func (r *reader) LegacyListAllNamespaces(_ context.Context) ([]datastore.RevisionedNamespace, error) {
	return r.listNamespaces(nil)
}

// LegacyLookupNamespacesWithNames implements datastore.Reader.
func (r *reader) LegacyLookupNamespacesWithNames(_ context.Context, nsNames []string) ([]datastore.RevisionedNamespace, error) {
	if r.initErr != nil {
		return nil, r.initErr
	}
	if len(nsNames) == 0 {
		return nil, nil
	}
	wanted := make(map[string]struct{}, len(nsNames))
	for _, n := range nsNames {
		wanted[n] = struct{}{}
	}
	return r.listNamespaces(wanted)
}

func (r *reader) listNamespaces(wanted map[string]struct{}) ([]datastore.RevisionedNamespace, error) {
	if r.initErr != nil {
		return nil, r.initErr
	}

	r.mustLock()
	defer r.Unlock()

	tx, err := r.txSource()
	if err != nil {
		return nil, err
	}

	it, err := tx.LowerBound(tableNamespace, indexID)
	if err != nil {
		return nil, err
	}

	var nsDefs []datastore.RevisionedNamespace
	for foundRaw := it.Next(); foundRaw != nil; foundRaw = it.Next() {
		found := foundRaw.(*namespace)
		if wanted != nil {
			if _, ok := wanted[found.name]; !ok {
				continue
			}
		}

		loaded, err := r.namespaceDefinition(found)
		if err != nil {
			return nil, err
		}
		nsDefs = append(nsDefs, datastore.RevisionedNamespace{
			Definition:          loaded,
			LastWrittenRevision: found.updated,
		})
	}
	return nsDefs, nil
}

func (r *reader) mustLock() {
	if !r.TryLock() {
		panic("detected concurrent use of ReadWriteTransaction")
	}
	if begin := r.begin; begin != nil {
		r.begin = nil
		begin()
	}
}

func (r *reader) countVisited(n uint64) {
	if r.visited != nil {
		r.visited.Add(n)
	}
}

var _ datastore.Reader = (*reader)(nil)

// TryLocker guards a read-write transaction against concurrent use.
type TryLocker interface {
	TryLock() bool
	Unlock()
}

type noopTryLocker struct{}

func (noopTryLocker) TryLock() bool { return true }
func (noopTryLocker) Unlock()       {}
