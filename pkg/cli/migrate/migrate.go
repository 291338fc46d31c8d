// Package migrate holds `accessctl migrate`: bring a datastore to SpiceDB's schema revision.
package migrate

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/engine"
)

// Options are the inputs of `accessctl migrate`.
type Options struct {
	Factory   *factory.Factory
	Datastore string
}

// NewCmdMigrate builds `accessctl migrate`.
func NewCmdMigrate(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "migrate --datastore URI",
		Short: "Migrate a PostgreSQL or CockroachDB datastore to SpiceDB's current revision",
		Long: `Migrate a PostgreSQL or CockroachDB datastore to the schema revision this SpiceDB needs,
and do nothing else. serve migrates by itself; run this before rolling out new replicas
against a shared database.`,
		Example: `  $ accessctl migrate --datastore postgres://accessgraph@localhost:5432/accessgraph
  $ accessctl migrate --datastore cockroachdb://root@crdb-lb:26257/spicedb`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.Run(cmd.Context(), runF, run, o)
		},
	}
	cmd.Flags().StringVar(&o.Datastore, "datastore", "", "postgres://... or cockroachdb://... (required)")
	return cmd
}

func run(ctx context.Context, o *Options) error {
	name, _, err := engine.DatastoreEngine(o.Datastore)
	if err != nil {
		return cmdutil.AsUsage(err)
	}
	if name == "memory" {
		return cmdutil.Usagef("--datastore: the memory datastore needs no migration; give a postgres:// or cockroachdb:// URI")
	}
	if err := engine.Migrate(ctx, o.Datastore); err != nil {
		return err
	}
	fmt.Fprintf(o.Factory.IOStreams.ErrOut, "migrated the %s datastore to SpiceDB's head revision\n", name)
	return nil
}
