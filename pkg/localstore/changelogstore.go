package localstore

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/cockroachdb/pebble/v2"
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
	cc, err := r.caveat().contextualizedCaveat()
	if err != nil {
		return nil, fmt.Errorf("relationship %s caveat: %w", r, err)
	}
	f := r.fields()
	rt := &core.RelationTuple{
		ResourceAndRelation: &core.ObjectAndRelation{Namespace: f[0], ObjectId: f[1], Relation: f[2]},
		Subject:             &core.ObjectAndRelation{Namespace: f[3], ObjectId: f[4], Relation: f[5]},
		Caveat:              cc,
	}
	if ri := r.integrity(); ri != nil {
		rt.Integrity = ri.relationshipIntegrity()
	}
	if exp := r.expiration(); exp != nil {
		rt.OptionalExpirationTime = timestamppb.New(*exp)
	}
	return rt, nil
}

// rowFromCoreTuple is the inverse of rowToCoreTuple.
func rowFromCoreTuple(rt *core.RelationTuple) (*relationship, error) {
	res, sub := rt.GetResourceAndRelation(), rt.GetSubject()
	if res == nil || sub == nil {
		return nil, fmt.Errorf("relationship without resource or subject")
	}
	caveat, integrity, expiration := rowExtrasFromCore(rt)
	return newRow(res.Namespace, res.ObjectId, res.Relation, sub.Namespace, sub.ObjectId, sub.Relation, caveat, integrity, expiration), nil
}

// encodeChangelog returns the stored form of a changelog entry: the JSON of its
// changelogRecord. The relationships, which are most of a large entry, are encoded
// apart from the rest (see appendRelChanges) and spliced in where json.Marshal puts
// them; TestChangelogEncodingIsTheRecordsJSON holds the two byte for byte.
func encodeChangelog(entry *changelog, rels []relChange, schemaBefore []storedRow) ([]byte, error) {
	rec := changelogRecord{
		Version:      changelogRecordVersion,
		Revision:     entry.revisionNanos,
		SchemaBefore: schemaBefore,
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
	rest, err := json.Marshal(&rec)
	if err != nil || len(rels) == 0 {
		return rest, err
	}
	// Relationships is the field after Revision: the record is its head, the field,
	// and the rest of the record without it.
	head := fmt.Appendf(nil, `{"v":%d,"revision":%d`, rec.Version, rec.Revision)
	if !bytes.HasPrefix(rest, head) {
		return nil, fmt.Errorf("changelog record starts %.40q, not %q", rest, head)
	}
	out := make([]byte, 0, len(rest)+len(`,"relationships":[]`)+encodedRelChangesSize(rels))
	out = append(out, head...)
	out = append(out, `,"relationships":`...)
	out, err = appendRelChanges(out, rels)
	if err != nil {
		return nil, err
	}
	return append(out, rest[len(head):]...), nil
}

// relChangesPerEncoder is the least number of relationship changes worth another
// goroutine when a changelog entry is encoded: an import's commit encodes 100,000 while
// every other core is idle.
const relChangesPerEncoder = 8192

// encodedRelChangesSize estimates the JSON size of rels, for one allocation.
func encodedRelChangesSize(rels []relChange) int {
	// base64 of a message a little longer than the row's key, quotes and a comma.
	return len(rels) * (base64.StdEncoding.EncodedLen(len(rels[0].row.key())+24) + 3)
}

// appendRelChanges appends the JSON array of rels' core.RelationTupleUpdate messages,
// each as base64 of its protobuf bytes: what json.Marshal makes of a [][]byte. Large
// arrays are encoded in parts on all cores.
func appendRelChanges(out []byte, rels []relChange) ([]byte, error) {
	parts := min(runtime.GOMAXPROCS(0), len(rels)/relChangesPerEncoder)
	out = append(out, '[')
	if parts <= 1 {
		var err error
		if out, err = appendRelChangeItems(out, rels); err != nil {
			return nil, err
		}
		return append(out, ']'), nil
	}
	encoded := make([][]byte, parts)
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for i := range parts {
		part := rels[i*len(rels)/parts : (i+1)*len(rels)/parts]
		wg.Go(func() {
			encoded[i], errs[i] = appendRelChangeItems(make([]byte, 0, encodedRelChangesSize(part)), part)
		})
	}
	wg.Wait()
	for i, b := range encoded {
		if errs[i] != nil {
			return nil, errs[i]
		}
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, b...)
	}
	return append(out, ']'), nil
}

