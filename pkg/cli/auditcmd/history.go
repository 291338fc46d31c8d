package auditcmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/complete"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/principal"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// HistoryOptions are the inputs of `accessctl history`.
type HistoryOptions struct {
	Factory   *factory.Factory
	Object    string
	Account   string
	Actor     string
	Principal string
	Operation string
	From, To  string
	Since     string
	Follow    bool
	Datastore string
	// Limit, when positive, stops after this many changes.
	Limit int
	// PollInterval is how often --follow reads the audit log for new entries (1s).
	PollInterval time.Duration
}

// NewCmdHistory builds `accessctl history`.
func NewCmdHistory(f *factory.Factory, runF func(context.Context, *HistoryOptions) error) *cobra.Command {
	o := &HistoryOptions{Factory: f, PollInterval: time.Second}
	cmd := &cobra.Command{
		Use:   "history [--object TYPE:ID | --account ID] [--actor user:ID] [--principal KIND:NAME] [--operation OP] [--from TIME] [--to TIME] [--since TOKEN] [--follow] [--datastore URI]",
		Short: "Show who changed what, when and why",
		Long: `Show the write transactions, oldest first: when, who (the actor), the operation, the
reason given with --reason, and every relationship written ("touch") or deleted.

Two sources, with the same output:

  - By default, SpiceDB's change stream (the Watch API) on the server accessctl connects
    to. It holds what the datastore still keeps: the garbage-collection window (24 hours
    by default), across restarts, on the local datastore; everything since the server
    started on the memory datastore; the window on PostgreSQL and CockroachDB, where
    --since is needed.
  - With --datastore postgres://... or cockroachdb://..., the durable audit_log table in
    that database, kept by "accessctl serve" on a SQL datastore or by "accessctl audit
    consume". It outlives the GC window. No server connection is needed.

--object keeps the relationships whose resource or subject is the object (a change
touching it shows only those); --account keeps everything that touched an account's
access: relationships on the account and on what it owns (partner links, custom-role
bindings, cases, sold products, install base items), learnt from the history itself (the
durable log is read from its start for this); --actor keeps one actor's changes (user:ID, or
system:expiry for the expiry sweep); --principal keeps the changes the server recorded as
made by one authenticated principal (KIND:NAME, from the key the request proved);
--operation keeps one operation's changes (partner.grant, member.approve...); --from and
--to keep the changes in a time range (RFC 3339, a date, or a duration ago); --since starts after the change with that revision
token (the "revision" of a change, or the token a change command printed). --follow keeps
printing new changes as they happen (from now, or after --since) until interrupted.

Each change is a header line "TIME  ACTOR  OPERATION  "REASON"", then "(by KIND:NAME)"
when the server recorded who was authenticated, and "(claimed ACTOR)" when a raw write only
claimed an actor (the server never takes a raw write's actor as its author); and one
indented line per relationship. Changes to the server's key registry are listed only when
asked for by --operation key.create, key.rotate or key.revoke: who issued, rotated or revoked
whose key ("key KIND:NAME"), never the key's relationships. A time marked "~" is when the change was received or recorded, not when it
committed. With -o json each change is one JSON object per line (JSON Lines): revision,
time, time_from_revision, actor, reason, operation, principal, claimed_actor, metadata,
updates. With -o csv, one row per relationship under a header row (revision, time,
time_from_revision, actor, principal, claimed_actor, operation, reason, chain_position,
chain_hash, update, relationship, expires_at), for evidence export; a cell a spreadsheet
would take for a formula starts with a single quote. --limit N stops after N changes and
prints on standard error the --since that continues.`,
		Example: `  # everything that touched pete, from the server's change stream
  $ accessctl history --object user:pete

  # everything that touched acme's access this quarter, as CSV evidence
  $ accessctl history --account acme --from 2026-10-01 -o csv > acme-q4.csv

  # what bill did, as JSON Lines
  $ accessctl history --actor user:bill -o json

  # watch changes as they happen (Ctrl-C stops)
  $ accessctl history --follow

  # the durable audit log, after a revision you noted earlier
  $ accessctl history --datastore postgres://auditor@db:5432/accessgraph --since "$REV" --object account:acme

  # follow the audit log, polling every second
  $ accessctl history --datastore cockroachdb://auditor@crdb:26257/audit --follow`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runHistory(cmd.Context(), o)
		},
	}
	cmd.AddCommand(NewCmdHistoryVerify(f, nil), NewCmdHistoryCheckpoint(f, nil))
	fl := cmd.Flags()
	fl.StringVar(&o.Object, "object", "", "only changes touching this object, TYPE:ID")
	fl.StringVar(&o.Account, "account", "", "only what touched this account's access: the account and what it owns (partner links, custom-role bindings, cases, sold products, install base items); SUPPORT_ID")
	fl.StringVar(&o.Actor, "actor", "", "only changes made by this actor: user:ID, or system:expiry")
	fl.StringVar(&o.Principal, "principal", "", "only changes the server recorded as made by this authenticated principal, KIND:NAME (for example operator:ops-alice)")
	fl.StringVar(&o.Since, "since", "", "start after the change with this revision token")
	fl.StringVar(&o.Operation, "operation", "", "only changes of this operation, for example partner.grant or member.approve")
	fl.StringVar(&o.From, "from", "", "only changes at or after this time: RFC 3339, a date (midnight UTC) or a duration ago (30d is 720h)")
	fl.StringVar(&o.To, "to", "", "only changes before this time: RFC 3339, a date (midnight UTC) or a duration ago")
	fl.BoolVarP(&o.Follow, "follow", "f", false, "keep printing new changes until interrupted")
	fl.IntVar(&o.Limit, "limit", 0, "print at most this many changes, then the --since that continues after them (on standard error)")
	fl.StringVar(&o.Datastore, "datastore", "", "read the durable audit log in this database (postgres://... or cockroachdb://...) instead of the server's change stream")
	_ = cmd.RegisterFlagCompletionFunc("object", complete.Flag(f, complete.Object()))
	_ = cmd.RegisterFlagCompletionFunc("actor", complete.Flag(f, func(ctx context.Context, f *factory.Factory, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		out, dir := complete.Object("user")(ctx, f, args, toComplete)
		if strings.HasPrefix(engine.ExpiryActor, toComplete) {
			out = append(out, engine.ExpiryActor)
		}
		return out, dir
	}))
	return cmd
}

