// Package auditlog keeps SpiceDB's change stream, with each change's actor and reason, in a
// hash-chained log that outlives SpiceDB's garbage-collection window: a SQL table on
// PostgreSQL and CockroachDB, records in the local datastore otherwise.
package auditlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"time"

	crdbpgx "github.com/cockroachdb/cockroach-go/v2/crdb/crdbpgxv5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Entry is one committed SpiceDB transaction.
type Entry struct {
	// Seq orders entries as they were recorded (the order of the change stream).
	Seq int64 `json:"seq"`
	// Revision is the revision token the change stream reported for the transaction.
	Revision   string    `json:"revision"`
	RecordedAt time.Time `json:"recorded_at"`
	Actor      string    `json:"actor"`
	Reason     string    `json:"reason"`
	Operation  string    `json:"operation"`
	// Principal is the authenticated principal the server recorded (KIND:NAME), and
	// ClaimedActor an actor a raw write only claimed.
	Principal    string   `json:"principal,omitempty"`
	ClaimedActor string   `json:"claimed_actor,omitempty"`
	Changes      []Change `json:"changes"`
	// Position is the entry's place in the hash chain (from 1), PrevHash the hash of the
	// entry before it and Hash its own; see Verify.
	Position int64  `json:"position,omitempty"`
	PrevHash string `json:"prev_hash,omitempty"`
	Hash     string `json:"hash,omitempty"`
	// Anchor is set on a prune's entry (operation PruneOperation): where the log begins
	// since.
	Anchor *Anchor `json:"anchor,omitempty"`
}

// Change is one relationship written or deleted.
type Change struct {
	// Operation is "touch", "create" or "delete".
	Operation string `json:"operation"`
	// Relationship is in SpiceDB notation, resource#relation@subject.
	Relationship string `json:"relationship"`
	// ExpiresAt is set for a relationship with an expiry.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// Resource and Subject are the two objects, TYPE:ID, for filtering.
	Resource string `json:"resource"`
	Subject  string `json:"subject"`
}

// Store is the audit_log table in a PostgreSQL or CockroachDB database. It is safe for
// concurrent use; build it with Open and Close it when done.
type Store struct {
	pool *pgxpool.Pool
	// beforeRetention marks a table read (OpenReader) that no version with retention has
	// opened for writing: it has no anchor column or tables, and was never pruned.
	beforeRetention bool
}

const createTable = `
CREATE TABLE IF NOT EXISTS audit_log (
	seq         BIGSERIAL PRIMARY KEY,
	revision    TEXT NOT NULL UNIQUE,
	recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
	actor       TEXT NOT NULL,
	reason      TEXT NOT NULL,
	operation   TEXT NOT NULL,
	objects     TEXT[] NOT NULL,
	changes     JSONB NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_log_start (
	id       INT PRIMARY KEY DEFAULT 1 CHECK (id = 1),
	revision TEXT NOT NULL
);
ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS principal TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS claimed_actor TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS chain_pos BIGINT;
ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS chain_hash TEXT;
CREATE UNIQUE INDEX IF NOT EXISTS audit_log_chain_pos ON audit_log (chain_pos);
CREATE TABLE IF NOT EXISTS audit_log_head (
	id   INT PRIMARY KEY DEFAULT 1 CHECK (id = 1),
	pos  BIGINT NOT NULL,
	hash TEXT NOT NULL
);
INSERT INTO audit_log_head (id, pos, hash) VALUES (1, 0, '') ON CONFLICT (id) DO NOTHING;
CREATE INDEX IF NOT EXISTS audit_log_actor ON audit_log (actor, seq);
ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS anchor JSONB;
CREATE TABLE IF NOT EXISTS audit_log_anchor (
	id     INT PRIMARY KEY DEFAULT 1 CHECK (id = 1),
	anchor JSONB NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_log_base (
	relationship BYTEA PRIMARY KEY,
	base         JSONB NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_log_objects ON audit_log USING GIN (objects);
`

