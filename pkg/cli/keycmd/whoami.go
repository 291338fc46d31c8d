package keycmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
)

// WhoAmIOptions are the inputs of whoami.
type WhoAmIOptions struct {
	Factory *factory.Factory
}

// NewCmdWhoAmI builds `accessctl whoami`.
func NewCmdWhoAmI(f *factory.Factory, runF func(context.Context, *WhoAmIOptions) error) *cobra.Command {
	o := &WhoAmIOptions{Factory: f}
	return &cobra.Command{
		Use:   "whoami",
		Short: "Show the principal the key proves, and the user a user key acts as",
		Long: `Ask the domain API which principal the key proves: KIND:NAME (operator, user, auditor or
service), and for a user key the user every command acts as (its implied --as).`,
		Example: `  $ accessctl whoami
  user:bill-laptop (acts as user:bill)`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error { return cmdutil.Run(cmd.Context(), runF, runWhoAmI, o) },
	}
}

// whoAmI is whoami's JSON form.
type whoAmI struct {
	Principal string `json:"principal"`
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	User      string `json:"user,omitempty"`
}

func runWhoAmI(ctx context.Context, o *WhoAmIOptions) error {
	pr, err := o.Factory.Printer()
	if err != nil {
		return err
	}
	p, err := o.Factory.Principal(ctx)
	if err != nil {
		return err
	}
	if p == nil {
		return fmt.Errorf("only the domain API says who a key is, and its URL is not known: pass --api-url (or %s, or accessctl login --api-url)", factory.EnvAPIURL)
	}
	v := whoAmI{Principal: p.String(), Kind: string(p.Kind), Name: p.Name}
	text := p.String()
	if p.User != "" {
		v.User = "user:" + p.User
		text += " (acts as user:" + p.User + ")"
	}
	return pr.Line(text, v)
}
