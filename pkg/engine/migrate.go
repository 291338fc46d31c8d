package engine

import (
	"context"
	"fmt"

	spicecmd "github.com/authzed/spicedb/pkg/cmd"
)

// Migrate brings a PostgreSQL or CockroachDB datastore to SpiceDB's head schema revision.
// It calls the migration command's run function directly: its pre-run hook would read
// environment files, change process limits and look for releases over the network.
func Migrate(ctx context.Context, uri string) error {
	engineName, driverURI, err := DatastoreEngine(uri)
	if err != nil {
		return err
	}
	if driverURI == "" {
		return nil
	}
	cmd := spicecmd.NewMigrateCommand("accessctl")
	spicecmd.RegisterMigrateFlags(cmd)
	if err := cmd.Flags().Parse([]string{"--datastore-engine", engineName, "--datastore-conn-uri", driverURI}); err != nil {
		return fmt.Errorf("preparing migration: %w", err)
	}
	cmd.SetContext(ctx)
	if err := cmd.RunE(cmd, []string{"head"}); err != nil {
		return fmt.Errorf("%w: migrating %s: %s (is the database running, and does the URI name the right host, port, user and database?)", ErrDatastoreUnavailable, redactURI(uri), redactErr(err, driverURI))
	}
	return nil
}
