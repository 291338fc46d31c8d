// Package group holds `accessctl group`: user groups, their nesting, and group read access
// (super customers).
package group

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

// Options are the inputs of the group commands.
type Options struct {
	Factory *factory.Factory
	Actor   cmdutil.ActorOptions
	Group   string
	Parent  string
	User    string
}

// NewCmdGroup builds `accessctl group`.
func NewCmdGroup(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "group <command>",
		Short: "User groups, nesting, and group read access (super customers)",
		Long: `Users belong to any number of groups; groups contain groups (a district contains its
schools) and membership is transitive. Nesting never forms a cycle.

A user can hold group read access over at most one group: they then view and update every
case reported by any member of that group, at any depth (a super customer). Setting it
again replaces the previous group. Customer Care and platform administrators manage groups.`,
		Args: cobra.ArbitraryArgs,
		RunE: cmdutil.GroupRun,
	}
	memberCmd := &cobra.Command{
		Use:   "member <command>",
		Short: "Add or remove a user in a group",
		Args:  cobra.ArbitraryArgs,
		RunE:  cmdutil.GroupRun,
	}
	memberCmd.AddCommand(pairs.Commands(f, memberSpec))
	readCmd := &cobra.Command{
		Use:   "read-access <command>",
		Short: "Group read access: set, clear or show the one group a user reads",
		Args:  cobra.ArbitraryArgs,
		RunE:  cmdutil.GroupRun,
	}
	readCmd.AddCommand(NewCmdReadSet(f, nil), NewCmdReadClear(f, nil), NewCmdReadShow(f, nil))
	cmd.AddCommand(NewCmdCreate(f, nil), memberCmd, NewCmdNest(f, true, nil), NewCmdNest(f, false, nil), readCmd)
	return cmd
}

