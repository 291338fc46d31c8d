// Adapted from authzed/spicedb@v1.57.1 internal/datastore/memdb/caveat.go.
// Copyright Authzed, Inc. Licensed under the Apache License, Version 2.0.

package localstore

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-memdb"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/genutil/mapz"
	core "github.com/authzed/spicedb/pkg/proto/core/v1"
)

func (c *caveat) unwrap() (*core.CaveatDefinition, error) {
	definition := core.CaveatDefinition{}
	if err := definition.UnmarshalVT(c.definition); err != nil {
		return nil, fmt.Errorf("caveat %q: %w", c.name, err)
	}
	return &definition, nil
}

// LegacyReadCaveatByName implements datastore.Reader.
func (r *reader) LegacyReadCaveatByName(_ context.Context, name string) (*core.CaveatDefinition, datastore.Revision, error) {
	if r.initErr != nil {
		return nil, datastore.NoRevision, r.initErr
	}

	r.mustLock()
	defer r.Unlock()

	tx, err := r.txSource()
	if err != nil {
		return nil, datastore.NoRevision, err
	}

	found, err := tx.First(tableCaveats, indexID, name)
	if err != nil {
		return nil, datastore.NoRevision, fmt.Errorf("caveat %q: %w", name, err)
	}
	if found == nil {
		return nil, datastore.NoRevision, datastore.NewCaveatNameNotFoundErr(name)
	}
	cvt := found.(*caveat)
	unwrapped, err := cvt.unwrap()
	if err != nil {
		return nil, datastore.NoRevision, err
	}
	return unwrapped, cvt.revision, nil
}

// LegacyListAllCaveats implements datastore.Reader.
func (r *reader) LegacyListAllCaveats(_ context.Context) ([]datastore.RevisionedCaveat, error) {
	if r.initErr != nil {
		return nil, r.initErr
	}

	r.mustLock()
	defer r.Unlock()

	tx, err := r.txSource()
	if err != nil {
		return nil, err
	}

	it, err := tx.LowerBound(tableCaveats, indexID)
	if err != nil {
		return nil, err
	}

	var caveats []datastore.RevisionedCaveat
	for foundRaw := it.Next(); foundRaw != nil; foundRaw = it.Next() {
		rawCaveat := foundRaw.(*caveat)
		definition, err := rawCaveat.unwrap()
		if err != nil {
			return nil, err
		}
		caveats = append(caveats, datastore.RevisionedCaveat{
			Definition:          definition,
			LastWrittenRevision: rawCaveat.revision,
		})
	}
	return caveats, nil
}

// LegacyLookupCaveatsWithNames implements datastore.Reader.
func (r *reader) LegacyLookupCaveatsWithNames(ctx context.Context, caveatNames []string) ([]datastore.RevisionedCaveat, error) {
	allCaveats, err := r.LegacyListAllCaveats(ctx)
	if err != nil {
		return nil, err
	}

	allowed := mapz.NewSet[string]()
	allowed.Extend(caveatNames)

	toReturn := make([]datastore.RevisionedCaveat, 0, len(caveatNames))
	for _, c := range allCaveats {
		if allowed.Has(c.Definition.Name) {
			toReturn = append(toReturn, c)
		}
	}
	return toReturn, nil
}

// LegacyWriteCaveats implements datastore.ReadWriteTransaction.
func (rwt *readWriteTx) LegacyWriteCaveats(_ context.Context, caveats []*core.CaveatDefinition) error {
	rwt.mustLock()
	defer rwt.Unlock()

	tx, err := rwt.txSource()
	if err != nil {
		return err
	}
	return rwt.writeCaveats(tx, caveats)
}

func (rwt *readWriteTx) writeCaveats(tx *memdb.Txn, caveats []*core.CaveatDefinition) error {
	names := mapz.NewSet[string]()
	for _, coreCaveat := range caveats {
		if !names.Add(coreCaveat.Name) {
			return fmt.Errorf("duplicate caveat %s", coreCaveat.Name)
		}
		marshalled, err := coreCaveat.MarshalVT()
		if err != nil {
			return fmt.Errorf("caveat %q: %w", coreCaveat.Name, err)
		}
		if err := tx.Insert(tableCaveats, &caveat{
			name:       coreCaveat.Name,
			definition: marshalled,
			revision:   rwt.newRevision,
		}); err != nil {
			return fmt.Errorf("caveat %q: %w", coreCaveat.Name, err)
		}
	}
	return nil
}

// LegacyDeleteCaveats implements datastore.ReadWriteTransaction.
func (rwt *readWriteTx) LegacyDeleteCaveats(_ context.Context, names []string) error {
	rwt.mustLock()
	defer rwt.Unlock()

	tx, err := rwt.txSource()
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := tx.Delete(tableCaveats, &caveat{name: name}); err != nil {
			return fmt.Errorf("caveat %q: %w", name, err)
		}
	}
	return nil
}
