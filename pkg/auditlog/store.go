// Package auditlog keeps SpiceDB's change stream, with each change's actor and reason, in a
// SQL table that outlives SpiceDB's garbage-collection window.
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
CREATE INDEX IF NOT EXISTS audit_log_actor ON audit_log (actor, seq);
CREATE INDEX IF NOT EXISTS audit_log_objects ON audit_log USING GIN (objects);
`

// Open connects to the database at uri (postgres:// or postgresql://) and creates the
// audit_log table if it is missing.
func Open(ctx context.Context, uri string) (*Store, error) {
	pool, err := pgxpool.New(ctx, uri)
	if err != nil {
		return nil, fmt.Errorf("opening the audit log database: %w", err)
	}
	if _, err := pool.Exec(ctx, createTable); err != nil {
		pool.Close()
		return nil, fmt.Errorf("creating the audit_log table: %w", err)
	}
	return &Store{pool: pool}, nil
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
	return &Store{pool: pool}, nil
}

// Close releases the store's connections.
func (s *Store) Close() { s.pool.Close() }

// Append records an entry once: an entry whose revision is already stored is skipped, so a
// restarted or retried consumer never duplicates. It reports whether a row was added.
func (s *Store) Append(ctx context.Context, e Entry) (bool, error) {
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
		tag, err := tx.Exec(ctx, `INSERT INTO audit_log (revision, actor, reason, operation, principal, claimed_actor, objects, changes)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (revision) DO NOTHING`,
			e.Revision, e.Actor, e.Reason, e.Operation, e.Principal, e.ClaimedActor, objects, changes)
		added = err == nil && tag.RowsAffected() == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("recording revision %s: %w", e.Revision, err)
	}
	return added, nil
}

// LastRevision returns the revision of the newest entry, or "" for an empty log.
func (s *Store) LastRevision(ctx context.Context) (string, error) {
	var rev string
	err := s.pool.QueryRow(ctx, `SELECT revision FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&rev)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the last audit revision: %w", err)
	}
	return rev, nil
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

// setStartRevision records where the log begins, unless that is already recorded.
func (s *Store) setStartRevision(ctx context.Context, rev string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO audit_log_start (id, revision) VALUES (1, $1) ON CONFLICT (id) DO NOTHING`, rev)
	if err != nil {
		return fmt.Errorf("recording where the audit log starts: %w", err)
	}
	return nil
}

// resumeAfter is the revision the change stream resumes after: the last entry, else the start.
func (s *Store) resumeAfter(ctx context.Context) (string, error) {
	last, err := s.LastRevision(ctx)
	if err != nil || last != "" {
		return last, err
	}
	return s.StartRevision(ctx)
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
	return func(yield func(Entry, error) bool) {
		after := f.AfterSeq
		const page = 500
		for {
			rows, err := s.pool.Query(ctx, `SELECT seq, revision, recorded_at, actor, reason, operation, principal, claimed_actor, changes
				FROM audit_log
				WHERE seq > $1 AND ($2 = '' OR actor = $2) AND ($3 = '' OR $3 = ANY(objects))
				ORDER BY seq LIMIT $4`, after, f.Actor, f.Object, page)
			if err != nil {
				yield(Entry{}, fmt.Errorf("reading the audit log: %w", err))
				return
			}
			var batch []Entry
			for rows.Next() {
				var e Entry
				var changes []byte
				if err := rows.Scan(&e.Seq, &e.Revision, &e.RecordedAt, &e.Actor, &e.Reason, &e.Operation, &e.Principal, &e.ClaimedActor, &changes); err != nil {
					rows.Close()
					yield(Entry{}, fmt.Errorf("reading the audit log: %w", err))
					return
				}
				if err := json.Unmarshal(changes, &e.Changes); err != nil {
					rows.Close()
					yield(Entry{}, fmt.Errorf("decoding audit entry %d: %w", e.Seq, err))
					return
				}
				batch = append(batch, e)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				yield(Entry{}, fmt.Errorf("reading the audit log: %w", err))
				return
			}
			for _, e := range batch {
				if !yield(e, nil) {
					return
				}
				after = e.Seq
			}
			if len(batch) < page {
				return
			}
		}
	}
}
