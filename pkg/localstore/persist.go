package localstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"
	"github.com/hashicorp/go-memdb"

	"github.com/authzed/spicedb/pkg/datastore"
	core "github.com/authzed/spicedb/pkg/proto/core/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Storage layout: one Pebble key per live object, holding the current state, plus
// one key per Watch changelog entry inside the GC window (older history lives in
// memory only, as snapshots). The first byte names the kind.
const (
	kindRelationship   = 'r' // resource index key -> relationship extras (caveat, integrity, expiration)
	kindNamespace      = 'n' // name -> revision(8) + NamespaceDefinition
	kindCaveat         = 'c' // name -> revision(8) + CaveatDefinition
	kindCounter        = 'k' // name -> count(8) + revision(8) + RelationshipFilter
	kindSchema         = 's' // name -> StoredSchema
	kindSchemaRevision = 'h' // name -> schema hash
	kindChangelog      = 'l' // big-endian revision -> changelogRecord (JSON), see changelogstore.go
	kindMeta           = 'm'
)

var (
	metaHeadKey     = []byte{kindMeta, 'h', 'e', 'a', 'd'}
	metaUniqueIDKey = []byte{kindMeta, 'u', 'i', 'd'}
	// metaChangelogFromKey holds the revision after which every committed
	// transaction has a stored changelog entry: the head when the directory was
	// first opened by a version that stores the changelog.
	metaChangelogFromKey = []byte{kindMeta, 'c', 'l', 'o', 'g'}
)

func namedKey(kind byte, name string) []byte {
	k := make([]byte, 0, 1+len(name))
	return append(append(k, kind), name...)
}

func relationshipKey(r *relationship) []byte {
	return append([]byte{kindRelationship}, r.key()...)
}

// relationshipValue stores only what the key does not: caveat, integrity, expiration.
func relationshipValue(r *relationship) ([]byte, error) {
	if r.extra == nil {
		return nil, nil
	}
	extras := &core.RelationTuple{}
	cc, err := r.caveat().contextualizedCaveat()
	if err != nil {
		return nil, fmt.Errorf("relationship %s caveat: %w", r, err)
	}
	extras.Caveat = cc
	if ri := r.integrity(); ri != nil {
		extras.Integrity = ri.relationshipIntegrity()
	}
	if exp := r.expiration(); exp != nil {
		extras.OptionalExpirationTime = timestamppb.New(*exp)
	}
	return extras.MarshalVT()
}

func decodeRelationship(key, value []byte) (*relationship, error) {
	rowKey := string(key[1:])
	if !validRowKey(rowKey) {
		return nil, fmt.Errorf("malformed relationship key %q", key)
	}
	if len(value) == 0 {
		return rowFromKey(rowKey, nil, nil, nil), nil
	}
	extras := &core.RelationTuple{}
	if err := extras.UnmarshalVT(value); err != nil {
		return nil, fmt.Errorf("relationship %s: %w", rowFromKey(rowKey, nil, nil, nil), err)
	}
	caveat, integrity, expiration := rowExtrasFromCore(extras)
	return rowFromKey(rowKey, caveat, integrity, expiration), nil
}

// rowExtrasFromCore returns the caveat, integrity and expiration of a stored tuple.
func rowExtrasFromCore(rt *core.RelationTuple) (*contextualizedCaveat, *relationshipIntegrity, *time.Time) {
	var cv *contextualizedCaveat
	if c := rt.Caveat; c != nil {
		cv = &contextualizedCaveat{caveatName: c.CaveatName, context: c.Context.AsMap()}
	}
	var ri *relationshipIntegrity
	if ig := rt.Integrity; ig != nil {
		ri = &relationshipIntegrity{keyID: ig.KeyId, hash: ig.Hash, timestamp: ig.HashedAt.AsTime()}
	}
	var exp *time.Time
	if e := rt.OptionalExpirationTime; e != nil {
		t := e.AsTime()
		exp = &t
	}
	return cv, ri, exp
}

func putUint64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

func revisionedValue(rev datastore.Revision, data []byte) []byte {
	return append(putUint64(make([]byte, 0, 8+len(data)), uint64(revisionFromAny(rev))), data...)
}

