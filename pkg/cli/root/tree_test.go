package root_test

import (
	"context"
	"errors"
	"os"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
	"github.com/accessgraph/accessgraph/pkg/cli/root"
)

// Every kind of command-line mistake cobra and pflag detect is a *cmdutil.UsageError and
// exits 2, through the real root command.
func TestCobraMistakesAreUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
	}{
		{"unknown command", []string{"frobnicate"}},
		{"unknown command close to a real one", []string{"membr", "list"}},
		{"unknown subcommand", []string{"member", "aprove"}},
		{"unknown flag", []string{"check", "user:bill", "view", "case:1", "--frob"}},
		{"unknown global flag", []string{"--frob", "check"}},
		{"unknown shorthand", []string{"check", "-z", "user:bill", "view", "case:1"}},
		{"missing flag value", []string{"member", "list", "account:acme", "--as"}},
		{"too few arguments", []string{"check", "user:bill"}},
		{"too many arguments", []string{"version", "extra"}},
		{"arguments out of range", []string{"lookup", "subjects", "case:1"}},
		{"missing required flag", []string{"needs-flags", "--a"}},
		{"mutually exclusive flags", []string{"needs-flags", "--name", "x", "--a", "--b"}},
		{"bad duration value", []string{"access-review", "account:acme", "--expiring-within=x"}},
		{"bad bool value", []string{"check", "user:bill", "view", "case:1", "--exit-code=maybe"}},
		{"completion request without arguments", []string{cobra.ShellCompRequestCmd}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := clitest.Offline(t).Factory(false)
			cmd := root.NewCmdRoot(f)
			cmd.AddCommand(newCmdNeedsFlags())
			err := root.Execute(context.Background(), cmd, f, tt.args)
			var ue *cmdutil.UsageError
			if code := cmdutil.ExitCode(err); code != cmdutil.ExitUsage || !errors.As(err, &ue) {
				t.Errorf("%q: exit %d, error %T %v; want exit 2 and a *cmdutil.UsageError", tt.args, code, err, err)
			}
		})
	}
}

// newCmdNeedsFlags is a command with a required flag and two exclusive ones, which no real
// command has (yet): cobra reports both after parsing, with plain errors.
func newCmdNeedsFlags() *cobra.Command {
	cmd := &cobra.Command{
		Use:  "needs-flags --name NAME [--a | --b]",
		Args: cmdutil.ExactArgs(0),
		RunE: func(*cobra.Command, []string) error { return errors.New("ran") },
	}
	cmd.Flags().String("name", "", "required")
	cmd.Flags().Bool("a", false, "one")
	cmd.Flags().Bool("b", false, "or the other")
	_ = cmd.MarkFlagRequired("name")
	cmd.MarkFlagsMutuallyExclusive("a", "b")
	return cmd
}

// Errors that are not command-line mistakes keep exit code 1.
func TestRunErrorsAreNotUsageErrors(t *testing.T) {
	t.Parallel()
	f := clitest.Offline(t).Factory(false)
	cmd := root.NewCmdRoot(f)
	cmd.AddCommand(newCmdNeedsFlags())
	err := root.Execute(context.Background(), cmd, f, []string{"needs-flags", "--name", "x"})
	if code := cmdutil.ExitCode(err); code != cmdutil.ExitError || err == nil || err.Error() != "ran" {
		t.Errorf("exit %d, error %v; want exit 1 and the command's own error", code, err)
	}
}

// Every command checks its positional arguments itself, with a validator that returns a
// *cmdutil.UsageError (cobra's own validators return plain errors).
func TestEveryArgsValidatorReturnsUsageErrors(t *testing.T) {
	t.Parallel()
	cmd := root.NewCmdRoot(clitest.Offline(t).Factory(false))
	tooMany := slices.Repeat([]string{"x"}, 20)
	checked := 0
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Name() == "help" {
				continue
			}
			walk(sub)
			if sub.Args == nil {
				t.Errorf("%s: no Args validator (cobra would apply its own, with plain errors)", sub.CommandPath())
				continue
			}
			checked++
			var ue *cmdutil.UsageError
			if err := sub.Args(sub, tooMany); err != nil && !errors.As(err, &ue) {
				t.Errorf("%s: 20 arguments give %T %q, not a *cmdutil.UsageError", sub.CommandPath(), err, err)
			}
		}
	}
	walk(cmd)
	if checked < 70 {
		t.Errorf("checked %d commands, expected at least 70", checked)
	}
}

// The table of pkg/cli/doc.go names every top-level command, and the package that
// implements it: the package of one of the run functions under it.
func TestDocTableCoversEveryCommand(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../doc.go")
	if err != nil {
		t.Fatal(err)
	}
	table := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^//\taccessctl (\S+) +(pkg/cli/\S+)$`).FindAllStringSubmatch(string(raw), -1) {
		table[m[1]] = m[2]
	}
	if len(table) < 30 {
		t.Fatalf("pkg/cli/doc.go: found %d rows in its table of commands", len(table))
	}
	cmd := root.NewCmdRoot(clitest.Offline(t).Factory(false))
	for _, c := range cmd.Commands() {
		if c.Hidden || c.Name() == "help" {
			continue
		}
		pkg, ok := table[c.Name()]
		if !ok {
			t.Errorf("pkg/cli/doc.go: its table of commands lacks accessctl %s", c.Name())
			continue
		}
		delete(table, c.Name())
		if pkgs := runPackages(c); !slices.Contains(pkgs, pkg) {
			t.Errorf("pkg/cli/doc.go: accessctl %s is in %s, but its commands run in %v", c.Name(), pkg, pkgs)
		}
	}
	for name := range table {
		t.Errorf("pkg/cli/doc.go: its table names accessctl %s, which is not a command", name)
	}
}

// runPackages are the packages, as pkg/cli/..., of the RunE functions of c and its
// subcommands.
func runPackages(c *cobra.Command) []string {
	var out []string
	if c.RunE != nil {
		name := runtime.FuncForPC(reflect.ValueOf(c.RunE).Pointer()).Name()
		slash := strings.LastIndex(name, "/")
		if dot := strings.Index(name[slash+1:], "."); slash >= 0 && dot >= 0 {
			name = name[:slash+1+dot]
		}
		if _, rel, ok := strings.Cut(name, "/pkg/cli/"); ok {
			out = append(out, "pkg/cli/"+rel)
		}
	}
	for _, sub := range c.Commands() {
		out = append(out, runPackages(sub)...)
	}
	return out
}
