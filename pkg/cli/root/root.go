// Package root assembles the accessctl command tree and runs it.
package root

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/cli/account"
	"github.com/accessgraph/accessgraph/pkg/cli/auditcmd"
	"github.com/accessgraph/accessgraph/pkg/cli/backupcmd"
	"github.com/accessgraph/accessgraph/pkg/cli/cases"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/dataaccess"
	"github.com/accessgraph/accessgraph/pkg/cli/democmd"
	"github.com/accessgraph/accessgraph/pkg/cli/devcmd"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/cli/group"
	"github.com/accessgraph/accessgraph/pkg/cli/keycmd"
	"github.com/accessgraph/accessgraph/pkg/cli/member"
	"github.com/accessgraph/accessgraph/pkg/cli/migrate"
	"github.com/accessgraph/accessgraph/pkg/cli/partner"
	"github.com/accessgraph/accessgraph/pkg/cli/platform"
	"github.com/accessgraph/accessgraph/pkg/cli/product"
	"github.com/accessgraph/accessgraph/pkg/cli/query"
	"github.com/accessgraph/accessgraph/pkg/cli/relationship"
	"github.com/accessgraph/accessgraph/pkg/cli/role"
	"github.com/accessgraph/accessgraph/pkg/cli/schemacmd"
	"github.com/accessgraph/accessgraph/pkg/cli/serve"
	"github.com/accessgraph/accessgraph/pkg/cli/transfer"
	"github.com/accessgraph/accessgraph/pkg/cli/version"
	"github.com/accessgraph/accessgraph/pkg/spice"
)

// NewCmdRoot builds the accessctl command tree over f.
func NewCmdRoot(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "accessctl <command> <subcommand> [flags]",
		Short: "Administer and audit customer access on an accessgraph support portal",
		Long: `accessctl administers and audits who can do what on an accessgraph support portal:
sites and their members, partners, data access, user groups, cases, products and custom
roles, on top of SpiceDB.

Objects are named in SpiceDB notation everywhere: user:sally, account:acme, case:42,
group:district#member. Every change names its actor with --as user:ID and may give a
--reason; both land in the audit trail. A change prints its revision token on standard
output; pass it to --revision to read your own write from another process.

Connection: --endpoint/--token/--insecure/--ca-cert, else ACCESSCTL_ENDPOINT,
ACCESSCTL_TOKEN, ACCESSCTL_INSECURE, ACCESSCTL_CA_CERT, else the profile written by a local
"accessctl serve" (so after "make run" in one terminal, commands work in another with no
flags). TLS is the default; --insecure is for a server on this machine.

Output: an aligned table on a terminal, tab-separated lines without a header when piped,
one JSON document with -o json (history: one JSON object per change). Data goes to
standard output, status to standard error.

Exit codes: 0 ok; 1 error; 2 usage error (bad flag, argument, reference, missing --as,
unconfirmed destructive change); 3 "denied" from check or explain --exit-code.`,
		Example: `  # start a local server with the demo portal (or: make run)
  $ accessctl serve --demo

  # in another terminal: can joan see every case of her site?
  $ accessctl check user:joan view_all_cases account:acme

  # who is on the site
  $ accessctl member list account:acme --as user:bill

  # why can't joan see every case? who can, and through what?
  $ accessctl explain user:joan view_all_cases account:acme
  $ accessctl who-can account:acme view_all_cases

  # dave asks to join; bill approves
  $ accessctl member request account:acme standard --as user:dave
  $ accessctl member approve account:acme user:dave --as user:bill`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Version:       f.Build.Version,
		// cobra checks required flags and flag groups after this hook, with plain errors;
		// checking them here first makes a missing or conflicting flag a usage error. A
		// command with a PersistentPreRunE of its own replaces this one, and must do the same.
		PersistentPreRunE: validateFlags,
	}
	cmd.SetIn(f.IOStreams.In)
	cmd.SetOut(f.IOStreams.Out)
	cmd.SetErr(f.IOStreams.ErrOut)
	cmd.SetVersionTemplate("accessctl {{.Version}}\n")
	// Every error of flag parsing (unknown flag or shorthand, missing or bad value) is a
	// usage error; subcommands inherit this.
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return cmdutil.AsUsage(err) })

	pf := cmd.PersistentFlags()
	pf.StringVarP(&f.Output, "output", "o", "table", "output format: table (aligned on a terminal, tab-separated when piped) json, or csv (listings, with a header row)")
	pf.StringVar(&f.Flags.Endpoint, "endpoint", "", "server address host:port (env ACCESSCTL_ENDPOINT; default: the local serve profile)")
	pf.StringVar(&f.Flags.APIURL, "api-url", "", "domain API URL, http://HOST:PORT on loopback or https://HOST:PORT (env ACCESSCTL_API_URL; default: the profile's)")
	pf.StringVar(&f.Flags.Token, "token", "", "preshared key (env ACCESSCTL_TOKEN)")
	pf.BoolVar(&f.Flags.Insecure, "insecure", false, "plaintext connection, for a server on this machine (env ACCESSCTL_INSECURE)")
	pf.StringVar(&f.Flags.CACert, "ca-cert", "", "trust this CA certificate instead of the system's (env ACCESSCTL_CA_CERT)")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json", "csv"}, cobra.ShellCompDirectiveNoFileComp))

	addCommands(cmd, f)
	return cmd
}

