package localstore

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// GCStats reports what one garbage collection removed.
type GCStats struct {
	SnapshotsDropped            int
	ChangelogEntriesDeleted     int
	ExpiredRelationshipsDeleted int
}

// CollectGarbage drops revision snapshots and Watch changelog entries (in memory and
// in storage) older than the GC window (always keeping the snapshot that covers the
// window's start, and the newest) and deletes relationships whose expiration has
// passed. Expired relationships are already invisible to every read, so deleting
// them changes no query result; the deletion is persisted like any write but is not
// reported to Watch. It runs in the background every GCInterval.
func (ds *Datastore) CollectGarbage(_ context.Context) (GCStats, error) {
	ds.writeMu.Lock()
	defer ds.writeMu.Unlock()

	ds.mu.RLock()
	db := ds.db
	ds.mu.RUnlock()
	if db == nil {
		return GCStats{}, ErrClosed
	}

	var stats GCStats
	now := time.Now()
	cutoff := revision(now.UnixNano() - ds.gcWindow.Nanoseconds())

	tx := db.Txn(true)
	tx.TrackChanges()
	committed := false
	defer func() {
		if !committed {
			tx.Abort()
		}
	}()

	rels := ds.headRels().clone()
	var expired []*relationship
	rels.byExpiration.Scan(func(row *relationship) bool {
		if !row.expiredAt(now) {
			return false // ordered by expiration
		}
		expired = append(expired, row)
		return true
	})

	var oldChanges []any
	cit, err := tx.LowerBound(tableChangelog, indexRevision, int64(math.MinInt64))
	if err != nil {
		return stats, fmt.Errorf("localstore: scanning changelog: %w", err)
	}
	for raw := cit.Next(); raw != nil; raw = cit.Next() {
		if revision(raw.(*changelog).revisionNanos) >= cutoff {
			break
		}
		oldChanges = append(oldChanges, raw)
	}

	var relChanges relChangeTracker
	for _, row := range expired {
		rels.remove(row)
		relChanges.track(row, nil)
	}
	for _, entry := range oldChanges {
		if err := tx.Delete(tableChangelog, entry); err != nil {
			return stats, fmt.Errorf("localstore: deleting changelog entry: %w", err)
		}
	}
	stats.ExpiredRelationshipsDeleted = len(expired)
	stats.ChangelogEntriesDeleted = len(oldChanges)

	if len(oldChanges) > 0 {
		// The stored entries go first; if that fails nothing changes. (Open never
		// loads entries older than the window, so a later failure is harmless.)
		newest := oldChanges[len(oldChanges)-1].(*changelog).revisionNanos
		if err := ds.deleteStoredChangelog(newest + 1); err != nil {
			return GCStats{}, err
		}
	}

	switch {
	case len(expired) > 0:
		if err := ds.commitLocked(tx, rels, &relChanges, ds.reserveRevisionLocked(0), nil, false); err != nil {
			return stats, err
		}
		committed = true
	case len(oldChanges) > 0:
		// Only Watch history changed: no data is visible differently, so replace the
		// head snapshot in place instead of minting a revision (an idle store then
		// stays idle).
		tx.Commit()
		committed = true
		ds.replaceHeadSnapshot()
	}

	stats.SnapshotsDropped = ds.pruneSnapshots(cutoff)
	ds.gcRuns.Add(1)
	return stats, nil
}

// deleteStoredChangelog deletes the stored changelog entries before revision end.
func (ds *Datastore) deleteStoredChangelog(end int64) error {
	// A deletion is a write-ahead log record too: refused on a full disk like any
	// write (the next run retries).
	if err := ds.checkFreeSpace("deleting expired changelog entries", 1<<10); err != nil {
		return err
	}
	// Memory forgets them first: a watcher then finds a collected revision gone, wherever
	// it looks.
	ds.mu.Lock()
	ds.recent.forgetBefore(end)
	ds.mu.Unlock()
	if err := ds.store.DeleteRange(changelogKeyFloor, changelogKey(end), pebble.Sync); err != nil {
		return fmt.Errorf("localstore: deleting changelog entries from %s: %w", ds.dir, err)
	}
	return nil
}

// pruneSnapshots keeps the newest snapshot at or before cutoff (it serves reads at
// the start of the window) and every later one.
func (ds *Datastore) pruneSnapshots(cutoff revision) int {
	ds.mu.Lock()
	defer ds.mu.Unlock()

	// Pre-restart schema versions that end at or before the cutoff can no longer
	// be read.
	drop := 0
	for drop < len(ds.schemaHistory) && ds.schemaHistory[drop].until <= cutoff {
		drop++
	}
	if drop > 0 {
		ds.schemaHistory = slices.Clone(ds.schemaHistory[drop:])
	}

	keepFrom := 0
	for i, s := range ds.snapshots {
		if s.revision <= cutoff {
			keepFrom = i
		}
	}
	keepFrom = min(keepFrom, len(ds.snapshots)-1)
	if keepFrom == 0 {
		return 0
	}
	// Copy so the dropped snapshots' databases can be freed.
	ds.snapshots = slices.Clone(ds.snapshots[keepFrom:])
	return keepFrom
}

// replaceHeadSnapshot re-snapshots the live database under the head revision.
// Caller holds writeMu.
func (ds *Datastore) replaceHeadSnapshot() {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if ds.db == nil {
		return
	}
	ds.snapshots[len(ds.snapshots)-1].db = ds.db.Snapshot()
}

// snapshotCount returns how many revision snapshots are retained.
func (ds *Datastore) snapshotCount() int {
	ds.mu.RLock()
	defer ds.mu.RUnlock()
	return len(ds.snapshots)
}

func (ds *Datastore) runGC(ctx context.Context, interval time.Duration) {
	defer close(ds.gcDone)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			// A failed run leaves state unchanged; the next tick retries.
			_, _ = ds.CollectGarbage(ctx)
		}
	}
}
