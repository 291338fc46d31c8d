// Adapted from authzed/spicedb@v1.57.1 internal/datastore/memdb/stats.go.
// Copyright Authzed, Inc. Licensed under the Apache License, Version 2.0.

package localstore

import (
	"context"
	"fmt"

	"github.com/authzed/spicedb/pkg/datastore"
)

// Statistics implements datastore.Datastore.
func (ds *Datastore) Statistics(ctx context.Context) (datastore.Stats, error) {
	head, err := ds.HeadRevision(ctx)
	if err != nil {
		return datastore.Stats{}, fmt.Errorf("unable to compute head revision: %w", err)
	}

	count, err := ds.countRelationships()
	if err != nil {
		return datastore.Stats{}, fmt.Errorf("unable to count relationships: %w", err)
	}

	objTypes, err := ds.SnapshotReader(head.Revision).LegacyListAllNamespaces(ctx)
	if err != nil {
		return datastore.Stats{}, fmt.Errorf("unable to list object types: %w", err)
	}

	return datastore.Stats{
		UniqueID:                   ds.uniqueID,
		EstimatedRelationshipCount: count,
		ObjectTypeStatistics:       datastore.ComputeObjectTypeStats(objTypes),
	}, nil
}

func (ds *Datastore) countRelationships() (uint64, error) {
	ds.mu.RLock()
	defer ds.mu.RUnlock()
	if ds.db == nil {
		return 0, ErrClosed
	}
	return uint64(ds.snapshots[len(ds.snapshots)-1].rels.len()), nil
}
