package localstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"

	"github.com/cockroachdb/pebble/v2"
)

// Records are an append-only sequence of opaque values kept in the store beside the
// relationships: the server's durable audit log on the local datastore lives here. They are
// numbered from 1 without gaps, each has a unique id (an audit entry's revision), the
// garbage collector never removes them, Open does not load them into memory, and backups
// carry them. Only TrimRecords removes any: the oldest, replaced by a base (named values
// that stand for what they held) in the same write. Nothing else reads or changes them.
const (
	kindRecord     = 'a' // big-endian seq -> value
	kindRecordID   = 'A' // id -> big-endian seq
	kindRecordMeta = 'b' // name -> value
	kindRecordBase = 'B' // key -> value, set by TrimRecords
)

// Record is one stored record.
type Record struct {
	Seq   uint64
	ID    string
	Value []byte
}

func recordKey(seq uint64) []byte { return binary.BigEndian.AppendUint64([]byte{kindRecord}, seq) }

func recordIDKey(id string) []byte { return namedKey(kindRecordID, id) }

// isRecordKind reports whether a stored key kind belongs to the records, which Open skips.
func isRecordKind(kind byte) bool {
	return kind == kindRecord || kind == kindRecordID || kind == kindRecordMeta || kind == kindRecordBase
}

// recordValue is what a record's key holds: its id (length-prefixed), then the value, so a
// record read back names its id without a second lookup.
func recordValue(id string, value []byte) []byte {
	b := binary.AppendUvarint(nil, uint64(len(id)))
	return append(append(b, id...), value...)
}

func decodeRecord(key, value []byte) (Record, error) {
	if len(key) != 9 || key[0] != kindRecord {
		return Record{}, fmt.Errorf("localstore: malformed record key %x", key)
	}
	n, k := binary.Uvarint(value)
	if k <= 0 || uint64(len(value)-k) < n {
		return Record{}, fmt.Errorf("localstore: record %d: malformed value", binary.BigEndian.Uint64(key[1:]))
	}
	return Record{Seq: binary.BigEndian.Uint64(key[1:]), ID: string(value[k : k+int(n)]), Value: bytes.Clone(value[k+int(n):])}, nil
}

// AppendRecord appends a record with the given id unless one with that id exists, and waits
// until it is on stable storage. build gets the last record (nil for the first) and the new
// record's number and returns its value; appends are serialised, so build sees the true
// last record. It reports the record's number and whether it was added.
func (ds *Datastore) AppendRecord(id string, build func(last *Record, seq uint64) ([]byte, error)) (uint64, bool, error) {
	if id == "" {
		return 0, false, errors.New("localstore: a record needs an id")
	}
	ds.writeMu.Lock()
	defer ds.writeMu.Unlock()
	if !ds.isOpen() {
		return 0, false, ErrClosed
	}
	if seq, ok, err := ds.recordSeq(id); err != nil || ok {
		return seq, false, err
	}
	last, err := ds.lastRecord()
	if err != nil {
		return 0, false, err
	}
	seq := uint64(1)
	if last != nil {
		seq = last.Seq + 1
	}
	value, err := build(last, seq)
	if err != nil {
		return 0, false, err
	}
	if err := ds.checkFreeSpace("appending a record", len(value)+len(id)); err != nil {
		return 0, false, err
	}
	batch := ds.store.NewBatch()
	defer batch.Close()
	if err := batch.Set(recordKey(seq), recordValue(id, value), nil); err != nil {
		return 0, false, err
	}
	if err := batch.Set(recordIDKey(id), binary.BigEndian.AppendUint64(nil, seq), nil); err != nil {
		return 0, false, err
	}
	if err := ds.syncBatch(batch); err != nil {
		return 0, false, fmt.Errorf("localstore: appending record %d: %w", seq, describeOSError(err))
	}
	return seq, true, nil
}

// SettleRecords returns once no append is in progress: an append started before the call
// (and whatever it built, a time it took included) is then stored.
func (ds *Datastore) SettleRecords() error {
	ds.writeMu.Lock()
	defer ds.writeMu.Unlock()
	if !ds.isOpen() {
		return ErrClosed
	}
	return nil
}

// RecordSeq returns the number of the record with the given id, if there is one.
func (ds *Datastore) RecordSeq(id string) (uint64, bool, error) {
	ds.mu.RLock()
	defer ds.mu.RUnlock()
	if ds.db == nil {
		return 0, false, ErrClosed
	}
	return ds.recordSeq(id)
}

