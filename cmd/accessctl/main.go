// Command accessctl is the admin and auditor command line of accessgraph.
package main

import (
	"context"
	"os"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/cli/root"
)

// version and commit are set at link time: -ldflags "-X main.version=v1.2.3 -X main.commit=abc".
var (
	version = "dev"
	commit  = ""
)

func main() {
	f := factory.New(factory.BuildInfo{Version: version, Commit: commit})
	err := root.Execute(context.Background(), root.NewCmdRoot(f), f, os.Args[1:])
	os.Exit(cmdutil.ExitCode(err))
}
