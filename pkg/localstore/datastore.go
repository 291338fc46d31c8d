// Adapted from authzed/spicedb@v1.57.1 internal/datastore/memdb/memdb.go.
// Copyright Authzed, Inc. Licensed under the Apache License, Version 2.0.

package localstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/go-memdb"
	"go.uber.org/zap"

	"github.com/authzed/spicedb/pkg/datastore"
)

// Engine is the engine name localstore reports.
const Engine = "localstore"

const (
	defaultGCWindow             = 24 * time.Hour
	defaultQuantization         = 5 * time.Second
	defaultWatchBufferLength    = 128
	defaultGCInterval           = 3 * time.Minute
	defaultWatchBufferWriteWait = 100 * time.Millisecond
	maxRetries                  = 10
)

var (
	// ErrClosed is returned by every operation on a closed Datastore.
	ErrClosed = errors.New("localstore: datastore is closed")

	// errSerialization is the retryable error a transaction function may return to
	// ask ReadWriteTx to run it again. Writers are serialised, so localstore itself
	// never produces it.
	errSerialization = errors.New("localstore: serialization error")
)

// Options configures a Datastore. Zero values select the defaults.
type Options struct {
	// GCWindow is how long old revisions stay readable. Zero: 24h.
	GCWindow time.Duration
	// RevisionQuantization rounds OptimizedRevision down to this period so that
	// caches can be shared. Zero: 5s, as SpiceDB. Negative: no quantization (every
	// OptimizedRevision is the current time).
	RevisionQuantization time.Duration
	// WatchBufferLength is the default Watch channel buffer. Zero: 128.
	WatchBufferLength uint16
	// GCInterval is how often background garbage collection runs. Zero: 3m.
	// Negative: no background collection (call CollectGarbage yourself).
	GCInterval time.Duration
	// MinFreeBytes is the free space the store keeps on its file system: a write
	// that would leave less fails with a DiskFullError (and changes nothing), and
	// Open fails the same way. Zero: 64 MiB. Negative: no check (Pebble then fails
	// fatally when the disk fills).
	MinFreeBytes int64
	// Logger receives the storage engine's log (errors, damaged data, stalls, and
	// at debug level its routine messages) and the store's warnings. Nil: none.
	Logger *zap.Logger
}

// Datastore is a durable, indexed SpiceDB datastore. It implements datastore.Datastore.
type Datastore struct {
	// writeMu serialises write transactions from their start until their revision is
	// published, so revisions are assigned and become visible in commit order.
	writeMu sync.Mutex

	mu        sync.RWMutex
	db        *memdb.MemDB  // nil once closed; GUARDED_BY(mu)
	snapshots []snapshot    // ascending by revision, never empty while open; GUARDED_BY(mu)
	recent    recentChanges // the last revisions' relationship changes; GUARDED_BY(mu)
	// historyStart is the oldest revision whose state is known exactly: zero for a
	// new directory (everything before the first snapshot was empty), the persisted
	// head after a reopen (snapshots before it are not kept on disk).
	historyStart revision
	// createdAt is the revision of a new directory's empty initial snapshot (zero after
	// a reopen, whose first snapshot holds the restored state).
	createdAt revision
	// After a reopen, the schema at revisions before historyStart is known from the
	// stored changelog for revisions >= changelogFrom (inside the window):
	// schemaHistory (ascending) holds the schema in force before each pre-restart
	// schema change; at and after the last one it is the restored state. Schema reads
	// at such revisions are served, so SpiceDB's Watch can read the schema at a
	// pre-restart start revision; relationship and counter reads stay RevisionStale.
	changelogFrom revision
	schemaHistory []schemaVersion // GUARDED_BY(mu)
	// published is closed (and replaced) whenever a new snapshot is published, to
	// wake watchers; GUARDED_BY(mu).
	published chan struct{}
	// pending is the revision of the commit being made (zero when none): it is
	// reserved before the batch is synced and published after, and no one may read at
	// or after it meanwhile. pendingDone is closed when that commit ends, either way.
	// GUARDED_BY(mu).
	pending     revision
	pendingDone chan struct{}
	// readUpTo is the newest revision anyone has been handed to read at. A commit is
	// always given a newer revision, so the state at a revision that has been read never
	// changes (SpiceDB caches results by revision). Raised under mu's read lock,
	// consulted under its write lock.
	readUpTo atomic.Int64

	store *pebble.DB
	lock  *pebble.Lock
	dir   string
	log   *zap.Logger
	// identity records each acknowledged head revision (see IdentityFile); nil
	// once closed. Written under writeMu.
	identity *identityWriter
	// minFreeBytes is the reserve checked before each write (0: none); freeSpace
	// measures it (tests replace it).
	minFreeBytes uint64
	freeSpace    func(dir string) (uint64, error)
	// corrupt holds damage Pebble reported while serving.
	corrupt *corruptionLog

	gcWindow                time.Duration
	quantization            int64
	watchBufferLength       uint16
	watchBufferWriteTimeout time.Duration
	uniqueID                string

	// rowsVisited counts relationship rows examined by queries; tests use it to
	// show that lookups are index-bounded.
	rowsVisited atomic.Uint64
	gcRuns      atomic.Uint64

	// storageFault, when set (tests only), replaces the storage commit's result so
	// the failure path can be exercised.
	storageFault func() error

	stopGC context.CancelFunc
	gcDone chan struct{}
}

