// Package platform holds `accessctl platform` (vendor roles) and `accessctl feature`
// (feature rollouts such as the entitlement view pilot).
package platform

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/complete"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
)

var platformRoles = []string{string(access.PlatformAdministrator), string(access.PlatformCustomerCare), string(access.PlatformStaff)}

// Options are the inputs of the platform and feature commands.
type Options struct {
	Factory  *factory.Factory
	Actor    cmdutil.ActorOptions
	User     string
	Role     string
	Feature  string
	Withdraw bool
}

// NewCmdPlatform builds `accessctl platform`.
func NewCmdPlatform(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "platform <command>",
		Short: "The vendor: first administrator and vendor-side roles",
		Long: `The vendor side of the portal (platform:main): administrators run rollouts, the
partner programme and custom roles; Customer Care approves requests on sites without an
admin and removes contacts; staff (consultants) reach sites only through partner grants.`,
		Args: cobra.ArbitraryArgs,
		RunE: cmdutil.GroupRun,
	}
	roleCmd := &cobra.Command{
		Use:   "role <command>",
		Short: "Give or take vendor-side roles (administrator, customer_care, staff)",
		Args:  cobra.ArbitraryArgs,
		RunE:  cmdutil.GroupRun,
	}
	roleCmd.AddCommand(NewCmdRole(f, true, nil), NewCmdRole(f, false, nil))
	cmd.AddCommand(NewCmdBootstrap(f, nil), roleCmd)
	return cmd
}

// NewCmdBootstrap builds `accessctl platform bootstrap`.
func NewCmdBootstrap(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "bootstrap --as USER",
		Short: "Make the acting user the first platform administrator of an empty portal",
		Long: `Make the acting user the first platform administrator. It works only while the
platform has no administrator, so it cannot be used to take over a running portal.`,
		Example: `  # vera becomes the first vendor administrator
  $ accessctl platform bootstrap --as user:vera`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.Run(cmd.Context(), runF, runBootstrap, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	return cmd
}

func runBootstrap(ctx context.Context, o *Options) error {
	actor, err := o.Factory.Actor(ctx, o.Actor)
	if err != nil {
		return err
	}
	return o.Factory.Change(ctx, fmt.Sprintf("user:%s is the first platform administrator", actor.User),
		func(c access.Service) (access.Token, error) { return c.Bootstrap(ctx, actor.User, actor.Reason) })
}

// NewCmdRole builds `accessctl platform role add` (add true) or `role remove`.
func NewCmdRole(f *factory.Factory, add bool, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	verb, short, example := "add", "Give a user a vendor-side role (administrators only)",
		`  # carol joins Customer Care
  $ accessctl platform role add user:carol customer_care --as user:vera`
	if !add {
		verb, short, example = "remove", "Take a vendor-side role away (administrators only)",
			`  # tara is no longer vendor staff
  $ accessctl platform role remove user:tara staff --as user:vera`
	}
	cmd := &cobra.Command{
		Use:               verb + " USER ROLE --as USER",
		Short:             short,
		Example:           example,
		Args:              cmdutil.ExactArgs(2, "USER", "ROLE"),
		ValidArgsFunction: complete.Positional(f, complete.Object("user"), complete.Fixed(platformRoles...)),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.User, o.Role = args[0], args[1]
			return cmdutil.Run(cmd.Context(), runF, func(ctx context.Context, o *Options) error { return runRole(ctx, o, add) }, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	return cmd
}

func parsePlatformRole(s string) (access.PlatformRole, error) {
	for _, r := range platformRoles {
		if s == r {
			return access.PlatformRole(s), nil
		}
	}
	return "", cmdutil.Usagef("unknown platform role %q (administrator, customer_care, staff)", s)
}

func runRole(ctx context.Context, o *Options, add bool) error {
	actor, err := o.Factory.Actor(ctx, o.Actor)
	if err != nil {
		return err
	}
	user, err := cmdutil.ParseOfType(o.User, "user")
	if err != nil {
		return err
	}
	role, err := parsePlatformRole(o.Role)
	if err != nil {
		return err
	}
	if add {
		return o.Factory.Change(ctx, fmt.Sprintf("user:%s is now platform %s", user, role),
			func(c access.Service) (access.Token, error) { return c.AddPlatformRole(ctx, actor, user, role) })
	}
	return o.Factory.Change(ctx, fmt.Sprintf("user:%s is no longer platform %s", user, role),
		func(c access.Service) (access.Token, error) { return c.RemovePlatformRole(ctx, actor, user, role) })
}
