package product

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/complete"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/cli/output"
)

// RelatedPartyOptions are the inputs of the related-party commands.
type RelatedPartyOptions struct {
	Factory *factory.Factory
	Actor   cmdutil.ActorOptions
	Object  string
	Role    string
	Party   string
}

func roleNames() []string {
	out := make([]string, 0, len(access.FunctionalRoles))
	for _, r := range access.FunctionalRoles {
		out = append(out, r.Name)
	}
	return out
}

func roleTable() string {
	var b strings.Builder
	for _, r := range access.FunctionalRoles {
		fmt.Fprintf(&b, "  %-36s on %-13s to a %s\n", r.Name, r.On, r.PartyType)
	}
	return b.String()
}

// NewCmdRelatedParty builds `accessctl related-party`.
func NewCmdRelatedParty(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "related-party <command>",
		Short: "Functional roles: related parties of cases, sold products and install base items",
		Long: `Functional roles are predefined bundles of privileges given to a related party on one
object. Assigning and removing them needs manage_related_parties on the object (the
account's admins and full_admin partners, or a custom role with the matching write).

` + roleTable(),
		Args: cobra.ArbitraryArgs,
		RunE: cmdutil.GroupRun,
	}
	cmd.AddCommand(NewCmdRelatedPartySet(f, true, nil), NewCmdRelatedPartySet(f, false, nil), NewCmdRelatedPartyList(f, nil))
	return cmd
}

// NewCmdRelatedPartySet builds `accessctl related-party assign` (assign true) or `remove`.
func NewCmdRelatedPartySet(f *factory.Factory, assign bool, runF func(context.Context, *RelatedPartyOptions) error) *cobra.Command {
	o := &RelatedPartyOptions{Factory: f}
	verb, short, example := "assign", "Give a party a functional role on an object",
		`  # joan, an acme member, is an authorized contact of the HQ router
  $ accessctl related-party assign install_base:router_x200_hq install_base_authorized_contact user:joan --as user:bill

  # fieldfix services the HQ router
  $ accessctl related-party assign install_base:router_x200_hq install_base_service_organization service_org:fieldfix --as user:bill`
	if !assign {
		verb, short, example = "remove", "Take a functional role away",
			`  # olga no longer consumes the HQ router
  $ accessctl related-party remove install_base:router_x200_hq install_base_authorized_consumer user:olga --as user:bill`
	}
	cmd := &cobra.Command{
		Use:               verb + " OBJECT ROLE PARTY --as USER",
		Short:             short,
		Example:           example,
		Args:              cmdutil.ExactArgs(3, "OBJECT", "ROLE", "PARTY"),
		ValidArgsFunction: complete.Positional(f, complete.Object("case", "sold_product", "install_base"), complete.Fixed(roleNames()...), complete.Object("user", "account", "service_org")),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Object, o.Role, o.Party = args[0], args[1], args[2]
			return cmdutil.Run(cmd.Context(), runF, func(ctx context.Context, o *RelatedPartyOptions) error { return runRelatedPartySet(ctx, o, assign) }, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	return cmd
}

func runRelatedPartySet(ctx context.Context, o *RelatedPartyOptions, assign bool) error {
	actor, err := o.Factory.Actor(ctx, o.Actor)
	if err != nil {
		return err
	}
	obj, err := cmdutil.ParseObject(o.Object)
	if err != nil {
		return err
	}
	role, err := access.ParseFunctionalRole(o.Role)
	if err != nil {
		return cmdutil.AsUsage(err)
	}
	party, err := cmdutil.ParseObject(o.Party)
	if err != nil {
		return err
	}
	if obj.Type != role.On {
		return cmdutil.Usagef("%s is assigned on a %s, not on %s", role.Name, role.On, obj)
	}
	if party.Type != role.PartyType {
		return cmdutil.Usagef("%s is given to a %s, not %s", role.Name, role.PartyType, party)
	}
	if assign {
		return o.Factory.Change(ctx, fmt.Sprintf("%s is %s on %s", party, role.Name, obj),
			func(c access.Service) (access.Token, error) {
				return c.AssignFunctionalRole(ctx, actor, obj, role, party)
			})
	}
	return o.Factory.Change(ctx, fmt.Sprintf("%s is no longer %s on %s", party, role.Name, obj),
		func(c access.Service) (access.Token, error) {
			return c.RemoveFunctionalRole(ctx, actor, obj, role, party)
		})
}

// NewCmdRelatedPartyList builds `accessctl related-party list`.
func NewCmdRelatedPartyList(f *factory.Factory, runF func(context.Context, *RelatedPartyOptions) error) *cobra.Command {
	o := &RelatedPartyOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "list OBJECT --as USER",
		Short: "List who holds functional roles on a case, sold product or install base item",
		Example: `  # the HQ router's related parties
  $ accessctl related-party list install_base:router_x200_hq --as user:bill`,
		Args:              cmdutil.ExactArgs(1, "OBJECT"),
		ValidArgsFunction: complete.Positional(f, complete.Object("case", "sold_product", "install_base")),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Object = args[0]
			return cmdutil.Run(cmd.Context(), runF, runRelatedPartyList, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	return cmd
}

var partyList = output.List[access.RelatedParty]{Columns: []output.Column[access.RelatedParty]{
	{Header: "ROLE", JSON: "role", Value: func(rp access.RelatedParty) string { return rp.Role }},
	{Header: "PARTY", JSON: "party", Value: func(rp access.RelatedParty) string { return rp.Party.String() }},
}}

func runRelatedPartyList(ctx context.Context, o *RelatedPartyOptions) error {
	actor, err := o.Factory.Actor(ctx, o.Actor)
	if err != nil {
		return err
	}
	obj, err := cmdutil.ParseObject(o.Object)
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
	parties, err := c.RelatedParties(ctx, actor, obj)
	if err != nil {
		return err
	}
	return partyList.Print(p, parties)
}
