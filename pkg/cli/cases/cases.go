// Package cases holds `accessctl case`: opening, closing and reopening support cases,
// partner contacts on cases, and the case listings.
package cases

import (
	"context"
	"fmt"
	"iter"

	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/complete"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/cli/output"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// Options are the inputs of the case commands.
type Options struct {
	Factory     *factory.Factory
	Actor       cmdutil.ActorOptions
	Case        string
	Account     string
	SoldProduct string
	InstallBase string
	User        string
	Primary     bool
	Status      string
}

// NewCmdCase builds `accessctl case`.
func NewCmdCase(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "case <command>",
		Short: "Support cases: open, close, reopen, partner contacts, listings",
		Long: `Support cases belong to an account and may be about a sold product or an install base
item. A closed case is read-only for everyone (view stays allowed); whoever could update it
while open may reopen it.`,
		Args: cobra.ArbitraryArgs,
		RunE: cmdutil.GroupRun,
	}
	contact := &cobra.Command{
		Use:   "contact <command>",
		Short: "Add or remove a partner contact on a case",
		Args:  cobra.ArbitraryArgs,
		RunE:  cmdutil.GroupRun,
	}
	contact.AddCommand(NewCmdContactAdd(f, nil), NewCmdContactRemove(f, nil))
	cmd.AddCommand(
		NewCmdCreate(f, nil),
		NewCmdStatus(f, false, nil),
		NewCmdStatus(f, true, nil),
		contact,
		NewCmdList(f, false, nil),
		NewCmdList(f, true, nil),
		NewCmdPartnerManaged(f, nil),
	)
	return cmd
}

