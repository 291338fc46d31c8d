// Package auditcmd holds the auditor's commands: explain, expand, who-can, access-review,
// history and `audit consume`. Each is a thin layer over pkg/audit (or pkg/auditlog):
// parse and validate the arguments, make one call, render the answer with the package's
// renderers.
package auditcmd

import (
	"context"
	"slices"
	"strings"

	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/cli/output"
)

// auditor returns the factory's auditor: the server's domain API when there is one, else
// an Auditor in this process.
func auditor(ctx context.Context, f *factory.Factory) (audit.Service, error) {
	return f.Audit(ctx)
}

// resolveFormat settles --format against the global -o: "-o json" and "-o csv" mean those formats,
// and a --format given explicitly that says otherwise is a usage error.
func resolveFormat(format string, explicit bool, allowed []string, p *output.Printer) (string, error) {
	if !slices.Contains(allowed, format) {
		return "", cmdutil.Usagef("--format %q: use %s", format, strings.Join(allowed, ", "))
	}
	var wanted string
	switch {
	case p.JSON():
		wanted = "json"
	case p.CSV():
		wanted = "csv"
	default:
		return format, nil
	}
	if !slices.Contains(allowed, wanted) {
		return "", cmdutil.Usagef("-o %s: this command prints %s", wanted, strings.Join(allowed, ", "))
	}
	if explicit && format != wanted {
		return "", cmdutil.Usagef("-o %s and --format %s disagree: give one of them", wanted, format)
	}
	return wanted, nil
}

// validateQuestion checks a resource reference and one of its permissions before any
// server call, as check does: mistakes are usage errors, never a silent no.
func validateQuestion(resource, permission string) error {
	r, err := cmdutil.ParseObject(resource)
	if err != nil {
		return err
	}
	return cmdutil.ValidatePermission(r.Type, permission)
}
