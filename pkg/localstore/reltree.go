package localstore

import (
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/tidwall/btree"
)

// btreeDegree balances node size (cache-friendly scans, cheap copy-on-write) against
// tree height. A node holds up to 2*btreeDegree-1 rows, so its array of row
// pointers grows to exactly 2*btreeDegree. 16 keeps the nodes that writes copy
// (and that snapshots inside the GC window keep) small: at a million imported
// relationships it held 4% less heap than 32 after the import, and 4% more after
// a restart.
const btreeDegree = 16

// relTree is a copy-on-write B-tree of row pointers: a node holds only the
// pointers (8 bytes a row), and Copy shares every node until it is written.
// It runs without locks: a published tree is never written, and only the one
// writer (under writeMu) copies or writes trees.
type relTree = btree.BTreeG[*relationship]

func newRelTree(cmp func(a, b *relationship) int) *relTree {
	return btree.NewBTreeGOptions(func(a, b *relationship) bool { return cmp(a, b) < 0 },
		btree.Options{Degree: btreeDegree, NoLocks: true})
}

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
		byResource:          newRelTree(compareByResource),
		bySubject:           newRelTree(compareBySubject),
		byNamespaceRelation: newRelTree(compareByNamespaceRelation),
		byExpiration:        newRelTree(compareByExpiration),
	}
}

// clone returns an independently mutable copy; the receiver stays unchanged.
func (t *relTrees) clone() *relTrees {
	return &relTrees{
		byResource:          t.byResource.Copy(),
		bySubject:           t.bySubject.Copy(),
		byNamespaceRelation: t.byNamespaceRelation.Copy(),
		byExpiration:        t.byExpiration.Copy(),
	}
}

// get returns the stored row with the same six-field key as probe, or nil.
func (t *relTrees) get(probe *relationship) *relationship {
	found, ok := t.byResource.Get(probe)
	if !ok {
		return nil
	}
	return found
}

// put stores row, replacing any row with the same key, and returns the row it replaced
// (nil if none). One descent per tree: every order compares the same six-field key, so a
// Set replaces the old row in place; only the expiration order, which sorts by expiry
// first, needs the old row deleted.
func (t *relTrees) put(row *relationship) (replaced *relationship) {
	old, found := t.byResource.Set(row)
	t.bySubject.Set(row)
	t.byNamespaceRelation.Set(row)
	if found && old.expiration() != nil {
		t.byExpiration.Delete(old)
	}
	if row.expiration() != nil {
		t.byExpiration.Set(row)
	}
	if !found {
		return nil
	}
	return old
}

// remove deletes the row (which must be the stored one).
func (t *relTrees) remove(row *relationship) {
	t.byResource.Delete(row)
	t.bySubject.Delete(row)
	t.byNamespaceRelation.Delete(row)
	if row.expiration() != nil {
		t.byExpiration.Delete(row)
	}
}

// load fills empty trees from rows with distinct keys. Each tree is filled in its
// own order with the B-tree's bulk load of sorted items (appends to the last
// leaf), which makes Open several times faster than inserting in random order.
func (t *relTrees) load(rows []*relationship) {
	var expiring []*relationship
	for _, r := range rows {
		if r.expiration() != nil {
			expiring = append(expiring, r)
		}
	}
	// The trees are independent: they are filled side by side, and each sort uses
	// every core too (most of a restart's time is these sorts).
	load := func(tree **relTree, sorted []*relationship) {
		for _, r := range sorted {
			(*tree).Load(r)
		}
		*tree = compactTree(*tree)
	}
	fill := func(tree **relTree, rows []*relationship, cmp func(a, b *relationship) int) func() {
		return func() { load(tree, sortRows(rows, cmp)) }
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		// Rows are read back in key order, so this sort is cheap; the (namespace,
		// relation) order is derived from it without a sort of its own.
		byResource := sortRows(rows, compareByResource)
		var both sync.WaitGroup
		both.Go(func() { load(&t.byResource, byResource) })
		load(&t.byNamespaceRelation, relationOrder(byResource))
		both.Wait()
	})
	wg.Go(fill(&t.bySubject, rows, compareBySubject))
	wg.Go(fill(&t.byExpiration, expiring, compareByExpiration))
	wg.Wait()
}

