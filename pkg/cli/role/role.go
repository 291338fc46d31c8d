// Package role holds `accessctl role`: custom functional roles, defined at run time as
// bundles of granular privileges and bound to users or groups on one object.
package role

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

// Options are the inputs of the role commands.
type Options struct {
	Factory    *factory.Factory
	Actor      cmdutil.ActorOptions
	Role       string
	Privileges []string
	Object     string
	Grantee    string
}

func privilegeNames() []string {
	out := make([]string, 0, len(access.Privileges))
	for _, p := range access.Privileges {
		out = append(out, string(p))
	}
	return out
}

// NewCmdRole builds `accessctl role`.
func NewCmdRole(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "role <command>",
		Short: "Custom functional roles: define bundles of privileges and bind them",
		Long: `A custom functional role is any bundle of the granular privileges below, defined at run
time by a platform administrator, with no schema change. The account's admins bind it to
users or groups (group:ID#member) on the account, a sold product or an install base item;
its effect is exactly the union of its privileges, scoped to that object and what hangs
under it.

Privileges: ` + strings.Join(privilegeNames(), ", "),
		Args: cobra.ArbitraryArgs,
		RunE: cmdutil.GroupRun,
	}
	cmd.AddCommand(NewCmdDefine(f, nil), NewCmdShow(f, nil), NewCmdList(f, nil),
		NewCmdBind(f, true, nil), NewCmdBind(f, false, nil), NewCmdBindings(f, nil))
	return cmd
}

// NewCmdDefine builds `accessctl role define`.
func NewCmdDefine(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "define ROLE PRIVILEGE[,PRIVILEGE...]... --as USER",
		Short: "Create or redefine a custom role as exactly these privileges (platform administrators)",
		Example: `  # support leads read and update every case where the role is bound
  $ accessctl role define role:support_lead case_read,case_write --as user:vera

  # a product contact manager
  $ accessctl role define role:contact_manager sold_product_read sold_product_contact_write --as user:vera`,
		Args:              cmdutil.MinArgs(2, "ROLE and at least one PRIVILEGE"),
		ValidArgsFunction: complete.Positional(f, complete.Object("role"), complete.Fixed(privilegeNames()...), complete.Fixed(privilegeNames()...), complete.Fixed(privilegeNames()...)),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Role, o.Privileges = args[0], args[1:]
			return cmdutil.Run(cmd.Context(), runF, runDefine, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	return cmd
}

func runDefine(ctx context.Context, o *Options) error {
	actor, err := o.Factory.Actor(ctx, o.Actor)
	if err != nil {
		return err
	}
	id, err := cmdutil.ParseOfType(o.Role, "role")
	if err != nil {
		return err
	}
	privs, err := access.ParsePrivileges(strings.Join(o.Privileges, ","))
	if err != nil {
		return cmdutil.AsUsage(err)
	}
	names := make([]string, len(privs))
	for i, p := range privs {
		names[i] = string(p)
	}
	return o.Factory.Change(ctx, fmt.Sprintf("role:%s is %s", id, strings.Join(names, " + ")),
		func(c access.Service) (access.Token, error) { return c.DefineRole(ctx, actor, id, privs) })
}

// NewCmdShow builds `accessctl role show`.
func NewCmdShow(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:               "show ROLE",
		Short:             "Show the privileges a custom role bundles",
		Example:           `  $ accessctl role show role:support_lead`,
		Args:              cmdutil.ExactArgs(1, "ROLE"),
		ValidArgsFunction: complete.Positional(f, complete.Object("role")),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Role = args[0]
			return cmdutil.Run(cmd.Context(), runF, runShow, o)
		},
	}
	return cmd
}

func runShow(ctx context.Context, o *Options) error {
	id, err := cmdutil.ParseOfType(o.Role, "role")
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
	privs, err := c.RolePrivileges(ctx, id)
	if err != nil {
		return err
	}
	return output.StringList("PRIVILEGE", func(pr access.Privilege) string { return string(pr) }).Print(p, privs)
}

// NewCmdList builds `accessctl role list`.
func NewCmdList(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the defined custom roles",
		Example: `  $ accessctl role list`,
		Args:    cmdutil.ExactArgs(0),
		RunE:    func(cmd *cobra.Command, args []string) error { return cmdutil.Run(cmd.Context(), runF, runList, o) },
	}
	return cmd
}