type snapshot struct {
	revision   revision
	schemaHash string
	db         *memdb.MemDB // namespaces, caveats, counters, stored schema, changelog
	rels       *relTrees    // relationships; never mutated once published
}

// Open opens (creating if needed) the datastore stored in dir and rebuilds its
// in-memory indexes. Only one process may have a directory open at a time (else
// ErrLocked).
//
// Open verifies before it serves: a directory whose write-ahead log is damaged
// before its end, whose tables fail their checksums, which holds data but has lost
// its manifest, or whose data ends before the last revision it acknowledged (see
// IdentityFile) is refused with a *DamagedError (errors.Is ErrDamaged) naming the
// file; it is never opened with less. A torn final log record after a crash is
// normal: that write was never acknowledged. Open also fails with a DiskFullError
// when less than Options.MinFreeBytes is free.
func Open(ctx context.Context, dir string, opts Options) (*Datastore, error) {
	opts = opts.withDefaults()
	if opts.RevisionQuantization > opts.GCWindow {
		return nil, fmt.Errorf("localstore: revision quantization %s must not exceed GC window %s", opts.RevisionQuantization, opts.GCWindow)
	}

	opened, err := openStore(dir, uint64(max(opts.MinFreeBytes, 0)), opts.Logger)
	if err != nil {
		return nil, err
	}
	loaded, err := guard(func() (*loadedState, error) {
		return loadState(ctx, opened.db, nowRevision()-revision(opts.GCWindow.Nanoseconds()))
	})
	if err == nil {
		err = opened.corrupt.err()
	}
	if err == nil {
		err = checkIdentity(dir, opened, loaded)
	}
	if err == nil {
		err = opened.reopenForWrites()
	}
	if err == nil {
		err = storeLoadState(opened.db, loaded)
	}
	var identity *identityWriter
	if err == nil {
		identity, err = adoptIdentity(dir, opened, loaded, opts.Logger)
	}
	if err != nil {
		opened.close()
		return nil, loadError(dir, err)
	}
	store := opened.db

	ds := &Datastore{
		db:                      loaded.db,
		store:                   store,
		lock:                    opened.lock,
		dir:                     dir,
		log:                     opts.Logger,
		identity:                identity,
		minFreeBytes:            uint64(max(opts.MinFreeBytes, 0)),
		freeSpace:               freeBytes,
		corrupt:                 opened.corrupt,
		gcWindow:                opts.GCWindow,
		quantization:            max(opts.RevisionQuantization.Nanoseconds(), 1),
		watchBufferLength:       opts.WatchBufferLength,
		watchBufferWriteTimeout: defaultWatchBufferWriteWait,
		uniqueID:                loaded.uniqueID,
		published:               make(chan struct{}),
	}

	initial := nowRevision()
	if loaded.head > 0 {
		// The restored state is exactly the state at the persisted head.
		initial = loaded.head
		ds.historyStart = loaded.head
		ds.changelogFrom = loaded.changelogFrom
		ds.schemaHistory = loaded.schemaHistory
	} else {
		ds.createdAt = initial
	}
	ds.snapshots = []snapshot{{revision: initial, schemaHash: currentSchemaHash(loaded.db), db: loaded.db.Snapshot(), rels: loaded.rels}}

	if opts.GCInterval > 0 {
		gcCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		ds.stopGC = cancel
		ds.gcDone = make(chan struct{})
		go ds.runGC(gcCtx, opts.GCInterval)
	}
	return ds, nil
}