// relationOrder reorders rows sorted by resource into the (namespace, relation) order.
// Within each namespace, rows are bucketed by relation in relation order, stably, so each
// bucket keeps resource order, which is that order's tie-break. It is linear: sorting by
// compareByNamespaceRelation was 40 % of a restart's CPU at ten million relationships.
func relationOrder(byResource []*relationship) []*relationship {
	out := make([]*relationship, len(byResource))
	counts := map[string]int{}
	next := map[string]int{}
	for start := 0; start < len(byResource); {
		namespace := byResource[start].namespace()
		end := start
		clear(counts)
		for end < len(byResource) && byResource[end].namespace() == namespace {
			counts[byResource[end].relation()]++
			end++
		}
		clear(next)
		at := start
		for _, relation := range slices.Sorted(maps.Keys(counts)) {
			next[relation] = at
			at += counts[relation]
		}
		for _, r := range byResource[start:end] {
			relation := r.relation()
			out[next[relation]] = r
			next[relation]++
		}
		start = end
	}
	return out
}

// rowsPerSorter is the least number of rows worth another goroutine in sortRows.
const rowsPerSorter = 1 << 15

// sortRows returns a sorted copy of rows, cmp being a total order: parts of it are
// sorted side by side on every core, then merged pairwise.
func sortRows(rows []*relationship, cmp func(a, b *relationship) int) []*relationship {
	sorted := slices.Clone(rows)
	parts := min(runtime.GOMAXPROCS(0), len(rows)/rowsPerSorter)
	if parts <= 1 {
		slices.SortFunc(sorted, cmp)
		return sorted
	}
	runs := make([][]*relationship, parts)
	var wg sync.WaitGroup
	for i := range parts {
		runs[i] = sorted[i*len(sorted)/parts : (i+1)*len(sorted)/parts]
		wg.Go(func() { slices.SortFunc(runs[i], cmp) })
	}
	wg.Wait()
	spare := make([]*relationship, len(sorted))
	for len(runs) > 1 {
		// Each pair of neighbouring runs is merged into the same place in spare.
		merged := make([][]*relationship, 0, (len(runs)+1)/2)
		offset := 0
		for i := 0; i < len(runs); i += 2 {
			if i+1 == len(runs) {
				dst := spare[offset : offset+len(runs[i])]
				copy(dst, runs[i])
				merged = append(merged, dst)
				break
			}
			a, b := runs[i], runs[i+1]
			dst := spare[offset : offset+len(a)+len(b)]
			wg.Go(func() { mergeRows(dst, a, b, cmp) })
			merged = append(merged, dst)
			offset += len(dst)
		}
		wg.Wait()
		runs, sorted, spare = merged, spare, sorted
	}
	return runs[0]
}

// mergeRows merges the sorted a and b into dst (len(a)+len(b) long).
func mergeRows(dst, a, b []*relationship, cmp func(a, b *relationship) int) {
	i, j := 0, 0
	for k := range dst {
		if j == len(b) || (i < len(a) && cmp(a[i], b[j]) <= 0) {
			dst[k] = a[i]
			i++
		} else {
			dst[k] = b[j]
			j++
		}
	}
}

// compactTree returns a copy of a bulk-loaded tree in which every node has an
// array of its own size. A bulk load splits each full last leaf in two halves
// that share one array, and the right half then grows into a new one, so every
// left leaf keeps an array twice its size. A copy-on-write copy of a node
// allocates only its slice's capacity, so copying each node once (a mutating scan
// of a copy) halves the trees' memory after Open; the loaded tree is then garbage.
func compactTree(tree *relTree) *relTree {
	compacted := tree.Copy()
	compacted.ScanMut(func(*relationship) bool { return true })
	return compacted
}

func (t *relTrees) len() int { return t.byResource.Len() }

// compareByResource orders by the row key: (namespace, resourceID, relation,
// subject...).
func compareByResource(a, b *relationship) int {
	return strings.Compare(a.key(), b.key())
}

// compareBySubject orders by (subject..., namespace, resourceID, relation): the
// key's subject half, then its resource half.
func compareBySubject(a, b *relationship) int {
	ak, bk := a.key(), b.key()
	ai, bi := a.subjectStart(), b.subjectStart()
	if c := strings.Compare(ak[ai:], bk[bi:]); c != 0 {
		return c
	}
	return strings.Compare(ak[:ai], bk[:bi])
}

func compareByNamespaceRelation(a, b *relationship) int {
	if c := strings.Compare(a.namespace(), b.namespace()); c != 0 {
		return c
	}
	if c := strings.Compare(a.relation(), b.relation()); c != 0 {
		return c
	}
	return compareByResource(a, b)
}

func compareByExpiration(a, b *relationship) int {
	if c := a.expiration().Compare(*b.expiration()); c != 0 {
		return c
	}
	return compareByResource(a, b)
}

// relChangeTracker records the net change per relationship in a transaction: the
// row before the first change and the row after the last.
type relChangeTracker struct {
	byKey map[string]int
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
	key := row.key()
	if c.byKey == nil {
		c.byKey = map[string]int{}
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
