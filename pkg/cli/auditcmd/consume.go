package auditcmd

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/accessgraph/accessgraph/pkg/auditlog"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/cli/logging"
)

// NewCmdAudit builds `accessctl audit`, the group of audit log operations.
func NewCmdAudit(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit <command>",
		Short: "Operate the durable audit log",
		Long: `Operate the durable audit log: the audit_log table in a PostgreSQL or CockroachDB
database that keeps every change (with its actor, reason and operation) beyond SpiceDB's
garbage-collection window. Read it with "accessctl history --datastore URI".`,
		Args: cobra.ArbitraryArgs,
		RunE: cmdutil.GroupRun,
	}
	cmd.AddCommand(NewCmdConsume(f, nil))
	return cmd
}

// ConsumeOptions are the inputs of `accessctl audit consume`.
type ConsumeOptions struct {
	Factory   *factory.Factory
	Datastore string
	LogLevel  string
	// Retention is how long entries are kept (0: for good).
	Retention time.Duration
}

// NewCmdConsume builds `accessctl audit consume`.
func NewCmdConsume(f *factory.Factory, runF func(context.Context, *ConsumeOptions) error) *cobra.Command {
	o := &ConsumeOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "consume --datastore URI",
		Short: "Copy the server's change stream into the audit log until stopped",
		Long: `Follow the change stream (SpiceDB's Watch API) of the server accessctl connects to
(--endpoint/--token, ACCESSCTL_*, or the local profile) and copy every change, with its
actor, reason and operation, into the audit_log table of the --datastore database
(postgres://... or cockroachdb://...; the table is created if missing). Runs until SIGINT
or SIGTERM.

The first consumer of a database records the current revision as where the log starts;
later runs resume after the last entry, and entries are idempotent per revision, so a
restart loses and duplicates nothing as long as SpiceDB still holds the changes since the
last entry (its garbage-collection window, 24 hours by default). A broken stream is
reopened with back-off. Run exactly one consumer per server. Entries are kept for good
unless --retention says how long (docs/auditing.md, Retention).

"accessctl serve --datastore postgres://..." already keeps the audit log in its own
database; this command is for servers run elsewhere (the Kubernetes Deployment in
deploy/kubernetes/audit-consumer.yaml).

Logs go to standard error: human-readable on a terminal, JSON otherwise.`,
		Example: `  # keep the audit log of the local server in a PostgreSQL database
  $ accessctl audit consume --datastore postgres://audit:secret@localhost:5432/audit

  # against a cluster, as the Kubernetes Deployment runs it
  $ ACCESSCTL_ENDPOINT=accessgraph:50051 ACCESSCTL_INSECURE=true ACCESSCTL_TOKEN=$KEY accessctl audit consume --datastore cockroachdb://audit@crdb:26257/audit`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.Run(cmd.Context(), runF, runConsume, o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Datastore, "datastore", "", "the audit log database: postgres://... or cockroachdb://... (required)")
	fl.StringVar(&o.LogLevel, "log-level", "info", "debug, info, warn or error")
	fl.DurationVar(&o.Retention, "retention", 0, "keep entries this long (e.g. 17520h for two years), then prune them, keeping the relationships they left; 0 keeps them for good")
	_ = cmd.RegisterFlagCompletionFunc("log-level", cobra.FixedCompletions(logging.Levels, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runConsume(ctx context.Context, o *ConsumeOptions) error {
	if o.Retention < 0 {
		return cmdutil.Usagef("--retention %s: give a positive duration, or 0 to keep the audit log for good", o.Retention)
	}
	driverURI, err := sqlDatastore(o.Datastore)
	if err != nil {
		return err
	}
	log, err := logging.New(o.Factory.IOStreams, o.LogLevel, o.Factory.Getenv)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	e, err := o.Factory.Engine(ctx)
	if err != nil {
		return err
	}
	store, err := auditlog.Open(ctx, driverURI)
	if err != nil {
		return err
	}
	defer store.Close()
	consumer, err := auditlog.NewConsumer(ctx, e, store)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("starting the audit log consumer: %w", err)
	}
	last, err := store.LastRevision(ctx)
	if err != nil {
		return err
	}
	fields := []zap.Field{zap.String("database", redacted(driverURI)), zap.String("table", "audit_log")}
	if last != "" {
		fields = append(fields, zap.String("resume_after", last))
	}
	if o.Retention > 0 {
		fields = append(fields, zap.Duration("retention", o.Retention))
	}
	log.Info("copying the change stream into the audit log", fields...)
	pruning := make(chan struct{})
	go func() {
		defer close(pruning)
		auditlog.PruneOnSchedule(ctx, store, o.Retention, log.Named("audit"))
	}()
	err = consumer.Run(ctx, log.Named("audit"))
	stop()
	<-pruning
	if err != nil {
		return err
	}
	last, _ = store.LastRevision(context.WithoutCancel(ctx))
	log.Info("stopped", zap.String("last_revision", last))
	return nil
}

// redacted is a database URI without its password, for logs.
func redacted(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return "(unparsable URI)"
	}
	return u.Redacted()
}
