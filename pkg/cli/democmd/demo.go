// Package democmd holds `accessctl demo`: loading the demo portal into a running server.
package democmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/demo"
)

// Options are the inputs of `accessctl demo load`.
type Options struct {
	Factory *factory.Factory
	Verbose bool
}

// NewCmdDemo builds `accessctl demo`.
func NewCmdDemo(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "demo <command>",
		Short: "The demo portal: five access stories on one platform",
		Args:  cobra.ArbitraryArgs,
		RunE:  cmdutil.GroupRun,
	}
	cmd.AddCommand(NewCmdLoad(f, nil))
	return cmd
}

// NewCmdLoad builds `accessctl demo load`.
func NewCmdLoad(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Load the demo portal into an empty running server",
		Long: `Load the demo portal (examples/demo/README.md) into a running server whose store is
empty. Every change goes through the domain API as the user who would make it in real
life (vera bootstraps the platform, Customer Care creates sites, bill approves his
members...), so the demo is authorised like any other change.`,
		Example: `  # against the server of "accessctl serve" (without --demo)
  $ accessctl demo load`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.Run(cmd.Context(), runF, runLoad, o)
		},
	}
	cmd.Flags().BoolVarP(&o.Verbose, "verbose", "v", false, "name each story as it loads")
	return cmd
}

func runLoad(ctx context.Context, o *Options) error {
	p, err := o.Factory.Printer()
	if err != nil {
		return err
	}
	c, err := o.Factory.Client(ctx)
	if err != nil {
		return err
	}
	sum, err := demo.Load(ctx, c, demo.Options{
		Now: o.Factory.Now,
		Progress: func(story string) {
			if o.Verbose {
				p.Status("loading %s", story)
			}
		},
	})
	if err != nil {
		return err
	}
	token := access.Token("")
	if tok := c.Engine().FreshestToken(nil); tok != nil {
		token = access.Token(tok.GetToken())
	}
	return p.Change(token, fmt.Sprintf("loaded the demo portal: %d stories, %d changes", sum.Stories, sum.Changes))
}
