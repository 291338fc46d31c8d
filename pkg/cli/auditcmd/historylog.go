package auditcmd

import (
	"context"
	"errors"
	"iter"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/auditlog"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/engine"
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

// logChanges reads the durable audit log (audit.LogHistory): the entries after --since
// (every entry without it; with --follow and no --since, only new ones), then, with
// --follow, new entries every PollInterval until ctx ends.
func logChanges(ctx context.Context, o *HistoryOptions, hf historyFilter) (iter.Seq2[audit.Change, error], error) {
	driverURI, err := sqlDatastore(o.Datastore)
	if err != nil {
		return nil, err
	}
	store, err := auditlog.OpenReader(ctx, driverURI)
	if err != nil {
		return nil, err
	}
	log := audit.NewLogHistory(store)
	log.PollInterval = o.PollInterval
	filter := hf.filter(o.Since)
	changes := log.History(ctx, filter)
	if o.Follow {
		changes = log.Follow(ctx, filter)
	}
	return func(yield func(audit.Change, error) bool) {
		defer store.Close()
		for c, err := range changes {
			if err != nil && o.Since != "" && errors.Is(err, access.ErrNotFound) {
				err = cmdutil.Usagef("--since %q: no change with this revision is in the audit log (pass the revision of a change history printed)", o.Since)
			}
			if !yield(c, err) || err != nil {
				return
			}
		}
	}, nil
}