// Open connects to the database at uri (postgres:// or postgresql://) and creates the
// audit_log table if it is missing.
func Open(ctx context.Context, uri string) (*Store, error) {
	pool, err := pgxpool.New(ctx, uri)
	if err != nil {
		return nil, fmt.Errorf("opening the audit log database: %w", err)
	}
	// Entries recorded before the log was a chain are chained once, when the chain's head
	// is created; a row without a place in the chain found later was added outside the log
	// and Verify reports it.
	var chained bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('audit_log_head') IS NOT NULL`).Scan(&chained); err != nil {
		pool.Close()
		return nil, fmt.Errorf("looking for the audit chain's head: %w", err)
	}
	if _, err := pool.Exec(ctx, createTable); err != nil {
		pool.Close()
		return nil, fmt.Errorf("creating the audit_log table: %w", err)
	}
	s := &Store{pool: pool}
	if chained {
		return s, nil
	}
	if err := s.chainUnchained(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("chaining audit entries recorded before the chain: %w", err)
	}
	return s, nil
}

// ErrNoAuditLog reports a database without an audit_log table: nothing has recorded there yet.
var ErrNoAuditLog = errors.New("no audit log in this database")

// OpenReader connects to the database at uri to read the audit log, creating nothing, so a
// user with read rights only can audit. It fails with ErrNoAuditLog when the table is absent.
func OpenReader(ctx context.Context, uri string) (*Store, error) {
	pool, err := pgxpool.New(ctx, uri)
	if err != nil {
		return nil, fmt.Errorf("opening the audit log database: %w", err)
	}
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('audit_log') IS NOT NULL`).Scan(&exists); err != nil {
		pool.Close()
		return nil, fmt.Errorf("looking for the audit_log table: %w", err)
	}
	if !exists {
		pool.Close()
		return nil, fmt.Errorf("%w: the audit_log table is missing; it is created by \"accessctl serve\" on this database or by \"accessctl audit consume\"", ErrNoAuditLog)
	}
	var retained bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('audit_log_anchor') IS NOT NULL`).Scan(&retained); err != nil {
		pool.Close()
		return nil, fmt.Errorf("looking for the audit log's anchor: %w", err)
	}
	return &Store{pool: pool, beforeRetention: !retained}, nil
}

// Close releases the store's connections.
func (s *Store) Close() { s.pool.Close() }

// Append records an entry once, at the end of the hash chain: an entry whose revision is
// already stored is skipped, so a restarted or retried consumer never duplicates. It reports
// whether a row was added. The head row is locked for the transaction, so concurrent appends
// chain one after the other; the entry's time is taken under that lock, never before the
// previous entry's, so Settle can wait for every entry stamped before it.
func (s *Store) Append(ctx context.Context, e Entry) (bool, error) {
	return s.appendAt(ctx, e, time.Time{})
}

// appendAt appends e as recorded at the time given; zero means now, under the lock.
func (s *Store) appendAt(ctx context.Context, e Entry, at time.Time) (bool, error) {
	changes, err := json.Marshal(e.Changes)
	if err != nil {
		return false, fmt.Errorf("encoding changes: %w", err)
	}
	objects := make([]string, 0, 2*len(e.Changes))
	for _, c := range e.Changes {
		objects = append(objects, c.Resource, c.Subject)
	}
	var added bool
	err = crdbpgx.ExecuteTx(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		added = false
		var head Checkpoint
		if err := tx.QueryRow(ctx, `SELECT pos, hash FROM audit_log_head WHERE id = 1 FOR UPDATE`).Scan(&head.Position, &head.Hash); err != nil {
			return fmt.Errorf("locking the chain head: %w", err)
		}
		var prev *Entry
		var last time.Time
		err := tx.QueryRow(ctx, `SELECT recorded_at FROM audit_log WHERE chain_pos = $1`, head.Position).Scan(&last)
		switch {
		case err == nil:
			prev = &Entry{RecordedAt: recordingTime(last)}
		case !errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("reading the chain head's time: %w", err)
		}
		e.RecordedAt = stampTime(at, prev)
		pos := head.Position + 1
		hash := chainHash(pos, head.Hash, e)
		tag, err := tx.Exec(ctx, `INSERT INTO audit_log (revision, recorded_at, actor, reason, operation, principal, claimed_actor, objects, changes, chain_pos, prev_hash, chain_hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (revision) DO NOTHING`,
			e.Revision, e.RecordedAt, e.Actor, e.Reason, e.Operation, e.Principal, e.ClaimedActor, objects, changes, pos, head.Hash, hash)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE audit_log_head SET pos = $1, hash = $2 WHERE id = 1`, pos, hash); err != nil {
			return err
		}
		added = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("recording revision %s: %w", e.Revision, err)
	}
	return added, nil
}