// NewCmdCreate builds `accessctl case create`.
func NewCmdCreate(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "create CASE ACCOUNT [--sold-product P] [--install-base I] --as USER",
		Short: "Open a case on an account, optionally about a product or install base item",
		Long: `Open a case as the acting user, who needs create_case on the most specific object named
(the install base item, else the sold product, else the account). A customer-side user
becomes the reporter; a partner at level create or above becomes the primary partner contact.`,
		Example: `  # sally opens case 42 on acme
  $ accessctl case create case:42 account:acme --as user:sally

  # olga, an authorized consumer of the HQ router, opens a case on it
  $ accessctl case create case:43 account:acme --install-base install_base:router_x200_hq --as user:olga`,
		Args:              cmdutil.ExactArgs(2, "CASE", "ACCOUNT"),
		ValidArgsFunction: complete.Positional(f, complete.Object("case"), complete.Object("account")),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Case, o.Account = args[0], args[1]
			return cmdutil.Run(cmd.Context(), runF, runCreate, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	cmd.Flags().StringVar(&o.SoldProduct, "sold-product", "", "the sold product the case is about, sold_product:ID")
	cmd.Flags().StringVar(&o.InstallBase, "install-base", "", "the install base item the case is about, install_base:ID")
	return cmd
}

func runCreate(ctx context.Context, o *Options) error {
	actor, err := o.Factory.Actor(ctx, o.Actor)
	if err != nil {
		return err
	}
	nc := access.NewCase{}
	if nc.ID, err = cmdutil.ParseOfType(o.Case, "case"); err != nil {
		return err
	}
	if nc.Account, err = cmdutil.ParseOfType(o.Account, "account"); err != nil {
		return err
	}
	if o.SoldProduct != "" {
		if nc.SoldProduct, err = cmdutil.ParseOfType(o.SoldProduct, "sold_product"); err != nil {
			return err
		}
	}
	if o.InstallBase != "" {
		if nc.InstallBase, err = cmdutil.ParseOfType(o.InstallBase, "install_base"); err != nil {
			return err
		}
	}
	return o.Factory.Change(ctx, fmt.Sprintf("opened case:%s on account:%s", nc.ID, nc.Account),
		func(c access.Service) (access.Token, error) { return c.CreateCase(ctx, actor, nc) })
}

// NewCmdStatus builds `accessctl case reopen` (reopen true) or `case close`.
func NewCmdStatus(f *factory.Factory, reopen bool, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	verb, short, example := "close", "Close an open case; it becomes read-only",
		`  # sally accepts the solution
  $ accessctl case close case:101 --as user:sally --reason "solution accepted"`
	if reopen {
		verb, short, example = "reopen", "Reopen a closed case (whoever could update it while open)",
			`  # the problem came back
  $ accessctl case reopen case:103 --as user:sally`
	}
	cmd := &cobra.Command{
		Use:               verb + " CASE --as USER",
		Short:             short,
		Example:           example,
		Args:              cmdutil.ExactArgs(1, "CASE"),
		ValidArgsFunction: complete.Positional(f, complete.Object("case")),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Case = args[0]
			return cmdutil.Run(cmd.Context(), runF, func(ctx context.Context, o *Options) error { return runStatus(ctx, o, reopen) }, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	return cmd
}

func runStatus(ctx context.Context, o *Options, reopen bool) error {
	actor, err := o.Factory.Actor(ctx, o.Actor)
	if err != nil {
		return err
	}
	id, err := cmdutil.ParseOfType(o.Case, "case")
	if err != nil {
		return err
	}
	if reopen {
		return o.Factory.Change(ctx, fmt.Sprintf("reopened case:%s", id),
			func(c access.Service) (access.Token, error) { return c.ReopenCase(ctx, actor, id) })
	}
	return o.Factory.Change(ctx, fmt.Sprintf("closed case:%s", id),
		func(c access.Service) (access.Token, error) { return c.CloseCase(ctx, actor, id) })
}

// NewCmdContactAdd builds `accessctl case contact add`.
func NewCmdContactAdd(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "add CASE USER [--primary] --as USER",
		Short: "Add a partner contact to a case (additional, or --primary point of contact)",
		Long: `Add a partner contact to a case. Any partner with a grant on the case's account (any
level) can be an additional contact, which lets them view and update that case; the
primary point of contact needs level update or higher and replaces the previous one.`,
		Example: `  # pete (cc) helps on case 102
  $ accessctl case contact add case:102 user:pete --as user:bill

  # the consultant drives case 101
  $ accessctl case contact add case:101 user:tara --primary --as user:bill`,
		Args:              cmdutil.ExactArgs(2, "CASE", "USER"),
		ValidArgsFunction: complete.Positional(f, complete.Object("case"), complete.Object("user")),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Case, o.User = args[0], args[1]
			return cmdutil.Run(cmd.Context(), runF, runContactAdd, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	cmd.Flags().BoolVar(&o.Primary, "primary", false, "make the contact the primary point of contact (level update or higher)")
	return cmd
}

func parseCaseUser(ctx context.Context, o *Options) (access.Actor, string, string, error) {
	actor, err := o.Factory.Actor(ctx, o.Actor)
	if err != nil {
		return access.Actor{}, "", "", err
	}
	id, err := cmdutil.ParseOfType(o.Case, "case")
	if err != nil {
		return access.Actor{}, "", "", err
	}
	user, err := cmdutil.ParseOfType(o.User, "user")
	if err != nil {
		return access.Actor{}, "", "", err
	}
	return actor, id, user, nil
}

func runContactAdd(ctx context.Context, o *Options) error {
	actor, id, user, err := parseCaseUser(ctx, o)
	if err != nil {
		return err
	}
	kind := "an additional contact"
	if o.Primary {
		kind = "the primary partner contact"
	}
	return o.Factory.Change(ctx, fmt.Sprintf("user:%s is %s on case:%s", user, kind, id),
		func(c access.Service) (access.Token, error) { return c.AddCaseContact(ctx, actor, id, user, o.Primary) })
}

// NewCmdContactRemove builds `accessctl case contact remove`.
func NewCmdContactRemove(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "remove CASE USER --as USER",
		Short: "Remove a partner contact (additional or primary) from a case",
		Example: `  # pete is done on case 102
  $ accessctl case contact remove case:102 user:pete --as user:bill`,
		Args:              cmdutil.ExactArgs(2, "CASE", "USER"),
		ValidArgsFunction: complete.Positional(f, complete.Object("case"), complete.Object("user")),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Case, o.User = args[0], args[1]
			return cmdutil.Run(cmd.Context(), runF, runContactRemove, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	return cmd
}

func runContactRemove(ctx context.Context, o *Options) error {
	actor, id, user, err := parseCaseUser(ctx, o)
	if err != nil {
		return err
	}
	return o.Factory.Change(ctx, fmt.Sprintf("user:%s is no longer a contact on case:%s", user, id),
		func(c access.Service) (access.Token, error) { return c.RemoveCaseContact(ctx, actor, id, user) })
}

// NewCmdList builds `accessctl case list` (group false) or `case group-list`.
func NewCmdList(f *factory.Factory, group bool, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	use, short, long, example := "list", "List every case a user can view, across all accounts",
		`List every case USER (default: the acting user) can view, across all accounts; for a
partner member, across all their customers. Only the user themselves or Customer Care may ask.`,
		`  # sally's open cases
  $ accessctl case list --status open --as user:sally

  # Customer Care looks at what pam can see
  $ accessctl case list user:pam --as user:carol`
	if group {
		use, short, long, example = "group-list", "List the cases a user sees through group read access",
			`List the cases USER (default: the acting user) sees through group read access: the cases
reported by any member, at any depth, of the group they read. --status open or closed
gives the "open group cases" and "closed group cases" views.`,
			`  # every closed case in sue's district
  $ accessctl case group-list --status closed --as user:sue`
	}
	cmd := &cobra.Command{
		Use:               use + " [USER] [--status all|open|closed] --as USER",
		Short:             short,
		Long:              long,
		Example:           example,
		Args:              cmdutil.RangeArgs(0, 1),
		ValidArgsFunction: complete.Positional(f, complete.Object("user")),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.User = args[0]
			}
			return cmdutil.Run(cmd.Context(), runF, func(ctx context.Context, o *Options) error { return runList(ctx, o, group) }, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	cmd.Flags().StringVar(&o.Status, "status", "all", "all, open or closed")
	_ = cmd.RegisterFlagCompletionFunc("status", cobra.FixedCompletions([]string{"all", "open", "closed"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runList(ctx context.Context, o *Options, group bool) error {
	actor, err := o.Factory.Actor(ctx, o.Actor)
	if err != nil {
		return err
	}
	user := actor.User
	if o.User != "" {
		if user, err = cmdutil.ParseOfType(o.User, "user"); err != nil {
			return err
		}
	}
	status, err := access.ParseCaseStatus(o.Status)
	if err != nil {
		return cmdutil.AsUsage(err)
	}
	return printCases(ctx, o.Factory, func(c access.Service) iter.Seq2[ref.Object, error] {
		if group {
			return c.GroupCases(ctx, actor, user, status)
		}
		return c.VisibleCases(ctx, actor, user, status)
	})
}

func printCases(ctx context.Context, f *factory.Factory, list func(access.Service) iter.Seq2[ref.Object, error]) error {
	p, err := f.Printer()
	if err != nil {
		return err
	}
	c, err := f.Access(ctx)
	if err != nil {
		return err
	}
	return caseList.PrintSeq(p, list(c))
}

var caseList = output.StringList("CASE", ref.Object.String)

// NewCmdPartnerManaged builds `accessctl case partner-managed`.
func NewCmdPartnerManaged(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "partner-managed ACCOUNT --as USER",
		Short: "List an account's cases whose primary point of contact is a partner",
		Example: `  # cases a partner drives at acme
  $ accessctl case partner-managed account:acme --as user:bill`,
		Args:              cmdutil.ExactArgs(1, "ACCOUNT"),
		ValidArgsFunction: complete.Positional(f, complete.Object("account")),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Account = args[0]
			return cmdutil.Run(cmd.Context(), runF, runPartnerManaged, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	return cmd
}

func runPartnerManaged(ctx context.Context, o *Options) error {
	actor, err := o.Factory.Actor(ctx, o.Actor)
	if err != nil {
		return err
	}
	sid, err := cmdutil.ParseOfType(o.Account, "account")
	if err != nil {
		return err
	}
	return printCases(ctx, o.Factory, func(c access.Service) iter.Seq2[ref.Object, error] {
		return c.PartnerManagedCases(ctx, actor, sid)
	})
}
