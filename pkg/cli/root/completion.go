package root

import (
	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
)

// newCmdCompletion builds `accessctl completion`.
func newCmdCompletion(f *factory.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print a shell completion script",
		Long: `Print a completion script for your shell. Completion is dynamic: object types and
permissions come from the live server's schema (the built-in schema when no server
answers), and object ids from its relationships.`,
		Example: `  # bash, for this session
  $ source <(accessctl completion bash)

  # zsh, permanently
  $ accessctl completion zsh > "${fpath[1]}/_accessctl"

  # fish
  $ accessctl completion fish > ~/.config/fish/completions/accessctl.fish`,
		Args:      cmdutil.ExactArgs(1, "SHELL"),
		ValidArgs: []string{"bash", "zsh", "fish", "powershell"},
		RunE: func(cmd *cobra.Command, args []string) error {
			out := f.IOStreams.Out
			root := cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			case "fish":
				return root.GenFishCompletion(out, true)
			case "powershell":
				return root.GenPowerShellCompletionWithDesc(out)
			}
			return cmdutil.Usagef("unknown shell %q (bash, zsh, fish, powershell)", args[0])
		},
	}
}
