// Adapted from authzed/spicedb@v1.57.1 internal/datastore/common/changes.go, reduced to the single
// revision a localstore transaction produces.
// Copyright Authzed, Inc. Licensed under the Apache License, Version 2.0.

package localstore

import (
	"maps"
	"slices"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/authzed/spicedb/pkg/datastore"
	core "github.com/authzed/spicedb/pkg/proto/core/v1"
	"github.com/authzed/spicedb/pkg/tuple"
)

const (
	nsPrefix     = "n$"
	caveatPrefix = "c$"
)

// changeSet accumulates the schema changes and metadata of one transaction.
// Relationship changes are de-duplicated by relChangeTracker.
type changeSet struct {
	definitionsChanged map[string]datastore.SchemaDefinition
	namespacesDeleted  map[string]struct{}
	caveatsDeleted     map[string]struct{}
	metadata           *structpb.Struct
}

func newChangeSet() *changeSet {
	return &changeSet{
		definitionsChanged: map[string]datastore.SchemaDefinition{},
		namespacesDeleted:  map[string]struct{}{},
		caveatsDeleted:     map[string]struct{}{},
	}
}

func (cs *changeSet) addChangedNamespace(def *core.NamespaceDefinition) {
	delete(cs.namespacesDeleted, def.Name)
	cs.definitionsChanged[nsPrefix+def.Name] = def
}

func (cs *changeSet) addChangedCaveat(def *core.CaveatDefinition) {
	delete(cs.caveatsDeleted, def.Name)
	cs.definitionsChanged[caveatPrefix+def.Name] = def
}

func (cs *changeSet) addDeletedNamespace(name string) {
	if _, ok := cs.definitionsChanged[nsPrefix+name]; ok {
		return
	}
	cs.namespacesDeleted[name] = struct{}{}
}

func (cs *changeSet) addDeletedCaveat(name string) {
	if _, ok := cs.definitionsChanged[caveatPrefix+name]; ok {
		return
	}
	cs.caveatsDeleted[name] = struct{}{}
}

func (cs *changeSet) empty() bool {
	return len(cs.definitionsChanged) == 0 && len(cs.namespacesDeleted) == 0 &&
		len(cs.caveatsDeleted) == 0 && cs.metadata == nil
}

// revisionChanges builds the Watch form of a changelog entry with its relationship
// changes rels (read from storage).
func (c *changelog) revisionChanges(rels []relChange) (datastore.RevisionChanges, error) {
	change := datastore.RevisionChanges{Revision: revision(c.revisionNanos)}
	if len(rels) > 0 {
		// An import's revision carries up to a hundred thousand changes: growing the slice
		// by appends copied them over and over (most of a watcher's cost of an import).
		change.RelationshipChanges = make([]tuple.RelationshipUpdate, 0, len(rels))
	}
	for _, rc := range rels {
		rel, err := rc.row.Relationship()
		if err != nil {
			return datastore.RevisionChanges{}, err
		}
		if rc.deleted {
			change.RelationshipChanges = append(change.RelationshipChanges, tuple.Delete(rel))
		} else {
			change.RelationshipChanges = append(change.RelationshipChanges, tuple.Touch(rel))
		}
	}
	if cs := c.schema; cs != nil {
		change.ChangedDefinitions = slices.Collect(maps.Values(cs.definitionsChanged))
		change.DeletedNamespaces = slices.Collect(maps.Keys(cs.namespacesDeleted))
		change.DeletedCaveats = slices.Collect(maps.Keys(cs.caveatsDeleted))
		if cs.metadata != nil {
			change.Metadatas = []*structpb.Struct{cs.metadata}
		}
	}
	return change, nil
}

func (c *changelog) hasSchemaChanges() bool {
	cs := c.schema
	return cs != nil && (len(cs.definitionsChanged) > 0 || len(cs.namespacesDeleted) > 0 || len(cs.caveatsDeleted) > 0)
}
