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
)

// Anchor implements Log.
func (s *Store) Anchor(ctx context.Context) (*Anchor, error) {
	if s.beforeRetention {
		return nil, nil
	}
	return readAnchor(ctx, s.pool.QueryRow)
}

// readAnchor reads the stored anchor with query (a pool's or a transaction's).
func readAnchor(ctx context.Context, query func(ctx context.Context, sql string, args ...any) pgx.Row) (*Anchor, error) {
	var raw []byte
	err := query(ctx, `SELECT anchor FROM audit_log_anchor WHERE id = 1`).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the audit log's anchor: %w", err)
	}
	var a Anchor
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("%w: the anchor of the pruned log cannot be read: %v", ErrTampered, err)
	}
	return &a, nil
}

// Base implements Log, a page at a time.
func (s *Store) Base(ctx context.Context) iter.Seq2[BaseRelationship, error] {
	return func(yield func(BaseRelationship, error) bool) {
		if s.beforeRetention {
			return
		}
		after := []byte{}
		const page = 1000
		for {
			rows, err := s.pool.Query(ctx, `SELECT relationship, base FROM audit_log_base WHERE relationship > $1 ORDER BY relationship LIMIT $2`, after, page)
			if err != nil {
				yield(BaseRelationship{}, fmt.Errorf("reading the audit log's base: %w", err))
				return
			}
			type row struct {
				key, value []byte
			}
			batch, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
				var x row
				return x, r.Scan(&x.key, &x.value)
			})
			if err != nil {
				yield(BaseRelationship{}, fmt.Errorf("reading the audit log's base: %w", err))
				return
			}
			for _, r := range batch {
				var b BaseRelationship
				if err := json.Unmarshal(r.value, &b); err != nil {
					yield(BaseRelationship{}, fmt.Errorf("%w: the audit log's base holds %q, which cannot be read: %v", ErrTampered, r.key, err))
					return
				}
				if b.Change.Relationship != string(r.key) {
					b.Change.Relationship = string(r.key) + " (holding " + b.Change.Relationship + ")"
				}
				if !yield(b, nil) {
					return
				}
				after = r.key
			}
			if len(batch) < page {
				return
			}
		}
	}
}

// baseInsertBatch is how many base rows one INSERT carries.
const baseInsertBatch = 2000

// commitPrune implements pruner.
func (s *Store) commitPrune(ctx context.Context, was *Anchor, a Anchor, base []BaseRelationship, e Entry) (Anchor, Checkpoint, error) {
	values := make([][]byte, len(base))
	keys := make([][]byte, len(base))
	for i, b := range base {
		v, err := json.Marshal(b)
		if err != nil {
			return Anchor{}, Checkpoint{}, err
		}
		keys[i], values[i] = []byte(b.Change.Relationship), v
	}
	e.RecordedAt = recordingTime(time.Now())
	var done Entry
	var final Anchor
	err := crdbpgx.ExecuteTx(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var head Checkpoint
		if err := tx.QueryRow(ctx, `SELECT pos, hash FROM audit_log_head WHERE id = 1 FOR UPDATE`).Scan(&head.Position, &head.Hash); err != nil {
			return fmt.Errorf("locking the chain head: %w", err)
		}
		now, err := readAnchor(ctx, tx.QueryRow)
		if err != nil {
			return err
		}
		if !sameAnchor(now, was) {
			return ErrPruneRaced
		}
		rows, err := tx.Query(ctx, `SELECT `+entryColumns+` FROM audit_log WHERE chain_pos = $1`, head.Position)
		if err != nil {
			return err
		}
		last, err := pgx.CollectRows(rows, scanEntry)
		if err != nil {
			return err
		}
		if len(last) != 1 || head.Position < a.Position {
			return fmt.Errorf("%w: the chain's head (entry %d) is not in the log", ErrTampered, head.Position)
		}
		final = a
		final.ResumeRevision = resumeRevision(last[0])
		pe := e
		pe.Position, pe.PrevHash, pe.Anchor = head.Position+1, head.Hash, &final
		pe.Hash = chainHash(pe.Position, pe.PrevHash, pe)
		if _, err := tx.Exec(ctx, `DELETE FROM audit_log WHERE chain_pos <= $1`, a.Position); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM audit_log_base WHERE true`); err != nil {
			return err
		}
		for i := 0; i < len(keys); i += baseInsertBatch {
			j := min(i+baseInsertBatch, len(keys))
			if _, err := tx.Exec(ctx, `INSERT INTO audit_log_base (relationship, base) SELECT * FROM unnest($1::BYTEA[], $2::JSONB[])`, keys[i:j], jsonArgs(values[i:j])); err != nil {
				return fmt.Errorf("storing the relationships kept: %w", err)
			}
		}
		anchor, err := json.Marshal(final)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO audit_log_anchor (id, anchor) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET anchor = excluded.anchor`, anchor); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO audit_log (revision, recorded_at, actor, reason, operation, principal, claimed_actor, objects, changes, chain_pos, prev_hash, chain_hash, anchor)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			pe.Revision, pe.RecordedAt, pe.Actor, pe.Reason, pe.Operation, pe.Principal, pe.ClaimedActor, []string{}, []byte("[]"), pe.Position, pe.PrevHash, pe.Hash, anchor); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE audit_log_head SET pos = $1, hash = $2 WHERE id = 1`, pe.Position, pe.Hash); err != nil {
			return err
		}
		done = pe
		return nil
	})
	if err != nil {
		return Anchor{}, Checkpoint{}, err
	}
	return final, Checkpoint{Position: done.Position, Hash: done.Hash, Revision: done.Revision, RecordedAt: done.RecordedAt}, nil
}

// jsonArgs passes JSON documents as text, which a JSONB[] parameter accepts.
func jsonArgs(vs [][]byte) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}