// NewCmdCreate builds `accessctl group create`.
func NewCmdCreate(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "create GROUP --as USER",
		Short: "Register a user group",
		Example: `  # a new school in the district
  $ accessctl group create group:cedar_school --as user:carol`,
		Args:              cmdutil.ExactArgs(1, "GROUP"),
		ValidArgsFunction: complete.Positional(f, complete.Object("group")),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Group = args[0]
			return cmdutil.Run(cmd.Context(), runF, runCreate, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	return cmd
}

func runCreate(ctx context.Context, o *Options) error {
	actor, err := o.Factory.Actor(ctx, o.Actor)
	if err != nil {
		return err
	}
	g, err := cmdutil.ParseOfType(o.Group, "group")
	if err != nil {
		return err
	}
	return o.Factory.Change(ctx, fmt.Sprintf("created group:%s", g),
		func(c access.Service) (access.Token, error) { return c.CreateGroup(ctx, actor, g) })
}

// memberSpec is `accessctl group member add|remove`.
var memberSpec = pairs.Spec{
	Container: "group", Member: "user",
	AddShort: "Put a user in a group", RemoveShort: "Take a user out of a group",
	AddExample: `  # a new teacher at birch school
  $ accessctl group member add group:birch_school user:bea --as user:carol`,
	RemoveExample: `  # ben moved away
  $ accessctl group member remove group:birch_school user:ben --as user:carol`,
	Added:   func(m, c string) string { return m + " is in " + c },
	Removed: func(m, c string) string { return m + " is no longer in " + c },
	Add: func(ctx context.Context, c access.Service, a access.Actor, g, u string) (access.Token, error) {
		return c.AddGroupMember(ctx, a, g, u)
	},
	Remove: func(ctx context.Context, c access.Service, a access.Actor, g, u string) (access.Token, error) {
		return c.RemoveGroupMember(ctx, a, g, u)
	},
}

// NewCmdNest builds `accessctl group nest` (nest true) or `group unnest`.
func NewCmdNest(f *factory.Factory, nest bool, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	verb, short, example := "nest", "Put group CHILD inside group PARENT (refused if it would form a cycle)",
		`  # cedar school belongs to the district
  $ accessctl group nest group:cedar_school group:district --as user:carol`
	if !nest {
		verb, short, example = "unnest", "Take group CHILD out of group PARENT",
			`  # cedar school leaves the district
  $ accessctl group unnest group:cedar_school group:district --as user:carol`
	}
	cmd := &cobra.Command{
		Use:               verb + " CHILD PARENT --as USER",
		Short:             short,
		Example:           example,
		Args:              cmdutil.ExactArgs(2, "CHILD", "PARENT"),
		ValidArgsFunction: complete.Positional(f, complete.Object("group"), complete.Object("group")),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Group, o.Parent = args[0], args[1]
			return cmdutil.Run(cmd.Context(), runF, func(ctx context.Context, o *Options) error { return runNest(ctx, o, nest) }, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	return cmd
}

func runNest(ctx context.Context, o *Options, nest bool) error {
	actor, err := o.Factory.Actor(ctx, o.Actor)
	if err != nil {
		return err
	}
	child, err := cmdutil.ParseOfType(o.Group, "group")
	if err != nil {
		return err
	}
	parent, err := cmdutil.ParseOfType(o.Parent, "group")
	if err != nil {
		return err
	}
	if nest {
		return o.Factory.Change(ctx, fmt.Sprintf("group:%s is inside group:%s", child, parent),
			func(c access.Service) (access.Token, error) { return c.NestGroup(ctx, actor, child, parent) })
	}
	return o.Factory.Change(ctx, fmt.Sprintf("group:%s is no longer inside group:%s", child, parent),
		func(c access.Service) (access.Token, error) { return c.UnnestGroup(ctx, actor, child, parent) })
}

// NewCmdReadSet builds `accessctl group read-access set`.
func NewCmdReadSet(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "set USER GROUP --as USER",
		Short: "Give a user read access over a group's cases (replaces any they had)",
		Example: `  # sue reads every case reported in the district
  $ accessctl group read-access set user:sue group:district --as user:carol`,
		Args:              cmdutil.ExactArgs(2, "USER", "GROUP"),
		ValidArgsFunction: complete.Positional(f, complete.Object("user"), complete.Object("group")),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.User, o.Group = args[0], args[1]
			return cmdutil.Run(cmd.Context(), runF, runReadSet, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	return cmd
}

func runReadSet(ctx context.Context, o *Options) error {
	actor, err := o.Factory.Actor(ctx, o.Actor)
	if err != nil {
		return err
	}
	user, err := cmdutil.ParseOfType(o.User, "user")
	if err != nil {
		return err
	}
	g, err := cmdutil.ParseOfType(o.Group, "group")
	if err != nil {
		return err
	}
	return o.Factory.Change(ctx, fmt.Sprintf("user:%s reads the cases of group:%s", user, g),
		func(c access.Service) (access.Token, error) { return c.SetGroupReadAccess(ctx, actor, user, g) })
}

// NewCmdReadClear builds `accessctl group read-access clear`.
func NewCmdReadClear(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "clear USER --as USER",
		Short: "Remove a user's group read access",
		Example: `  # sue no longer reads the district
  $ accessctl group read-access clear user:sue --as user:carol`,
		Args:              cmdutil.ExactArgs(1, "USER"),
		ValidArgsFunction: complete.Positional(f, complete.Object("user")),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.User = args[0]
			return cmdutil.Run(cmd.Context(), runF, runReadClear, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	return cmd
}

func runReadClear(ctx context.Context, o *Options) error {
	actor, err := o.Factory.Actor(ctx, o.Actor)
	if err != nil {
		return err
	}
	user, err := cmdutil.ParseOfType(o.User, "user")
	if err != nil {
		return err
	}
	return o.Factory.Change(ctx, fmt.Sprintf("user:%s has no group read access", user),
		func(c access.Service) (access.Token, error) { return c.ClearGroupReadAccess(ctx, actor, user) })
}

// NewCmdReadShow builds `accessctl group read-access show`.
func NewCmdReadShow(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "show USER --as USER",
		Short: "Show the group a user has read access over",
		Example: `  # which group does sue read? (sue herself, Customer Care or a platform administrator may ask)
  $ accessctl group read-access show user:sue --as user:sue`,
		Args:              cmdutil.ExactArgs(1, "USER"),
		ValidArgsFunction: complete.Positional(f, complete.Object("user")),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.User = args[0]
			return cmdutil.Run(cmd.Context(), runF, runReadShow, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	return cmd
}

func runReadShow(ctx context.Context, o *Options) error {
	actor, err := o.Factory.Actor(ctx, o.Actor)
	if err != nil {
		return err
	}
	user, err := cmdutil.ParseOfType(o.User, "user")
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
	g, err := c.GroupReadAccess(ctx, actor, user)
	if err != nil {
		return err
	}
	value := map[string]any{"user": "user:" + user, "group": nil}
	text := "none"
	if g != "" {
		value["group"] = "group:" + g
		text = "group:" + g
	}
	return p.Line(text, value)
}