// Execute runs the command line, prints any error to standard error as "error: ..." and
// returns it; cmdutil.ExitCode maps it to the exit code. It closes f's connection.
func Execute(ctx context.Context, cmd *cobra.Command, f *factory.Factory, args []string) error {
	if args == nil {
		args = []string{} // cobra reads the process's own arguments when given nil
	}
	cmd.SetArgs(args)
	ran, err := cmd.ExecuteContextC(ctx)
	err = cobraUsage(cmd, ran, args, err)
	err = rawRefusal(ran, err)
	_ = f.Close()
	if err == nil || cmdutil.IsSilent(err) {
		return err
	}
	fmt.Fprintf(f.IOStreams.ErrOut, "error: %s\n", escapeControls(Message(err)))
	if cmdutil.IsUsage(err) && ran != nil {
		fmt.Fprintf(f.IOStreams.ErrOut, "Run '%s --help' for usage.\n", ran.CommandPath())
	}
	return err
}

// rawRefusal names what a command on the raw SpiceDB API needs when the server refused the
// key's principal there (a user or service key; an auditor key that writes): an operator
// key, or an auditor key for reads.
func rawRefusal(ran *cobra.Command, err error) error {
	if err == nil || ran == nil || !errors.Is(err, spice.ErrForbidden) {
		return err
	}
	return fmt.Errorf("`%s` uses the raw SpiceDB API, which needs an operator key (an auditor key for reads): %w", ran.CommandPath(), err)
}

// validateFlags is the root's PersistentPreRunE: cobra's checks of required flags and flag
// groups, as usage errors.
func validateFlags(cmd *cobra.Command, _ []string) error {
	if err := cmd.ValidateRequiredFlags(); err != nil {
		return cmdutil.AsUsage(err)
	}
	return cmdutil.AsUsage(cmd.ValidateFlagGroups())
}

// cobraUsage marks as usage errors the command-line mistakes cobra reports as plain errors
// outside every hook a command can set: an unknown command, which cobra's search of the
// command tree (Find; the root does not set TraverseChildren) reports before any command
// runs, so that searching again for args fails the same way; and its hidden __complete
// command called without arguments. Every other cobra error is already a usage error: flag
// errors through the root's flag error function, argument counts through the Args
// validators of cmdutil, required flags through validateFlags.
func cobraUsage(root, ran *cobra.Command, args []string, err error) error {
	if err == nil || cmdutil.IsUsage(err) {
		return err
	}
	if _, _, findErr := root.Find(args); findErr != nil {
		return cmdutil.AsUsage(err)
	}
	if ran != nil && ran.Name() == cobra.ShellCompRequestCmd {
		return cmdutil.AsUsage(err)
	}
	return err
}

