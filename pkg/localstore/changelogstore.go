package localstore

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/hashicorp/go-memdb"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	core "github.com/authzed/spicedb/pkg/proto/core/v1"
)

// Durable Watch changelog.
//
// Each committed transaction's changelog entry is written in the transaction's own
// storage batch under kindChangelog + big-endian revision, so entries sort by
// revision and an entry is durable exactly when its transaction is. The value is the
// JSON form of changelogRecord; the relationship updates, definitions and metadata
// inside it are SpiceDB's own protobuf messages (core.RelationTupleUpdate,
// core.NamespaceDefinition, core.CaveatDefinition, structpb.Struct), carried as
// base64 protobuf bytes.

// changelogRecordVersion is the format version written in every record.
const changelogRecordVersion = 1

// changelogRecord is the stored form of one changelog entry.
type changelogRecord struct {
	Version  int   `json:"v"`
	Revision int64 `json:"revision"`
	// Relationships holds one core.RelationTupleUpdate (TOUCH or DELETE, with
	// caveat, integrity and expiration) per changed relationship, in Watch order.
	Relationships [][]byte `json:"relationships,omitempty"`
	// ChangedNamespaces and ChangedCaveats hold core.NamespaceDefinition and
	// core.CaveatDefinition messages.
	ChangedNamespaces [][]byte `json:"changed_namespaces,omitempty"`
	ChangedCaveats    [][]byte `json:"changed_caveats,omitempty"`
	DeletedNamespaces []string `json:"deleted_namespaces,omitempty"`
	DeletedCaveats    []string `json:"deleted_caveats,omitempty"`
	// Metadata is the transaction metadata (structpb.Struct), if any.
	Metadata []byte `json:"metadata,omitempty"`
	// SchemaBefore holds, for every namespace, caveat, stored-schema and
	// schema-hash row the transaction changed, the row's storage key and its stored
	// value before the transaction (absent: it did not exist). Not part of Watch:
	// Open uses it to rebuild the schema at revisions before the restart.
	SchemaBefore []storedRow `json:"schema_before,omitempty"`
}

// storedRow is one row in its storage form (see persist.go).
type storedRow struct {
	Key    []byte `json:"key"`
	Value  []byte `json:"value,omitempty"`
	Absent bool   `json:"absent,omitempty"`
}

// schemaUndo is the stored pre-image of the schema rows one entry changed.
type schemaUndo struct {
	revision revision
	before   []storedRow
}

// schemaVersion is the schema (namespace, caveat, stored-schema tables) in force
// at revisions before `until` (and at or after the previous version's until).
type schemaVersion struct {
	until revision
	db    *memdb.MemDB
}

// isSchemaTable reports whether a go-memdb table is part of the schema.
func isSchemaTable(table string) bool {
	switch table {
	case tableNamespace, tableCaveats, tableSchema, tableSchemaRevision:
		return true
	}
	return false
}

// schemaBeforeImage returns the pre-image of one schema-table change, or false if
// the row neither existed before nor after.
func schemaBeforeImage(table string, before, after any) (storedRow, bool) {
	if before != nil {
		key, value, _ := storedForm(table, before)
		return storedRow{Key: key, Value: value}, true
	}
	if after != nil {
		key, _, _ := storedForm(table, after)
		return storedRow{Key: key, Absent: true}, true
	}
	return storedRow{}, false
}

// buildSchemaHistory rebuilds the schema in force before each loaded entry that
// changed it, newest first, by undoing the entries' changes from the restored
// state. Only schema tables are touched; the results are private copies.
func buildSchemaHistory(state *loadedState) error {
	if len(state.schemaUndo) == 0 {
		return nil
	}
	cur := state.db.Snapshot()
	history := make([]schemaVersion, len(state.schemaUndo))
	for i := len(state.schemaUndo) - 1; i >= 0; i-- {
		undo := state.schemaUndo[i]
		tx := cur.Txn(true)
		// Rows are unique per entry (go-memdb de-duplicates changes); undo in
		// reverse order regardless.
		for j := len(undo.before) - 1; j >= 0; j-- {
			if err := restoreSchemaRow(tx, undo.before[j]); err != nil {
				tx.Abort()
				return fmt.Errorf("revision %d: %w", undo.revision, err)
			}
		}
		tx.Commit()
		history[i] = schemaVersion{until: undo.revision, db: cur.Snapshot()}
	}
	state.schemaHistory = history
	state.schemaUndo = nil
	return nil
}

func restoreSchemaRow(tx *memdb.Txn, row storedRow) error {
	if len(row.Key) == 0 {
		return fmt.Errorf("empty schema row key")
	}
	var table string
	switch row.Key[0] {
	case kindNamespace:
		table = tableNamespace
	case kindCaveat:
		table = tableCaveats
	case kindSchema:
		table = tableSchema
	case kindSchemaRevision:
		table = tableSchemaRevision
	default:
		return fmt.Errorf("unexpected schema row kind %q", row.Key[0])
	}
	if !row.Absent {
		return loadObject(tx, nil, row.Key, row.Value)
	}
	existing, err := tx.First(table, indexID, string(row.Key[1:]))
	if err != nil || existing == nil {
		return err
	}
	return tx.Delete(table, existing)
}

