package keycmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/cli/profile"
)

// LoginOptions are the inputs of login.
type LoginOptions struct {
	Factory  *factory.Factory
	Key      string
	KeyFile  string
	Endpoint string
	Insecure bool
}

// NewCmdLogin builds `accessctl login`.
func NewCmdLogin(f *factory.Factory, runF func(context.Context, *LoginOptions) error) *cobra.Command {
	o := &LoginOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "login (--key-file FILE | --key KEY) [--endpoint HOST:PORT] [--insecure]",
		Short: "Store the key this machine's commands present in the connection profile",
		Long: `Store a key (from accessctl key create) in the connection profile, readable by its owner
only, so later commands present it. --key-file - reads the key from standard input;
--key puts it in the shell's history, so prefer a file. --endpoint sets the server
(default: the profile's).`,
		Example: `  # the key an operator handed you, in a file
  $ accessctl login --key-file ~/bill-laptop.key --endpoint access.example.com:50051`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error { return cmdutil.Run(cmd.Context(), runF, runLogin, o) },
	}
	fl := cmd.Flags()
	fl.StringVar(&o.KeyFile, "key-file", "", "read the key from this file (- for standard input)")
	fl.StringVar(&o.Key, "key", "", "the key itself")
	fl.StringVar(&o.Endpoint, "endpoint", "", "the server's gRPC address, host:port (default: the profile's)")
	fl.BoolVar(&o.Insecure, "insecure", false, "the server speaks plaintext (loopback only)")
	return cmd
}

func runLogin(ctx context.Context, o *LoginOptions) error {
	key := o.Key
	switch {
	case (o.Key == "") == (o.KeyFile == ""):
		return cmdutil.Usagef("give one of --key-file and --key")
	case o.KeyFile == "-":
		data, err := io.ReadAll(o.Factory.IOStreams.In)
		if err != nil {
			return fmt.Errorf("reading the key: %w", err)
		}
		key = string(data)
	case o.KeyFile != "":
		data, err := os.ReadFile(o.KeyFile)
		if err != nil {
			return fmt.Errorf("reading the key: %w", err)
		}
		key = string(data)
	}
	key = strings.TrimSpace(key)
	if key == "" {
		return cmdutil.Usagef("the key is empty")
	}
	path, err := profile.Path(o.Factory.Getenv)
	if err != nil {
		return err
	}
	p, err := profile.Read(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		p = &profile.Profile{}
	case err != nil:
		return err
	}
	if o.Endpoint != "" {
		p.Endpoint, p.Insecure, p.PID = o.Endpoint, o.Insecure, 0
	}
	if p.Endpoint == "" {
		return cmdutil.Usagef("no server known: pass --endpoint HOST:PORT")
	}
	p.Token = key
	if err := profile.Write(path, p); err != nil {
		return err
	}
	fmt.Fprintf(o.Factory.IOStreams.ErrOut, "key stored in %s for %s\n", path, p.Endpoint)
	return nil
}

// NewCmdLogout builds `accessctl logout`.
func NewCmdLogout(f *factory.Factory, runF func(context.Context, *LoginOptions) error) *cobra.Command {
	o := &LoginOptions{Factory: f}
	return &cobra.Command{
		Use:     "logout",
		Short:   "Remove the key from the connection profile",
		Example: "  $ accessctl logout",
		Args:    cmdutil.ExactArgs(0),
		RunE:    func(cmd *cobra.Command, args []string) error { return cmdutil.Run(cmd.Context(), runF, runLogout, o) },
	}
}

func runLogout(ctx context.Context, o *LoginOptions) error {
	path, err := profile.Path(o.Factory.Getenv)
	if err != nil {
		return err
	}
	p, err := profile.Read(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	p.Token = ""
	if err := profile.Write(path, p); err != nil {
		return err
	}
	fmt.Fprintf(o.Factory.IOStreams.ErrOut, "key removed from %s\n", path)
	return nil
}