func (ds *Datastore) recordSeq(id string) (uint64, bool, error) {
	v, closer, err := ds.store.Get(recordIDKey(id))
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("localstore: reading record id %q: %w", id, err)
	}
	defer closer.Close()
	if len(v) != 8 {
		return 0, false, fmt.Errorf("localstore: record id %q: malformed number", id)
	}
	return binary.BigEndian.Uint64(v), true, nil
}

// LastRecord returns the newest record, or nil when there is none.
func (ds *Datastore) LastRecord() (*Record, error) {
	ds.mu.RLock()
	defer ds.mu.RUnlock()
	if ds.db == nil {
		return nil, ErrClosed
	}
	return ds.lastRecord()
}

func (ds *Datastore) lastRecord() (*Record, error) {
	it, err := ds.store.NewIter(&pebble.IterOptions{LowerBound: []byte{kindRecord}, UpperBound: []byte{kindRecord + 1}})
	if err != nil {
		return nil, fmt.Errorf("localstore: reading records: %w", err)
	}
	defer it.Close()
	if !it.Last() {
		return nil, it.Error()
	}
	r, err := decodeRecord(it.Key(), it.Value())
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// Records streams the records after number after, oldest first, a page at a time: the store
// is not held between pages, so writes go on while a long list is read.
func (ds *Datastore) Records(ctx context.Context, after uint64) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		const page = 500
		for {
			batch, err := ds.recordPage(after, page)
			if err == nil {
				err = ctx.Err()
			}
			if err != nil {
				yield(Record{}, err)
				return
			}
			for _, r := range batch {
				if !yield(r, nil) {
					return
				}
				after = r.Seq
			}
			if len(batch) < page {
				return
			}
		}
	}
}

func (ds *Datastore) recordPage(after uint64, limit int) ([]Record, error) {
	ds.mu.RLock()
	defer ds.mu.RUnlock()
	if ds.db == nil {
		return nil, ErrClosed
	}
	it, err := ds.store.NewIter(&pebble.IterOptions{LowerBound: recordKey(after + 1), UpperBound: []byte{kindRecord + 1}})
	if err != nil {
		return nil, fmt.Errorf("localstore: reading records: %w", err)
	}
	defer it.Close()
	var out []Record
	for valid := it.First(); valid && len(out) < limit; valid = it.Next() {
		r, err := decodeRecord(it.Key(), it.Value())
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, it.Error()
}

// RecordMeta returns a named value stored beside the records.
func (ds *Datastore) RecordMeta(name string) ([]byte, bool, error) {
	ds.mu.RLock()
	defer ds.mu.RUnlock()
	if ds.db == nil {
		return nil, false, ErrClosed
	}
	v, closer, err := ds.store.Get(namedKey(kindRecordMeta, name))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("localstore: reading %q: %w", name, err)
	}
	defer closer.Close()
	return bytes.Clone(v), true, nil
}

// SetRecordMetaOnce stores a named value beside the records unless one is stored already,
// and waits until it is on stable storage.
func (ds *Datastore) SetRecordMetaOnce(name string, value []byte) error {
	ds.writeMu.Lock()
	defer ds.writeMu.Unlock()
	if _, ok, err := ds.RecordMeta(name); err != nil || ok {
		return err
	}
	batch := ds.store.NewBatch()
	defer batch.Close()
	if err := batch.Set(namedKey(kindRecordMeta, name), value, nil); err != nil {
		return err
	}
	if err := ds.syncBatch(batch); err != nil {
		return fmt.Errorf("localstore: storing %q: %w", name, describeOSError(err))
	}
	return nil
}

// BaseValue is one value of the records' base.
type BaseValue struct {
	Key   string
	Value []byte
}

// RecordBase streams the base TrimRecords last stored, in key order (bytewise), a page at a
// time.
func (ds *Datastore) RecordBase(ctx context.Context) iter.Seq2[BaseValue, error] {
	return func(yield func(BaseValue, error) bool) {
		lower := []byte{kindRecordBase}
		const page = 1000
		for {
			batch, next, err := ds.basePage(lower, page)
			if err == nil {
				err = ctx.Err()
			}
			if err != nil {
				yield(BaseValue{}, err)
				return
			}
			for _, v := range batch {
				if !yield(v, nil) {
					return
				}
			}
			if next == nil {
				return
			}
			lower = next
		}
	}
}

