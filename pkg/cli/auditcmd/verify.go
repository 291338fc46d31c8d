package auditcmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/auditlog"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
)

// VerifyOptions are the inputs of `accessctl history verify`.
type VerifyOptions struct {
	Factory    *factory.Factory
	Datastore  string
	Checkpoint string
}

// NewCmdHistoryVerify builds `accessctl history verify`.
func NewCmdHistoryVerify(f *factory.Factory, runF func(context.Context, *VerifyOptions) error) *cobra.Command {
	o := &VerifyOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "verify [--datastore URI] [--checkpoint FILE]",
		Short: "Check that the durable audit log was not changed: every entry against its hash chain",
		Long: `Read the whole durable audit log, oldest first, and check each entry against the hash
chain it was recorded in: its own hash (an entry edited in place), the hash of the entry
before it (an entry removed, inserted or moved), the positions (a gap), and the chain's
stored head (entries removed from the end).

Someone who can write to the database and who recomputes every hash after an edit leaves a
chain that is consistent again. A checkpoint taken earlier with "history checkpoint" and
kept apart from the database catches that: with --checkpoint FILE, the entry at the
checkpoint's position must still have the checkpoint's hash.

The server also replays the whole log into the relationships it implies and compares them
with the ones its datastore holds at the log's head revision (unexpired ones only; the
server's key registry left out): a relationship stored that no entry wrote, one the log
wrote and never deleted that is not stored, or a different expiry is a problem. The last
line says what was compared, or why it could not be: --datastore reads only the audit_log
table; a log begun when relationships already existed cannot account for them.

It prints the number of entries and the head, or the first broken entry and what is wrong
with it (up to 20 problems). Exit status 0: intact; 4: the log departs from its chain; 1:
the log could not be read. -o json prints the whole report.

Without --datastore, the server's own log (in its data directory on the local datastore,
or its database's audit_log) is verified by the server, through the domain API: an
auditor's or operator's key. With --datastore, the audit_log table of that database is
read directly, no server needed: a database user with SELECT rights suffices.`,
		Example: `  # verify the server's audit log (through its domain API)
  $ accessctl history verify

  # verify a database's audit_log directly
  $ accessctl history verify --datastore postgres://auditor@db:5432/accessgraph

  # keep a checkpoint each month, elsewhere, and prove later that nothing before it changed
  $ accessctl history checkpoint --datastore postgres://auditor@db:5432/accessgraph > 2026-12.checkpoint.json
  $ accessctl history verify --datastore postgres://auditor@db:5432/accessgraph --checkpoint 2026-12.checkpoint.json`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.Run(cmd.Context(), runF, runVerify, o)
		},
	}
	cmd.Flags().StringVar(&o.Datastore, "datastore", "", "read the audit_log table of this database (postgres://... or cockroachdb://...) instead of asking the server")
	cmd.Flags().StringVar(&o.Checkpoint, "checkpoint", "", "a checkpoint file written by \"history checkpoint\" that the log must still match")
	return cmd
}

func runVerify(ctx context.Context, o *VerifyOptions) error {
	var cp *auditlog.Checkpoint
	if o.Checkpoint != "" {
		c, err := readCheckpoint(o.Checkpoint)
		if err != nil {
			return err
		}
		cp = &c
	}
	p, err := o.Factory.Printer()
	if err != nil {
		return err
	}
	if err := p.RefuseCSV("history verify"); err != nil {
		return cmdutil.AsUsage(err)
	}
	var v auditlog.Verification
	if o.Datastore != "" {
		driverURI, err := sqlDatastore(o.Datastore)
		if err != nil {
			return err
		}
		store, err := auditlog.OpenReader(ctx, driverURI)
		if err != nil {
			return err
		}
		defer store.Close()
		if v, err = store.Verify(ctx, cp); err != nil {
			return err
		}
		v.StateNote = "not compared with the stored relationships: --datastore reads only the audit_log table (ask the server to compare them)"
	} else {
		a, err := auditor(ctx, o.Factory)
		if err != nil {
			return err
		}
		if v, err = a.VerifyHistory(ctx, cp); err != nil {
			return durableLogError(err)
		}
	}
	if p.JSON() {
		if err := p.Line("", v); err != nil {
			return err
		}
	} else {
		out := o.Factory.IOStreams.Out
		switch {
		case v.Intact() && cp != nil:
			fmt.Fprintf(out, "intact: %d entries, head at entry %d (hash %s); matches the checkpoint at entry %d\n", v.Entries, v.Head.Position, v.Head.Hash, cp.Position)
		case v.Intact():
			fmt.Fprintf(out, "intact: %d entries, head at entry %d (hash %s)\n", v.Entries, v.Head.Position, v.Head.Hash)
		default:
			fmt.Fprintf(out, "TAMPERED: %d entries read; the first break:\n", v.Entries)
			for _, pr := range v.Problems {
				fmt.Fprintf(out, "  %s\n", pr)
			}
		}
		if a := v.Anchor; a != nil {
			fmt.Fprintf(out, "retention: entries up to %d (recorded up to %s) were pruned; the chain goes on from entry %d's hash, and the %d relationships they left are kept in their place\n",
				a.Position, a.RecordedAt.UTC().Format(time.RFC3339), a.Position, a.Relationships)
		}
		if v.StateNote != "" {
			fmt.Fprintf(out, "relationships: %s\n", v.StateNote)
		}
	}
	if !v.Intact() {
		return &cmdutil.ExitCodeError{Code: cmdutil.ExitTampered}
	}
	return nil
}

