// Adapted from authzed/spicedb@v1.57.1 internal/datastore/memdb/schema.go.
// Copyright Authzed, Inc. Licensed under the Apache License, Version 2.0.

package localstore

import (
	"time"

	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	core "github.com/authzed/spicedb/pkg/proto/core/v1"
	"github.com/authzed/spicedb/pkg/tuple"
)

// relationship is one row of the relationship table. Rows are immutable once
// inserted: every index tree and every snapshot shares them.
type relationship struct {
	namespace        string
	resourceID       string
	relation         string
	subjectNamespace string
	subjectObjectID  string
	subjectRelation  string
	caveat           *contextualizedCaveat
	integrity        *relationshipIntegrity
	expiration       *time.Time
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
	s := r.namespace + ":" + r.resourceID + "#" + r.relation + "@" + r.subjectNamespace + ":" + r.subjectObjectID + "#" + r.subjectRelation
	if r.caveat != nil {
		s += "[" + r.caveat.caveatName + "]"
	}
	if r.expiration != nil {
		s += "[expiration:" + r.expiration.Format(time.RFC3339Nano) + "]"
	}
	return s
}

// Relationship converts the row to SpiceDB's relationship type.
func (r *relationship) Relationship() (tuple.Relationship, error) {
	cr, err := r.caveat.contextualizedCaveat()
	if err != nil {
		return tuple.Relationship{}, err
	}

	var ig *core.RelationshipIntegrity
	if r.integrity != nil {
		ig = r.integrity.relationshipIntegrity()
	}

	return tuple.Relationship{
		RelationshipReference: tuple.RelationshipReference{
			Resource: tuple.ObjectAndRelation{
				ObjectType: r.namespace,
				ObjectID:   r.resourceID,
				Relation:   r.relation,
			},
			Subject: tuple.ObjectAndRelation{
				ObjectType: r.subjectNamespace,
				ObjectID:   r.subjectObjectID,
				Relation:   r.subjectRelation,
			},
		},
		OptionalCaveat:     cr,
		OptionalIntegrity:  ig,
		OptionalExpiration: r.expiration,
	}, nil
}

// relationshipFromTuple builds a row from a SpiceDB relationship.
func relationshipFromTuple(rel tuple.Relationship) *relationship {
	row := &relationship{
		namespace:        rel.Resource.ObjectType,
		resourceID:       rel.Resource.ObjectID,
		relation:         rel.Resource.Relation,
		subjectNamespace: rel.Subject.ObjectType,
		subjectObjectID:  rel.Subject.ObjectID,
		subjectRelation:  rel.Subject.Relation,
		expiration:       rel.OptionalExpiration,
	}
	if c := rel.OptionalCaveat; c != nil {
		row.caveat = &contextualizedCaveat{caveatName: c.CaveatName, context: c.Context.AsMap()}
	}
	if ig := rel.OptionalIntegrity; ig != nil {
		row.integrity = &relationshipIntegrity{keyID: ig.KeyId, hash: ig.Hash, timestamp: ig.HashedAt.AsTime()}
	}
	return row
}

func (r *relationship) expiredAt(now time.Time) bool {
	return r.expiration != nil && r.expiration.Before(now)
}
