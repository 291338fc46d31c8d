// Package schemacmd holds `accessctl schema`: show and write the server's schema, and run
// SpiceDB validation files offline.
package schemacmd

import (
	"context"
	"fmt"
	"io"
	"os"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/complete"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
)

// Options are the inputs of the schema commands.
type Options struct {
	Factory *factory.Factory
	Files   []string
}

// NewCmdSchema builds `accessctl schema`.
func NewCmdSchema(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schema <command>",
		Short: "Show or write the server's schema; validate schema test files offline",
		Args:  cobra.ArbitraryArgs,
		RunE:  cmdutil.GroupRun,
	}
	cmd.AddCommand(NewCmdShow(f, nil), NewCmdWrite(f, nil), NewCmdValidate(f, nil))
	return cmd
}

// NewCmdShow builds `accessctl schema show`.
func NewCmdShow(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	return &cobra.Command{
		Use:   "show",
		Short: "Print the schema stored on the server",
		Example: `  # the account definition
  $ accessctl schema show | sed -n '/^definition account/,/^}/p'`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error { return cmdutil.Run(cmd.Context(), runF, runShow, o) },
	}
}

func runShow(ctx context.Context, o *Options) error {
	p, err := o.Factory.Printer()
	if err != nil {
		return err
	}
	e, err := o.Factory.Engine(ctx)
	if err != nil {
		return err
	}
	resp, err := e.ReadSchemaSince(ctx, nil)
	if err != nil {
		return cmdutil.RPCError("reading the schema", err)
	}
	text := resp.GetSchemaText()
	if len(text) > 0 && text[len(text)-1] != '\n' {
		text += "\n"
	}
	return p.Raw(text, map[string]string{"schema": resp.GetSchemaText(), "read_at": resp.GetReadAt().GetToken()})
}

// NewCmdWrite builds `accessctl schema write`.
func NewCmdWrite(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	return &cobra.Command{
		Use:   "write FILE",
		Short: "Replace the server's schema with FILE (- for standard input)",
		Long: `Replace the server's schema. The file is compiled locally first; the server refuses a
schema that would orphan stored relationships (remove them first). "accessctl serve"
writes the schema built into accessctl by itself, so this is for remote servers and
schema migrations.`,
		Example: `  # prepare a fresh SpiceDB for accessgraph
  $ accessctl schema write schema/accessgraph.zed --endpoint spicedb.internal:50051`,
		Args: cmdutil.ExactArgs(1, "FILE"),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return []string{"zed"}, cobra.ShellCompDirectiveFilterFileExt
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Files = args
			return cmdutil.Run(cmd.Context(), runF, runWrite, o)
		},
	}
}

func runWrite(ctx context.Context, o *Options) error {
	var data []byte
	var err error
	if o.Files[0] == "-" {
		data, err = io.ReadAll(o.Factory.IOStreams.In)
	} else {
		data, err = os.ReadFile(o.Files[0])
	}
	if err != nil {
		return cmdutil.AsUsage(fmt.Errorf("reading %s: %w", o.Files[0], err))
	}
	defs, err := complete.Compile(string(data))
	if err != nil {
		return fmt.Errorf("%s does not compile: %w", o.Files[0], err)
	}
	p, err := o.Factory.Printer()
	if err != nil {
		return err
	}
	e, err := o.Factory.Engine(ctx)
	if err != nil {
		return err
	}
	resp, err := e.Schemas().WriteSchema(ctx, &v1.WriteSchemaRequest{Schema: string(data)})
	if err != nil {
		return cmdutil.RPCError("writing the schema", err)
	}
	e.ObserveToken(resp.GetWrittenAt())
	return p.Change(access.Token(resp.GetWrittenAt().GetToken()), fmt.Sprintf("wrote the schema from %s (%d definitions)", o.Files[0], len(defs)))
}
