// Package keycmd holds `accessctl key` (the server's principals and their keys) and
// `accessctl login` / `logout` (the key this machine's commands present).
package keycmd

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/cli/output"
	"github.com/accessgraph/accessgraph/pkg/principal"
	"github.com/accessgraph/accessgraph/pkg/principal/keys"
)

// Options are the inputs of the key commands.
type Options struct {
	Factory *factory.Factory
	Name    string
	Kind    string
	User    string
	Expires time.Duration
}

// NewCmdKey builds `accessctl key`.
func NewCmdKey(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key <command>",
		Short: "Make, list, revoke and rotate the keys principals authenticate with (operators only)",
		Long: `Manage the server's principals and their keys. Every request to the server presents a
key; the key proves a principal: an operator, a user (acting only as one user:ID), an
auditor (reads only) or a service (a portal backend). The server stores only each key's
SHA-256; a key is printed once, when it is made. Only an operator's key may manage keys.
docs/security.md describes what each kind may do.`,
		Args: cobra.ArbitraryArgs,
		RunE: cmdutil.GroupRun,
	}
	cmd.AddCommand(NewCmdCreate(f, nil), NewCmdList(f, nil), NewCmdRevoke(f, nil), NewCmdRotate(f, nil))
	return cmd
}

func registry(ctx context.Context, f *factory.Factory) (*keys.Registry, error) {
	e, err := f.Engine(ctx)
	if err != nil {
		return nil, err
	}
	return keys.New(e.Permissions()), nil
}

func expiry(f *factory.Factory, d time.Duration) (time.Time, error) {
	switch {
	case d < 0:
		return time.Time{}, cmdutil.Usagef("--expires %s: give a positive duration, such as 720h", d)
	case d == 0:
		return time.Time{}, nil
	}
	return f.Now().Add(d), nil
}

// NewCmdCreate builds `accessctl key create`.
func NewCmdCreate(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "create --name NAME --kind KIND [--user ID] [--expires DURATION]",
		Short: "Make a principal and its key; the key is printed once",
		Long: `Make a principal and its key. The key goes to standard output once and is never shown
again (the server keeps only its hash): hand it to its holder over a safe channel.`,
		Example: `  # a key for bill's laptop, acting only as user:bill, for 30 days
  $ accessctl key create --kind user --user bill --name bill-laptop --expires 720h

  # a key for the portal backend
  $ accessctl key create --kind service --name portal-backend`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error { return cmdutil.Run(cmd.Context(), runF, runCreate, o) },
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Name, "name", "", "the principal's name, unique (letters, digits, '-' and '_')")
	fl.StringVar(&o.Kind, "kind", "", "operator, user, auditor or service")
	fl.StringVar(&o.User, "user", "", "the user ID a user principal acts as (kind user only)")
	fl.DurationVar(&o.Expires, "expires", 0, "the key stops working this long from now (default: never)")
	return cmd
}

func runCreate(ctx context.Context, o *Options) error {
	kind, err := principal.ParseKind(o.Kind)
	if err != nil {
		return cmdutil.Usagef("--kind: %v", err)
	}
	exp, err := expiry(o.Factory, o.Expires)
	if err != nil {
		return err
	}
	p := principal.Principal{Name: o.Name, Kind: kind, User: o.User, Expires: exp}
	p.User = trimUser(p.User)
	r, err := registry(ctx, o.Factory)
	if err != nil {
		return err
	}
	key, made, err := r.Create(ctx, p)
	if err != nil {
		return err
	}
	return printKey(o.Factory, key, made)
}

func trimUser(u string) string {
	if len(u) > 5 && u[:5] == "user:" {
		return u[5:]
	}
	return u
}

func printKey(f *factory.Factory, key string, p principal.Principal) error {
	pr, err := f.Printer()
	if err != nil {
		return err
	}
	pr.Status("made key %s for %s (shown once: store it now)", p.CredentialID, p)
	return pr.Line(key, map[string]any{"key": key, "principal": principalJSON(p)})
}

// NewCmdList builds `accessctl key list`.
func NewCmdList(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	return &cobra.Command{
		Use:   "list",
		Short: "List the principals and their key ids (never the keys)",
		Example: `  # every principal, as JSON
  $ accessctl key list -o json`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error { return cmdutil.Run(cmd.Context(), runF, runList, o) },
	}
}

var keyList = output.List[principal.Principal]{Columns: []output.Column[principal.Principal]{
	{Header: "NAME", JSON: "name", Value: func(p principal.Principal) string { return p.Name }},
	{Header: "KIND", JSON: "kind", Value: func(p principal.Principal) string { return string(p.Kind) }},
	{Header: "USER", JSON: "user", Value: func(p principal.Principal) string { return p.User }},
	{Header: "KEY ID", JSON: "key_id", Value: func(p principal.Principal) string { return p.CredentialID }},
	{Header: "EXPIRES", JSON: "expires_at", Value: func(p principal.Principal) string { return output.Time(p.Expires) },
		JSONValue: func(p principal.Principal) any { return output.TimePtr(p.Expires) }},
}}

func principalJSON(p principal.Principal) map[string]any {
	return map[string]any{"name": p.Name, "kind": p.Kind, "user": p.User, "key_id": p.CredentialID, "expires_at": output.TimePtr(p.Expires)}
}

func runList(ctx context.Context, o *Options) error {
	pr, err := o.Factory.Printer()
	if err != nil {
		return err
	}
	r, err := registry(ctx, o.Factory)
	if err != nil {
		return err
	}
	ps, err := r.List(ctx)
	if err != nil {
		return err
	}
	return keyList.Print(pr, ps)
}

// NewCmdRevoke builds `accessctl key revoke`.
func NewCmdRevoke(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	return &cobra.Command{
		Use:   "revoke NAME|KEY-ID",
		Short: "Revoke a principal's keys, or one key by its id; refused from the next request on",
		Example: `  # bill's laptop was lost
  $ accessctl key revoke bill-laptop`,
		Args: cmdutil.ExactArgs(1, "NAME|KEY-ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			return cmdutil.Run(cmd.Context(), runF, runRevoke, o)
		},
	}
}

func runRevoke(ctx context.Context, o *Options) error {
	pr, err := o.Factory.Printer()
	if err != nil {
		return err
	}
	r, err := registry(ctx, o.Factory)
	if err != nil {
		return err
	}
	revoked, err := r.Revoke(ctx, o.Name)
	if err != nil {
		return err
	}
	return keyList.Print(pr, revoked)
}

// NewCmdRotate builds `accessctl key rotate`.
func NewCmdRotate(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "rotate NAME [--expires DURATION]",
		Short: "Give a principal a new key and revoke its old ones at once; the key is printed once",
		Example: `  # a new key for the portal backend, valid for 90 days
  $ accessctl key rotate portal-backend --expires 2160h`,
		Args: cmdutil.ExactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			return cmdutil.Run(cmd.Context(), runF, runRotate, o)
		},
	}
	cmd.Flags().DurationVar(&o.Expires, "expires", 0, "the new key stops working this long from now (default: when the old one would)")
	return cmd
}

func runRotate(ctx context.Context, o *Options) error {
	exp, err := expiry(o.Factory, o.Expires)
	if err != nil {
		return err
	}
	r, err := registry(ctx, o.Factory)
	if err != nil {
		return err
	}
	key, p, err := r.Rotate(ctx, o.Name, exp)
	if err != nil {
		return fmt.Errorf("rotating the key of %s: %w", o.Name, err)
	}
	return printKey(o.Factory, key, p)
}