// historyFilter is a validated filter: the object and actor in SpiceDB notation.
type historyFilter struct {
	object    ref.Object
	account   ref.Object
	actor     string
	principal string
	operation string
	from, to  time.Time
}

// filter is the audit layer's filter for hf, starting after since.
func (hf historyFilter) filter(since string) audit.HistoryFilter {
	return audit.HistoryFilter{Object: hf.object, Account: hf.account, Actor: hf.actor, Principal: hf.principal, Since: access.Token(since),
		Operation: hf.operation, From: hf.from, To: hf.to}
}

func parseHistoryFilter(o *HistoryOptions) (historyFilter, error) {
	var hf historyFilter
	if o.Object != "" {
		obj, err := cmdutil.ParseObject(o.Object)
		if err != nil {
			return hf, cmdutil.Usagef("--object: %v", err)
		}
		hf.object = obj
	}
	if o.Account != "" {
		if o.Object != "" {
			return hf, cmdutil.Usagef("--object and --account: filter by one of them")
		}
		if o.Follow {
			return hf, cmdutil.Usagef("--account lists an account's history; to follow changes, use --object account:%s", strings.TrimPrefix(o.Account, "account:"))
		}
		acct, err := ref.New("account", strings.TrimPrefix(o.Account, "account:"))
		if err != nil {
			return hf, cmdutil.Usagef("--account: %v", err)
		}
		hf.account = acct
	}
	switch {
	case o.Actor == "":
	case o.Actor == engine.ExpiryActor:
		hf.actor = o.Actor
	default:
		u, err := ref.ParseOfType(o.Actor, "user")
		if err != nil {
			return hf, cmdutil.Usagef("--actor: %v (or system:expiry for the expiry sweep)", err)
		}
		hf.actor = u.String()
	}
	if o.Principal != "" {
		kind, name, ok := strings.Cut(o.Principal, ":")
		if _, err := principal.ParseKind(kind); !ok || err != nil || name == "" {
			return hf, cmdutil.Usagef("--principal %q: use KIND:NAME, KIND one of operator, user, auditor, service", o.Principal)
		}
		hf.principal = o.Principal
	}
	hf.operation = o.Operation
	for _, b := range []struct {
		flag, value string
		into        *time.Time
	}{{"--from", o.From, &hf.from}, {"--to", o.To, &hf.to}} {
		if b.value == "" {
			continue
		}
		t, err := factory.ParseTime(b.flag, b.value, o.Factory.Now())
		if err != nil {
			return hf, err
		}
		*b.into = t
	}
	if !hf.from.IsZero() && !hf.to.IsZero() && !hf.from.Before(hf.to) {
		return hf, cmdutil.Usagef("--from %s is not before --to %s", o.From, o.To)
	}
	return hf, nil
}

