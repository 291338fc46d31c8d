// Package product holds the commands for what a customer owns and who serves it:
// `accessctl product`, `install-base`, `service-org` and `related-party` (functional roles).
package product

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/complete"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/cli/pairs"
)

// Options are the inputs of the product, install-base and service-org commands.
type Options struct {
	Factory     *factory.Factory
	Actor       cmdutil.ActorOptions
	Object      string
	Account     string
	SoldProduct string
	User        string
}

// NewCmdProduct builds `accessctl product`.
func NewCmdProduct(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "product <command>",
		Short: "Sold products of an account",
		Args:  cobra.ArbitraryArgs,
		RunE:  cmdutil.GroupRun,
	}
	cmd.AddCommand(NewCmdProductCreate(f, nil))
	return cmd
}

// NewCmdProductCreate builds `accessctl product create`.
func NewCmdProductCreate(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "create SOLD_PRODUCT ACCOUNT --as USER",
		Short: "Record a product sold to an account (Customer Care and platform administrators)",
		Example: `  # acme bought a firewall
  $ accessctl product create sold_product:firewall_f10 account:acme --as user:carol`,
		Args:              cmdutil.ExactArgs(2, "SOLD_PRODUCT", "ACCOUNT"),
		ValidArgsFunction: complete.Positional(f, complete.Object("sold_product"), complete.Object("account")),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Object, o.Account = args[0], args[1]
			return cmdutil.Run(cmd.Context(), runF, runProductCreate, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	return cmd
}

func runProductCreate(ctx context.Context, o *Options) error {
	actor, err := o.Factory.Actor(ctx, o.Actor)
	if err != nil {
		return err
	}
	id, err := cmdutil.ParseOfType(o.Object, "sold_product")
	if err != nil {
		return err
	}
	sid, err := cmdutil.ParseOfType(o.Account, "account")
	if err != nil {
		return err
	}
	return o.Factory.Change(ctx, fmt.Sprintf("recorded sold_product:%s for account:%s", id, sid),
		func(c access.Service) (access.Token, error) { return c.CreateSoldProduct(ctx, actor, id, sid) })
}

// NewCmdInstallBase builds `accessctl install-base`.
func NewCmdInstallBase(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "install-base <command>",
		Short: "Install base items (installed instances of sold products)",
		Args:  cobra.ArbitraryArgs,
		RunE:  cmdutil.GroupRun,
	}
	cmd.AddCommand(NewCmdInstallBaseCreate(f, nil))
	return cmd
}

// NewCmdInstallBaseCreate builds `accessctl install-base create`.
func NewCmdInstallBaseCreate(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "create INSTALL_BASE ACCOUNT [--sold-product P] --as USER",
		Short: "Record an install base item owned by an account (Customer Care and platform administrators)",
		Example: `  # the firewall installed at the branch office
  $ accessctl install-base create install_base:firewall_branch account:acme --sold-product sold_product:firewall_f10 --as user:carol`,
		Args:              cmdutil.ExactArgs(2, "INSTALL_BASE", "ACCOUNT"),
		ValidArgsFunction: complete.Positional(f, complete.Object("install_base"), complete.Object("account")),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Object, o.Account = args[0], args[1]
			return cmdutil.Run(cmd.Context(), runF, runInstallBaseCreate, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	cmd.Flags().StringVar(&o.SoldProduct, "sold-product", "", "the account's sold product this item is an instance of, sold_product:ID")
	return cmd
}

func runInstallBaseCreate(ctx context.Context, o *Options) error {
	actor, err := o.Factory.Actor(ctx, o.Actor)
	if err != nil {
		return err
	}
	id, err := cmdutil.ParseOfType(o.Object, "install_base")
	if err != nil {
		return err
	}
	sid, err := cmdutil.ParseOfType(o.Account, "account")
	if err != nil {
		return err
	}
	sp := ""
	if o.SoldProduct != "" {
		if sp, err = cmdutil.ParseOfType(o.SoldProduct, "sold_product"); err != nil {
			return err
		}
	}
	return o.Factory.Change(ctx, fmt.Sprintf("recorded install_base:%s for account:%s", id, sid),
		func(c access.Service) (access.Token, error) { return c.CreateInstallBase(ctx, actor, id, sid, sp) })
}

// NewCmdServiceOrg builds `accessctl service-org`.
func NewCmdServiceOrg(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "service-org <command>",
		Short: "Service organisations (field-service contractors) and their members",
		Args:  cobra.ArbitraryArgs,
		RunE:  cmdutil.GroupRun,
	}
	memberCmd := &cobra.Command{
		Use:   "member <command>",
		Short: "Add or remove a person in a service organisation (platform administrators)",
		Args:  cobra.ArbitraryArgs,
		RunE:  cmdutil.GroupRun,
	}
	memberCmd.AddCommand(pairs.Commands(f, serviceOrgMemberSpec))
	cmd.AddCommand(NewCmdServiceOrgCreate(f, nil), memberCmd)
	return cmd
}

// NewCmdServiceOrgCreate builds `accessctl service-org create`.
func NewCmdServiceOrgCreate(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "create SERVICE_ORG --as USER",
		Short: "Register a service organisation (platform administrators)",
		Example: `  # a second field-service contractor
  $ accessctl service-org create service_org:quickfix --as user:vera`,
		Args:              cmdutil.ExactArgs(1, "SERVICE_ORG"),
		ValidArgsFunction: complete.Positional(f, complete.Object("service_org")),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Object = args[0]
			return cmdutil.Run(cmd.Context(), runF, runServiceOrgCreate, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	return cmd
}

func runServiceOrgCreate(ctx context.Context, o *Options) error {
	actor, err := o.Factory.Actor(ctx, o.Actor)
	if err != nil {
		return err
	}
	id, err := cmdutil.ParseOfType(o.Object, "service_org")
	if err != nil {
		return err
	}
	return o.Factory.Change(ctx, fmt.Sprintf("created service_org:%s", id),
		func(c access.Service) (access.Token, error) { return c.CreateServiceOrg(ctx, actor, id) })
}

// serviceOrgMemberSpec is `accessctl service-org member add|remove`.
var serviceOrgMemberSpec = pairs.Spec{
	Container: "service_org", Member: "user",
	AddShort: "Add a person to a service organisation", RemoveShort: "Remove a person from a service organisation",
	AddExample: `  # fay joins fieldfix
  $ accessctl service-org member add service_org:fieldfix user:fay --as user:vera`,
	RemoveExample: `  # finn left fieldfix
  $ accessctl service-org member remove service_org:fieldfix user:finn --as user:vera`,
	Added:   func(m, c string) string { return m + " is a member of " + c },
	Removed: func(m, c string) string { return m + " is no longer a member of " + c },
	Add: func(ctx context.Context, c access.Service, a access.Actor, o, u string) (access.Token, error) {
		return c.AddServiceOrgMember(ctx, a, o, u)
	},
	Remove: func(ctx context.Context, c access.Service, a access.Actor, o, u string) (access.Token, error) {
		return c.RemoveServiceOrgMember(ctx, a, o, u)
	},
}
