// Package version holds `accessctl version`.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/engine"
)

// Info describes the binary.
type Info struct {
	Version string `json:"version"`
	Commit  string `json:"commit,omitempty"`
	SpiceDB string `json:"spicedb"`
	Go      string `json:"go"`
}

// Current returns the build's version information.
func Current(b factory.BuildInfo) Info {
	info := Info{Version: b.Version, Commit: b.Commit, SpiceDB: engine.SpiceDBVersion(), Go: runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if info.Commit == "" {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					info.Commit = s.Value
				}
			}
		}
	}
	return info
}

// NewCmdVersion builds `accessctl version`.
func NewCmdVersion(f *factory.Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version of accessctl and of the SpiceDB it embeds",
		Example: `  $ accessctl version`,
		Args:    cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := f.Printer()
			if err != nil {
				return err
			}
			info := Current(f.Build)
			fields := [][2]string{{"accessctl", info.Version}}
			if info.Commit != "" {
				fields = append(fields, [2]string{"commit", info.Commit})
			}
			fields = append(fields, [2]string{"spicedb", info.SpiceDB}, [2]string{"go", info.Go})
			return p.Fields(fields, info)
		},
	}
}

// String is the one-line version.
func (i Info) String() string {
	return fmt.Sprintf("accessctl %s (SpiceDB %s, %s)", i.Version, i.SpiceDB, i.Go)
}