// basePage reads up to limit base values from lower on, and the key to go on from (nil at
// the end).
func (ds *Datastore) basePage(lower []byte, limit int) ([]BaseValue, []byte, error) {
	ds.mu.RLock()
	defer ds.mu.RUnlock()
	if ds.db == nil {
		return nil, nil, ErrClosed
	}
	it, err := ds.store.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: []byte{kindRecordBase + 1}})
	if err != nil {
		return nil, nil, fmt.Errorf("localstore: reading the records' base: %w", err)
	}
	defer it.Close()
	var out []BaseValue
	for valid := it.First(); valid; valid = it.Next() {
		if len(out) == limit {
			return out, bytes.Clone(it.Key()), it.Error()
		}
		out = append(out, BaseValue{Key: string(it.Key()[1:]), Value: bytes.Clone(it.Value())})
	}
	return out, nil, it.Error()
}

// TrimRecords removes the records numbered up to upTo, replaces the base with the values
// base yields, and appends a record as AppendRecord does (id, build), with the named
// values build returns stored beside the records, all in one write that is on stable
// storage when it returns: a crash leaves either the records as they were or the trimmed
// ones with their base, never a gap. It reports the appended record's number.
func (ds *Datastore) TrimRecords(upTo uint64, base iter.Seq2[BaseValue, error], id string, build func(last *Record, seq uint64) ([]byte, map[string][]byte, error)) (uint64, error) {
	if id == "" {
		return 0, errors.New("localstore: a record needs an id")
	}
	ds.writeMu.Lock()
	defer ds.writeMu.Unlock()
	if !ds.isOpen() {
		return 0, ErrClosed
	}
	if _, ok, err := ds.recordSeq(id); err != nil || ok {
		if err == nil {
			err = fmt.Errorf("localstore: a record with id %q exists", id)
		}
		return 0, err
	}
	last, err := ds.lastRecord()
	if err != nil {
		return 0, err
	}
	if last == nil || upTo >= last.Seq+1 {
		return 0, fmt.Errorf("localstore: cannot trim records up to %d: the last is %d", upTo, lastSeq(last))
	}
	batch := ds.store.NewBatch()
	defer batch.Close()
	size := 0
	for r, err := range ds.Records(context.Background(), 0) {
		if err != nil {
			return 0, err
		}
		if r.Seq > upTo {
			break
		}
		if err := batch.Delete(recordKey(r.Seq), nil); err != nil {
			return 0, err
		}
		if err := batch.Delete(recordIDKey(r.ID), nil); err != nil {
			return 0, err
		}
	}
	if err := batch.DeleteRange([]byte{kindRecordBase}, []byte{kindRecordBase + 1}, nil); err != nil {
		return 0, err
	}
	for v, err := range base {
		if err != nil {
			return 0, err
		}
		size += len(v.Key) + len(v.Value)
		if err := batch.Set(namedKey(kindRecordBase, v.Key), v.Value, nil); err != nil {
			return 0, err
		}
	}
	seq := last.Seq + 1
	value, meta, err := build(last, seq)
	if err != nil {
		return 0, err
	}
	for name, v := range meta {
		size += len(name) + len(v)
		if err := batch.Set(namedKey(kindRecordMeta, name), v, nil); err != nil {
			return 0, err
		}
	}
	size += len(value) + len(id)
	if err := ds.checkFreeSpace("trimming records", size); err != nil {
		return 0, err
	}
	if err := batch.Set(recordKey(seq), recordValue(id, value), nil); err != nil {
		return 0, err
	}
	if err := batch.Set(recordIDKey(id), binary.BigEndian.AppendUint64(nil, seq), nil); err != nil {
		return 0, err
	}
	if err := ds.syncBatch(batch); err != nil {
		return 0, fmt.Errorf("localstore: trimming records up to %d: %w", upTo, describeOSError(err))
	}
	return seq, nil
}

func lastSeq(r *Record) uint64 {
	if r == nil {
		return 0
	}
	return r.Seq
}

// isOpen reports whether the store is open.
func (ds *Datastore) isOpen() bool {
	ds.mu.RLock()
	defer ds.mu.RUnlock()
	return ds.db != nil
}
