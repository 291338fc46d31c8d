// Adapted from authzed/spicedb@v1.57.1 internal/datastore/memdb/schema.go.
// Copyright Authzed, Inc. Licensed under the Apache License, Version 2.0.

package localstore

import (
	"math"
	"strings"
	"time"
	"unsafe"

	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	core "github.com/authzed/spicedb/pkg/proto/core/v1"
	"github.com/authzed/spicedb/pkg/tuple"
)

// relationship is one row of the relationship table. Rows are immutable once
// inserted: every index tree, every snapshot and the Watch changelog share them.
//
// A row is three words: its six key fields live in one string, each terminated by
// 0x00 (object ids, types and relations cannot contain it), which is also the row's
// storage key without the kind byte. Byte order of that string is the lexicographic
// order of the (resource type, id, relation, subject type, id, relation) tuple, so the
// resource order compares one string. The key is held as a pointer and a length, which
// leaves room in the same word for the offsets of the relation and the subject, so the
// other orders compare without scanning for separators (inserts and the sorts of a
// restart spent a third of their time in that scan); the other fields are found by
// scanning. The rare caveat, integrity and expiration sit behind one pointer that is
// nil for most rows.
type relationship struct {
	keyData *byte // the key's bytes: see key
	keyLen  uint32
	// relationAt and subjectAt are the key offsets of the relation and the subject type;
	// 0 (never a real offset) when the key is too long for them to fit.
	relationAt, subjectAt uint16
	extra                 *rowExtras
}

// rowExtras holds what few rows carry.
type rowExtras struct {
	caveat     *contextualizedCaveat
	integrity  *relationshipIntegrity
	expiration *time.Time
}

// newRow builds a row from its key fields and extras (nil pointers for none).
func newRow(namespace, resourceID, relation, subjectNamespace, subjectObjectID, subjectRelation string,
	caveat *contextualizedCaveat, integrity *relationshipIntegrity, expiration *time.Time,
) *relationship {
	fields := [6]string{namespace, resourceID, relation, subjectNamespace, subjectObjectID, subjectRelation}
	n := 0
	for _, f := range fields {
		n += len(f) + 1
	}
	// One allocation of exactly the key's size: no temporary copy is left behind
	// between the rows that are kept.
	var b strings.Builder
	b.Grow(n)
	for _, f := range fields {
		b.WriteString(f)
		b.WriteByte(0)
	}
	return rowFromKey(b.String(), caveat, integrity, expiration)
}

// rowFromKey builds a row around a key in row form (six fields, each terminated
// by 0x00).
func rowFromKey(key string, caveat *contextualizedCaveat, integrity *relationshipIntegrity, expiration *time.Time) *relationship {
	r := &relationship{keyData: unsafe.StringData(key), keyLen: uint32(len(key))} //nolint:gosec // keys are far below 4 GiB (validRowKey)
	rel := scanFields(key, 2)
	if rel <= math.MaxUint16 {
		r.relationAt = uint16(rel)
	}
	// The subject starts after the relation field: one more separator, not a new scan.
	if sub := rel + strings.IndexByte(key[rel:], 0) + 1; sub <= math.MaxUint16 {
		r.subjectAt = uint16(sub)
	}
	if caveat != nil || integrity != nil || expiration != nil {
		r.extra = &rowExtras{caveat: caveat, integrity: integrity, expiration: expiration}
	}
	return r
}

// maxRowKeyBytes bounds a stored key; SpiceDB's own limits on ids, types and
// relations keep real keys under a few kilobytes.
const maxRowKeyBytes = 1 << 20

// validRowKey reports whether key has exactly six fields, each terminated.
func validRowKey(key string) bool {
	return len(key) > 0 && len(key) <= maxRowKeyBytes && key[len(key)-1] == 0 && strings.Count(key, "\x00") == 6
}

// key is the row's key: six fields, each terminated by 0x00.
func (r *relationship) key() string { return unsafe.String(r.keyData, r.keyLen) }

// scanFields returns the offset in key of field i, by scanning for separators.
func scanFields(key string, i int) int {
	n := 0
	for ; i > 0; i-- {
		n += strings.IndexByte(key[n:], 0) + 1
	}
	return n
}

// field returns the i-th key field (0: resource type ... 5: subject relation).
func (r *relationship) field(i int) string {
	s := r.key()
	switch {
	case i >= 3:
		s, i = s[r.subjectStart():], i-3
	case i == 2:
		s, i = s[r.relationStart():], 0
	}
	for ; i > 0; i-- {
		s = s[strings.IndexByte(s, 0)+1:]
	}
	return s[:strings.IndexByte(s, 0)]
}

