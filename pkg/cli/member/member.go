// Package member holds `accessctl member`: site membership, join and role-change requests.
package member

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/complete"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/cli/output"
)

var roles = []string{"admin", "standard", "viewer"}

// NewCmdMember builds `accessctl member`.
func NewCmdMember(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "member <command>",
		Short: "Site members: join requests, approvals, roles",
		Long: `Manage the contacts of an account (a site) and their roles: admin (Site
Administrator), standard and viewer (View Only).

A user asks to join with "member request"; nothing is granted until an approver (an admin,
a full_admin partner, or Customer Care when the site has no admin) approves. Admins change
roles; only Customer Care removes contacts. The last admin cannot demote themselves or leave.`,
		Args: cobra.ArbitraryArgs,
		RunE: cmdutil.GroupRun,
	}
	cmd.AddCommand(
		NewCmdRequest(f, nil),
		NewCmdDecide(f, true, nil),
		NewCmdDecide(f, false, nil),
		NewCmdRole(f, nil),
		NewCmdRemove(f, nil),
		NewCmdLeave(f, nil),
		NewCmdList(f, nil),
		NewCmdPending(f, nil),
		NewCmdApprovers(f, nil),
	)
	return cmd
}

// Options are the inputs of the member commands; each uses the fields it needs.
type Options struct {
	Factory *factory.Factory
	Actor   cmdutil.ActorOptions
	Account string
	User    string
	Role    string
	Yes     bool
}

func newOptions(f *factory.Factory) *Options { return &Options{Factory: f} }

