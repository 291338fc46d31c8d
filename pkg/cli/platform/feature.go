package platform

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

// NewCmdFeature builds `accessctl feature`.
func NewCmdFeature(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "feature <command>",
		Short: "Feature rollouts: per-user participants, then a full release",
		Long: `A rollout (such as feature:entitlement_view, which gates software downloads and licence
keys for admins and standard members) starts with per-user participants and can later be
released to everyone in one change, without touching the per-user data. Platform
administrators only.`,
		Args: cobra.ArbitraryArgs,
		RunE: cmdutil.GroupRun,
	}
	participant := &cobra.Command{
		Use:   "participant <command>",
		Short: "Add or remove one user from a rollout",
		Args:  cobra.ArbitraryArgs,
		RunE:  cmdutil.GroupRun,
	}
	participant.AddCommand(pairs.Commands(f, participantSpec))
	cmd.AddCommand(participant, NewCmdRelease(f, nil))
	return cmd
}

// participantSpec is `accessctl feature participant add|remove`.
var participantSpec = pairs.Spec{
	Container: "feature", Member: "user",
	AddShort: "Add a user to a rollout", RemoveShort: "Remove a user from a rollout",
	AddExample: `  # joan joins the entitlement view pilot
  $ accessctl feature participant add feature:entitlement_view user:joan --as user:vera`,
	RemoveExample: `  # sally leaves the pilot
  $ accessctl feature participant remove feature:entitlement_view user:sally --as user:vera`,
	Added:   func(m, c string) string { return m + " takes part in " + c },
	Removed: func(m, c string) string { return m + " no longer takes part in " + c },
	Add: func(ctx context.Context, c access.Service, a access.Actor, feature, u string) (access.Token, error) {
		return c.AddRolloutParticipant(ctx, a, feature, u)
	},
	Remove: func(ctx context.Context, c access.Service, a access.Actor, feature, u string) (access.Token, error) {
		return c.RemoveRolloutParticipant(ctx, a, feature, u)
	},
}

// NewCmdRelease builds `accessctl feature release`.
func NewCmdRelease(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "release FEATURE --as USER [--withdraw]",
		Short: "Open a rollout to every user in one change (or withdraw the release)",
		Long: `Open a rollout to every user in one change. The per-user participants stay as they
are, so --withdraw returns to the pilot exactly as it was. This is the only way to grant
something to everyone: wildcard subjects are refused everywhere else.`,
		Example: `  # full release of the entitlement view
  $ accessctl feature release feature:entitlement_view --as user:vera

  # back to the pilot
  $ accessctl feature release feature:entitlement_view --withdraw --as user:vera`,
		Args:              cmdutil.ExactArgs(1, "FEATURE"),
		ValidArgsFunction: complete.Positional(f, complete.Object("feature")),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Feature = args[0]
			return cmdutil.Run(cmd.Context(), runF, runRelease, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	cmd.Flags().BoolVar(&o.Withdraw, "withdraw", false, "withdraw the full release (participants stay)")
	return cmd
}

func runRelease(ctx context.Context, o *Options) error {
	actor, err := o.Factory.Actor(ctx, o.Actor)
	if err != nil {
		return err
	}
	feature, err := cmdutil.ParseOfType(o.Feature, "feature")
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("feature:%s is released to every user", feature)
	if o.Withdraw {
		msg = fmt.Sprintf("feature:%s is back to its per-user participants", feature)
	}
	return o.Factory.Change(ctx, msg, func(c access.Service) (access.Token, error) {
		return c.ReleaseToEveryone(ctx, actor, feature, !o.Withdraw)
	})
}