// Settle implements Log: an append holds the chain head's row lock from taking its time
// until it commits, so once this transaction gets the lock every entry stamped before the
// call is committed.
func (s *Store) Settle(ctx context.Context) error {
	err := crdbpgx.ExecuteTx(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `SELECT pos FROM audit_log_head WHERE id = 1 FOR UPDATE`)
		return err
	})
	if err != nil {
		return fmt.Errorf("waiting for audit log appends in progress: %w", err)
	}
	return nil
}

// chainUnchained links entries recorded before the log was a chain, oldest first, after the
// head, so that a log upgraded in place is verifiable from then on.
func (s *Store) chainUnchained(ctx context.Context) error {
	return crdbpgx.ExecuteTx(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var head Checkpoint
		if err := tx.QueryRow(ctx, `SELECT pos, hash FROM audit_log_head WHERE id = 1 FOR UPDATE`).Scan(&head.Position, &head.Hash); err != nil {
			return fmt.Errorf("locking the chain head: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT `+s.columns()+` FROM audit_log WHERE chain_pos IS NULL ORDER BY seq`)
		if err != nil {
			return err
		}
		entries, err := pgx.CollectRows(rows, scanEntry)
		if err != nil {
			return err
		}
		if len(entries) == 0 {
			return nil
		}
		for _, e := range entries {
			e.RecordedAt = recordingTime(e.RecordedAt)
			pos := head.Position + 1
			hash := chainHash(pos, head.Hash, e)
			if _, err := tx.Exec(ctx, `UPDATE audit_log SET recorded_at = $1, chain_pos = $2, prev_hash = $3, chain_hash = $4 WHERE seq = $5`,
				e.RecordedAt, pos, head.Hash, hash, e.Seq); err != nil {
				return err
			}
			head = Checkpoint{Position: pos, Hash: hash}
		}
		_, err = tx.Exec(ctx, `UPDATE audit_log_head SET pos = $1, hash = $2 WHERE id = 1`, head.Position, head.Hash)
		return err
	})
}

// Head returns the newest entry of the chain as a checkpoint (zero for an empty log).
func (s *Store) Head(ctx context.Context) (Checkpoint, error) {
	var cp Checkpoint
	err := s.pool.QueryRow(ctx, `SELECT chain_pos, chain_hash, revision, recorded_at FROM audit_log
		WHERE chain_pos = (SELECT pos FROM audit_log_head WHERE id = 1)`).Scan(&cp.Position, &cp.Hash, &cp.Revision, &cp.RecordedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		var head Checkpoint
		if err := s.pool.QueryRow(ctx, `SELECT pos, hash FROM audit_log_head WHERE id = 1`).Scan(&head.Position, &head.Hash); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return Checkpoint{}, fmt.Errorf("reading the audit chain's head: %w", err)
		}
		if head.Position != 0 {
			return Checkpoint{}, fmt.Errorf("%w: the head records entry %d, which is not in the log", ErrTampered, head.Position)
		}
		return Checkpoint{}, nil
	}
	if err != nil {
		return Checkpoint{}, fmt.Errorf("reading the audit chain's head: %w", err)
	}
	cp.RecordedAt = cp.RecordedAt.UTC()
	return cp, nil
}

