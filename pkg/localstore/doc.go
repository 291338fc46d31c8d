// Package localstore is a durable, indexed SpiceDB datastore that lives in one directory.
//
// It implements datastore.Datastore for SpiceDB v1.56.0 and is adapted from SpiceDB's
// in-memory datastore (internal/datastore/memdb, Copyright Authzed, Inc., Apache
// License 2.0). Every committed write transaction publishes an immutable snapshot, so
// reads at any revision inside the GC window are MVCC snapshot reads.
//
// It differs from SpiceDB's memdb in these ways:
//
//   - Indexes. Relationships live in copy-on-write B-trees of row pointers ordered by
//     resource (type, id, relation, subject…), by subject (type, id, relation,
//     resource…), by (type, relation) and by expiration. A query reads the narrowest
//     tree range its filter allows, so a lookup by resource or subject id costs
//     O(log n + results) instead of a scan of every relationship of the type.
//     Namespaces, caveats, counters, the stored schema and the Watch changelog stay
//     in go-memdb tables as in memdb.
//   - Durability. Each write transaction is one Pebble batch committed with fsync
//     before its revision becomes visible and before ReadWriteTx returns. Open rebuilds
//     the in-memory state from the stored current state (relationships, namespaces,
//     caveats, counters, stored schema, head revision).
//   - Serialised writers. Write transactions run one at a time and revisions are
//     assigned at commit, so revisions follow commit order and a read at the revision a
//     write returned always sees that write.
//   - Garbage collection. Snapshots and changelog entries older than the GC window are
//     dropped (the snapshot covering the window's start and the newest are kept), and
//     expired relationships are deleted, so memory follows live data plus the writes
//     made inside the window.
//
// Reads at a revision older than the GC window, or older than the last Open (history
// is not kept on disk), fail with datastore.RevisionStale.
//
// See README.md for design notes, conformance-suite exceptions and limitations.
package localstore