func splitRevisioned(v []byte) (datastore.Revision, []byte, error) {
	if len(v) < 8 {
		return nil, nil, errors.New("value too short")
	}
	rev := int64(binary.BigEndian.Uint64(v[:8]))
	var r datastore.Revision = datastore.NoRevision
	if rev != 0 {
		r = revision(rev)
	}
	return r, bytes.Clone(v[8:]), nil
}

func counterValue(c *counter) []byte {
	b := putUint64(make([]byte, 0, 16+len(c.filterBytes)), uint64(int64(c.count)))
	b = putUint64(b, uint64(revisionFromAny(c.updated)))
	return append(b, c.filterBytes...)
}

// storedForm returns the storage key and value of a row of one of the go-memdb
// tables (not relationships, not the changelog); ok is false for other tables.
func storedForm(table string, obj any) (key, value []byte, ok bool) {
	switch table {
	case tableNamespace:
		ns := obj.(*namespace)
		return namedKey(kindNamespace, ns.name), revisionedValue(ns.updated, ns.configBytes), true
	case tableCaveats:
		c := obj.(*caveat)
		return namedKey(kindCaveat, c.name), revisionedValue(c.revision, c.definition), true
	case tableCounters:
		c := obj.(*counter)
		return namedKey(kindCounter, c.name), counterValue(c), true
	case tableSchema:
		s := obj.(*schemaData)
		return namedKey(kindSchema, s.name), s.data, true
	case tableSchemaRevision:
		s := obj.(*schemaRevisionData)
		return namedKey(kindSchemaRevision, s.name), s.hash, true
	default:
		return nil, nil, false
	}
}

// stageChange adds one object change (before/after; nil after means deleted) to the
// storage batch.
func stageChange(batch *pebble.Batch, table string, before, after any) error {
	obj := after
	if obj == nil {
		obj = before
	}
	var key, value []byte
	if table == tableRelationship {
		key = relationshipKey(obj.(*relationship))
		if after != nil {
			v, err := relationshipValue(after.(*relationship))
			if err != nil {
				return err
			}
			value = v
		}
	} else {
		var ok bool
		if key, value, ok = storedForm(table, obj); !ok {
			return nil // changelog entries are staged by commitLocked
		}
	}
	if after == nil {
		return batch.Delete(key, nil)
	}
	return batch.Set(key, value, nil)
}

// loadedState is what Open rebuilds from storage.
type loadedState struct {
	db       *memdb.MemDB
	rels     *relTrees
	rows     []*relationship // relationships in storage (resource) order
	head     revision
	uniqueID string
	// storeUniqueID is set when uniqueID is new and must be stored.
	storeUniqueID bool

	// changelogCutoff is the start of the GC window at load: older changelog
	// entries are not loaded (and are deleted from storage after the load).
	changelogCutoff  revision
	changelogEntries int
	changelogExpired int
	// changelogFrom is the revision after which the stored changelog is complete.
	changelogFrom    revision
	hasChangelogFrom bool
	// schemaUndo holds, per loaded entry that changed the schema (ascending), the
	// stored form of the schema rows before it.
	schemaUndo []schemaUndo
	// schemaHistory is built from schemaUndo after the load.
	schemaHistory []schemaVersion
	// changelog decodes the changelog entries found while the load reads on.
	changelog *changelogDecoder
}

