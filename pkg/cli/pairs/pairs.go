// Package pairs builds the commands that put one object in another, or take it out again: a
// user in a group, a partner organisation, a service organisation or a rollout.
package pairs

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/complete"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
)

// Change makes or undoes one pairing with the domain client; container and member are ids.
type Change func(ctx context.Context, c access.Service, actor access.Actor, container, member string) (access.Token, error)

// Spec describes one pair of commands.
type Spec struct {
	// Container and Member are object types, such as "group" and "user".
	Container, Member string
	// AddShort, RemoveShort, AddExample and RemoveExample are the commands' help.
	AddShort, RemoveShort     string
	AddExample, RemoveExample string
	// Added and Removed word the confirmation; they get the member and container references.
	Added, Removed func(member, container string) string
	// Add and Remove make the change.
	Add, Remove Change
}

// Commands returns the add and remove commands of a spec.
func Commands(f *factory.Factory, s Spec) (add, remove *cobra.Command) {
	return newCmd(f, s, "add", s.AddShort, s.AddExample, s.Added, s.Add),
		newCmd(f, s, "remove", s.RemoveShort, s.RemoveExample, s.Removed, s.Remove)
}

func newCmd(f *factory.Factory, s Spec, verb, short, example string, confirm func(string, string) string, change Change) *cobra.Command {
	var actorOpts cmdutil.ActorOptions
	containerArg, memberArg := strings.ToUpper(s.Container), strings.ToUpper(s.Member)
	cmd := &cobra.Command{
		Use:               verb + " " + containerArg + " " + memberArg + " --as USER",
		Short:             short,
		Example:           example,
		Args:              cmdutil.ExactArgs(2, containerArg, memberArg),
		ValidArgsFunction: complete.Positional(f, complete.Object(s.Container), complete.Object(s.Member)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			actor, err := f.Actor(ctx, actorOpts)
			if err != nil {
				return err
			}
			container, err := cmdutil.ParseOfType(args[0], s.Container)
			if err != nil {
				return err
			}
			member, err := cmdutil.ParseOfType(args[1], s.Member)
			if err != nil {
				return err
			}
			return f.Change(ctx, confirm(s.Member+":"+member, s.Container+":"+container),
				func(c access.Service) (access.Token, error) { return change(ctx, c, actor, container, member) })
		},
	}
	cmdutil.AddActorFlags(cmd, &actorOpts)
	return cmd
}