// appendRelChangeItems appends rels as comma-separated JSON strings of base64 protobuf.
func appendRelChangeItems(out []byte, rels []relChange) ([]byte, error) {
	var msg []byte
	for i, rc := range rels {
		rt, err := rowToCoreTuple(rc.row)
		if err != nil {
			return nil, err
		}
		op := core.RelationTupleUpdate_TOUCH
		if rc.deleted {
			op = core.RelationTupleUpdate_DELETE
		}
		upd := &core.RelationTupleUpdate{Operation: op, Tuple: rt}
		msg = slices.Grow(msg[:0], upd.SizeVT())[:upd.SizeVT()]
		n, err := upd.MarshalToSizedBufferVT(msg)
		if err != nil {
			return nil, fmt.Errorf("relationship %s: %w", rc.row, err)
		}
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, '"')
		out = base64.StdEncoding.AppendEncode(out, msg[len(msg)-n:])
		out = append(out, '"')
	}
	return out, nil
}

// decodeChangelog is the inverse of encodeChangelog. It also returns the schema
// pre-images. Every relationship change is decoded and checked; the rows are
// returned only if keepRels is set.
func decodeChangelog(rev int64, value []byte, keepRels bool) (*changelog, []relChange, []storedRow, error) {
	var rec changelogRecord
	if err := json.Unmarshal(value, &rec); err != nil {
		return nil, nil, nil, err
	}
	if rec.Version != changelogRecordVersion {
		return nil, nil, nil, fmt.Errorf("unsupported changelog record version %d", rec.Version)
	}
	if rec.Revision != rev {
		return nil, nil, nil, fmt.Errorf("record revision %d under key revision %d", rec.Revision, rev)
	}
	entry := &changelog{revisionNanos: rev, relChanges: len(rec.Relationships)}
	var rels []relChange
	if keepRels && len(rec.Relationships) > 0 {
		rels = make([]relChange, 0, len(rec.Relationships))
	}
	for _, b := range rec.Relationships {
		var upd core.RelationTupleUpdate
		if err := upd.UnmarshalVT(b); err != nil {
			return nil, nil, nil, err
		}
		if upd.Operation != core.RelationTupleUpdate_TOUCH && upd.Operation != core.RelationTupleUpdate_DELETE {
			return nil, nil, nil, fmt.Errorf("unexpected relationship operation %v", upd.Operation)
		}
		if upd.Tuple.GetResourceAndRelation() == nil || upd.Tuple.GetSubject() == nil {
			return nil, nil, nil, fmt.Errorf("relationship without resource or subject")
		}
		if !keepRels {
			continue
		}
		row, err := rowFromCoreTuple(upd.Tuple)
		if err != nil {
			return nil, nil, nil, err
		}
		rels = append(rels, relChange{row: row, deleted: upd.Operation == core.RelationTupleUpdate_DELETE})
	}

	cs := newChangeSet()
	for _, b := range rec.ChangedNamespaces {
		def := &core.NamespaceDefinition{}
		if err := def.UnmarshalVT(b); err != nil {
			return nil, nil, nil, err
		}
		cs.addChangedNamespace(def)
	}
	for _, b := range rec.ChangedCaveats {
		def := &core.CaveatDefinition{}
		if err := def.UnmarshalVT(b); err != nil {
			return nil, nil, nil, err
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
			return nil, nil, nil, err
		}
		cs.metadata = md
	}
	if !cs.empty() {
		entry.schema = cs
	}
	return entry, rels, rec.SchemaBefore, nil
}

// loadChangelogEntry queues one stored entry for the load's decoder (which restores it
// into the changelog table when the scan ends), skipping (and counting) entries older
// than the GC window.
func loadChangelogEntry(state *loadedState, key, value []byte) error {
	rev, err := changelogKeyRevision(key)
	if err != nil {
		return err
	}
	if revision(rev) < state.changelogCutoff {
		state.changelogExpired++
		return nil
	}
	state.changelog.queue(rev, value)
	return nil
}

// changelogDecoder decodes and checks the changelog entries a load finds on every core
// while the load reads on: decoding every relationship change of the entries inside
// the GC window was a third of a restart after an import.
type changelogDecoder struct {
	entries []*queuedChangelog // in storage (revision) order
	work    chan *queuedChangelog
	workers sync.WaitGroup
}

// queuedChangelog is one entry, decoded by a worker.
type queuedChangelog struct {
	rev          int64
	value        []byte
	entry        *changelog
	schemaBefore []storedRow
	err          error
}