func changelogKey(rev int64) []byte {
	return binary.BigEndian.AppendUint64([]byte{kindChangelog}, uint64(rev))
}

// changelogKeyRevision returns the revision of a changelog key.
func changelogKeyRevision(key []byte) (int64, error) {
	if len(key) != 9 || key[0] != kindChangelog {
		return 0, fmt.Errorf("malformed changelog key %q", key)
	}
	return int64(binary.BigEndian.Uint64(key[1:])), nil
}

// changelogKeyFloor is the smallest changelog key (revisions are positive).
var changelogKeyFloor = []byte{kindChangelog}

// rowToCoreTuple converts a relationship row to SpiceDB's stored tuple form.
func rowToCoreTuple(r *relationship) (*core.RelationTuple, error) {
	cc, err := r.caveat.contextualizedCaveat()
	if err != nil {
		return nil, fmt.Errorf("relationship %s caveat: %w", r, err)
	}
	rt := &core.RelationTuple{
		ResourceAndRelation: &core.ObjectAndRelation{Namespace: r.namespace, ObjectId: r.resourceID, Relation: r.relation},
		Subject:             &core.ObjectAndRelation{Namespace: r.subjectNamespace, ObjectId: r.subjectObjectID, Relation: r.subjectRelation},
		Caveat:              cc,
	}
	if r.integrity != nil {
		rt.Integrity = r.integrity.relationshipIntegrity()
	}
	if r.expiration != nil {
		rt.OptionalExpirationTime = timestamppb.New(*r.expiration)
	}
	return rt, nil
}

// rowFromCoreTuple is the inverse of rowToCoreTuple.
func rowFromCoreTuple(rt *core.RelationTuple) (*relationship, error) {
	res, sub := rt.GetResourceAndRelation(), rt.GetSubject()
	if res == nil || sub == nil {
		return nil, fmt.Errorf("relationship without resource or subject")
	}
	r := &relationship{
		namespace:        res.Namespace,
		resourceID:       res.ObjectId,
		relation:         res.Relation,
		subjectNamespace: sub.Namespace,
		subjectObjectID:  sub.ObjectId,
		subjectRelation:  sub.Relation,
	}
	if c := rt.Caveat; c != nil {
		r.caveat = &contextualizedCaveat{caveatName: c.CaveatName, context: c.Context.AsMap()}
	}
	if ig := rt.Integrity; ig != nil {
		r.integrity = &relationshipIntegrity{keyID: ig.KeyId, hash: ig.Hash, timestamp: ig.HashedAt.AsTime()}
	}
	if exp := rt.OptionalExpirationTime; exp != nil {
		t := exp.AsTime()
		r.expiration = &t
	}
	return r, nil
}

// encodeChangelog returns the stored form of a changelog entry.
func encodeChangelog(entry *changelog, schemaBefore []storedRow) ([]byte, error) {
	rec := changelogRecord{
		Version:      changelogRecordVersion,
		Revision:     entry.revisionNanos,
		SchemaBefore: schemaBefore,
	}
	if len(entry.rels) > 0 {
		rec.Relationships = make([][]byte, 0, len(entry.rels))
	}
	for _, rc := range entry.rels {
		rt, err := rowToCoreTuple(rc.row)
		if err != nil {
			return nil, err
		}
		op := core.RelationTupleUpdate_TOUCH
		if rc.deleted {
			op = core.RelationTupleUpdate_DELETE
		}
		b, err := (&core.RelationTupleUpdate{Operation: op, Tuple: rt}).MarshalVT()
		if err != nil {
			return nil, fmt.Errorf("relationship %s: %w", rc.row, err)
		}
		rec.Relationships = append(rec.Relationships, b)
	}
	if cs := entry.schema; cs != nil {
		for _, def := range cs.definitionsChanged {
			switch def := def.(type) {
			case *core.NamespaceDefinition:
				b, err := def.MarshalVT()
				if err != nil {
					return nil, fmt.Errorf("namespace %q: %w", def.Name, err)
				}
				rec.ChangedNamespaces = append(rec.ChangedNamespaces, b)
			case *core.CaveatDefinition:
				b, err := def.MarshalVT()
				if err != nil {
					return nil, fmt.Errorf("caveat %q: %w", def.Name, err)
				}
				rec.ChangedCaveats = append(rec.ChangedCaveats, b)
			default:
				return nil, fmt.Errorf("unexpected schema definition type %T", def)
			}
		}
		for name := range cs.namespacesDeleted {
			rec.DeletedNamespaces = append(rec.DeletedNamespaces, name)
		}
		for name := range cs.caveatsDeleted {
			rec.DeletedCaveats = append(rec.DeletedCaveats, name)
		}
		if cs.metadata != nil {
			b, err := proto.MarshalOptions{Deterministic: true}.Marshal(cs.metadata)
			if err != nil {
				return nil, fmt.Errorf("transaction metadata: %w", err)
			}
			rec.Metadata = b
		}
	}
	return json.Marshal(&rec)
}