// ErrNotChained reports a log written before entries were hash-chained and not opened for
// writing since.
var ErrNotChained = errors.New("the audit log is not hash-chained yet")

// ErrTampered reports a log that no longer matches its hash chain.
var ErrTampered = errors.New("the audit log was changed outside accessgraph")

// Verify reads the whole log in chain order and checks every entry against its hash, the
// entry before it, the stored head and, when cp is not nil, a checkpoint taken earlier. The
// returned Verification lists what it found; the error is for a log that could not be read.
func (s *Store) Verify(ctx context.Context, cp *Checkpoint) (Verification, error) {
	var chained bool
	if err := s.pool.QueryRow(ctx, `SELECT to_regclass('audit_log_head') IS NOT NULL`).Scan(&chained); err != nil {
		return Verification{}, fmt.Errorf("looking for the audit chain's head: %w", err)
	}
	if !chained {
		return Verification{}, fmt.Errorf("%w: this audit log was recorded before entries were hash-chained; \"accessctl serve\" or \"accessctl audit consume\" chains it when it next opens the database", ErrNotChained)
	}
	head := func() (Checkpoint, error) {
		var h Checkpoint
		err := s.pool.QueryRow(ctx, `SELECT pos, hash FROM audit_log_head WHERE id = 1`).Scan(&h.Position, &h.Hash)
		if errors.Is(err, pgx.ErrNoRows) {
			return Checkpoint{Position: -1, Hash: "(the head row is missing)"}, nil
		}
		if err != nil {
			return Checkpoint{}, fmt.Errorf("reading the audit chain's head: %w", err)
		}
		return h, nil
	}
	return verifyChain(chainSource{
		after: func(pos int64) iter.Seq2[Entry, error] {
			return s.pagedEntries(ctx, `chain_pos IS NOT NULL AND chain_pos > $1`, `chain_pos`, pos)
		},
		head:    head,
		outside: s.pagedEntries(ctx, `chain_pos IS NULL AND seq > $1`, `seq`, 0),
		anchor:  func() (*Anchor, error) { return s.Anchor(ctx) },
		base:    s.Base(ctx),
	}, cp)
}

// pagedEntries streams the rows matching where ordered by key ("seq" or "chain_pos"), a
// page at a time, so a long log is never held in memory at once. In where, $1 is the last
// key read (from, at first), $2 the page size and $3... the extra args.
func (s *Store) pagedEntries(ctx context.Context, where, key string, from int64, args ...any) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		after := from
		const page = 1000
		for {
			rows, err := s.pool.Query(ctx, `SELECT `+s.columns()+` FROM audit_log WHERE `+where+` ORDER BY `+key+` LIMIT $2`, append([]any{after, page}, args...)...)
			if err != nil {
				yield(Entry{}, fmt.Errorf("reading the audit log: %w", err))
				return
			}
			batch, err := pgx.CollectRows(rows, scanEntry)
			if err != nil {
				yield(Entry{}, fmt.Errorf("reading the audit log: %w", err))
				return
			}
			for _, e := range batch {
				if !yield(e, nil) {
					return
				}
				after = e.Position
				if key == "seq" {
					after = e.Seq
				}
			}
			if len(batch) < page {
				return
			}
		}
	}
}

// entryColumns are the columns scanEntry reads, in its order; entryColumnsBeforeRetention
// the same of a table without the anchor column.
const (
	entryColumns                = `seq, revision, recorded_at, actor, reason, operation, principal, claimed_actor, changes, COALESCE(chain_pos, 0), COALESCE(prev_hash, ''), COALESCE(chain_hash, ''), anchor`
	entryColumnsBeforeRetention = `seq, revision, recorded_at, actor, reason, operation, principal, claimed_actor, changes, COALESCE(chain_pos, 0), COALESCE(prev_hash, ''), COALESCE(chain_hash, ''), NULL::JSONB`
)

func (s *Store) columns() string {
	if s.beforeRetention {
		return entryColumnsBeforeRetention
	}
	return entryColumns
}

