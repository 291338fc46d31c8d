// Adapted from authzed/spicedb@v1.57.1 internal/datastore/memdb/readonly.go.
// Copyright Authzed, Inc. Licensed under the Apache License, Version 2.0.

package localstore

import (
	"context"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/datastore/options"
	"github.com/authzed/spicedb/pkg/spiceerrors"
)

// QueryRelationships implements datastore.Reader. It reads from the narrowest index
// the filter allows and then applies the full filter, so the result set is exactly
// SpiceDB memdb's; only the rows examined differ.
func (r *reader) QueryRelationships(
	_ context.Context,
	filter datastore.RelationshipsFilter,
	opts ...options.QueryOptionsOption,
) (datastore.RelationshipIterator, error) {
	if r.initErr != nil {
		return nil, r.initErr
	}
	if r.relsErr != nil {
		return nil, r.relsErr
	}

	r.mustLock()
	defer r.Unlock()

	queryOpts := options.NewQueryOptionsWithOptions(opts...)
	if queryOpts.After != nil && queryOpts.Sort == options.Unsorted {
		return nil, datastore.ErrCursorsWithoutSorting
	}

	source := planQuery(r.rels, filter).resumeAfter(queryOpts.After, queryOpts.Sort)

	match := filterFuncForFilters(
		filter.OptionalResourceType,
		filter.OptionalResourceIds,
		filter.OptionalResourceIDPrefix,
		filter.OptionalResourceRelation,
		filter.OptionalSubjectsSelectors,
		filter.OptionalCaveatNameFilter,
		filter.OptionalExpirationOption,
		mustMakeCursorFilterFn(queryOpts.After, queryOpts.Sort),
	)

	return r.results(source, match, queryOpts.Sort, queryOpts.Limit, queryOpts.SkipCaveats, queryOpts.SkipExpiration)
}

// ReverseQueryRelationships implements datastore.Reader using the subject index.
func (r *reader) ReverseQueryRelationships(
	_ context.Context,
	subjectsFilter datastore.SubjectsFilter,
	opts ...options.ReverseQueryOptionsOption,
) (datastore.RelationshipIterator, error) {
	if r.initErr != nil {
		return nil, r.initErr
	}
	if r.relsErr != nil {
		return nil, r.relsErr
	}

	r.mustLock()
	defer r.Unlock()

	queryOpts := options.NewReverseQueryOptionsWithOptions(opts...)
	if queryOpts.AfterForReverse != nil && queryOpts.SortForReverse == options.Unsorted {
		return nil, datastore.ErrCursorsWithoutSorting
	}

	source := planReverseQuery(r.rels, subjectsFilter).resumeAfter(queryOpts.AfterForReverse, queryOpts.SortForReverse)

	filterObjectType, filterRelation := "", ""
	if queryOpts.ResRelation != nil {
		filterObjectType = queryOpts.ResRelation.Namespace
		filterRelation = queryOpts.ResRelation.Relation
	}

	match := filterFuncForFilters(
		filterObjectType,
		nil,
		"",
		filterRelation,
		[]datastore.SubjectsSelector{subjectsFilter.AsSelector()},
		datastore.CaveatNameFilter{},
		datastore.ExpirationFilterOptionNone,
		mustMakeCursorFilterFn(queryOpts.AfterForReverse, queryOpts.SortForReverse),
	)

	return r.results(source, match, queryOpts.SortForReverse, queryOpts.LimitForReverse, queryOpts.SkipCaveatsForReverse, queryOpts.SkipExpirationForReverse)
}

// results applies the filter to the candidate rows and returns them in the requested
// order. Rows already in that order are streamed; otherwise the (index-bounded)
// candidates are sorted in memory. ChooseEfficient is served in resource order
// because SpiceDB's cursor comparison for it is by resource.
func (r *reader) results(source rowSource, match func(*relationship) bool, sortOrder options.SortOrder, limit *uint64, skipCaveats, skipExpiration bool) (datastore.RelationshipIterator, error) {
	filtered := &filteredRows{source: source, match: match, visited: r.visited}
	switch sortOrder {
	case options.Unsorted:
		return newRowIterator(r.now, filtered, limit, skipCaveats, skipExpiration), nil
	case options.ChooseEfficient, options.ByResource:
		if source.order == orderByResource {
			return newRowIterator(r.now, filtered, limit, skipCaveats, skipExpiration), nil
		}
		return newSortedIterator(r.now, filtered, orderByResource, limit, skipCaveats, skipExpiration), nil
	case options.BySubject:
		if source.order == orderBySubject {
			return newRowIterator(r.now, filtered, limit, skipCaveats, skipExpiration), nil
		}
		return newSortedIterator(r.now, filtered, orderBySubject, limit, skipCaveats, skipExpiration), nil
	default:
		return nil, spiceerrors.MustBugf("unsupported sort order: %v", sortOrder)
	}
}
