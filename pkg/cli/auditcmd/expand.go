package auditcmd

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/complete"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

var expandFormats = []string{"tree", "json", "dot", "mermaid"}

// ExpandOptions are the inputs of `accessctl expand`.
type ExpandOptions struct {
	Factory    *factory.Factory
	Resource   string
	Permission string
	Format     string
	Full       bool
	// FormatSet says --format was given explicitly (it must then agree with -o json).
	FormatSet bool
}

// NewCmdExpand builds `accessctl expand`.
func NewCmdExpand(f *factory.Factory, runF func(context.Context, *ExpandOptions) error) *cobra.Command {
	o := &ExpandOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "expand RESOURCE PERMISSION [--format tree|json|dot|mermaid]",
		Short: "Show the complete tree of who holds PERMISSION on RESOURCE",
		Long: `Show how PERMISSION on RESOURCE is made up, all the way down to users: SpiceDB's
expand tree, with every subject set it leaves unexpanded (partner:integrator#member,
group:acme_support#member) expanded in turn, all at one revision.

Operations are labelled (union), (intersection) and (exclusion); the subtracted branch of
an exclusion is marked "minus"; user:* is every user (a flag such as a case's open marker
or a rollout released to everyone). Branches that grant nobody (empty relations,
intersections with an empty side) are left out unless --full is given; the holders are the
same either way.

Formats: tree (text for a terminal, the default), json (the tree with its holders; also
-o json), dot (Graphviz: pipe to "dot -Tsvg") and mermaid (a flowchart for Markdown).`,
		Example: `  # who can view acme's members, and through what
  $ accessctl expand account:acme view_members

  # the same tree as an SVG picture (needs Graphviz)
  $ accessctl expand account:acme view_members --format dot | dot -Tsvg > view_members.svg

  # a Mermaid flowchart to paste into a Markdown document
  $ accessctl expand case:203 update --format mermaid

  # every branch, including those that grant nobody, as JSON
  $ accessctl expand case:101 view --full -o json`,
		Args:              cmdutil.ExactArgs(2, "RESOURCE", "PERMISSION"),
		ValidArgsFunction: complete.Positional(f, complete.Object(), complete.Permission(0)),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Resource, o.Permission, o.FormatSet = args[0], args[1], cmd.Flags().Changed("format")
			return cmdutil.Run(cmd.Context(), runF, runExpand, o)
		},
	}
	cmd.Flags().StringVar(&o.Format, "format", "tree", "tree, json, dot (Graphviz) or mermaid")
	cmd.Flags().BoolVar(&o.Full, "full", false, "keep the branches that grant nobody")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(expandFormats, cobra.ShellCompDirectiveNoFileComp))
	factory.BindAt(cmd, f)
	return cmd
}

func runExpand(ctx context.Context, o *ExpandOptions) error {
	if err := validateQuestion(o.Resource, o.Permission); err != nil {
		return err
	}
	resource, _ := ref.Parse(o.Resource)
	p, err := o.Factory.Printer()
	if err != nil {
		return err
	}
	format, err := resolveFormat(o.Format, o.FormatSet, expandFormats, p)
	if err != nil {
		return err
	}
	a, err := auditor(ctx, o.Factory)
	if err != nil {
		return err
	}
	tree, err := a.Expand(ctx, resource, o.Permission)
	if err != nil {
		return err
	}
	if !o.Full {
		tree = tree.Pruned()
	}
	out := o.Factory.IOStreams.Out
	switch format {
	case "json":
		return audit.WriteTreeJSON(out, tree)
	case "dot":
		return audit.WriteTreeDOT(out, tree)
	case "mermaid":
		return audit.WriteTreeMermaid(out, tree)
	}
	return audit.WriteTreeText(out, tree)
}