// escapeControls escapes control, bidi and invalid characters (keeping newlines and tabs),
// so an error that quotes user input (an unknown flag as typed, say) cannot drive the terminal.
func escapeControls(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Message is what a person sees for err: the domain error's own message, with advice for
// an unreachable server, never a stack of gRPC text.
func Message(err error) string {
	var ce *factory.ConnectError
	var ns *factory.NoServerError
	switch {
	case errors.As(err, &ce), errors.As(err, &ns):
		return err.Error()
	case errors.Is(err, access.ErrUnauthenticated):
		return fmt.Sprintf("%v\npass a valid key with --token, %s or accessctl login", err, factory.EnvToken)
	case errors.Is(err, access.ErrUnavailable):
		return fmt.Sprintf("%v\nis the server still running? %s", err, factory.StartAdvice)
	case errors.Is(err, cmdutil.ErrCancelled):
		return "cancelled: nothing was changed"
	}
	return err.Error()
}

// Command groups, in the order help lists them.
var groups = []*cobra.Group{
	{ID: "domain", Title: "Portal administration (every change takes --as user:ID):"},
	{ID: "query", Title: "Questions:"},
	{ID: "audit", Title: "Auditing (why, who, what changed):"},
	{ID: "operator", Title: "Operators:"},
}

func addCommands(cmd *cobra.Command, f *factory.Factory) {
	cmd.AddGroup(groups...)
	add := func(group string, cmds ...*cobra.Command) {
		for _, c := range cmds {
			c.GroupID = group
			cmd.AddCommand(c)
		}
	}
	add("domain",
		platform.NewCmdPlatform(f),
		platform.NewCmdFeature(f),
		account.NewCmdAccount(f),
		member.NewCmdMember(f),
		partner.NewCmdPartner(f),
		dataaccess.NewCmdDataAccess(f),
		group.NewCmdGroup(f),
		cases.NewCmdCase(f),
		product.NewCmdProduct(f),
		product.NewCmdInstallBase(f),
		product.NewCmdServiceOrg(f),
		product.NewCmdRelatedParty(f),
		role.NewCmdRole(f),
	)
	add("query",
		query.NewCmdCheck(f, nil),
		query.NewCmdLookup(f),
	)
	add("audit",
		auditcmd.NewCmdExplain(f, nil),
		auditcmd.NewCmdExpand(f, nil),
		auditcmd.NewCmdWhoCan(f, nil),
		auditcmd.NewCmdAccessReview(f, nil),
		auditcmd.NewCmdAccessDiff(f, nil),
		auditcmd.NewCmdHistory(f, nil),
		auditcmd.NewCmdAudit(f),
	)
	add("operator",
		serve.NewCmdServe(f, nil),
		migrate.NewCmdMigrate(f, nil),
		schemacmd.NewCmdSchema(f),
		keycmd.NewCmdKey(f),
		keycmd.NewCmdLogin(f, nil),
		keycmd.NewCmdLogout(f, nil),
		keycmd.NewCmdWhoAmI(f, nil),
		relationship.NewCmdRelationship(f),
		transfer.NewCmdExport(f, nil),
		transfer.NewCmdImport(f, nil),
		backupcmd.NewCmdBackup(f, nil),
		backupcmd.NewCmdRestore(f, nil),
		democmd.NewCmdDemo(f),
		devcmd.NewCmdBench(f, nil), devcmd.NewCmdDev(f),
		version.NewCmdVersion(f),
		newCmdCompletion(f),
	)
	cmd.SetHelpCommandGroupID("operator")
	cmd.SetCompletionCommandGroupID("operator")
}
