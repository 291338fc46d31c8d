package cmdutil

import (
	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// ActorOptions are the --as and --reason flags every change takes.
type ActorOptions struct {
	As     string
	Reason string
}

// AddActorFlags registers --as (required, checked when the command runs, but implied by a
// user key: factory.Actor) and --reason.
func AddActorFlags(cmd *cobra.Command, o *ActorOptions) {
	cmd.Flags().StringVar(&o.As, "as", "", "the user making the change, user:ID (required, but implied by a user key; it is authorised and audited)")
	cmd.Flags().StringVar(&o.Reason, "reason", "", "why, for the audit trail")
	_ = cmd.RegisterFlagCompletionFunc("as", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"user:"}, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
	})
}

// Actor returns the acting user; a missing or malformed --as is a usage error.
func (o ActorOptions) Actor() (access.Actor, error) {
	if o.As == "" {
		return access.Actor{}, Usagef("--as is required: every change is made by a named user, for example --as user:bill")
	}
	u, err := ref.ParseOfType(o.As, "user")
	if err != nil {
		return access.Actor{}, Usagef("--as: %v", err)
	}
	return access.As(u.ID).Because(o.Reason), nil
}

// ReasonOr returns the reason, or def when none was given.
func (o ActorOptions) ReasonOr(def string) string {
	if o.Reason != "" {
		return o.Reason
	}
	return def
}
