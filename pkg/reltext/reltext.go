// Package reltext reads and writes relationships in SpiceDB's tuple notation,
// account:acme#admin@user:bill, with an expiry kept as [expiration:RFC3339].
package reltext

import (
	"fmt"
	"strings"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/spicedb/pkg/tuple"

	"github.com/accessgraph/accessgraph/pkg/ref"
)

// FormatKey renders a relationship's identity in tuple notation, without caveat or expiry:
// account:acme#admin@user:bill, group:a#member@group:b#member. Two relationships with the
// same key are the same relationship (a write of one replaces the other).
func FormatKey(rel *v1.Relationship) string {
	return tuple.V1StringRelationshipWithoutCaveatOrExpiration(rel)
}

// ParseKey reads text FormatKey wrote, without checking it against today's schema (a
// recorded relationship may name a type or relation the schema has since dropped).
func ParseKey(s string) (*v1.Relationship, error) {
	rel, err := tuple.ParseV1Rel(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %q is not a relationship", ref.ErrInvalid, s)
	}
	return rel, nil
}

// Format renders a relationship in tuple notation.
func Format(rel *v1.Relationship) string {
	s, err := tuple.V1StringRelationship(rel)
	if err != nil {
		return tuple.V1StringRelationshipWithoutCaveatOrExpiration(rel)
	}
	return s
}

// Filter is a relationship filter written TYPE[:ID][#RELATION].
type Filter struct {
	Type     string
	ID       string
	Relation string
}

// ParseFilter reads TYPE, TYPE:ID, TYPE#RELATION or TYPE:ID#RELATION.
func ParseFilter(s string) (Filter, error) {
	head, rel, hasRel := strings.Cut(s, "#")
	if hasRel && rel == "" {
		return Filter{}, fmt.Errorf("%w: %q ends with # but names no relation: write TYPE[:ID]#RELATION, or leave out the #", ref.ErrInvalid, s)
	}
	typ, id, hasID := strings.Cut(head, ":")
	if hasID {
		if _, err := ref.New(typ, id); err != nil {
			return Filter{}, err
		}
	} else if _, err := ref.New(typ, "x"); err != nil {
		return Filter{}, err
	}
	if rel != "" {
		if err := ref.ValidatePermission(typ, rel); err != nil {
			return Filter{}, err
		}
	}
	return Filter{Type: typ, ID: id, Relation: rel}, nil
}

// RelationshipFilter is the filter for SpiceDB, optionally narrowed to a subject.
func (f Filter) RelationshipFilter(subject *Filter) *v1.RelationshipFilter {
	rf := &v1.RelationshipFilter{ResourceType: f.Type, OptionalResourceId: f.ID, OptionalRelation: f.Relation}
	if subject != nil {
		sf := &v1.SubjectFilter{SubjectType: subject.Type, OptionalSubjectId: subject.ID}
		if subject.Relation != "" {
			sf.OptionalRelation = &v1.SubjectFilter_RelationFilter{Relation: subject.Relation}
		}
		rf.OptionalSubjectFilter = sf
	}
	return rf
}
