package engine

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// postgresWarnings inspects the PostgreSQL server behind uri for settings SpiceDB needs and
// returns one message per problem, each naming the fix.
func postgresWarnings(ctx context.Context, uri string) ([]string, error) {
	conn, err := pgx.Connect(ctx, uri)
	if err != nil {
		return nil, fmt.Errorf("%w: connecting to %s: %s", ErrDatastoreUnavailable, redactURI(uri), redactErr(err, uri))
	}
	defer conn.Close(ctx)
	var commitTimestamps string
	if err := conn.QueryRow(ctx, "SHOW track_commit_timestamp").Scan(&commitTimestamps); err != nil {
		return nil, fmt.Errorf("reading PostgreSQL settings: %w", err)
	}
	var warnings []string
	if commitTimestamps != "on" {
		warnings = append(warnings, "PostgreSQL has track_commit_timestamp off, so SpiceDB's Watch (change history and the audit trail) does not work: set track_commit_timestamp = on in postgresql.conf and restart PostgreSQL")
	}
	return warnings, nil
}
