// Package account holds `accessctl account`: creating sites.
package account

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/complete"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
)

// NewCmdAccount builds `accessctl account`.
func NewCmdAccount(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "account <command>",
		Short: "Customer accounts (sites), identified by their Support ID",
		Args:  cobra.ArbitraryArgs,
		RunE:  cmdutil.GroupRun,
	}
	cmd.AddCommand(NewCmdCreate(f, nil))
	return cmd
}

// CreateOptions are the inputs of `accessctl account create`.
type CreateOptions struct {
	Factory *factory.Factory
	Actor   cmdutil.ActorOptions
	Account string
	Admin   string
}

// NewCmdCreate builds `accessctl account create`.
func NewCmdCreate(f *factory.Factory, runF func(context.Context, *CreateOptions) error) *cobra.Command {
	o := &CreateOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "create ACCOUNT [--admin USER] --as USER",
		Short: "Create a site with its Support ID (Customer Care and platform administrators)",
		Long: `Create a site, identified by its Support ID, under the platform and the entitlement
rollout, optionally with a first admin. Without an admin, join requests go to Customer Care.`,
		Example: `  # Customer Care creates the Globex site with gary as its first admin
  $ accessctl account create account:globex --admin user:gary --as user:carol`,
		Args:              cmdutil.ExactArgs(1, "ACCOUNT"),
		ValidArgsFunction: complete.Positional(f, complete.Object("account")),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Account = args[0]
			return cmdutil.Run(cmd.Context(), runF, runCreate, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	cmd.Flags().StringVar(&o.Admin, "admin", "", "first admin of the site, user:ID")
	return cmd
}

func runCreate(ctx context.Context, o *CreateOptions) error {
	actor, err := o.Factory.Actor(ctx, o.Actor)
	if err != nil {
		return err
	}
	sid, err := cmdutil.ParseOfType(o.Account, "account")
	if err != nil {
		return err
	}
	admin := ""
	if o.Admin != "" {
		if admin, err = cmdutil.ParseOfType(o.Admin, "user"); err != nil {
			return err
		}
	}
	msg := fmt.Sprintf("created account:%s", sid)
	if admin != "" {
		msg += fmt.Sprintf(" with admin user:%s", admin)
	}
	return o.Factory.Change(ctx, msg, func(c access.Service) (access.Token, error) {
		return c.CreateAccount(ctx, actor, sid, admin)
	})
}
