// Package partner holds `accessctl partner`: partner organisations, their members, and the
// levels (cc to full_admin) account admins grant them.
package partner

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/complete"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/cli/output"
	"github.com/accessgraph/accessgraph/pkg/cli/pairs"
)

var levels = []string{"cc", "look", "update", "create", "service_admin", "full_admin"}

// Options are the inputs of the partner commands; each uses the fields it needs.
type Options struct {
	Factory *factory.Factory
	Actor   cmdutil.ActorOptions
	Partner string
	Parent  string
	User    string
	Account string
	Grantee string
	Level   string
	Expires string
	Yes     bool
}

// NewCmdPartner builds `accessctl partner`.
func NewCmdPartner(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "partner <command>",
		Short: "Partner organisations and the levels accounts grant them",
		Long: `Partners (integrators, resellers, managed service providers, and vendor staff such as
consultants) get access to an account through a grant made by the account's admins, at one
level: cc, look, update, create, service_admin or full_admin.

A grant targets a whole partner organisation (partner:ID: every member) or one person
(user:ID). An individual grant decides that person's level alone, even when their
organisation's level is higher. Grants may expire. Partners never re-delegate.`,
		Args: cobra.ArbitraryArgs,
		RunE: cmdutil.GroupRun,
	}
	memberCmd := &cobra.Command{
		Use:   "member <command>",
		Short: "Add or remove partner organisation members (platform administrators)",
		Args:  cobra.ArbitraryArgs,
		RunE:  cmdutil.GroupRun,
	}
	memberCmd.AddCommand(pairs.Commands(f, memberSpec))
	cmd.AddCommand(
		NewCmdCreate(f, nil),
		memberCmd,
		NewCmdGrant(f, nil),
		NewCmdRevoke(f, nil),
		NewCmdList(f, nil),
		NewCmdRequest(f, nil),
		NewCmdRequests(f, nil),
		NewCmdDecide(f, true, nil),
		NewCmdDecide(f, false, nil),
	)
	return cmd
}

