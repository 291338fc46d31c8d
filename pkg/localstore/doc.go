// Package localstore is a durable, indexed SpiceDB datastore that lives in one directory.
//
// It implements datastore.Datastore for SpiceDB v1.57.1 and is adapted from SpiceDB's
// in-memory datastore (authzed/spicedb@v1.57.1 internal/datastore/memdb, Copyright
// Authzed, Inc., Apache License 2.0). Every committed write transaction publishes an
// immutable snapshot, so reads at any revision inside the GC window are MVCC snapshot
// reads.
//
// It differs from SpiceDB's memdb in these ways:
//
//   - Indexes. Relationships live in copy-on-write B-trees of row pointers ordered by
//     resource (type, id, relation, subject…), by subject (type, id, relation,
//     resource…), by (type, relation) and by expiration. A query reads the narrowest
//     tree range its filter allows, so a lookup by resource or subject id costs
//     O(log n + results) instead of a scan of every relationship of the type. A row
//     is one string holding its six key fields (its storage key, whose byte order is
//     the resource order) and one pointer to the rare caveat, integrity and
//     expiration. Namespaces, caveats, counters, the stored schema and the Watch
//     changelog stay in go-memdb tables as in memdb.
//   - Durability. Each write transaction is one Pebble batch committed with fsync
//     before its revision becomes visible and before ReadWriteTx returns. Open rebuilds
//     the in-memory state from the stored current state (relationships, namespaces,
//     caveats, counters, stored schema, head revision).
//   - Durable Watch history. The batch also holds the transaction's changelog entry
//     (relationship updates, schema changes, transaction metadata; JSON carrying
//     SpiceDB protobuf messages) keyed by big-endian revision. In memory an entry keeps
//     only its revision, the number of relationship changes, its schema changes and
//     metadata: Watch reads the relationship changes back from the stored entry. Open
//     reloads the entries inside the GC window, so Watch from a revision written before
//     a restart replays the same changes and metadata, then continues live.
//   - Serialised writers. Write transactions run one at a time and revisions are
//     assigned at commit, so revisions follow commit order and a read at the revision a
//     write returned always sees that write.
//   - Garbage collection. Snapshots and changelog entries older than the GC window are
//     dropped (the snapshot covering the window's start and the newest are kept;
//     changelog entries are deleted from storage too), and expired relationships are
//     deleted, so memory and disk follow live data plus the writes made inside the
//     window.
//
// Reads at a revision older than the GC window fail with datastore.RevisionStale. So
// do relationship and counter reads (and CheckRevision) at a revision older than the
// last Open, since snapshots are not kept on disk; only the schema at such a revision
// (inside the window) is rebuilt from the stored changelog, because SpiceDB's Watch
// reads the schema at its start revision.
//
// See README.md for design notes, conformance-suite exceptions and limitations.
package localstore
