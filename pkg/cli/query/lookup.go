package query

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/complete"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/cli/output"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// NewCmdLookup builds `accessctl lookup`.
func NewCmdLookup(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lookup <command>",
		Short: "List the resources a subject reaches, or the subjects that reach a resource",
		Args:  cobra.ArbitraryArgs,
		RunE:  cmdutil.GroupRun,
	}
	cmd.AddCommand(NewCmdLookupResources(f, nil), NewCmdLookupSubjects(f, nil))
	return cmd
}

// LookupResourcesOptions are the inputs of `accessctl lookup resources`.
type LookupResourcesOptions struct {
	Factory      *factory.Factory
	Subject      string
	Permission   string
	ResourceType string
	Consistency  cmdutil.ConsistencyOptions
}

// NewCmdLookupResources builds `accessctl lookup resources`.
func NewCmdLookupResources(f *factory.Factory, runF func(context.Context, *LookupResourcesOptions) error) *cobra.Command {
	o := &LookupResourcesOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "resources SUBJECT PERMISSION TYPE",
		Short: "List every TYPE object on which SUBJECT has PERMISSION",
		Long: `List every object of TYPE on which SUBJECT has PERMISSION, streamed page by page
from the server with no cap.`,
		Example: `  # every case the super customer can see through her district
  $ accessctl lookup resources user:sue group_view case

  # the open ones only
  $ accessctl lookup resources user:sue group_view_open case

  # every case a partner contact can see across all customers
  $ accessctl lookup resources user:pam view case`,
		Args:              cmdutil.ExactArgs(3, "SUBJECT", "PERMISSION", "TYPE"),
		ValidArgsFunction: complete.Positional(f, complete.Object(), complete.PermissionOfNext(), complete.Type()),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Subject, o.Permission, o.ResourceType = args[0], args[1], args[2]
			return cmdutil.Run(cmd.Context(), runF, runLookupResources, o)
		},
	}
	cmdutil.AddConsistencyFlags(cmd, &o.Consistency)
	factory.BindAt(cmd, f)
	return cmd
}

func runLookupResources(ctx context.Context, o *LookupResourcesOptions) error {
	s, err := cmdutil.ParseSubject(o.Subject)
	if err != nil {
		return err
	}
	if err := validateType(o.ResourceType); err != nil {
		return err
	}
	if err := cmdutil.ValidatePermission(o.ResourceType, o.Permission); err != nil {
		return err
	}
	cons, err := o.Consistency.Consistency()
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
	return output.StringList("RESOURCE", ref.Object.String).PrintSeq(p, c.LookupResources(ctx, s, o.Permission, o.ResourceType, cons))
}

// LookupSubjectsOptions are the inputs of `accessctl lookup subjects`.
type LookupSubjectsOptions struct {
	Factory     *factory.Factory
	Resource    string
	Permission  string
	SubjectType string
	Consistency cmdutil.ConsistencyOptions
}

// NewCmdLookupSubjects builds `accessctl lookup subjects`.
func NewCmdLookupSubjects(f *factory.Factory, runF func(context.Context, *LookupSubjectsOptions) error) *cobra.Command {
	o := &LookupSubjectsOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "subjects RESOURCE PERMISSION [TYPE]",
		Short: "List every subject of TYPE (default user) that has PERMISSION on RESOURCE",
		Long: `List every subject of TYPE (user by default) that has PERMISSION on RESOURCE. A grant
to everyone (a rollout released to all users) is listed as TYPE:*.`,
		Example: `  # who may approve join requests on acme
  $ accessctl lookup subjects account:acme manage_members

  # who can read case 201
  $ accessctl lookup subjects case:201 view user`,
		Args:              cmdutil.RangeArgs(2, 3),
		ValidArgsFunction: complete.Positional(f, complete.Object(), complete.Permission(0), complete.Type()),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Resource, o.Permission, o.SubjectType = args[0], args[1], "user"
			if len(args) == 3 {
				o.SubjectType = args[2]
			}
			return cmdutil.Run(cmd.Context(), runF, runLookupSubjects, o)
		},
	}
	cmdutil.AddConsistencyFlags(cmd, &o.Consistency)
	factory.BindAt(cmd, f)
	return cmd
}

func runLookupSubjects(ctx context.Context, o *LookupSubjectsOptions) error {
	r, err := cmdutil.ParseObject(o.Resource)
	if err != nil {
		return err
	}
	if err := cmdutil.ValidatePermission(r.Type, o.Permission); err != nil {
		return err
	}
	if err := validateType(o.SubjectType); err != nil {
		return err
	}
	cons, err := o.Consistency.Consistency()
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
	return output.StringList("SUBJECT", ref.Object.String).PrintSeq(p, c.LookupSubjects(ctx, r, o.Permission, o.SubjectType, cons))
}

func validateType(typ string) error {
	_, err := ref.New(typ, "x")
	return cmdutil.AsUsage(err)
}