// loadState reads every stored object back into memory, including the changelog
// entries at or after changelogCutoff.
func loadState(ctx context.Context, store *pebble.DB, changelogCutoff revision) (*loadedState, error) {
	db, err := memdb.NewMemDB(dbSchema)
	if err != nil {
		return nil, err
	}
	state := &loadedState{db: db, rels: newRelTrees(), changelogCutoff: changelogCutoff}

	iter, err := store.NewIterWithContext(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer iter.Close()

	tx := db.Txn(true)
	defer tx.Abort()

	state.changelog = startChangelogDecoder()
	scanErr := func() error {
		for valid := iter.First(); valid; {
			key, value := iter.Key(), iter.Value()
			if len(key) > 0 && isRecordKind(key[0]) {
				// Records stay on disk (see records.go): skip the whole kind in one seek.
				valid = iter.SeekGE([]byte{key[0] + 1})
				continue
			}
			if len(key) > 0 {
				if err := loadObject(tx, state, key, value); err != nil {
					return err
				}
			}
			valid = iter.Next()
		}
		return iter.Error()
	}()
	// The entries queued were read before anything the scan failed on: their own
	// failure comes first, as in a load one object at a time.
	if err := state.changelog.finish(tx, state); err != nil {
		return nil, err
	}
	if scanErr != nil {
		return nil, scanErr
	}

	state.rels.load(state.rows)
	state.rows = nil

	if state.uniqueID == "" {
		state.uniqueID = uuid.NewString()
		state.storeUniqueID = true
	}
	if !state.hasChangelogFrom {
		// A new directory (head 0), or one written before the changelog was stored:
		// the stored changelog is complete from the current head on.
		state.changelogFrom = state.head
	}
	tx.Commit()
	if err := buildSchemaHistory(state); err != nil {
		return nil, fmt.Errorf("rebuilding schema history: %w", err)
	}
	return state, nil
}

// storeLoadState makes the writes the load decided on, once the store is open for
// writing (the load itself may run on a read-only store, see Open).
func storeLoadState(store *pebble.DB, state *loadedState) error {
	if state.storeUniqueID {
		if err := store.Set(metaUniqueIDKey, []byte(state.uniqueID), pebble.Sync); err != nil {
			return fmt.Errorf("storing unique id: %w", err)
		}
	}
	if !state.hasChangelogFrom {
		if err := store.Set(metaChangelogFromKey, headValue(state.head), pebble.Sync); err != nil {
			return fmt.Errorf("storing changelog start: %w", err)
		}
	}
	if state.changelogExpired > 0 {
		// Entries older than the window are never loaded again; drop them now so the
		// directory stays proportional to the window even if GC never runs. Not
		// synced: a crash only leaves them for the next Open or GC.
		if err := store.DeleteRange(changelogKeyFloor, changelogKey(int64(state.changelogCutoff)), pebble.NoSync); err != nil {
			return fmt.Errorf("deleting expired changelog entries: %w", err)
		}
	}
	return nil
}

func loadObject(tx *memdb.Txn, state *loadedState, key, value []byte) error {
	name := string(key[1:])
	switch key[0] {
	case kindRelationship:
		r, err := decodeRelationship(key, value)
		if err != nil {
			return err
		}
		state.rows = append(state.rows, r)
		return nil
	case kindNamespace:
		rev, data, err := splitRevisioned(value)
		if err != nil {
			return fmt.Errorf("namespace %q: %w", name, err)
		}
		return tx.Insert(tableNamespace, &namespace{name: name, configBytes: data, updated: rev})
	case kindCaveat:
		rev, data, err := splitRevisioned(value)
		if err != nil {
			return fmt.Errorf("caveat %q: %w", name, err)
		}
		return tx.Insert(tableCaveats, &caveat{name: name, definition: data, revision: rev})
	case kindCounter:
		if len(value) < 16 {
			return fmt.Errorf("counter %q: value too short", name)
		}
		rev, filter, err := splitRevisioned(value[8:])
		if err != nil {
			return fmt.Errorf("counter %q: %w", name, err)
		}
		count := int(int64(binary.BigEndian.Uint64(value[:8])))
		return tx.Insert(tableCounters, &counter{name: name, filterBytes: filter, count: count, updated: rev})
	case kindSchema:
		return tx.Insert(tableSchema, &schemaData{name: name, data: bytes.Clone(value)})
	case kindSchemaRevision:
		return tx.Insert(tableSchemaRevision, &schemaRevisionData{name: name, hash: bytes.Clone(value)})
	case kindChangelog:
		return loadChangelogEntry(state, key, value)
	case kindMeta:
		switch {
		case bytes.Equal(key, metaHeadKey):
			if len(value) != 8 {
				return errors.New("malformed head revision")
			}
			state.head = revision(int64(binary.BigEndian.Uint64(value)))
		case bytes.Equal(key, metaUniqueIDKey):
			state.uniqueID = string(value)
		case bytes.Equal(key, metaChangelogFromKey):
			if len(value) != 8 {
				return errors.New("malformed changelog start revision")
			}
			state.changelogFrom = revision(int64(binary.BigEndian.Uint64(value)))
			state.hasChangelogFrom = true
		}
		return nil
	default:
		return fmt.Errorf("unknown stored key kind %q", key[0])
	}
}

func headValue(rev revision) []byte { return putUint64(nil, uint64(rev)) }
