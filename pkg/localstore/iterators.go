// Adapted from authzed/spicedb@v1.57.1 internal/datastore/memdb/readonly.go.
// Copyright Authzed, Inc. Licensed under the Apache License, Version 2.0.

package localstore

import (
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/datastore/options"
	"github.com/authzed/spicedb/pkg/tuple"
)

// filteredRows yields the rows of a source that match, counting every row examined.
type filteredRows struct {
	source  rowSource
	match   func(*relationship) bool
	visited *atomic.Uint64
}

// each calls fn for every matching row until fn returns false.
func (f *filteredRows) each(fn func(*relationship) bool) {
	var n uint64
	for row := range f.source.rows() {
		n++
		if f.match(row) && !fn(row) {
			break
		}
	}
	if f.visited != nil {
		f.visited.Add(n)
	}
}

// filterFuncForFilters returns true for rows that match every given filter. (SpiceDB's
// memdb returns the negation, for go-memdb's filter iterator.)
func filterFuncForFilters(
	optionalResourceType string,
	optionalResourceIds []string,
	optionalResourceIDPrefix string,
	optionalRelation string,
	optionalSubjectsSelectors []datastore.SubjectsSelector,
	optionalCaveatFilter datastore.CaveatNameFilter,
	optionalExpirationFilter datastore.ExpirationFilterOption,
	cursorFilter func(*relationship) bool,
) func(*relationship) bool {
	return func(tuple *relationship) bool {
		switch {
		case optionalResourceType != "" && optionalResourceType != tuple.namespace():
			return false
		case len(optionalResourceIds) > 0 && !slices.Contains(optionalResourceIds, tuple.resourceID()):
			return false
		case optionalResourceIDPrefix != "" && !strings.HasPrefix(tuple.resourceID(), optionalResourceIDPrefix):
			return false
		case optionalRelation != "" && optionalRelation != tuple.relation():
			return false
		case optionalCaveatFilter.Option == datastore.CaveatFilterOptionHasMatchingCaveat && (tuple.caveat() == nil || tuple.caveat().caveatName != optionalCaveatFilter.CaveatName):
			return false
		case optionalCaveatFilter.Option == datastore.CaveatFilterOptionNoCaveat && (tuple.caveat() != nil && tuple.caveat().caveatName != ""):
			return false
		case optionalExpirationFilter == datastore.ExpirationFilterOptionHasExpiration && tuple.expiration() == nil:
			return false
		case optionalExpirationFilter == datastore.ExpirationFilterOptionNoExpiration && tuple.expiration() != nil:
			return false
		}

		applySubjectSelector := func(selector datastore.SubjectsSelector) bool {
			switch {
			case len(selector.OptionalSubjectType) > 0 && selector.OptionalSubjectType != tuple.subjectNamespace():
				return false
			case len(selector.OptionalSubjectIds) > 0 && !slices.Contains(selector.OptionalSubjectIds, tuple.subjectObjectID()):
				return false
			}

			if selector.RelationFilter.OnlyNonEllipsisRelations {
				return tuple.subjectRelation() != datastore.Ellipsis
			}

			relations := make([]string, 0, 2)
			if selector.RelationFilter.IncludeEllipsisRelation {
				relations = append(relations, datastore.Ellipsis)
			}
			if selector.RelationFilter.NonEllipsisRelation != "" {
				relations = append(relations, selector.RelationFilter.NonEllipsisRelation)
			}
			return len(relations) == 0 || slices.Contains(relations, tuple.subjectRelation())
		}

		if len(optionalSubjectsSelectors) > 0 && !slices.ContainsFunc(optionalSubjectsSelectors, applySubjectSelector) {
			return false
		}

		return !cursorFilter(tuple)
	}
}

// mustMakeCursorFilterFn returns a function that is true for rows at or before the
// cursor in the given order (rows to skip).
func mustMakeCursorFilterFn(after options.Cursor, order options.SortOrder) func(tpl *relationship) bool {
	if after == nil {
		return noopCursorFilter
	}
	switch order {
	case options.Unsorted:
		return noopCursorFilter
	case options.ChooseEfficient, options.ByResource:
		return func(tpl *relationship) bool {
			return less(tpl.namespace(), tpl.resourceID(), tpl.relation(), after.Resource) ||
				(eq(tpl.namespace(), tpl.resourceID(), tpl.relation(), after.Resource) &&
					(less(tpl.subjectNamespace(), tpl.subjectObjectID(), tpl.subjectRelation(), after.Subject) ||
						eq(tpl.subjectNamespace(), tpl.subjectObjectID(), tpl.subjectRelation(), after.Subject)))
		}
	case options.BySubject:
		return func(tpl *relationship) bool {
			return less(tpl.subjectNamespace(), tpl.subjectObjectID(), tpl.subjectRelation(), after.Subject) ||
				(eq(tpl.subjectNamespace(), tpl.subjectObjectID(), tpl.subjectRelation(), after.Subject) &&
					(less(tpl.namespace(), tpl.resourceID(), tpl.relation(), after.Resource) ||
						eq(tpl.namespace(), tpl.resourceID(), tpl.relation(), after.Resource)))
		}
	default:
		panic("unhandled cursor filter case")
	}
}

func noopCursorFilter(_ *relationship) bool { return false }

func less(lhsNamespace, lhsObjectID, lhsRelation string, rhs tuple.ObjectAndRelation) bool {
	return lhsNamespace < rhs.ObjectType ||
		(lhsNamespace == rhs.ObjectType && lhsObjectID < rhs.ObjectID) ||
		(lhsNamespace == rhs.ObjectType && lhsObjectID == rhs.ObjectID && lhsRelation < rhs.Relation)
}

func eq(lhsNamespace, lhsObjectID, lhsRelation string, rhs tuple.ObjectAndRelation) bool {
	return lhsNamespace == rhs.ObjectType && lhsObjectID == rhs.ObjectID && lhsRelation == rhs.Relation
}

func visible(now time.Time, row *relationship, skipCaveats, skipExpiration bool) bool {
	if skipCaveats && row.caveat() != nil {
		return false
	}
	return skipExpiration || !row.expiredAt(now)
}

// newRowIterator streams matching rows in source order.
func newRowIterator(now time.Time, rows *filteredRows, limit *uint64, skipCaveats, skipExpiration bool) datastore.RelationshipIterator {
	return func(yield func(tuple.Relationship, error) bool) {
		var count uint64
		rows.each(func(row *relationship) bool {
			if limit != nil && count >= *limit {
				return false
			}
			if !visible(now, row, skipCaveats, skipExpiration) {
				return true
			}
			rt, err := row.Relationship()
			if !yield(rt, err) {
				return false
			}
			count++
			return true
		})
	}
}

// newSortedIterator collects the matching rows and sorts them.
func newSortedIterator(now time.Time, rows *filteredRows, order rowOrder, limit *uint64, skipCaveats, skipExpiration bool) datastore.RelationshipIterator {
	var collected []*relationship
	rows.each(func(row *relationship) bool {
		if visible(now, row, skipCaveats, skipExpiration) {
			collected = append(collected, row)
		}
		return true
	})

	cmp := compareByResource
	if order == orderBySubject {
		cmp = compareBySubject
	}
	slices.SortFunc(collected, cmp)
	if limit != nil && uint64(len(collected)) > *limit {
		collected = collected[:*limit]
	}

	return func(yield func(tuple.Relationship, error) bool) {
		for _, row := range collected {
			rt, err := row.Relationship()
			if !yield(rt, err) {
				return
			}
		}
	}
}