// durableLogError explains where the durable log is read from when the server answered
// without one: an in-process auditor over the raw connection has none.
func durableLogError(err error) error {
	if errors.Is(err, audit.ErrNoDurableLog) {
		return fmt.Errorf("%w\n(the server's audit log is read through its domain API: pass --api-url or set ACCESSCTL_API_URL; a database's audit_log with --datastore)", err)
	}
	return err
}

func readCheckpoint(path string) (auditlog.Checkpoint, error) {
	var cp auditlog.Checkpoint
	b, err := os.ReadFile(path)
	if err != nil {
		return cp, cmdutil.Usagef("--checkpoint: %v", err)
	}
	if err := json.Unmarshal(b, &cp); err != nil {
		return cp, cmdutil.Usagef("--checkpoint %s: not a checkpoint written by \"history checkpoint\": %v", path, err)
	}
	if cp.Position <= 0 || len(cp.Hash) != 64 {
		return cp, cmdutil.Usagef("--checkpoint %s: a checkpoint needs a position of at least 1 and a 64-digit hash (got position %s, hash %q)", path, strconv.FormatInt(cp.Position, 10), cp.Hash)
	}
	return cp, nil
}

// CheckpointOptions are the inputs of `accessctl history checkpoint`.
type CheckpointOptions struct {
	Factory   *factory.Factory
	Datastore string
}

// NewCmdHistoryCheckpoint builds `accessctl history checkpoint`.
func NewCmdHistoryCheckpoint(f *factory.Factory, runF func(context.Context, *CheckpointOptions) error) *cobra.Command {
	o := &CheckpointOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "checkpoint [--datastore URI]",
		Short: "Print the audit log's chain head, to keep apart from the database and verify against later",
		Long: `Print the head of the durable audit log's hash chain as JSON: the newest entry's
position, hash, revision and time. The hash commits to every entry before it, so a copy
kept where the database's writers cannot reach (a ticket, a signed e-mail, another
system) lets "history verify --checkpoint FILE" prove later that no entry up to it was
changed, even by someone who recomputed the hashes. Without --datastore the server's own
log is asked, through the domain API; with it, that database's audit_log table.`,
		Example: `  $ accessctl history checkpoint > checkpoint.json
  $ accessctl history checkpoint --datastore postgres://auditor@db:5432/accessgraph > checkpoint.json`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.Run(cmd.Context(), runF, runCheckpoint, o)
		},
	}
	cmd.Flags().StringVar(&o.Datastore, "datastore", "", "read the audit_log table of this database (postgres://... or cockroachdb://...) instead of asking the server")
	return cmd
}

func runCheckpoint(ctx context.Context, o *CheckpointOptions) error {
	var cp auditlog.Checkpoint
	if o.Datastore != "" {
		driverURI, err := sqlDatastore(o.Datastore)
		if err != nil {
			return err
		}
		store, err := auditlog.OpenReader(ctx, driverURI)
		if err != nil {
			return err
		}
		defer store.Close()
		if cp, err = store.Head(ctx); err != nil {
			return err
		}
	} else {
		a, err := auditor(ctx, o.Factory)
		if err != nil {
			return err
		}
		if cp, err = a.HistoryCheckpoint(ctx); err != nil {
			return durableLogError(err)
		}
	}
	if cp.Position == 0 {
		return errors.New("the audit log is empty: there is no head to checkpoint yet")
	}
	b, err := json.MarshalIndent(cp, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(o.Factory.IOStreams.Out, "%s\n", b)
	return err
}