func startChangelogDecoder() *changelogDecoder {
	d := &changelogDecoder{work: make(chan *queuedChangelog, 4)}
	for range runtime.GOMAXPROCS(0) {
		d.workers.Go(func() {
			for e := range d.work {
				e.decode()
			}
		})
	}
	return d
}

// queue hands an entry to the workers; value is copied, since the load's iterator
// reuses it.
func (d *changelogDecoder) queue(rev int64, value []byte) {
	e := &queuedChangelog{rev: rev, value: bytes.Clone(value)}
	d.entries = append(d.entries, e)
	d.work <- e
}

// finish waits for the workers and loads the entries in order; the first that failed
// to decode fails the load.
func (d *changelogDecoder) finish(tx *memdb.Txn, state *loadedState) error {
	close(d.work)
	d.workers.Wait()
	for _, e := range d.entries {
		if err := e.load(tx, state); err != nil {
			return err
		}
	}
	d.entries = nil
	return nil
}

// decode decodes the entry; a panic on damaged bytes becomes its error, since a worker
// runs beyond the load's own recovery.
func (e *queuedChangelog) decode() {
	defer func() {
		if r := recover(); r != nil {
			e.err = fmt.Errorf("decoding failed: %v", r)
		}
		e.value = nil
	}()
	e.entry, _, e.schemaBefore, e.err = decodeChangelog(e.rev, e.value, false)
}

func (e *queuedChangelog) load(tx *memdb.Txn, state *loadedState) error {
	if e.err != nil {
		return fmt.Errorf("changelog entry at revision %d: %w", e.rev, e.err)
	}
	if len(e.schemaBefore) > 0 {
		state.schemaUndo = append(state.schemaUndo, schemaUndo{revision: revision(e.rev), before: e.schemaBefore})
	}
	state.changelogEntries++
	return tx.Insert(tableChangelog, e.entry)
}

// storedRelChanges reads the relationship changes of the changelog entry at rev
// back from storage, or from memory for the last few revisions. found is false if the
// entry is no longer stored (collected after the caller read the changelog).
func (ds *Datastore) storedRelChanges(rev int64) (rels []relChange, found bool, err error) {
	ds.mu.RLock()
	if ds.db == nil {
		ds.mu.RUnlock()
		return nil, false, ErrClosed
	}
	if rels, ok := ds.recent.get(rev); ok {
		ds.mu.RUnlock()
		return rels, true, nil
	}
	return ds.readRelChangesRLocked(rev)
}

// readRelChangesRLocked reads and decodes the relationship changes of the changelog entry
// at rev from storage; it is called with ds.mu read-locked and unlocks it.
func (ds *Datastore) readRelChangesRLocked(rev int64) (rels []relChange, found bool, err error) {
	v, closer, err := ds.store.Get(changelogKey(rev))
	if errors.Is(err, pebble.ErrNotFound) {
		ds.mu.RUnlock()
		return nil, false, nil
	}
	if err != nil {
		ds.mu.RUnlock()
		return nil, false, fmt.Errorf("reading changelog entry at revision %d: %w", rev, err)
	}
	value := bytes.Clone(v)
	closer.Close()
	ds.mu.RUnlock()

	_, rels, _, err = decodeChangelog(rev, value, true)
	if err != nil {
		return nil, false, fmt.Errorf("changelog entry at revision %d: %w", rev, err)
	}
	return rels, true, nil
}

// recentRevisions is how many of the newest revisions keep their relationship changes in
// memory: enough for watchers that follow the head (the audit log, the case reachability
// index) to skip reading and decoding them back, which was a tenth of an import's CPU.
const recentRevisions = 8

// recentChanges holds the relationship changes of the last recentRevisions commits, as
// they were committed. The rows are the stored, immutable ones; the slices are never
// written after they are put.
type recentChanges struct {
	revs [recentRevisions]int64
	rels [recentRevisions][]relChange
	next int
}

func (r *recentChanges) put(rev int64, rels []relChange) {
	r.revs[r.next], r.rels[r.next] = rev, rels
	r.next = (r.next + 1) % recentRevisions
}

// forgetBefore drops the revisions before end.
func (r *recentChanges) forgetBefore(end int64) {
	for i, have := range r.revs {
		if have < end {
			r.revs[i], r.rels[i] = 0, nil
		}
	}
}

func (r *recentChanges) get(rev int64) ([]relChange, bool) {
	for i, have := range r.revs {
		if have == rev && have != 0 {
			return r.rels[i], true
		}
	}
	return nil, false
}