// decodeChangelog is the inverse of encodeChangelog. It also returns the schema
// pre-images.
func decodeChangelog(rev int64, value []byte) (*changelog, []storedRow, error) {
	var rec changelogRecord
	if err := json.Unmarshal(value, &rec); err != nil {
		return nil, nil, err
	}
	if rec.Version != changelogRecordVersion {
		return nil, nil, fmt.Errorf("unsupported changelog record version %d", rec.Version)
	}
	if rec.Revision != rev {
		return nil, nil, fmt.Errorf("record revision %d under key revision %d", rec.Revision, rev)
	}
	entry := &changelog{revisionNanos: rev}
	if len(rec.Relationships) > 0 {
		entry.rels = make([]relChange, 0, len(rec.Relationships))
	}
	for _, b := range rec.Relationships {
		var upd core.RelationTupleUpdate
		if err := upd.UnmarshalVT(b); err != nil {
			return nil, nil, err
		}
		row, err := rowFromCoreTuple(upd.Tuple)
		if err != nil {
			return nil, nil, err
		}
		switch upd.Operation {
		case core.RelationTupleUpdate_TOUCH:
			entry.rels = append(entry.rels, relChange{row: row})
		case core.RelationTupleUpdate_DELETE:
			entry.rels = append(entry.rels, relChange{row: row, deleted: true})
		default:
			return nil, nil, fmt.Errorf("unexpected relationship operation %v", upd.Operation)
		}
	}

	cs := newChangeSet()
	for _, b := range rec.ChangedNamespaces {
		def := &core.NamespaceDefinition{}
		if err := def.UnmarshalVT(b); err != nil {
			return nil, nil, err
		}
		cs.addChangedNamespace(def)
	}
	for _, b := range rec.ChangedCaveats {
		def := &core.CaveatDefinition{}
		if err := def.UnmarshalVT(b); err != nil {
			return nil, nil, err
		}
		cs.addChangedCaveat(def)
	}
	for _, name := range rec.DeletedNamespaces {
		cs.addDeletedNamespace(name)
	}
	for _, name := range rec.DeletedCaveats {
		cs.addDeletedCaveat(name)
	}
	if rec.Metadata != nil {
		md := &structpb.Struct{}
		if err := proto.Unmarshal(rec.Metadata, md); err != nil {
			return nil, nil, err
		}
		cs.metadata = md
	}
	if !cs.empty() {
		entry.schema = cs
	}
	return entry, rec.SchemaBefore, nil
}

// loadChangelogEntry restores one stored entry into the changelog table, skipping
// (and counting) entries older than the GC window.
func loadChangelogEntry(tx *memdb.Txn, state *loadedState, key, value []byte) error {
	rev, err := changelogKeyRevision(key)
	if err != nil {
		return err
	}
	if revision(rev) < state.changelogCutoff {
		state.changelogExpired++
		return nil
	}
	entry, schemaBefore, err := decodeChangelog(rev, value)
	if err != nil {
		return fmt.Errorf("changelog entry at revision %d: %w", rev, err)
	}
	if len(schemaBefore) > 0 {
		state.schemaUndo = append(state.schemaUndo, schemaUndo{revision: revision(rev), before: schemaBefore})
	}
	state.changelogEntries++
	state.loadedEntries = append(state.loadedEntries, entry)
	return tx.Insert(tableChangelog, entry)
}

// shareLoadedRows points loaded changelog rows at the identical live rows of the
// restored trees, so history costs a pointer per change after a restart as before.
// Entries are not yet published, so they may still be modified.
func shareLoadedRows(state *loadedState) {
	for _, entry := range state.loadedEntries {
		for i := range entry.rels {
			rc := &entry.rels[i]
			if rc.deleted {
				continue
			}
			if live := state.rels.get(rc.row); live != nil && sameRow(live, rc.row) {
				rc.row = live
			}
		}
	}
	state.loadedEntries = nil
}

// sameRow reports whether two rows with the same key also carry the same caveat,
// integrity and expiration.
func sameRow(a, b *relationship) bool {
	switch {
	case (a.caveat == nil) != (b.caveat == nil),
		(a.integrity == nil) != (b.integrity == nil),
		(a.expiration == nil) != (b.expiration == nil):
		return false
	}
	if a.caveat != nil && (a.caveat.caveatName != b.caveat.caveatName || !reflect.DeepEqual(a.caveat.context, b.caveat.context)) {
		return false
	}
	if a.integrity != nil && (a.integrity.keyID != b.integrity.keyID || !bytes.Equal(a.integrity.hash, b.integrity.hash) ||
		!a.integrity.timestamp.Equal(b.integrity.timestamp)) {
		return false
	}
	return a.expiration == nil || a.expiration.Equal(*b.expiration)
}
