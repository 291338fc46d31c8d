// Adapted from authzed/spicedb@v1.57.1 internal/datastore/memdb/schema.go.
// Copyright Authzed, Inc. Licensed under the Apache License, Version 2.0.

package localstore

import (
	"fmt"
	"sync/atomic"

	"github.com/hashicorp/go-memdb"

	"github.com/authzed/spicedb/pkg/datastore"
	core "github.com/authzed/spicedb/pkg/proto/core/v1"
)

const (
	tableNamespace = "namespace"
	// tableRelationship names relationship changes; relationships themselves live
	// in relTrees, not in go-memdb.
	tableRelationship   = "relationship"
	tableCounters       = "counters"
	tableChangelog      = "changelog"
	tableCaveats        = "caveats"
	tableSchema         = "schema"
	tableSchemaRevision = "schemarevision"

	indexID       = "id"
	indexRevision = "id"
)

type namespace struct {
	name        string
	configBytes []byte
	updated     datastore.Revision
	// decoded is configBytes decoded, once, for snapshot readers (see
	// reader.namespaceDefinition). A row is never changed once inserted: a write of the
	// definition inserts a new row, with its own decoded.
	decoded atomic.Pointer[core.NamespaceDefinition]
}

// definition decodes the row's definition.
func (n *namespace) definition() (*core.NamespaceDefinition, error) {
	def := &core.NamespaceDefinition{}
	if err := def.UnmarshalVT(n.configBytes); err != nil {
		return nil, fmt.Errorf("namespace %q: %w", n.name, err)
	}
	return def, nil
}

type counter struct {
	name        string
	filterBytes []byte
	count       int
	updated     datastore.Revision
}

type schemaData struct {
	name string
	data []byte
}

type schemaRevisionData struct {
	name string
	hash []byte
}

type caveat struct {
	name       string
	definition []byte
	revision   datastore.Revision
}

// changelog is the Watch record of one committed revision. Only the revision, the
// number of relationship changes and the schema changes and metadata are held in
// memory: the relationship changes themselves are read back from the stored entry
// (written in the transaction's own batch, see changelogstore.go) when a Watch asks
// for them, so the history of the GC window costs memory per transaction, not per
// change.
type changelog struct {
	revisionNanos int64
	relChanges    int
	schema        *changeSet
}

type relChange struct {
	row     *relationship
	deleted bool
}

var dbSchema = &memdb.DBSchema{
	Tables: map[string]*memdb.TableSchema{
		tableNamespace:      nameTable(tableNamespace),
		tableCaveats:        nameTable(tableCaveats),
		tableCounters:       nameTable(tableCounters),
		tableSchema:         nameTable(tableSchema),
		tableSchemaRevision: nameTable(tableSchemaRevision),
		tableChangelog: {
			Name: tableChangelog,
			Indexes: map[string]*memdb.IndexSchema{
				indexRevision: {
					Name:    indexRevision,
					Unique:  true,
					Indexer: &memdb.IntFieldIndex{Field: "revisionNanos"},
				},
			},
		},
	},
}

func nameTable(name string) *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: name,
		Indexes: map[string]*memdb.IndexSchema{
			indexID: {
				Name:    indexID,
				Unique:  true,
				Indexer: &memdb.StringFieldIndex{Field: "name"},
			},
		},
	}
}