func (r *relationship) namespace() string        { return r.field(0) }
func (r *relationship) resourceID() string       { return r.field(1) }
func (r *relationship) relation() string         { return r.field(2) }
func (r *relationship) subjectNamespace() string { return r.field(3) }
func (r *relationship) subjectObjectID() string  { return r.field(4) }
func (r *relationship) subjectRelation() string  { return r.field(5) }

// fields returns the six key fields, substrings of the row's key.
func (r *relationship) fields() (f [6]string) {
	s := r.key()
	for i := range f {
		j := strings.IndexByte(s, 0)
		f[i], s = s[:j], s[j+1:]
	}
	return f
}

// subjectStart is the offset in key of the subject type.
func (r *relationship) subjectStart() int {
	if r.subjectAt != 0 {
		return int(r.subjectAt)
	}
	return scanFields(r.key(), 3)
}

// relationStart is the offset in key of the relation.
func (r *relationship) relationStart() int {
	if r.relationAt != 0 {
		return int(r.relationAt)
	}
	return scanFields(r.key(), 2)
}

func (r *relationship) caveat() *contextualizedCaveat {
	if r.extra == nil {
		return nil
	}
	return r.extra.caveat
}

func (r *relationship) integrity() *relationshipIntegrity {
	if r.extra == nil {
		return nil
	}
	return r.extra.integrity
}

func (r *relationship) expiration() *time.Time {
	if r.extra == nil {
		return nil
	}
	return r.extra.expiration
}

type relationshipIntegrity struct {
	keyID     string
	hash      []byte
	timestamp time.Time
}

func (ri relationshipIntegrity) relationshipIntegrity() *core.RelationshipIntegrity {
	return &core.RelationshipIntegrity{
		KeyId:    ri.keyID,
		Hash:     ri.hash,
		HashedAt: timestamppb.New(ri.timestamp),
	}
}

type contextualizedCaveat struct {
	caveatName string
	context    map[string]any
}

func (cr *contextualizedCaveat) contextualizedCaveat() (*core.ContextualizedCaveat, error) {
	if cr == nil {
		return nil, nil
	}
	v, err := structpb.NewStruct(cr.context)
	if err != nil {
		return nil, err
	}
	return &core.ContextualizedCaveat{
		CaveatName: cr.caveatName,
		Context:    v,
	}, nil
}

func (r *relationship) String() string {
	f := r.fields()
	s := f[0] + ":" + f[1] + "#" + f[2] + "@" + f[3] + ":" + f[4] + "#" + f[5]
	if c := r.caveat(); c != nil {
		s += "[" + c.caveatName + "]"
	}
	if exp := r.expiration(); exp != nil {
		s += "[expiration:" + exp.Format(time.RFC3339Nano) + "]"
	}
	return s
}

// Relationship converts the row to SpiceDB's relationship type. Its strings are
// substrings of the row's key.
func (r *relationship) Relationship() (tuple.Relationship, error) {
	cr, err := r.caveat().contextualizedCaveat()
	if err != nil {
		return tuple.Relationship{}, err
	}

	var ig *core.RelationshipIntegrity
	if ri := r.integrity(); ri != nil {
		ig = ri.relationshipIntegrity()
	}

	f := r.fields()
	return tuple.Relationship{
		RelationshipReference: tuple.RelationshipReference{
			Resource: tuple.ObjectAndRelation{ObjectType: f[0], ObjectID: f[1], Relation: f[2]},
			Subject:  tuple.ObjectAndRelation{ObjectType: f[3], ObjectID: f[4], Relation: f[5]},
		},
		OptionalCaveat:     cr,
		OptionalIntegrity:  ig,
		OptionalExpiration: r.expiration(),
	}, nil
}

// relationshipFromTuple builds a row from a SpiceDB relationship.
func relationshipFromTuple(rel tuple.Relationship) *relationship {
	var cv *contextualizedCaveat
	if c := rel.OptionalCaveat; c != nil {
		cv = &contextualizedCaveat{caveatName: c.CaveatName, context: c.Context.AsMap()}
	}
	var ri *relationshipIntegrity
	if ig := rel.OptionalIntegrity; ig != nil {
		ri = &relationshipIntegrity{keyID: ig.KeyId, hash: ig.Hash, timestamp: ig.HashedAt.AsTime()}
	}
	res, sub := rel.Resource, rel.Subject
	return newRow(res.ObjectType, res.ObjectID, res.Relation, sub.ObjectType, sub.ObjectID, sub.Relation, cv, ri, rel.OptionalExpiration)
}

func (r *relationship) expiredAt(now time.Time) bool {
	exp := r.expiration()
	return exp != nil && exp.Before(now)
}