func runHistory(ctx context.Context, o *HistoryOptions) error {
	hf, err := parseHistoryFilter(o)
	if err != nil {
		return err
	}
	p, err := o.Factory.Printer()
	if err != nil {
		return err
	}
	if o.Limit < 0 {
		return cmdutil.Usagef("--limit %d: give a positive number of changes", o.Limit)
	}
	if o.Limit > 0 && o.Follow {
		return cmdutil.Usagef("--limit and --follow: a followed history has no end to limit")
	}
	write := audit.WriteChangeText
	if p.JSON() {
		write = audit.WriteChangeJSON
	}
	finish := func() error { return nil }
	if p.CSV() {
		rows := p.Rows(audit.ChangeCSVHeader)
		finish = rows.Close
		write = func(_ io.Writer, c audit.Change) error {
			for _, cells := range audit.ChangeCSVRows(c) {
				if err := rows.Write(cells, nil); err != nil {
					return err
				}
			}
			if o.Follow {
				return rows.Flush()
			}
			return nil
		}
	}
	if o.Follow {
		// Following ends on Ctrl-C or SIGTERM, as a normal end: what was printed is the answer.
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
	}
	var changes iter.Seq2[audit.Change, error]
	if o.Datastore != "" {
		changes, err = logChanges(ctx, o, hf)
		if err != nil {
			return err
		}
	} else if f := hf.filter(o.Since); o.Follow {
		// The domain API has no stream: following watches the raw change stream, which an
		// operator or auditor key may read.
		c, err := o.Factory.Client(ctx)
		if err != nil {
			return err
		}
		changes = audit.New(c, audit.WithClock(o.Factory.Now)).Follow(ctx, f)
	} else {
		a, err := auditor(ctx, o.Factory)
		if err != nil {
			return err
		}
		changes = a.History(ctx, f)
	}
	if err := printChanges(o, changes, write); err != nil {
		return err
	}
	return finish()
}

func printChanges(o *HistoryOptions, changes iter.Seq2[audit.Change, error], write func(io.Writer, audit.Change) error) error {
	out := o.Factory.IOStreams.Out
	n := 0
	var last access.Token
	for c, err := range changes {
		if err != nil {
			return historyError(o, err)
		}
		if o.Limit > 0 && n == o.Limit {
			fmt.Fprintf(o.Factory.IOStreams.ErrOut, "more changes follow: continue with --since %s\n", last)
			return nil
		}
		if err := write(out, c); err != nil {
			return err
		}
		n++
		last = c.Revision
	}
	return nil
}

// historyError turns the change stream's refusals into advice on the flags.
func historyError(o *HistoryOptions, err error) error {
	if o.Datastore != "" || !errors.Is(err, access.ErrInvalidArgument) {
		return err
	}
	if o.Since == "" {
		return cmdutil.Usagef("this server's datastore cannot list its changes from the start: pass --since TOKEN (a revision printed by a change), or read the durable audit log with --datastore URI")
	}
	return cmdutil.Usagef("--since %q: %v", o.Since, err)
}
