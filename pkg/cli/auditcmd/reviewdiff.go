package auditcmd

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/complete"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/cli/output"
)

// AccessDiffOptions are the inputs of `accessctl access-diff`.
type AccessDiffOptions struct {
	Factory  *factory.Factory
	Account  string
	As       string
	From, To string
}

// NewCmdAccessDiff builds `accessctl access-diff`.
func NewCmdAccessDiff(f *factory.Factory, runF func(context.Context, *AccessDiffOptions) error) *cobra.Command {
	o := &AccessDiffOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "access-diff ACCOUNT --as USER --from TIME [--to TIME]",
		Short: "Show what changed in an account's access between two times",
		Long: `Compare the account's access review as of --from with its review as of --to (the
present when left out), section by section, and list each entry added, removed or changed:
members and their roles, Customer Care, partner and vendor staff grants (level, expiry,
members), data access, super customers, related parties and custom roles. Findings (flags)
are left out: they follow from the entries.

Both reviews are answered by the server: the past ones rebuilt from its durable audit log,
through its domain API (see "accessctl history"), so the server must keep the log and
--from must fall within it. The reviewer (--as) must be allowed to view the account's
members at both times.

Columns: SECTION, KEY (who or what), CHANGE (added, removed, changed), BEFORE, AFTER.
-o json prints {account, from, to, changes}; -o csv the rows under a header.`,
		Example: `  # what changed in acme's access this quarter
  $ accessctl access-diff account:acme --as user:bill --from 2026-10-01

  # between two past dates, as a spreadsheet
  $ accessctl access-diff account:acme --as user:bill --from 2026-07-01 --to 2026-10-01 -o csv > acme-q3.csv`,
		Args:              cmdutil.ExactArgs(1, "ACCOUNT"),
		ValidArgsFunction: complete.Positional(f, complete.Object("account")),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Account = args[0]
			return cmdutil.Run(cmd.Context(), runF, runAccessDiff, o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.As, "as", "", "the user running the review, user:ID (required, but implied by a user key)")
	fl.StringVar(&o.From, "from", "", "the earlier time: RFC 3339, a date (midnight UTC) or a duration ago (2160h) (required)")
	fl.StringVar(&o.To, "to", "", "the later time, in the same forms (default: the present)")
	_ = cmd.RegisterFlagCompletionFunc("as", complete.Flag(f, complete.Object("user")))
	return cmd
}

func runAccessDiff(ctx context.Context, o *AccessDiffOptions) error {
	reviewer, err := o.Factory.Actor(ctx, cmdutil.ActorOptions{As: o.As})
	if err != nil {
		if o.As == "" && cmdutil.IsUsage(err) {
			return cmdutil.Usagef("--as is required: a review is run by a named user who may view the account's members, for example --as user:bill")
		}
		return err
	}
	if o.From == "" {
		return cmdutil.Usagef("--from is required: the earlier of the two times, for example --from 2026-10-01")
	}
	now := o.Factory.Now()
	from, err := factory.ParseAt(o.From, now)
	if err != nil {
		return err
	}
	var to time.Time
	if o.To != "" {
		if to, err = factory.ParseAt(o.To, now); err != nil {
			return err
		}
		if !from.Before(to) {
			return cmdutil.Usagef("--from %s is not before --to %s", o.From, o.To)
		}
	}
	sid, err := cmdutil.ParseOfType(o.Account, "account")
	if err != nil {
		return err
	}
	p, err := o.Factory.Printer()
	if err != nil {
		return err
	}
	review := func(at audit.AsOf) (audit.Review, error) {
		a, err := o.Factory.AuditAsOf(ctx, at)
		if err != nil {
			return audit.Review{}, err
		}
		// No expiry findings: they are left out of the comparison.
		return a.AccessReview(ctx, access.As(reviewer.User), sid, audit.ReviewOptions{ExpiringWithin: -1})
	}
	before, err := review(audit.At(from))
	if err != nil {
		return err
	}
	var later audit.AsOf
	if !to.IsZero() {
		later = audit.At(to)
	}
	after, err := review(later)
	if err != nil {
		return err
	}
	d := audit.DiffReviews(before, after)
	if !to.IsZero() {
		d.To = to
	}
	d.From = from
	if p.JSON() {
		return p.Raw("", d)
	}
	if len(d.Changes) == 0 && o.Factory.IOStreams.IsStdoutTTY() {
		p.Status("no change in %s's access between %s and %s", sid, from.UTC().Format(time.RFC3339), orPresent(to))
	}
	return accessDiffList.Print(p, d.Changes)
}

func orPresent(t time.Time) string {
	if t.IsZero() {
		return "now"
	}
	return t.UTC().Format(time.RFC3339)
}

var accessDiffList = output.List[audit.ReviewChange]{Columns: []output.Column[audit.ReviewChange]{
	{Header: "SECTION", Value: func(c audit.ReviewChange) string { return c.Section }},
	{Header: "KEY", Value: func(c audit.ReviewChange) string { return c.Key }},
	{Header: "CHANGE", Value: func(c audit.ReviewChange) string { return c.Change }},
	{Header: "BEFORE", Value: func(c audit.ReviewChange) string { return c.Before }},
	{Header: "AFTER", Value: func(c audit.ReviewChange) string { return c.After }},
}}
