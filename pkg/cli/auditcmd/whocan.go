package auditcmd

import (
	"context"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/complete"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// WhoCanOptions are the inputs of `accessctl who-can`.
type WhoCanOptions struct {
	Factory    *factory.Factory
	Resource   string
	Permission string
	Provenance bool
}

// NewCmdWhoCan builds `accessctl who-can`.
func NewCmdWhoCan(f *factory.Factory, runF func(context.Context, *WhoCanOptions) error) *cobra.Command {
	o := &WhoCanOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "who-can RESOURCE PERMISSION",
		Short: "List every user who holds PERMISSION on RESOURCE, with the kinds of path that give it",
		Long: `List every user holding PERMISSION on RESOURCE, in user id order, with the kinds of
path that give it: role:admin, role:standard, role:viewer, customer care, partner
organisation, partner individual, vendor staff, data access, group read access, functional
role, custom role, reporter, everyone (a wildcard, with the users it excludes) or other.

The users come from SpiceDB's LookupSubjects (fresh); each user's paths are explained at
the revision of that lookup. Lines are printed as each user is explained: an aligned table
on a terminal, "USER<TAB>KINDS" lines when piped. -o json prints one JSON array with every
path in words and the relationships behind it.

Explaining every holder takes time; for permissions held by thousands of users prefer
"lookup subjects" or "expand".`,
		Example: `  # who can view case 105, and through what
  $ accessctl who-can case:105 view

  # who may approve join requests on acme
  $ accessctl who-can account:acme manage_members

  # the partner organisation holders only, in a script
  $ accessctl who-can case:101 view | grep 'partner organisation' | cut -f1

  # with every path in words
  $ accessctl who-can account:acme view_all_cases -o json`,
		Args:              cmdutil.ExactArgs(2, "RESOURCE", "PERMISSION"),
		ValidArgsFunction: complete.Positional(f, complete.Object(), complete.Permission(0)),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Resource, o.Permission = args[0], args[1]
			return cmdutil.Run(cmd.Context(), runF, runWhoCan, o)
		},
	}
	cmd.Flags().BoolVar(&o.Provenance, "provenance", false, "under each holder, every path and the change that created each of its relationships (when, by whom, why), from the server's audit log")
	factory.BindAt(cmd, f)
	return cmd
}

// userWidth is the width of the USER column on a terminal ("user:" and a 12-character id). Lines are printed as holders
// arrive, so the column cannot be sized to the longest id; longer ids push KINDS right.
const userWidth = 17

func runWhoCan(ctx context.Context, o *WhoCanOptions) error {
	if err := validateQuestion(o.Resource, o.Permission); err != nil {
		return err
	}
	resource, _ := ref.Parse(o.Resource)
	p, err := o.Factory.Printer()
	if err != nil {
		return err
	}
	a, err := auditor(ctx, o.Factory)
	if err != nil {
		return err
	}
	ios := o.Factory.IOStreams
	holders := a.WhoCan(ctx, resource, o.Permission)
	if o.Provenance {
		if holders, err = withProvenance(ctx, a, holders, o.Factory.At); err != nil {
			return err
		}
	}
	// JSON and CSV, too, are printed holder by holder as each is explained.
	rows := p.Rows(nil)
	if p.CSV() {
		rows = p.Rows(whoCanCSVHeader(o.Provenance))
	}
	header := false
	for h, err := range holders {
		if err != nil {
			return err
		}
		if p.CSV() {
			for _, cells := range whoCanCSVRows(h, o.Provenance) {
				if err := rows.Write(cells, nil); err != nil {
					return err
				}
			}
			continue
		}
		if p.JSON() {
			if err := rows.Write(nil, audit.HolderJSON(h)); err != nil {
				return err
			}
			continue
		}
		if ios.IsStdoutTTY() {
			if !header {
				fmt.Fprintf(ios.Out, "%-*s  %s\n", userWidth, "USER", "KINDS")
				header = true
			}
			_, err = fmt.Fprintf(ios.Out, "%-*s  %s\n", userWidth, h.Subject(), kindsText(h))
		} else {
			_, err = fmt.Fprintf(ios.Out, "%s\t%s\n", h.Subject(), kindsText(h))
		}
		if err != nil {
			return err
		}
		if o.Provenance {
			for _, path := range h.Paths {
				fmt.Fprintf(ios.Out, "    [%s] %s\n", path.Kind, path.Text)
				if err := audit.WriteOriginsText(ios.Out, "        ", path); err != nil {
					return err
				}
			}
		}
	}
	if p.JSON() || p.CSV() {
		return rows.Close()
	}
	if !header && ios.IsStdoutTTY() {
		p.Status("nobody holds %s on %s", o.Permission, resource)
	}
	return nil
}

// whoCanCSVHeader is the CSV header: a holder per row, or with provenance a relationship
// of a holder's path per row.
func whoCanCSVHeader(provenance bool) []string {
	if !provenance {
		return []string{"user", "kinds"}
	}
	return []string{"user", "kinds", "path_kind", "path", "relationship", "created_at", "actor", "principal", "operation", "reason", "chain_position"}
}

func whoCanCSVRows(h audit.Holder, provenance bool) [][]string {
	if !provenance {
		return [][]string{{h.Subject(), kindsText(h)}}
	}
	var out [][]string
	for _, path := range h.Paths {
		for _, o := range path.Origins {
			row := []string{h.Subject(), kindsText(h), string(path.Kind), path.Text, o.Relationship, "", o.Actor, o.Principal, o.Operation, o.Reason, ""}
			if !o.Time.IsZero() {
				row[5] = o.Time.UTC().Format(time.RFC3339Nano)
				row[10] = strconv.FormatInt(o.ChainPosition, 10)
			}
			out = append(out, row)
		}
	}
	return out
}

// kindsText is the KINDS column: the kinds of path, and for a wildcard whom it excludes.
func kindsText(h audit.Holder) string {
	kinds := make([]string, len(h.Kinds))
	for i, k := range h.Kinds {
		kinds[i] = string(k)
	}
	text := strings.Join(kinds, ", ")
	if h.User == "*" && len(h.Except) > 0 {
		text += " (except user:" + strings.Join(h.Except, ", user:") + ")"
	}
	if h.Truncated {
		text += " (paths cut short)"
	}
	return text
}

// withProvenance collects the holders and asks the audit log once for the origins of every
// relationship on their paths.
func withProvenance(ctx context.Context, a audit.Service, holders iter.Seq2[audit.Holder, error], at audit.AsOf) (iter.Seq2[audit.Holder, error], error) {
	var all []audit.Holder
	var paths []audit.Path
	for h, err := range holders {
		if err != nil {
			return nil, err
		}
		all = append(all, h)
		paths = append(paths, h.Paths...)
	}
	origins, err := a.Provenance(ctx, audit.PathRelationships(paths), at)
	if err != nil {
		return nil, durableLogError(err)
	}
	return func(yield func(audit.Holder, error) bool) {
		for _, h := range all {
			h.Paths = audit.WithOrigins(h.Paths, origins)
			if !yield(h, nil) {
				return
			}
		}
	}, nil
}
