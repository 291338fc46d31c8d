package cmdutil

import (
	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/engine"
)

// ConsistencyOptions are the --consistency and --revision flags of queries.
type ConsistencyOptions struct {
	Name     string
	Revision string
}

// AddConsistencyFlags registers --consistency and --revision.
func AddConsistencyFlags(cmd *cobra.Command, o *ConsistencyOptions) {
	cmd.Flags().StringVar(&o.Name, "consistency", "fresh",
		"how fresh the answer must be: fresh (sees every change this command made; fully consistent otherwise), at-least (as fresh as --revision), full (newest data, slowest), fastest (cached, may be seconds stale)")
	cmd.Flags().StringVar(&o.Revision, "revision", "", "a revision token printed by a change: answer at least as fresh as that change")
	_ = cmd.RegisterFlagCompletionFunc("consistency", cobra.FixedCompletions([]string{"fresh", "at-least", "full", "fastest"}, cobra.ShellCompDirectiveNoFileComp))
}

// Consistency parses the flags; an unknown name is a usage error.
func (o ConsistencyOptions) Consistency() (access.Consistency, error) {
	c, err := access.ParseConsistency(o.Name, access.Token(o.Revision))
	return c, AsUsage(err)
}

// V1Consistency is the consistency for direct SpiceDB reads made by operator commands
// (relationship read, export): the same choices as the domain layer's.
func (o ConsistencyOptions) V1Consistency(e *engine.Engine) (*v1.Consistency, error) {
	c, err := engine.ParseConsistency(o.Name, o.Revision)
	switch {
	case err == nil:
		return e.Consistency(c), nil
	case o.Name == "at-least":
		return nil, Usagef("--consistency at-least needs --revision")
	}
	return nil, Usagef("unknown consistency %q (fresh, at-least, full, fastest)", o.Name)
}
