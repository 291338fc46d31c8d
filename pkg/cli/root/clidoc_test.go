package root_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
	"github.com/accessgraph/accessgraph/pkg/cli/root"
)

// The command reference docs/cli.md is written by hand from a skeleton generated from the
// live command tree:
//
//	go test ./pkg/cli/root -run TestCLIDocSkeleton -clidoc cli-skeleton.md
//
// TestCLIDocCoversEveryCommand keeps it complete.
var clidocOut = flag.String("clidoc", "", "write the skeleton of docs/cli.md, generated from the command tree, to this file")

const cliDoc = "../../../docs/cli.md"

// documented are the commands docs/cli.md documents: every command but cobra's help.
func documented(c *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	for _, sub := range c.Commands() {
		if sub.Hidden || sub.Name() == "help" {
			continue
		}
		out = append(out, sub)
		out = append(out, documented(sub)...)
	}
	return out
}

// heading is a command's heading in docs/cli.md.
func heading(c *cobra.Command) string { return "### `" + c.CommandPath() + "`" }

// localFlags are the flags a command defines itself (not the global ones), help aside.
func localFlags(c *cobra.Command) []*pflag.Flag {
	var out []*pflag.Flag
	c.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
		if f.Name != "help" && !f.Hidden {
			out = append(out, f)
		}
	})
	return out
}

func TestCLIDocCoversEveryCommand(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(cliDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	cmd := root.NewCmdRoot(clitest.Offline(t).Factory(false))
	cmd.InitDefaultHelpCmd()
	cmds := documented(cmd)
	if len(cmds) < 70 {
		t.Fatalf("found only %d commands", len(cmds))
	}
	headings := regexp.MustCompile("(?m)^### `accessctl[^`]*`$").FindAllString(doc, -1)
	for _, c := range cmds {
		h := heading(c)
		start := strings.Index(doc, "\n"+h+"\n")
		if start < 0 {
			t.Errorf("docs/cli.md has no section %q (go test ./pkg/cli/root -run TestCLIDocSkeleton -clidoc FILE writes a skeleton)", h)
			continue
		}
		section := doc[start+1:]
		if end := strings.Index(section[len(h):], "\n## "); end >= 0 {
			section = section[:len(h)+end]
		}
		if end := strings.Index(section[len(h):], "\n### "); end >= 0 {
			section = section[:len(h)+end]
		}
		for _, f := range localFlags(c) {
			if !regexp.MustCompile(`(^|[^\w-])--` + regexp.QuoteMeta(f.Name) + `($|[^\w-])`).MatchString(section) {
				t.Errorf("docs/cli.md: section %q does not mention its flag --%s", h, f.Name)
			}
		}
		if !c.HasSubCommands() && !strings.Contains(section, "\n$ ") {
			t.Errorf("docs/cli.md: section %q has no example", h)
		}
	}
	// And nothing is documented that does not exist.
	for _, h := range headings {
		if !slices.ContainsFunc(cmds, func(c *cobra.Command) bool { return heading(c) == h }) {
			t.Errorf("docs/cli.md documents %s, which is not a command", h)
		}
	}
	for _, f := range []string{"--output", "--endpoint", "--token", "--insecure", "--ca-cert", "ACCESSCTL_ENDPOINT", "ACCESSCTL_TOKEN", "ACCESSCTL_INSECURE", "ACCESSCTL_CA_CERT", "ACCESSCTL_CONFIG_DIR"} {
		if !strings.Contains(doc, f) {
			t.Errorf("docs/cli.md does not mention %s", f)
		}
	}
}

// TestCLIDocSkeleton writes the generated skeleton of docs/cli.md when -clidoc is given.
func TestCLIDocSkeleton(t *testing.T) {
	if *clidocOut == "" {
		t.Skip("pass -clidoc FILE to write the skeleton of docs/cli.md")
	}
	cmd := root.NewCmdRoot(clitest.Offline(t).Factory(false))
	var b strings.Builder
	for _, g := range cmd.Groups() {
		fmt.Fprintf(&b, "## %s\n\n", strings.TrimSuffix(g.Title, ":"))
		for _, c := range cmd.Commands() {
			if c.GroupID != g.ID || c.Hidden || c.Name() == "help" {
				continue
			}
			writeSkeleton(&b, c)
			for _, sub := range documented(c) {
				writeSkeleton(&b, sub)
			}
		}
	}
	if err := os.WriteFile(filepath.Clean(*clidocOut), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeSkeleton(b *strings.Builder, c *cobra.Command) {
	fmt.Fprintf(b, "%s\n\n%s.\n\n", heading(c), strings.TrimSuffix(c.Short, "."))
	if c.HasSubCommands() {
		var names []string
		for _, sub := range c.Commands() {
			if !sub.Hidden && sub.Name() != "help" {
				names = append(names, "`"+sub.Name()+"`")
			}
		}
		fmt.Fprintf(b, "Subcommands: %s.\n\n", strings.Join(names, ", "))
		return
	}
	fmt.Fprintf(b, "```\n%s\n```\n\n", c.UseLine())
	var common, own []*pflag.Flag
	for _, f := range localFlags(c) {
		if commonFlags[f.Name] == f.Usage {
			common = append(common, f)
		} else {
			own = append(own, f)
		}
	}
	if len(own) > 0 {
		b.WriteString("| flag | default | |\n|---|---|---|\n")
		for _, f := range own {
			name := "`--" + f.Name + "`"
			if f.Shorthand != "" {
				name = "`-" + f.Shorthand + "`, " + name
			}
			def := f.DefValue
			if def == "" || def == "false" || def == "[]" {
				def = ""
			} else {
				def = "`" + def + "`"
			}
			fmt.Fprintf(b, "| %s | %s | %s |\n", name, def, strings.ReplaceAll(f.Usage, "|", "\\|"))
		}
		b.WriteString("\n")
	}
	if len(common) > 0 {
		var names []string
		for _, f := range common {
			names = append(names, "`--"+f.Name+"`")
		}
		fmt.Fprintf(b, "Common flags: %s.\n\n", strings.Join(names, ", "))
	}
	if ex := firstExample(c.Example); ex != "" {
		fmt.Fprintf(b, "```sh\n%s\n```\n\n", ex)
	}
}

// commonFlags are flags many commands share, by name and usage text; docs/cli.md
// describes them once.
var commonFlags = func() map[string]string {
	cmd := root.NewCmdRoot(clitest.Offline(nil).Factory(false))
	out := map[string]string{}
	for _, path := range [][]string{{"member", "remove"}, {"check"}} {
		c, _, err := cmd.Find(path)
		if err != nil {
			panic(err)
		}
		c.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
			if f.Name != "help" && f.Name != "exit-code" && f.Name != "file" {
				out[f.Name] = f.Usage
			}
		})
	}
	return out
}()

// firstExample is the first block of a command's examples, unindented.
func firstExample(example string) string {
	block, _, _ := strings.Cut(strings.Trim(example, "\n"), "\n\n")
	var lines []string
	for _, l := range strings.Split(block, "\n") {
		lines = append(lines, strings.TrimPrefix(l, "  "))
	}
	return strings.Join(lines, "\n")
}
