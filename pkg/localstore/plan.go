package localstore

import (
	"iter"
	"slices"
	"strings"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/datastore/options"
)

type rowOrder int

const (
	orderByResource rowOrder = iota + 1
	orderBySubject
)

// lookup is one range scan of a tree: from the first row >= start while within
// holds.
type lookup struct {
	tree   *relTree
	start  *relationship
	within func(*relationship) bool
	// order is the tree's comparator. oneRelation marks a range of the (namespace,
	// relation) tree, whose order is resource order only within one namespace and relation.
	order       func(a, b *relationship) int
	oneRelation bool
}

func resourceRange(rels *relTrees, start *relationship, within func(*relationship) bool) lookup {
	return lookup{tree: rels.byResource, start: start, within: within, order: compareByResource}
}

func subjectRange(rels *relTrees, start *relationship, within func(*relationship) bool) lookup {
	return lookup{tree: rels.bySubject, start: start, within: within, order: compareBySubject}
}

// rowSource yields candidate rows from a sequence of lookups. The lookups are
// disjoint and listed in tree order, so concatenating them keeps that order.
type rowSource struct {
	lookups []lookup
	order   rowOrder
}

func (s rowSource) rows() iter.Seq[*relationship] {
	return func(yield func(*relationship) bool) {
		for _, l := range s.lookups {
			stopped := false
			l.tree.Ascend(l.start, func(row *relationship) bool {
				if !l.within(row) {
					return false
				}
				if !yield(row) {
					stopped = true
					return false
				}
				return true
			})
			if stopped {
				return
			}
		}
	}
}

func everything(*relationship) bool { return true }

// resumeAfter starts each range past a page cursor when the tree's order is the order
// asked for, so that paging through n rows costs O(n) rather than rescanning each range
// from its start for every page (quadratic: a bulk export of millions of rows spent
// minutes skipping rows it had already sent). The cursor filter still drops the cursor's
// own row and anything a range cannot seek past.
func (s rowSource) resumeAfter(cursor options.Cursor, sort options.SortOrder) rowSource {
	if cursor == nil {
		return s
	}
	switch {
	case s.order == orderByResource && (sort == options.ByResource || sort == options.ChooseEfficient):
	case s.order == orderBySubject && sort == options.BySubject:
	default:
		return s // rows are sorted after filtering: no range order to seek in
	}
	c := options.ToRelationship(cursor)
	past := newRow(c.Resource.ObjectType, c.Resource.ObjectID, c.Resource.Relation, c.Subject.ObjectType, c.Subject.ObjectID, c.Subject.Relation, nil, nil, nil)
	lookups := slices.Clone(s.lookups)
	for i, l := range lookups {
		if l.order == nil {
			continue
		}
		if l.oneRelation && (past.namespace() != l.start.namespace() || past.relation() != l.start.relation()) {
			continue
		}
		if l.order(past, l.start) > 0 {
			lookups[i].start = past
		}
	}
	return rowSource{lookups: lookups, order: s.order}
}

