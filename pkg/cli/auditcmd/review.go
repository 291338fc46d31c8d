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

var reviewFormats = []string{"table", "csv", "json"}

// ReviewOptions are the inputs of `accessctl access-review`.
type ReviewOptions struct {
	Factory        *factory.Factory
	Account        string
	As             string
	ExpiringWithin time.Duration
	Format         string
	// FormatSet says --format was given explicitly (it must then agree with -o json).
	FormatSet bool
}

// NewCmdAccessReview builds `accessctl access-review`.
func NewCmdAccessReview(f *factory.Factory, runF func(context.Context, *ReviewOptions) error) *cobra.Command {
	o := &ReviewOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "access-review ACCOUNT --as USER [--format table|csv|json]",
		Short: "List everyone with any access to an account, and flag what needs attention",
		Long: `List everyone with access to the account, its cases and its products, read at one
revision, section by section: members (role), Customer Care, partners (organisation grants
with their members, and individual grants), vendor staff, data access, super customers,
related parties and custom roles.

Findings come last as "flag" rows: expiring (a grant ending within --expiring-within;
0 turns this off), overriding (an individual grant replacing the person's organisation
grant: narrows, widens or repeats it), empty partner (a grant or agreement held by a partner
without members), no admin, former member (someone no longer a member or partner who still
sees the cases they reported), and one-sided consent (a partner's manage consent given by
the vendor or the customer alone).

The reviewer (--as) must be allowed to view the account's members: its admins, full_admin
partners and Customer Care; anyone else is refused (exit 1).

Formats: table (aligned with a title on a terminal, tab-separated rows without a header
when piped), csv (section,subject,access,object,expires_at,detail, with a header row) and
json (every section, empty ones as []; also -o json).`,
		Example: `  # bill reviews acme's access on his terminal
  $ accessctl access-review account:acme --as user:bill

  # a spreadsheet for the quarterly review
  $ accessctl access-review account:acme --as user:bill --format csv > acme-access.csv

  # Customer Care looks for grants expiring within a week
  $ accessctl access-review account:acme --as user:carol --expiring-within 168h | grep expiring

  # everything, as JSON
  $ accessctl access-review account:valley --as user:dan -o json`,
		Args:              cmdutil.ExactArgs(1, "ACCOUNT"),
		ValidArgsFunction: complete.Positional(f, complete.Object("account")),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Account, o.FormatSet = args[0], cmd.Flags().Changed("format")
			return cmdutil.Run(cmd.Context(), runF, runAccessReview, o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.As, "as", "", "the user running the review, user:ID (required, but implied by a user key; must be allowed to view the account's members)")
	fl.DurationVar(&o.ExpiringWithin, "expiring-within", 720*time.Hour, "flag grants that expire within this long (0: no expiry flags)")
	fl.StringVar(&o.Format, "format", "table", "table, csv or json")
	_ = cmd.RegisterFlagCompletionFunc("as", complete.Flag(f, complete.Object("user")))
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(reviewFormats, cobra.ShellCompDirectiveNoFileComp))
	factory.BindAt(cmd, f)
	return cmd
}

func runAccessReview(ctx context.Context, o *ReviewOptions) error {
	reviewer, err := o.Factory.Actor(ctx, cmdutil.ActorOptions{As: o.As})
	if err != nil {
		if o.As == "" && cmdutil.IsUsage(err) {
			return cmdutil.Usagef("--as is required: a review is run by a named user who may view the account's members, for example --as user:bill")
		}
		return err
	}
	sid, err := cmdutil.ParseOfType(o.Account, "account")
	if err != nil {
		return err
	}
	if o.ExpiringWithin < 0 {
		return cmdutil.Usagef("--expiring-within %s is negative: give a duration such as 720h, or 0 for no expiry flags", o.ExpiringWithin)
	}
	p, err := o.Factory.Printer()
	if err != nil {
		return err
	}
	format, err := resolveFormat(o.Format, o.FormatSet, reviewFormats, p)
	if err != nil {
		return err
	}
	a, err := auditor(ctx, o.Factory)
	if err != nil {
		return err
	}
	within := o.ExpiringWithin
	if within == 0 {
		within = -1 // the package reads 0 as its default (30 days) and a negative value as none
	}
	review, err := a.AccessReview(ctx, access.As(reviewer.User), sid, audit.ReviewOptions{ExpiringWithin: within})
	if err != nil {
		return err
	}
	ios := o.Factory.IOStreams
	switch {
	case format == "json":
		return audit.WriteReviewJSON(ios.Out, review)
	case format == "csv":
		return audit.WriteReviewCSV(ios.Out, review)
	case ios.IsStdoutTTY():
		return audit.WriteReviewText(ios.Out, review)
	}
	return reviewList.Print(p, review.Rows())
}

// reviewList is the piped form of an access review, one tab-separated line per grant; its
// JSON, CSV and terminal forms are pkg/audit's.
var reviewList = output.List[audit.ReviewRow]{Columns: []output.Column[audit.ReviewRow]{
	{Header: "SECTION", Value: func(r audit.ReviewRow) string { return r.Section }},
	{Header: "SUBJECT", Value: func(r audit.ReviewRow) string { return r.Subject }},
	{Header: "ACCESS", Value: func(r audit.ReviewRow) string { return r.Access }},
	{Header: "ON", Value: func(r audit.ReviewRow) string { return r.Object }},
	{Header: "EXPIRES", Value: func(r audit.ReviewRow) string { return output.Time(r.ExpiresAt) }},
	{Header: "DETAIL", Value: func(r audit.ReviewRow) string { return r.Detail }},
}}