func scanEntry(row pgx.CollectableRow) (Entry, error) {
	var e Entry
	var changes, anchor []byte
	if err := row.Scan(&e.Seq, &e.Revision, &e.RecordedAt, &e.Actor, &e.Reason, &e.Operation, &e.Principal, &e.ClaimedActor, &changes, &e.Position, &e.PrevHash, &e.Hash, &anchor); err != nil {
		return Entry{}, err
	}
	e.RecordedAt = e.RecordedAt.UTC()
	if err := json.Unmarshal(changes, &e.Changes); err != nil {
		return Entry{}, fmt.Errorf("decoding audit entry %d: %w", e.Seq, err)
	}
	if anchor != nil {
		e.Anchor = new(Anchor)
		if err := json.Unmarshal(anchor, e.Anchor); err != nil {
			return Entry{}, fmt.Errorf("decoding audit entry %d: %w", e.Seq, err)
		}
	}
	return e, nil
}

// LastRevision returns the revision of the newest entry (after a prune's entry, the newest
// change it recorded), or "" for an empty log.
func (s *Store) LastRevision(ctx context.Context) (string, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+s.columns()+` FROM audit_log ORDER BY seq DESC LIMIT 1`)
	if err != nil {
		return "", fmt.Errorf("reading the last audit revision: %w", err)
	}
	last, err := pgx.CollectRows(rows, scanEntry)
	if err != nil {
		return "", fmt.Errorf("reading the last audit revision: %w", err)
	}
	if len(last) == 0 {
		return "", nil
	}
	return resumeRevision(last[0]), nil
}

// SeqOf returns the sequence number of the entry recorded for a revision, with ErrNotFound
// when the log holds none.
func (s *Store) SeqOf(ctx context.Context, revision string) (int64, error) {
	var seq int64
	err := s.pool.QueryRow(ctx, `SELECT seq FROM audit_log WHERE revision = $1`, revision).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("%w: no audit entry for revision %s", ErrNotFound, revision)
	}
	if err != nil {
		return 0, fmt.Errorf("looking up revision %s: %w", revision, err)
	}
	return seq, nil
}

// LastSeq returns the sequence number of the newest entry, or 0 for an empty log.
func (s *Store) LastSeq(ctx context.Context) (int64, error) {
	var seq int64
	if err := s.pool.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM audit_log`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("reading the newest audit entry: %w", err)
	}
	return seq, nil
}

// ErrNotFound reports a revision the audit log does not hold.
var ErrNotFound = errors.New("not in the audit log")

// StartRevision returns where the log began, set once by the first consumer ("" if unset).
func (s *Store) StartRevision(ctx context.Context) (string, error) {
	var rev string
	err := s.pool.QueryRow(ctx, `SELECT revision FROM audit_log_start WHERE id = 1`).Scan(&rev)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading where the audit log starts: %w", err)
	}
	return rev, nil
}

// SetStartRevision records where the log begins, unless that is already recorded.
func (s *Store) SetStartRevision(ctx context.Context, rev string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO audit_log_start (id, revision) VALUES (1, $1) ON CONFLICT (id) DO NOTHING`, rev)
	if err != nil {
		return fmt.Errorf("recording where the audit log starts: %w", err)
	}
	return nil
}

// Filter narrows a listing. Zero fields match everything.
type Filter struct {
	// Object is TYPE:ID; entries touching it as resource or subject match.
	Object string
	// Actor is user:ID.
	Actor string
	// AfterSeq lists only entries recorded after this one.
	AfterSeq int64
}

// Entries streams matching entries oldest first, a page at a time.
func (s *Store) Entries(ctx context.Context, f Filter) iter.Seq2[Entry, error] {
	return s.pagedEntries(ctx, `seq > $1 AND ($3 = '' OR actor = $3) AND ($4 = '' OR $4 = ANY(objects))`, "seq", f.AfterSeq, f.Actor, f.Object)
}