// planQuery picks the narrowest index for a relationship filter:
//   - resource type + ids: one range per id on the resource tree;
//   - resource type + id prefix: one range on the resource tree;
//   - every subject selector names a type and ids: one range per subject on the
//     subject tree;
//   - resource type + relation: one range on the (type, relation) tree;
//   - resource type: one range on the resource tree;
//   - otherwise a full scan of the resource tree.
func planQuery(rels *relTrees, filter datastore.RelationshipsFilter) rowSource {
	resType := filter.OptionalResourceType
	relation := filter.OptionalResourceRelation
	switch {
	case resType != "" && len(filter.OptionalResourceIds) > 0:
		ids := sortedUnique(filter.OptionalResourceIds)
		lookups := make([]lookup, 0, len(ids))
		for _, id := range ids {
			lookups = append(lookups, resourceRange(rels, probeRow(resType, id, relation, "", ""), keyPrefix(resType, id, relation)))
		}
		return rowSource{lookups: lookups, order: orderByResource}

	case resType != "" && filter.OptionalResourceIDPrefix != "":
		prefix := filter.OptionalResourceIDPrefix
		p := resType + "\x00" + prefix
		// The id follows the type's terminator, so this is "type matches and the id starts
		// with prefix".
		return rowSource{order: orderByResource, lookups: []lookup{resourceRange(rels, probeRow(resType, prefix, "", "", ""),
			func(r *relationship) bool { return strings.HasPrefix(r.key(), p) })}}
	}

	if subjects := selectorSubjects(rels, filter.OptionalSubjectsSelectors); subjects != nil {
		return rowSource{lookups: subjects, order: orderBySubject}
	}

	switch {
	case resType != "" && relation != "":
		return rowSource{order: orderByResource, lookups: []lookup{{
			tree:        rels.byNamespaceRelation,
			start:       probeRow(resType, "", relation, "", ""),
			within:      func(r *relationship) bool { return r.namespace() == resType && r.relation() == relation },
			order:       compareByNamespaceRelation,
			oneRelation: true,
		}}}
	case resType != "":
		return rowSource{order: orderByResource, lookups: []lookup{resourceRange(rels, probeRow(resType, "", "", "", ""), keyPrefix(resType))}}
	default:
		return rowSource{order: orderByResource, lookups: []lookup{resourceRange(rels, probeRow("", "", "", "", ""), everything)}}
	}
}

// selectorSubjects returns subject-tree ranges covering every selector, or nil when
// some selector does not name both a subject type and ids.
func selectorSubjects(rels *relTrees, selectors []datastore.SubjectsSelector) []lookup {
	if len(selectors) == 0 {
		return nil
	}
	type subj struct{ typ, id string }
	var all []subj
	for _, sel := range selectors {
		if sel.OptionalSubjectType == "" || len(sel.OptionalSubjectIds) == 0 {
			return nil
		}
		for _, id := range sel.OptionalSubjectIds {
			all = append(all, subj{sel.OptionalSubjectType, id})
		}
	}
	slices.SortFunc(all, func(a, b subj) int {
		if c := strings.Compare(a.typ, b.typ); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	all = slices.Compact(all)
	lookups := make([]lookup, 0, len(all))
	for _, s := range all {
		lookups = append(lookups, subjectLookup(rels, s.typ, s.id))
	}
	return lookups
}

func subjectLookup(rels *relTrees, typ, id string) lookup {
	return subjectRange(rels, probeRow("", "", "", typ, id), subjectPrefix(typ, id))
}

// planReverseQuery reads the subject tree by (type, id) per subject id, or by type.
func planReverseQuery(rels *relTrees, sf datastore.SubjectsFilter) rowSource {
	if len(sf.OptionalSubjectIds) == 0 {
		typ := sf.SubjectType
		return rowSource{order: orderBySubject, lookups: []lookup{subjectRange(rels, probeRow("", "", "", typ, ""), subjectPrefix(typ))}}
	}
	ids := sortedUnique(sf.OptionalSubjectIds)
	lookups := make([]lookup, 0, len(ids))
	for _, id := range ids {
		lookups = append(lookups, subjectLookup(rels, sf.SubjectType, id))
	}
	return rowSource{order: orderBySubject, lookups: lookups}
}

func sortedUnique(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

// probeRow is a range start: a row key with the given leading fields and empty
// others, which sorts before every row sharing those fields.
func probeRow(namespace, resourceID, relation, subjectNamespace, subjectObjectID string) *relationship {
	return newRow(namespace, resourceID, relation, subjectNamespace, subjectObjectID, "", nil, nil, nil)
}

// keyPrefix matches rows whose leading key fields are fields; a trailing empty
// field matches any value.
func keyPrefix(fields ...string) func(*relationship) bool {
	for len(fields) > 0 && fields[len(fields)-1] == "" {
		fields = fields[:len(fields)-1]
	}
	p := string(joinKey(fields, true))
	return func(r *relationship) bool { return strings.HasPrefix(r.key(), p) }
}

// subjectPrefix matches rows whose leading subject fields are fields.
func subjectPrefix(fields ...string) func(*relationship) bool {
	p := string(joinKey(fields, true))
	return func(r *relationship) bool { return strings.HasPrefix(r.key()[r.subjectStart():], p) }
}