// NewCmdRequest builds `accessctl member request`.
func NewCmdRequest(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := newOptions(f)
	cmd := &cobra.Command{
		Use:   "request ACCOUNT ROLE --as USER",
		Short: "Ask to join an account in a role, or to change one's own role",
		Example: `  # dave asks to join the Acme site as a standard member
  $ accessctl member request account:acme standard --as user:dave`,
		Args:              cmdutil.ExactArgs(2, "ACCOUNT", "ROLE"),
		ValidArgsFunction: complete.Positional(f, complete.Object("account"), complete.Fixed(roles...)),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Account, o.Role = args[0], args[1]
			return cmdutil.Run(cmd.Context(), runF, runRequest, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	return cmd
}

func runRequest(ctx context.Context, o *Options) error {
	actor, err := o.Factory.Actor(ctx, o.Actor)
	if err != nil {
		return err
	}
	sid, err := cmdutil.ParseOfType(o.Account, "account")
	if err != nil {
		return err
	}
	role, err := cmdutil.ParseRole(o.Role)
	if err != nil {
		return err
	}
	return o.Factory.Change(ctx, fmt.Sprintf("requested %s on account:%s as user:%s (pending approval)", role, sid, actor.User),
		func(c access.Service) (access.Token, error) { return c.RequestAccess(ctx, actor, sid, role) })
}

// NewCmdDecide builds `accessctl member approve` (approve true) or `member deny`.
func NewCmdDecide(f *factory.Factory, approve bool, runF func(context.Context, *Options) error) *cobra.Command {
	o := newOptions(f)
	verb, short, example := "approve", "Approve a pending join or role-change request",
		`  # bill, acme's admin, approves dave's request
  $ accessctl member approve account:acme user:dave --as user:bill`
	if !approve {
		verb, short, example = "deny", "Deny a pending join or role-change request",
			`  # bill turns dave's request down
  $ accessctl member deny account:acme user:dave --as user:bill --reason "not an Acme employee"`
	}
	cmd := &cobra.Command{
		Use:               verb + " ACCOUNT USER --as USER",
		Short:             short,
		Example:           example,
		Args:              cmdutil.ExactArgs(2, "ACCOUNT", "USER"),
		ValidArgsFunction: complete.Positional(f, complete.Object("account"), complete.Object("user")),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Account, o.User = args[0], args[1]
			return cmdutil.Run(cmd.Context(), runF, func(ctx context.Context, o *Options) error { return runDecide(ctx, o, approve) }, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	return cmd
}

func runDecide(ctx context.Context, o *Options, approve bool) error {
	actor, sid, user, err := accountAndUser(ctx, o)
	if err != nil {
		return err
	}
	if approve {
		return o.Factory.Change(ctx, fmt.Sprintf("approved the request of user:%s on account:%s", user, sid),
			func(c access.Service) (access.Token, error) { return c.Approve(ctx, actor, sid, user) })
	}
	return o.Factory.Change(ctx, fmt.Sprintf("denied the request of user:%s on account:%s", user, sid),
		func(c access.Service) (access.Token, error) { return c.Deny(ctx, actor, sid, user) })
}

func accountAndUser(ctx context.Context, o *Options) (access.Actor, string, string, error) {
	actor, err := o.Factory.Actor(ctx, o.Actor)
	if err != nil {
		return access.Actor{}, "", "", err
	}
	sid, err := cmdutil.ParseOfType(o.Account, "account")
	if err != nil {
		return access.Actor{}, "", "", err
	}
	user, err := cmdutil.ParseOfType(o.User, "user")
	if err != nil {
		return access.Actor{}, "", "", err
	}
	return actor, sid, user, nil
}

// NewCmdRole builds `accessctl member role`.
func NewCmdRole(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := newOptions(f)
	cmd := &cobra.Command{
		Use:   "role ACCOUNT USER ROLE --as USER",
		Short: "Change a member's role (admins and full_admin partners)",
		Example: `  # promote sally to admin
  $ accessctl member role account:acme user:sally admin --as user:bill`,
		Args:              cmdutil.ExactArgs(3, "ACCOUNT", "USER", "ROLE"),
		ValidArgsFunction: complete.Positional(f, complete.Object("account"), complete.Object("user"), complete.Fixed(roles...)),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Account, o.User, o.Role = args[0], args[1], args[2]
			return cmdutil.Run(cmd.Context(), runF, runRole, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	return cmd
}

func runRole(ctx context.Context, o *Options) error {
	actor, sid, user, err := accountAndUser(ctx, o)
	if err != nil {
		return err
	}
	role, err := cmdutil.ParseRole(o.Role)
	if err != nil {
		return err
	}
	return o.Factory.Change(ctx, fmt.Sprintf("user:%s is now %s on account:%s", user, role, sid),
		func(c access.Service) (access.Token, error) { return c.ChangeRole(ctx, actor, sid, user, role) })
}

// NewCmdRemove builds `accessctl member remove`.
func NewCmdRemove(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := newOptions(f)
	cmd := &cobra.Command{
		Use:   "remove ACCOUNT USER --as USER [--yes]",
		Short: "Remove a contact from an account (Customer Care only)",
		Long: `Remove a contact from an account. Only Customer Care may; admins change roles but
cannot remove contacts. Asks for confirmation on a terminal; needs --yes otherwise.`,
		Example: `  # Customer Care removes joan from acme, without a prompt
  $ accessctl member remove account:acme user:joan --as user:carol --yes`,
		Args:              cmdutil.ExactArgs(2, "ACCOUNT", "USER"),
		ValidArgsFunction: complete.Positional(f, complete.Object("account"), complete.Object("user")),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Account, o.User = args[0], args[1]
			return cmdutil.Run(cmd.Context(), runF, runRemove, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	cmd.Flags().BoolVarP(&o.Yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

func runRemove(ctx context.Context, o *Options) error {
	actor, sid, user, err := accountAndUser(ctx, o)
	if err != nil {
		return err
	}
	if err := cmdutil.Confirm(o.Factory.IOStreams, o.Yes, fmt.Sprintf("Remove user:%s from account:%s?", user, sid), "member remove"); err != nil {
		return err
	}
	return o.Factory.Change(ctx, fmt.Sprintf("removed user:%s from account:%s", user, sid),
		func(c access.Service) (access.Token, error) { return c.RemoveMember(ctx, actor, sid, user) })
}

// NewCmdLeave builds `accessctl member leave`.
func NewCmdLeave(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := newOptions(f)
	cmd := &cobra.Command{
		Use:   "leave ACCOUNT --as USER",
		Short: "Leave an account (the last admin cannot)",
		Example: `  # sally leaves acme
  $ accessctl member leave account:acme --as user:sally`,
		Args:              cmdutil.ExactArgs(1, "ACCOUNT"),
		ValidArgsFunction: complete.Positional(f, complete.Object("account")),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Account = args[0]
			return cmdutil.Run(cmd.Context(), runF, runLeave, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	return cmd
}

func runLeave(ctx context.Context, o *Options) error {
	actor, err := o.Factory.Actor(ctx, o.Actor)
	if err != nil {
		return err
	}
	sid, err := cmdutil.ParseOfType(o.Account, "account")
	if err != nil {
		return err
	}
	return o.Factory.Change(ctx, fmt.Sprintf("user:%s left account:%s", actor.User, sid),
		func(c access.Service) (access.Token, error) { return c.Leave(ctx, actor, sid) })
}

// NewCmdList builds `accessctl member list`.
func NewCmdList(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := newOptions(f)
	cmd := &cobra.Command{
		Use:   "list ACCOUNT --as USER",
		Short: "List an account's contacts and their roles, admins first",
		Example: `  # acme's contacts, as its admin
  $ accessctl member list account:acme --as user:bill

  # as JSON
  $ accessctl member list account:acme --as user:bill -o json`,
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

var memberList = output.List[access.Member]{Columns: []output.Column[access.Member]{
	{Header: "USER", JSON: "user", Value: func(m access.Member) string { return "user:" + m.User }},
	{Header: "ROLE", JSON: "role", Value: func(m access.Member) string { return string(m.Role) }},
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
	return memberList.PrintSeq(p, c.Members(ctx, actor, sid))
}

// NewCmdPending builds `accessctl member pending`.
func NewCmdPending(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := newOptions(f)
	cmd := &cobra.Command{
		Use:   "pending ACCOUNT --as USER",
		Short: "List an account's pending join and role-change requests",
		Example: `  # requests waiting for bill
  $ accessctl member pending account:acme --as user:bill`,
		Args:              cmdutil.ExactArgs(1, "ACCOUNT"),
		ValidArgsFunction: complete.Positional(f, complete.Object("account")),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Account = args[0]
			return cmdutil.Run(cmd.Context(), runF, runPending, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	return cmd
}

var requestList = output.List[access.JoinRequest]{Columns: []output.Column[access.JoinRequest]{
	{Header: "USER", JSON: "user", Value: func(r access.JoinRequest) string { return "user:" + r.User }},
	{Header: "ROLE", JSON: "role", Value: func(r access.JoinRequest) string { return string(r.Role) }},
	{Header: "EXPIRES", JSON: "expires_at", Value: func(r access.JoinRequest) string { return output.Time(r.ExpiresAt) },
		JSONValue: func(r access.JoinRequest) any { return output.TimePtr(r.ExpiresAt) }},
}}

func runPending(ctx context.Context, o *Options) error {
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
	reqs, err := c.PendingRequests(ctx, actor, sid)
	if err != nil {
		return err
	}
	return requestList.Print(p, reqs)
}

// NewCmdApprovers builds `accessctl member approvers`.
func NewCmdApprovers(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := newOptions(f)
	cmd := &cobra.Command{
		Use:   "approvers ACCOUNT USER --as USER",
		Short: "List who may decide a user's request, and why",
		Long: `List who may decide USER's request on ACCOUNT: its admins, full_admin partners, and
Customer Care when the account has no admin. The requester may ask about their own request.`,
		Example: `  # dave asks who will decide his request
  $ accessctl member approvers account:acme user:dave --as user:dave`,
		Args:              cmdutil.ExactArgs(2, "ACCOUNT", "USER"),
		ValidArgsFunction: complete.Positional(f, complete.Object("account"), complete.Object("user")),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Account, o.User = args[0], args[1]
			return cmdutil.Run(cmd.Context(), runF, runApprovers, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	return cmd
}

var approverList = output.List[access.Approver]{Columns: []output.Column[access.Approver]{
	{Header: "USER", JSON: "user", Value: func(a access.Approver) string { return "user:" + a.User }},
	{Header: "VIA", JSON: "via", Value: func(a access.Approver) string { return a.Via }},
}}

func runApprovers(ctx context.Context, o *Options) error {
	actor, sid, user, err := accountAndUser(ctx, o)
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
	approvers, err := c.Approvers(ctx, actor, sid, user)
	if err != nil {
		return err
	}
	return approverList.Print(p, approvers)
}
