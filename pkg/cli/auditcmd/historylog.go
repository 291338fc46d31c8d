package auditcmd

import (
	"cmp"
	"context"
	"errors"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/auditlog"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// sqlDatastore checks a --datastore URI names PostgreSQL or CockroachDB and returns the URI
// the database driver takes (cockroachdb:// becomes postgresql://).
func sqlDatastore(uri string) (string, error) {
	if uri == "" {
		return "", cmdutil.Usagef("--datastore is required: the audit log lives in a PostgreSQL or CockroachDB database (postgres://... or cockroachdb://...)")
	}
	name, driverURI, err := engine.DatastoreEngine(uri)
	if err != nil {
		return "", cmdutil.Usagef("--datastore: %v", err)
	}
	if name == "memory" {
		return "", cmdutil.Usagef("--datastore: the audit log lives in a PostgreSQL or CockroachDB database; give a postgres:// or cockroachdb:// URI")
	}
	return driverURI, nil
}

// logChanges reads the durable audit log: the entries after --since (every entry without
// it; with --follow and no --since, only new ones), then, with --follow, new entries every
// PollInterval until ctx ends. Entries become audit.Change values, narrowed to the object
// like the change stream's, so both sources print the same way.
func logChanges(ctx context.Context, o *HistoryOptions, hf historyFilter) (iter.Seq2[audit.Change, error], error) {
	driverURI, err := sqlDatastore(o.Datastore)
	if err != nil {
		return nil, err
	}
	store, err := auditlog.OpenReader(ctx, driverURI)
	if err != nil {
		return nil, err
	}
	filter := auditlog.Filter{Actor: hf.actor}
	if !hf.object.IsZero() {
		filter.Object = hf.object.String()
	}
	return func(yield func(audit.Change, error) bool) {
		defer store.Close()
		after := int64(0)
		switch {
		case o.Since != "":
			seq, err := seqOf(ctx, store, o.Since)
			if err != nil {
				yield(audit.Change{}, err)
				return
			}
			after = seq
		case o.Follow:
			seq, err := lastSeq(ctx, store)
			if err != nil {
				if ctx.Err() == nil {
					yield(audit.Change{}, err)
				}
				return
			}
			after = seq
		}
		for {
			filter.AfterSeq = after
			for e, err := range store.Entries(ctx, filter) {
				if err != nil {
					if o.Follow && ctx.Err() != nil {
						return
					}
					yield(audit.Change{}, err)
					return
				}
				after = e.Seq
				if c, ok := entryChange(e, hf.object); ok && !yield(c, nil) {
					return
				}
			}
			if !o.Follow {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(o.PollInterval):
			}
		}
	}, nil
}

// seqOf finds the entry recorded for a revision token.
func seqOf(ctx context.Context, store *auditlog.Store, revision string) (int64, error) {
	seq, err := store.SeqOf(ctx, revision)
	if errors.Is(err, auditlog.ErrNotFound) {
		return 0, cmdutil.Usagef("--since %q: no change with this revision is in the audit log (pass the revision of a change history printed)", revision)
	}
	return seq, err
}

// lastSeq is the sequence number of the newest entry (0 for an empty log).
func lastSeq(ctx context.Context, store *auditlog.Store) (int64, error) {
	return store.LastSeq(ctx)
}

// entryChange turns an audit log entry into a change as the change stream reports it. The
// time is when the consumer recorded the entry (TimeFromRevision false: "~" in text). With
// an object, only the relationships touching it are kept, and an entry left with none is
// dropped.
func entryChange(e auditlog.Entry, object ref.Object) (audit.Change, bool) {
	c := audit.Change{
		Revision:  access.Token(e.Revision),
		Time:      e.RecordedAt.UTC(),
		Actor:     e.Actor,
		Reason:    e.Reason,
		Operation: e.Operation,
	}
	for k, v := range map[string]string{"actor": e.Actor, "reason": e.Reason, "operation": e.Operation} {
		if v != "" {
			if c.Metadata == nil {
				c.Metadata = map[string]any{}
			}
			c.Metadata[k] = v
		}
	}
	for _, ch := range e.Changes {
		u := audit.Update{
			Operation:    ch.Operation,
			Relationship: ch.Relationship,
			Resource:     splitObject(ch.Resource),
		}
		_, rest, _ := strings.Cut(ch.Relationship, "#")
		u.Relation, rest, _ = strings.Cut(rest, "@")
		subject, subjectRelation, _ := strings.Cut(rest, "#")
		u.Subject = ref.Subject{Object: splitObject(subject), Relation: subjectRelation}
		if ch.ExpiresAt != nil {
			u.ExpiresAt = ch.ExpiresAt.UTC()
		}
		if !object.IsZero() && u.Resource != object && u.Subject.Object != object {
			continue
		}
		c.Updates = append(c.Updates, u)
	}
	if !object.IsZero() && len(c.Updates) == 0 {
		return audit.Change{}, false
	}
	// The change stream's order within a transaction is not promised; sort as pkg/audit does.
	slices.SortStableFunc(c.Updates, func(x, y audit.Update) int {
		return cmp.Or(strings.Compare(x.Relationship, y.Relationship), strings.Compare(x.Operation, y.Operation))
	})
	return c, true
}

func splitObject(s string) ref.Object {
	typ, id, _ := strings.Cut(s, ":")
	return ref.Object{Type: typ, ID: id}
}
