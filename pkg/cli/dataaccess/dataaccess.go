// Package dataaccess holds `accessctl data-access`: partner access to a customer's service
// data, with support on by default and manage needing consent from both sides.
package dataaccess

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

// Options are the inputs of the data-access commands.
type Options struct {
	Factory *factory.Factory
	Actor   cmdutil.ActorOptions
	Account string
	Partner string
	Setting string
}

// NewCmdDataAccess builds `accessctl data-access`.
func NewCmdDataAccess(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data-access <command>",
		Short: "Partner access to a customer's service data (support, manage)",
		Long: `The vendor links a partner to a customer for data access. Support (read-only dashboard,
reports and user activity) is on from the start and the customer may switch it off and on.
Manage (full management, manage_service) needs both the vendor's configuration
(vendor-manage) and the customer's consent (customer-manage); either side can withdraw it.
Nothing is inherited between parent and child partners.

Vendor side (platform administrators): link, unlink, vendor-manage.
Customer side (the account's admins): support, customer-manage.`,
		Args: cobra.ArbitraryArgs,
		RunE: cmdutil.GroupRun,
	}
	cmd.AddCommand(
		newCmdLink(f, true, nil),
		newCmdLink(f, false, nil),
		newCmdSetting(f, "support", "Switch the partner's support access off or back on (customer side)",
			`  # acme stops the reseller reading its dashboard
  $ accessctl data-access support account:acme partner:reseller off --as user:bill`, nil),
		newCmdSetting(f, "vendor-manage", "Record or withdraw the vendor's side of the manage consent",
			`  # the vendor configures the reseller with manage privileges
  $ accessctl data-access vendor-manage account:acme partner:reseller on --as user:vera`, nil),
		newCmdSetting(f, "customer-manage", "Give or withdraw the customer's side of the manage consent",
			`  # acme consents: the reseller now has manage (the vendor already agreed)
  $ accessctl data-access customer-manage account:acme partner:reseller on --as user:bill`, nil),
		NewCmdList(f, nil),
	)
	return cmd
}

func newCmdLink(f *factory.Factory, link bool, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	verb, short, example := "link", "Link a partner to a customer, with support access on (vendor side)",
		`  # the msp may read acme's dashboard from now on
  $ accessctl data-access link account:acme partner:msp --as user:vera`
	if !link {
		verb, short, example = "unlink", "End a data-access agreement and all it gives (vendor side)",
			`  # the contract with the msp ended
  $ accessctl data-access unlink account:acme partner:msp --as user:vera`
	}
	cmd := &cobra.Command{
		Use:               verb + " ACCOUNT PARTNER --as USER",
		Short:             short,
		Example:           example,
		Args:              cmdutil.ExactArgs(2, "ACCOUNT", "PARTNER"),
		ValidArgsFunction: complete.Positional(f, complete.Object("account"), complete.Object("partner")),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Account, o.Partner = args[0], args[1]
			return cmdutil.Run(cmd.Context(), runF, func(ctx context.Context, o *Options) error { return runLink(ctx, o, link) }, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	return cmd
}

func parse(ctx context.Context, o *Options) (access.Actor, string, string, error) {
	actor, err := o.Factory.Actor(ctx, o.Actor)
	if err != nil {
		return access.Actor{}, "", "", err
	}
	sid, err := cmdutil.ParseOfType(o.Account, "account")
	if err != nil {
		return access.Actor{}, "", "", err
	}
	partner, err := cmdutil.ParseOfType(o.Partner, "partner")
	if err != nil {
		return access.Actor{}, "", "", err
	}
	return actor, sid, partner, nil
}

func runLink(ctx context.Context, o *Options, link bool) error {
	actor, sid, partner, err := parse(ctx, o)
	if err != nil {
		return err
	}
	if link {
		return o.Factory.Change(ctx, fmt.Sprintf("linked partner:%s to account:%s (support on)", partner, sid),
			func(c access.Service) (access.Token, error) { return c.LinkPartner(ctx, actor, sid, partner) })
	}
	return o.Factory.Change(ctx, fmt.Sprintf("unlinked partner:%s from account:%s", partner, sid),
		func(c access.Service) (access.Token, error) { return c.UnlinkPartner(ctx, actor, sid, partner) })
}

func newCmdSetting(f *factory.Factory, name, short, example string, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:               name + " ACCOUNT PARTNER on|off --as USER",
		Short:             short,
		Example:           example,
		Args:              cmdutil.ExactArgs(3, "ACCOUNT", "PARTNER", "on|off"),
		ValidArgsFunction: complete.Positional(f, complete.Object("account"), complete.Object("partner"), complete.Fixed("on", "off")),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Account, o.Partner, o.Setting = args[0], args[1], args[2]
			return cmdutil.Run(cmd.Context(), runF, func(ctx context.Context, o *Options) error { return runSetting(ctx, o, name) }, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	return cmd
}

func runSetting(ctx context.Context, o *Options, name string) error {
	actor, sid, partner, err := parse(ctx, o)
	if err != nil {
		return err
	}
	on, err := cmdutil.ParseOnOff(o.Setting)
	if err != nil {
		return err
	}
	state := map[bool]string{true: "on", false: "off"}[on]
	msg := fmt.Sprintf("%s is %s for partner:%s on account:%s", name, state, partner, sid)
	return o.Factory.Change(ctx, msg, func(c access.Service) (access.Token, error) {
		switch name {
		case "support":
			return c.SetSupportAccess(ctx, actor, sid, partner, on)
		case "vendor-manage":
			return c.SetVendorManage(ctx, actor, sid, partner, on)
		}
		return c.SetCustomerManage(ctx, actor, sid, partner, on)
	})
}

// NewCmdList builds `accessctl data-access list`.
func NewCmdList(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "list ACCOUNT --as USER",
		Short: "List an account's data-access agreements and their consents",
		Long: `List an account's data-access agreements: SUPPORT is the read-only access, VENDOR and
CUSTOMER the two sides of the manage consent, MANAGE whether both agree.`,
		Example: `  # acme's partners with data access
  $ accessctl data-access list account:acme --as user:bill`,
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

// agreementList prints each consent as yes/no in the table and as a boolean in JSON.
var agreementList = output.List[access.DataAccess]{Columns: []output.Column[access.DataAccess]{
	{Header: "PARTNER", JSON: "partner", Value: func(d access.DataAccess) string { return "partner:" + d.Partner }},
	consent("SUPPORT", "support", func(d access.DataAccess) bool { return d.Support }),
	consent("VENDOR", "vendor_manage", func(d access.DataAccess) bool { return d.VendorManage }),
	consent("CUSTOMER", "customer_manage", func(d access.DataAccess) bool { return d.CustomerManage }),
	consent("MANAGE", "manage", access.DataAccess.Manage),
}}

func consent(header, key string, on func(access.DataAccess) bool) output.Column[access.DataAccess] {
	return output.Column[access.DataAccess]{Header: header, JSON: key,
		Value:     func(d access.DataAccess) string { return yesNo(on(d)) },
		JSONValue: func(d access.DataAccess) any { return on(d) }}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

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
	agreements, err := c.DataAccessAgreements(ctx, actor, sid)
	if err != nil {
		return err
	}
	return agreementList.Print(p, agreements)
}
