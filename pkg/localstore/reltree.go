package localstore

import (
	"slices"
	"strings"

	"github.com/RaduBerinde/btreemap"
)

// btreeDegree balances node size (cache-friendly scans, cheap copy-on-write) against
// tree height.
const btreeDegree = 32

type relTree = btreemap.BTreeMap[*relationship, struct{}]

// relTrees holds the relationship table as copy-on-write B-trees of row pointers,
// one per sort order. Rows are shared by all trees and all snapshots, so an index
// costs a pointer per relationship rather than a copy of its key. A published
// relTrees is never mutated: a write transaction mutates a clone (O(1), nodes are
// copied on first write), which becomes the next published version.
type relTrees struct {
	// byResource orders by (namespace, resourceID, relation, subject...): the
	// ByResource sort order, and the primary key.
	byResource *relTree
	// bySubject orders by (subject..., namespace, resourceID, relation): the
	// BySubject sort order.
	bySubject *relTree
	// byNamespaceRelation orders by (namespace, relation, resourceID, subject...),
	// which is resource order within one (namespace, relation).
	byNamespaceRelation *relTree
	// byExpiration holds only rows with an expiration, ordered by it, so garbage
	// collection finds expired rows without a scan.
	byExpiration *relTree
}

func newRelTrees() *relTrees {
	return &relTrees{
		byResource:          btreemap.New[*relationship, struct{}](btreeDegree, compareByResource),
		bySubject:           btreemap.New[*relationship, struct{}](btreeDegree, compareBySubject),
		byNamespaceRelation: btreemap.New[*relationship, struct{}](btreeDegree, compareByNamespaceRelation),
		byExpiration:        btreemap.New[*relationship, struct{}](btreeDegree, compareByExpiration),
	}
}

// clone returns an independently mutable copy; the receiver stays unchanged.
func (t *relTrees) clone() *relTrees {
	return &relTrees{
		byResource:          t.byResource.Clone(),
		bySubject:           t.bySubject.Clone(),
		byNamespaceRelation: t.byNamespaceRelation.Clone(),
		byExpiration:        t.byExpiration.Clone(),
	}
}

// get returns the stored row with the same six-field key as probe, or nil.
func (t *relTrees) get(probe *relationship) *relationship {
	found, _, ok := t.byResource.Get(probe)
	if !ok {
		return nil
	}
	return found
}

// put stores row, replacing any row with the same key.
func (t *relTrees) put(row *relationship) {
	if old := t.get(row); old != nil {
		t.remove(old)
	}
	t.byResource.ReplaceOrInsert(row, struct{}{})
	t.bySubject.ReplaceOrInsert(row, struct{}{})
	t.byNamespaceRelation.ReplaceOrInsert(row, struct{}{})
	if row.expiration != nil {
		t.byExpiration.ReplaceOrInsert(row, struct{}{})
	}
}

// remove deletes the row (which must be the stored one).
func (t *relTrees) remove(row *relationship) {
	t.byResource.Delete(row)
	t.bySubject.Delete(row)
	t.byNamespaceRelation.Delete(row)
	if row.expiration != nil {
		t.byExpiration.Delete(row)
	}
}

// load fills empty trees from rows with distinct keys. Each tree is filled in its
// own order: in-order inserts keep the B-tree's working set in cache, which makes
// Open several times faster than inserting in random order.
func (t *relTrees) load(rows []*relationship) {
	fill := func(tree *relTree, rows []*relationship, cmp func(a, b *relationship) int) {
		sorted := slices.Clone(rows)
		slices.SortFunc(sorted, cmp)
		for _, r := range sorted {
			tree.ReplaceOrInsert(r, struct{}{})
		}
	}
	fill(t.byResource, rows, compareByResource)
	fill(t.bySubject, rows, compareBySubject)
	fill(t.byNamespaceRelation, rows, compareByNamespaceRelation)

	var expiring []*relationship
	for _, r := range rows {
		if r.expiration != nil {
			expiring = append(expiring, r)
		}
	}
	fill(t.byExpiration, expiring, compareByExpiration)
}

func (t *relTrees) len() int { return t.byResource.Len() }

func compare3(a1, a2, a3, b1, b2, b3 string) int {
	if c := strings.Compare(a1, b1); c != 0 {
		return c
	}
	if c := strings.Compare(a2, b2); c != 0 {
		return c
	}
	return strings.Compare(a3, b3)
}

func compareByResource(a, b *relationship) int {
	if c := compare3(a.namespace, a.resourceID, a.relation, b.namespace, b.resourceID, b.relation); c != 0 {
		return c
	}
	return compare3(a.subjectNamespace, a.subjectObjectID, a.subjectRelation, b.subjectNamespace, b.subjectObjectID, b.subjectRelation)
}

func compareBySubject(a, b *relationship) int {
	if c := compare3(a.subjectNamespace, a.subjectObjectID, a.subjectRelation, b.subjectNamespace, b.subjectObjectID, b.subjectRelation); c != 0 {
		return c
	}
	return compare3(a.namespace, a.resourceID, a.relation, b.namespace, b.resourceID, b.relation)
}

func compareByNamespaceRelation(a, b *relationship) int {
	if c := strings.Compare(a.namespace, b.namespace); c != 0 {
		return c
	}
	if c := strings.Compare(a.relation, b.relation); c != 0 {
		return c
	}
	return compareByResource(a, b)
}

func compareByExpiration(a, b *relationship) int {
	if c := a.expiration.Compare(*b.expiration); c != 0 {
		return c
	}
	return compareByResource(a, b)
}

// relChangeTracker records the net change per relationship in a transaction: the
// row before the first change and the row after the last.
type relChangeTracker struct {
	byKey map[[6]string]int
	list  []trackedChange
}

type trackedChange struct {
	before, after *relationship
}

func (c *relChangeTracker) track(before, after *relationship) {
	row := after
	if row == nil {
		row = before
	}
	key := resourceKey(row)
	if c.byKey == nil {
		c.byKey = map[[6]string]int{}
	}
	if i, ok := c.byKey[key]; ok {
		c.list[i].after = after
		return
	}
	c.byKey[key] = len(c.list)
	c.list = append(c.list, trackedChange{before: before, after: after})
}

// changes returns the net changes, dropping rows created and deleted in the same
// transaction.
func (c *relChangeTracker) changes() []trackedChange {
	out := c.list[:0:0]
	for _, ch := range c.list {
		if ch.before == nil && ch.after == nil {
			continue
		}
		out = append(out, ch)
	}
	return out
}

func resourceKey(r *relationship) [6]string {
	return [6]string{r.namespace, r.resourceID, r.relation, r.subjectNamespace, r.subjectObjectID, r.subjectRelation}
}