// NewCmdCreate builds `accessctl partner create`.
func NewCmdCreate(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "create PARTNER [--parent PARTNER] --as USER",
		Short: "Register a partner organisation (platform administrators)",
		Long: `Register a partner organisation, optionally under a parent in the partner tree.
Nothing is inherited along the tree: each partner gets exactly what it is granted.`,
		Example: `  # a managed service provider under the reseller
  $ accessctl partner create partner:msp_north --parent partner:reseller --as user:vera`,
		Args:              cmdutil.ExactArgs(1, "PARTNER"),
		ValidArgsFunction: complete.Positional(f, complete.Object("partner")),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Partner = args[0]
			return cmdutil.Run(cmd.Context(), runF, runCreate, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	cmd.Flags().StringVar(&o.Parent, "parent", "", "parent partner, partner:ID")
	return cmd
}

func runCreate(ctx context.Context, o *Options) error {
	actor, err := o.Factory.Actor(ctx, o.Actor)
	if err != nil {
		return err
	}
	id, err := cmdutil.ParseOfType(o.Partner, "partner")
	if err != nil {
		return err
	}
	parent := ""
	if o.Parent != "" {
		if parent, err = cmdutil.ParseOfType(o.Parent, "partner"); err != nil {
			return err
		}
	}
	return o.Factory.Change(ctx, fmt.Sprintf("created partner:%s", id), func(c access.Service) (access.Token, error) {
		return c.CreatePartner(ctx, actor, id, parent)
	})
}

// memberSpec is `accessctl partner member add|remove`.
var memberSpec = pairs.Spec{
	Container: "partner", Member: "user",
	AddShort: "Add a contact to a partner organisation", RemoveShort: "Remove a contact from a partner organisation",
	AddExample: `  # paul joins the integrator; he gets its organisation grants at once
  $ accessctl partner member add partner:integrator user:paul --as user:vera`,
	RemoveExample: `  # pam leaves the integrator; its organisation grants stop for her at once
  $ accessctl partner member remove partner:integrator user:pam --as user:vera`,
	Added:   func(m, c string) string { return m + " is a member of " + c },
	Removed: func(m, c string) string { return m + " is no longer a member of " + c },
	Add: func(ctx context.Context, c access.Service, a access.Actor, p, u string) (access.Token, error) {
		return c.AddPartnerMember(ctx, a, p, u)
	},
	Remove: func(ctx context.Context, c access.Service, a access.Actor, p, u string) (access.Token, error) {
		return c.RemovePartnerMember(ctx, a, p, u)
	},
}

// parseGrant validates the account and grantee.
func parseGrant(ctx context.Context, o *Options) (access.Actor, string, access.Grantee, error) {
	actor, err := o.Factory.Actor(ctx, o.Actor)
	if err != nil {
		return access.Actor{}, "", access.Grantee{}, err
	}
	sid, err := cmdutil.ParseOfType(o.Account, "account")
	if err != nil {
		return access.Actor{}, "", access.Grantee{}, err
	}
	g, err := access.ParseGrantee(o.Grantee)
	if err != nil {
		return access.Actor{}, "", access.Grantee{}, cmdutil.AsUsage(err)
	}
	return actor, sid, g, nil
}

// NewCmdGrant builds `accessctl partner grant`.
func NewCmdGrant(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "grant ACCOUNT GRANTEE LEVEL [--expires WHEN] --as USER",
		Short: "Grant or change a partner level on an account (the account's admins)",
		Long: `Grant GRANTEE (partner:ID for the whole organisation, user:ID for one person) a level
on ACCOUNT, replacing the grantee's previous level there. --expires takes an RFC 3339 time
or a duration from now (72h); after it the grant gives nothing.`,
		Example: `  # the integrator organisation may read every acme case
  $ accessctl partner grant account:acme partner:integrator look --as user:bill

  # pete, alone, only on cases he is added to (narrows the organisation's look)
  $ accessctl partner grant account:acme user:pete cc --as user:bill

  # a consultant for 30 days
  $ accessctl partner grant account:acme user:tara update --expires 720h --as user:bill`,
		Args:              cmdutil.ExactArgs(3, "ACCOUNT", "GRANTEE", "LEVEL"),
		ValidArgsFunction: complete.Positional(f, complete.Object("account"), complete.Object("partner", "user"), complete.Fixed(levels...)),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Account, o.Grantee, o.Level = args[0], args[1], args[2]
			return cmdutil.Run(cmd.Context(), runF, runGrant, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	cmd.Flags().StringVar(&o.Expires, "expires", "", "end of the grant: RFC 3339 time (2025-07-01T00:00:00Z) or duration from now (72h)")
	return cmd
}

func runGrant(ctx context.Context, o *Options) error {
	actor, sid, g, err := parseGrant(ctx, o)
	if err != nil {
		return err
	}
	level, err := cmdutil.ParseLevel(o.Level)
	if err != nil {
		return err
	}
	expires, err := cmdutil.ParseExpiry(o.Expires, o.Factory.Now())
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("granted %s %s on account:%s", g, level, sid)
	if !expires.IsZero() {
		msg += " until " + output.Time(expires)
	}
	return o.Factory.Change(ctx, msg, func(c access.Service) (access.Token, error) {
		return c.GrantPartner(ctx, actor, sid, g, level, expires)
	})
}

// NewCmdRevoke builds `accessctl partner revoke`.
func NewCmdRevoke(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "revoke ACCOUNT GRANTEE --as USER [--yes]",
		Short: "Revoke a partner grant (the account's admins)",
		Long: `Revoke GRANTEE's grant on ACCOUNT. It takes effect for the very next check made with
the printed revision. Asks for confirmation on a terminal; needs --yes otherwise.`,
		Example: `  # the consultant's engagement ended early
  $ accessctl partner revoke account:acme user:tara --as user:bill --yes`,
		Args:              cmdutil.ExactArgs(2, "ACCOUNT", "GRANTEE"),
		ValidArgsFunction: complete.Positional(f, complete.Object("account"), complete.Object("partner", "user")),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Account, o.Grantee = args[0], args[1]
			return cmdutil.Run(cmd.Context(), runF, runRevoke, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	cmd.Flags().BoolVarP(&o.Yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

func runRevoke(ctx context.Context, o *Options) error {
	actor, sid, g, err := parseGrant(ctx, o)
	if err != nil {
		return err
	}
	if err := cmdutil.Confirm(o.Factory.IOStreams, o.Yes, fmt.Sprintf("Revoke the grant of %s on account:%s?", g, sid), "partner revoke"); err != nil {
		return err
	}
	return o.Factory.Change(ctx, fmt.Sprintf("revoked the grant of %s on account:%s", g, sid),
		func(c access.Service) (access.Token, error) { return c.RevokePartner(ctx, actor, sid, g) })
}

// NewCmdList builds `accessctl partner list`.
func NewCmdList(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "list ACCOUNT --as USER",
		Short: "List an account's partner grants, organisations first",
		Example: `  # who has partner access to acme, and until when
  $ accessctl partner list account:acme --as user:bill`,
		Args:              cmdutil.ExactArgs(1, "ACCOUNT"),
		ValidArgsFunction: complete.Positional(f, complete.Object("account")),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Account = args[0]
			return cmdutil.Run(cmd.Context(), runF, runList, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	return cmd
}

// grantList prints partner grants, and pending requests (access.PartnerRequest has the
// same fields).
var grantList = output.List[access.PartnerGrant]{Columns: []output.Column[access.PartnerGrant]{
	{Header: "GRANTEE", JSON: "grantee", Value: func(g access.PartnerGrant) string { return g.Grantee.String() }},
	{Header: "LEVEL", JSON: "level", Value: func(g access.PartnerGrant) string { return string(g.Level) }},
	{Header: "EXPIRES", JSON: "expires_at", Value: func(g access.PartnerGrant) string { return output.Time(g.ExpiresAt) },
		JSONValue: func(g access.PartnerGrant) any { return output.TimePtr(g.ExpiresAt) }},
}}

func runList(ctx context.Context, o *Options) error {
	actor, err := o.Factory.Actor(ctx, o.Actor)
	if err != nil {
		return err
	}
	sid, err := cmdutil.ParseOfType(o.Account, "account")
	if err != nil {
		return err
	}
	p, err := o.Factory.Printer()
	if err != nil {
		return err
	}
	c, err := o.Factory.Access(ctx)
	if err != nil {
		return err
	}
	return grantList.PrintSeq(p, c.PartnerGrants(ctx, actor, sid))
}

// NewCmdRequest builds `accessctl partner request`.
func NewCmdRequest(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "request ACCOUNT GRANTEE LEVEL --as USER",
		Short: "Ask an account for a level, for one's organisation or oneself",
		Example: `  # pam asks acme to raise the integrator to update
  $ accessctl partner request account:acme partner:integrator update --as user:pam`,
		Args:              cmdutil.ExactArgs(3, "ACCOUNT", "GRANTEE", "LEVEL"),
		ValidArgsFunction: complete.Positional(f, complete.Object("account"), complete.Object("partner", "user"), complete.Fixed(levels...)),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Account, o.Grantee, o.Level = args[0], args[1], args[2]
			return cmdutil.Run(cmd.Context(), runF, runRequest, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	return cmd
}

func runRequest(ctx context.Context, o *Options) error {
	actor, sid, g, err := parseGrant(ctx, o)
	if err != nil {
		return err
	}
	level, err := cmdutil.ParseLevel(o.Level)
	if err != nil {
		return err
	}
	return o.Factory.Change(ctx, fmt.Sprintf("requested %s for %s on account:%s (pending the account admins)", level, g, sid),
		func(c access.Service) (access.Token, error) { return c.RequestPartnerLevel(ctx, actor, sid, g, level) })
}

// NewCmdRequests builds `accessctl partner requests`.
func NewCmdRequests(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "requests ACCOUNT --as USER",
		Short: "List an account's pending partner requests (the account's admins)",
		Example: `  # what partners are asking acme for
  $ accessctl partner requests account:acme --as user:bill`,
		Args:              cmdutil.ExactArgs(1, "ACCOUNT"),
		ValidArgsFunction: complete.Positional(f, complete.Object("account")),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Account = args[0]
			return cmdutil.Run(cmd.Context(), runF, runRequests, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	return cmd
}

func runRequests(ctx context.Context, o *Options) error {
	actor, err := o.Factory.Actor(ctx, o.Actor)
	if err != nil {
		return err
	}
	sid, err := cmdutil.ParseOfType(o.Account, "account")
	if err != nil {
		return err
	}
	p, err := o.Factory.Printer()
	if err != nil {
		return err
	}
	c, err := o.Factory.Access(ctx)
	if err != nil {
		return err
	}
	reqs, err := c.PendingPartnerRequests(ctx, actor, sid)
	if err != nil {
		return err
	}
	grants := make([]access.PartnerGrant, len(reqs))
	for i, r := range reqs {
		grants[i] = access.PartnerGrant(r)
	}
	return grantList.Print(p, grants)
}

// NewCmdDecide builds `accessctl partner approve` (approve true) or `partner deny`.
func NewCmdDecide(f *factory.Factory, approve bool, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	verb, short, example := "approve", "Approve a partner request: grant the requested level",
		`  # acme agrees to raise the integrator
  $ accessctl partner approve account:acme partner:integrator --as user:bill`
	if !approve {
		verb, short, example = "deny", "Deny a partner request",
			`  # acme keeps the integrator at look
  $ accessctl partner deny account:acme partner:integrator --as user:bill`
	}
	cmd := &cobra.Command{
		Use:               verb + " ACCOUNT GRANTEE --as USER",
		Short:             short,
		Example:           example,
		Args:              cmdutil.ExactArgs(2, "ACCOUNT", "GRANTEE"),
		ValidArgsFunction: complete.Positional(f, complete.Object("account"), complete.Object("partner", "user")),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Account, o.Grantee = args[0], args[1]
			return cmdutil.Run(cmd.Context(), runF, func(ctx context.Context, o *Options) error { return runDecide(ctx, o, approve) }, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	return cmd
}

func runDecide(ctx context.Context, o *Options, approve bool) error {
	actor, sid, g, err := parseGrant(ctx, o)
	if err != nil {
		return err
	}
	if approve {
		return o.Factory.Change(ctx, fmt.Sprintf("approved the request of %s on account:%s", g, sid),
			func(c access.Service) (access.Token, error) { return c.ApprovePartnerRequest(ctx, actor, sid, g) })
	}
	return o.Factory.Change(ctx, fmt.Sprintf("denied the request of %s on account:%s", g, sid),
		func(c access.Service) (access.Token, error) { return c.DenyPartnerRequest(ctx, actor, sid, g) })
}