func runList(ctx context.Context, o *Options) error {
	p, err := o.Factory.Printer()
	if err != nil {
		return err
	}
	c, err := o.Factory.Access(ctx)
	if err != nil {
		return err
	}
	roles, err := c.CustomRoles(ctx)
	if err != nil {
		return err
	}
	return output.StringList("ROLE", func(r string) string { return "role:" + r }).Print(p, roles)
}

// NewCmdBind builds `accessctl role bind` (bind true) or `role unbind`.
func NewCmdBind(f *factory.Factory, bind bool, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	verb, short, example := "bind", "Bind a custom role on an object to a user or group (the owning account's admins)",
		`  # the acme support team are support leads on acme
  $ accessctl role bind role:support_lead account:acme group:acme_support#member --as user:bill

  # one person, on one install base item
  $ accessctl role bind role:support_lead install_base:router_x200_hq user:sally --as user:bill`
	if !bind {
		verb, short, example = "unbind", "Remove a grantee from a role binding",
			`  $ accessctl role unbind role:support_lead install_base:router_x200_hq user:sally --as user:bill`
	}
	cmd := &cobra.Command{
		Use:               verb + " ROLE OBJECT GRANTEE --as USER",
		Short:             short,
		Example:           example,
		Args:              cmdutil.ExactArgs(3, "ROLE", "OBJECT", "GRANTEE"),
		ValidArgsFunction: complete.Positional(f, complete.Object("role"), complete.Object("account", "sold_product", "install_base"), complete.Object("user", "group")),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Role, o.Object, o.Grantee = args[0], args[1], args[2]
			return cmdutil.Run(cmd.Context(), runF, func(ctx context.Context, o *Options) error { return runBind(ctx, o, bind) }, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	return cmd
}

func runBind(ctx context.Context, o *Options, bind bool) error {
	actor, err := o.Factory.Actor(ctx, o.Actor)
	if err != nil {
		return err
	}
	id, err := cmdutil.ParseOfType(o.Role, "role")
	if err != nil {
		return err
	}
	obj, err := cmdutil.ParseObject(o.Object)
	if err != nil {
		return err
	}
	grantee, err := cmdutil.ParseSubject(o.Grantee)
	if err != nil {
		return err
	}
	if grantee.Type == "group" && grantee.Relation == "" {
		grantee.Relation = "member"
	}
	if bind {
		return o.Factory.Change(ctx, fmt.Sprintf("role:%s is bound on %s to %s", id, obj, grantee),
			func(c access.Service) (access.Token, error) { return c.BindRole(ctx, actor, id, obj, grantee) })
	}
	return o.Factory.Change(ctx, fmt.Sprintf("role:%s is no longer bound on %s to %s", id, obj, grantee),
		func(c access.Service) (access.Token, error) { return c.UnbindRole(ctx, actor, id, obj, grantee) })
}

// NewCmdBindings builds `accessctl role bindings`.
func NewCmdBindings(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:               "bindings OBJECT --as USER",
		Short:             "List the custom roles bound on an object, one line per grantee",
		Example:           `  $ accessctl role bindings account:acme --as user:bill`,
		Args:              cmdutil.ExactArgs(1, "OBJECT"),
		ValidArgsFunction: complete.Positional(f, complete.Object("account", "sold_product", "install_base")),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Object = args[0]
			return cmdutil.Run(cmd.Context(), runF, runBindings, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	return cmd
}

type bindingJSON struct {
	Role     string   `json:"role"`
	Object   string   `json:"object"`
	Grantees []string `json:"grantees"`
}

func runBindings(ctx context.Context, o *Options) error {
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
	bindings, err := c.RoleBindings(ctx, actor, obj)
	if err != nil {
		return err
	}
	var rows [][]string
	var out []bindingJSON
	for _, b := range bindings {
		bj := bindingJSON{Role: "role:" + b.Role, Object: b.Object.String(), Grantees: []string{}}
		for _, g := range b.Grantees {
			rows = append(rows, []string{"role:" + b.Role, g.String()})
			bj.Grantees = append(bj.Grantees, g.String())
		}
		out = append(out, bj)
	}
	return p.Table([]string{"ROLE", "GRANTEE"}, rows, out)
}
