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
	APIURL   string
	Insecure bool
}

// NewCmdLogin builds `accessctl login`.
func NewCmdLogin(f *factory.Factory, runF func(context.Context, *LoginOptions) error) *cobra.Command {
	o := &LoginOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "login (--key-file FILE | --key KEY) [--endpoint HOST:PORT] [--api-url URL] [--insecure]",
		Short: "Store the key this machine's commands present in the connection profile",
		Long: `Store a key (from accessctl key create) in the connection profile, readable by its owner
only, so later commands present it. --key-file - reads the key from standard input;
--key puts it in the shell's history, so prefer a file. --endpoint sets the server's raw
SpiceDB address and --api-url its domain API (default: the profile's). --endpoint without
--api-url forgets the profile's API URL rather than guess it: the two ports are set apart on
the server. Domain commands go through the domain API when its URL is known; a user or
service key needs it, since the raw API is for operator and auditor keys only.`,
		Example: `  # the key an operator handed you, in a file
  $ accessctl login --key-file ~/bill-laptop.key --endpoint access.example.com:50051 --api-url https://access.example.com:50052`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error { return cmdutil.Run(cmd.Context(), runF, runLogin, o) },
	}
	fl := cmd.Flags()
	fl.StringVar(&o.KeyFile, "key-file", "", "read the key from this file (- for standard input)")
	fl.StringVar(&o.Key, "key", "", "the key itself")
	fl.StringVar(&o.Endpoint, "endpoint", "", "the server's raw SpiceDB gRPC address, host:port (default: the profile's)")
	fl.StringVar(&o.APIURL, "api-url", "", "the server's domain API URL, https://HOST:PORT or http://127.0.0.1:PORT (default: the profile's)")
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
		p.Endpoint, p.APIURL, p.Insecure, p.PID = o.Endpoint, "", o.Insecure, 0
	}
	if o.APIURL != "" {
		p.APIURL = o.APIURL
	}
	if p.Endpoint == "" && p.APIURL == "" {
		return cmdutil.Usagef("no server known: pass --endpoint HOST:PORT and --api-url URL")
	}
	p.Token = key
	if err := profile.Write(path, p); err != nil {
		return err
	}
	server := p.Endpoint
	switch {
	case p.APIURL != "" && p.Endpoint != "":
		server += " and " + p.APIURL
	case p.APIURL != "":
		server = p.APIURL
	}
	fmt.Fprintf(o.Factory.IOStreams.ErrOut, "key stored in %s for %s\n", path, server)
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
