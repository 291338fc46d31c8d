package auditcmd

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/complete"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
)

// ExplainOptions are the inputs of `accessctl explain`.
type ExplainOptions struct {
	Factory     *factory.Factory
	Subject     string
	Permission  string
	Resource    string
	ExitCode    bool
	Provenance  bool
	Consistency cmdutil.ConsistencyOptions
}

// NewCmdExplain builds `accessctl explain`. runF replaces the run function in tests.
func NewCmdExplain(f *factory.Factory, runF func(context.Context, *ExplainOptions) error) *cobra.Command {
	o := &ExplainOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "explain SUBJECT PERMISSION RESOURCE",
		Short: "Explain why SUBJECT can or cannot do PERMISSION on RESOURCE",
		Long: `Answer a permission question like check, and say why.

When allowed, every path that grants the permission is listed, each with its kind
(role:admin, partner organisation, vendor staff, data access, group read access, functional
role, custom role, ...) and the stored facts from the user up to the resource.

When denied, each way the permission could be held is listed with its status: missing,
present but did not count (with the reason: an individual grant taking precedence, a closed
case, one side of a two-sided consent, the same-account rule, a custom role without the
privilege, an expired grant), granted, applies or does not apply.

The verdict and every sub-verdict are SpiceDB's (checks with tracing, at one revision);
explaining asks more questions than a plain check, so it is for people, not scripts in a
hot path. Unknown types, permissions and malformed references are errors (exit 2). With
--exit-code a "denied" answer exits with code 3, like check.

Output is the explanation text on a terminal and when piped; -o json gives every part of
it as one JSON document.`,
		Example: `  # why can pam, a partner contact, see case 102?
  $ accessctl explain user:pam view case:102

  # why can't pete see every case of acme? (his individual grant takes precedence)
  $ accessctl explain user:pete view_all_cases account:acme

  # in a script: exit code 3 means denied
  $ accessctl explain user:rita manage_service account:acme --exit-code || echo "rita cannot manage acme"

  # the whole explanation as JSON
  $ accessctl explain user:sally update case:103 -o json`,
		Args:              cmdutil.ExactArgs(3, "SUBJECT", "PERMISSION", "RESOURCE"),
		ValidArgsFunction: complete.Positional(f, complete.Object(), complete.PermissionOfNext(), complete.Object()),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Subject, o.Permission, o.Resource = args[0], args[1], args[2]
			return cmdutil.Run(cmd.Context(), runF, runExplain, o)
		},
	}
	cmd.Flags().BoolVar(&o.ExitCode, "exit-code", false, "exit with code 3 when the answer is denied")
	cmd.Flags().BoolVar(&o.Provenance, "provenance", false, "name the change that created each relationship of each path (when, by whom, why), from the server's audit log")
	cmdutil.AddConsistencyFlags(cmd, &o.Consistency)
	factory.BindAt(cmd, f)
	return cmd
}

func runExplain(ctx context.Context, o *ExplainOptions) error {
	subject, err := cmdutil.ParseSubject(o.Subject)
	if err != nil {
		return err
	}
	resource, err := cmdutil.ParseObject(o.Resource)
	if err != nil {
		return err
	}
	if err := cmdutil.ValidatePermission(resource.Type, o.Permission); err != nil {
		return err
	}
	cons, err := o.Consistency.Consistency()
	if err != nil {
		return err
	}
	p, err := o.Factory.Printer()
	if err != nil {
		return err
	}
	if err := p.RefuseCSV("explain"); err != nil {
		return cmdutil.AsUsage(err)
	}
	a, err := auditor(ctx, o.Factory)
	if err != nil {
		return err
	}
	ex, err := a.Explain(ctx, subject, o.Permission, resource, cons)
	if err != nil {
		return err
	}
	if o.Provenance {
		origins, err := a.Provenance(ctx, audit.PathRelationships(ex.Paths), o.Factory.At)
		if err != nil {
			return durableLogError(err)
		}
		ex.Paths = audit.WithOrigins(ex.Paths, origins)
	}
	out := o.Factory.IOStreams.Out
	if p.JSON() {
		err = audit.WriteExplanationJSON(out, ex)
	} else {
		err = audit.WriteExplanationText(out, ex)
	}
	if err != nil {
		return err
	}
	if o.ExitCode && !ex.Allowed {
		return &cmdutil.ExitCodeError{Code: cmdutil.ExitDenied}
	}
	return nil
}