func (o Options) withDefaults() Options {
	if o.GCWindow <= 0 {
		o.GCWindow = defaultGCWindow
	}
	switch {
	case o.RevisionQuantization == 0:
		o.RevisionQuantization = defaultQuantization
	case o.RevisionQuantization < 0:
		o.RevisionQuantization = 0
	}
	if o.WatchBufferLength == 0 {
		o.WatchBufferLength = defaultWatchBufferLength
	}
	if o.GCInterval == 0 {
		o.GCInterval = defaultGCInterval
	}
	if o.MinFreeBytes == 0 {
		o.MinFreeBytes = defaultMinFreeBytes
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	return o
}

// Dir returns the directory the datastore lives in.
func (ds *Datastore) Dir() string { return ds.dir }

// MetricsID implements datastore.Datastore.
func (ds *Datastore) MetricsID() (string, error) { return Engine, nil }

// UniqueID implements datastore.Datastore; it is stable across reopen.
func (ds *Datastore) UniqueID(_ context.Context) (string, error) { return ds.uniqueID, nil }

// RevisionFromString implements datastore.Datastore.
func (ds *Datastore) RevisionFromString(s string) (datastore.Revision, error) {
	return ParseRevisionString(s)
}

// SupportsIntegrity implements datastore.Datastore.
func (ds *Datastore) SupportsIntegrity() bool { return true }

// SnapshotReader implements datastore.Datastore.
func (ds *Datastore) SnapshotReader(dr datastore.Revision) datastore.Reader {
	ds.mu.RLock()
	defer ds.mu.RUnlock()
	return ds.snapshotReaderLocked(dr)
}

// snapshotReaderLocked is SnapshotReader with mu read-locked. It may release and
// retake the lock to wait for a commit in progress.
func (ds *Datastore) snapshotReaderLocked(dr datastore.Revision) datastore.Reader {
	if ds.db == nil {
		return &reader{initErr: ErrClosed, now: time.Now()}
	}
	if err := ds.checkRevisionLocked(dr); err != nil {
		if r := ds.preRestartSchemaReaderLocked(dr, err); r != nil {
			return r
		}
		return &reader{initErr: err, now: time.Now()}
	}

	rev := revision(revisionFromAny(dr))
	if ds.pending != 0 && rev >= ds.pending {
		// A revision at or after a commit in progress: its state is not settled until
		// the commit ends. Only a revision the caller made up can get here (every
		// revision handed out precedes any later commit), so waiting is rare and short.
		done := ds.pendingDone
		ds.mu.RUnlock()
		<-done
		ds.mu.RLock()
		return ds.snapshotReaderLocked(dr)
	}
	ds.noteReadLocked(rev)
	snap := ds.snapshotAtLocked(rev)
	roTxn := snap.db.Txn(false)
	return &reader{
		TryLocker:        noopTryLocker{},
		txSource:         func() (*memdb.Txn, error) { return roTxn, nil },
		rels:             snap.rels,
		now:              time.Now(),
		visited:          &ds.rowsVisited,
		shareDefinitions: true,
	}
}

// preRestartSchemaReaderLocked returns a reader for a revision written before the
// last Open, inside the GC window and covered by the stored changelog, at which only
// the schema is known (rebuilt from the changelog's schema pre-images). Its schema
// reads (namespaces, caveats, stored schema) are exact; relationship and counter
// reads fail with staleErr. SpiceDB's Watch reads the schema at its start revision,
// so this lets Watch resume from before a restart. Returns nil otherwise.
func (ds *Datastore) preRestartSchemaReaderLocked(dr datastore.Revision, staleErr error) datastore.Reader {
	var invalid datastore.InvalidRevisionError
	if !errors.As(staleErr, &invalid) || invalid.Reason() != datastore.RevisionStale {
		return nil
	}
	rev, ok := dr.(revision)
	if !ok || ds.historyStart == 0 || rev >= ds.historyStart || rev < ds.changelogFrom ||
		rev < nowRevision()-revision(ds.gcWindow.Nanoseconds()) {
		return nil
	}
	var db *memdb.MemDB
	if i := sort.Search(len(ds.schemaHistory), func(i int) bool { return ds.schemaHistory[i].until > rev }); i < len(ds.schemaHistory) {
		db = ds.schemaHistory[i].db
	} else {
		snap := ds.snapshotAtLocked(ds.historyStart)
		if snap.revision != ds.historyStart {
			return nil
		}
		db = snap.db
	}
	roTxn := db.Txn(false)
	return &reader{
		TryLocker: noopTryLocker{},
		txSource:  func() (*memdb.Txn, error) { return roTxn, nil },
		relsErr:   staleErr,
		now:       time.Now(),
		visited:   &ds.rowsVisited,
	}
}

// snapshotAtLocked returns the newest snapshot whose revision is <= rev, or the
// oldest snapshot when rev precedes all of them (only reachable for a new
// directory, whose state before the first snapshot was empty).
func (ds *Datastore) snapshotAtLocked(rev revision) snapshot {
	i := sort.Search(len(ds.snapshots), func(i int) bool { return ds.snapshots[i].revision > rev })
	if i == 0 {
		return ds.snapshots[0]
	}
	return ds.snapshots[i-1]
}

// ReadyState implements datastore.Datastore: an open datastore is always ready.
func (ds *Datastore) ReadyState(_ context.Context) (datastore.ReadyState, error) {
	ds.mu.RLock()
	defer ds.mu.RUnlock()
	if ds.db == nil {
		return datastore.ReadyState{Message: "datastore is closed", IsReady: false}, nil
	}
	return datastore.ReadyState{IsReady: true}, nil
}

// OfflineFeatures implements datastore.Datastore.
func (ds *Datastore) OfflineFeatures() (*datastore.Features, error) {
	return &datastore.Features{
		Watch:                   datastore.Feature{Status: datastore.FeatureSupported},
		IntegrityData:           datastore.Feature{Status: datastore.FeatureSupported},
		ContinuousCheckpointing: datastore.Feature{Status: datastore.FeatureUnsupported},
		WatchEmitsImmediately:   datastore.Feature{Status: datastore.FeatureUnsupported},
	}, nil
}

// Features implements datastore.Datastore.
func (ds *Datastore) Features(_ context.Context) (*datastore.Features, error) {
	return ds.OfflineFeatures()
}

// Close stops garbage collection, waits for an in-flight write, and closes storage.
// Every acknowledged write is already synced, so Close loses nothing.
func (ds *Datastore) Close() error {
	if ds.stopGC != nil {
		ds.stopGC()
		<-ds.gcDone
		ds.stopGC = nil
	}

	ds.writeMu.Lock()
	defer ds.writeMu.Unlock()
	ds.mu.Lock()
	defer ds.mu.Unlock()

	if ds.db == nil {
		return nil
	}
	ds.db = nil
	ds.snapshots = nil
	ds.schemaHistory = nil
	close(ds.published)
	err := ds.store.Close()
	err = errors.Join(err, ds.identity.close(), ds.lock.Close())
	ds.identity = nil
	if err != nil {
		return fmt.Errorf("localstore: close %s: %w", ds.dir, err)
	}
	return nil
}

var _ datastore.Datastore = (*Datastore)(nil)
