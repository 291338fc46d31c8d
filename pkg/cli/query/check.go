// Package query holds the read-only questions: check and lookup.
package query

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/complete"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/cli/output"
	"github.com/accessgraph/accessgraph/pkg/ref"
	"github.com/accessgraph/accessgraph/pkg/reltext"
)

// CheckOptions are the inputs of `accessctl check`.
type CheckOptions struct {
	Factory     *factory.Factory
	Subject     string
	Permission  string
	Resource    string
	File        string
	ExitCode    bool
	Consistency cmdutil.ConsistencyOptions
}

// NewCmdCheck builds `accessctl check`. runF replaces the run function in tests.
func NewCmdCheck(f *factory.Factory, runF func(context.Context, *CheckOptions) error) *cobra.Command {
	o := &CheckOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "check SUBJECT PERMISSION RESOURCE",
		Short: "Answer \"can SUBJECT do PERMISSION on RESOURCE\"",
		Long: `Answer one permission question with "allowed" or "denied".

Unknown types, permissions and malformed references are errors (exit 2), never a silent
"denied". With --exit-code a "denied" answer exits with code 3, so scripts can branch on
it; without it both answers exit 0.

When the subject or resource of a denied check is named by no relationship (usually a
mistyped id), the answer is still "denied", and standard error says which object does not
exist (-o json: "unknown").

With --file, checks one question per line ("SUBJECT PERMISSION RESOURCE"; "-" reads
standard input) in one round trip and prints a table; --exit-code then exits 3 if any
answer is "denied".`,
		Example: `  # can the viewer see every case of her site? (no: viewers see their own)
  $ accessctl check user:joan view_all_cases account:acme

  # in a script: exit code 3 means denied
  $ accessctl check user:pete view case:101 --exit-code || echo "pete cannot see 101"

  # at least as fresh as a change you just made
  $ accessctl check user:dave create_case account:acme --revision "$REV"

  # many questions at once
  $ printf 'user:sue view case:201\nuser:sue view case:204\n' | accessctl check --file -`,
		Args: func(cmd *cobra.Command, args []string) error {
			if o.File != "" {
				return cmdutil.ExactArgs(0)(cmd, args)
			}
			return cmdutil.ExactArgs(3, "SUBJECT", "PERMISSION", "RESOURCE")(cmd, args)
		},
		ValidArgsFunction: complete.Positional(f, complete.Object(), complete.PermissionOfNext(), complete.Object()),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 3 {
				o.Subject, o.Permission, o.Resource = args[0], args[1], args[2]
			}
			return cmdutil.Run(cmd.Context(), runF, runCheck, o)
		},
	}
	cmd.Flags().BoolVar(&o.ExitCode, "exit-code", false, "exit with code 3 when the answer is denied")
	cmd.Flags().StringVar(&o.File, "file", "", "check one \"SUBJECT PERMISSION RESOURCE\" per line of this file (- for standard input)")
	cmdutil.AddConsistencyFlags(cmd, &o.Consistency)
	factory.BindAt(cmd, f)
	return cmd
}

// parseCheck validates one question before any server call.
func parseCheck(subject, permission, resource string) (access.CheckItem, error) {
	item, _, err := parseCheckArgs(subject, permission, resource)
	return item, err
}

// parseCheckArgs validates one question, and says which argument (0, 1, 2) is at fault.
func parseCheckArgs(subject, permission, resource string) (access.CheckItem, int, error) {
	s, err := cmdutil.ParseSubject(subject)
	if err != nil {
		return access.CheckItem{}, 0, err
	}
	r, err := cmdutil.ParseObject(resource)
	if err != nil {
		return access.CheckItem{}, 2, err
	}
	if err := cmdutil.ValidatePermission(r.Type, permission); err != nil {
		return access.CheckItem{}, 1, err
	}
	return access.CheckItem{Subject: s, Permission: permission, Resource: r}, 0, nil
}

type checkResult struct {
	Subject    string `json:"subject"`
	Permission string `json:"permission"`
	Resource   string `json:"resource"`
	Allowed    bool   `json:"allowed"`
	CheckedAt  string `json:"checked_at,omitempty"`
	Error      string `json:"error,omitempty"`
	// Unknown names the subject or resource of a denied check that no relationship names.
	Unknown []string `json:"unknown,omitempty"`
}

// checkList prints the answers of check --file; their JSON is the whole result.
var checkList = output.List[checkResult]{
	Columns: []output.Column[checkResult]{
		{Header: "SUBJECT", Value: func(r checkResult) string { return r.Subject }},
		{Header: "PERMISSION", Value: func(r checkResult) string { return r.Permission }},
		{Header: "RESOURCE", Value: func(r checkResult) string { return r.Resource }},
		{Header: "ANSWER", Value: func(r checkResult) string {
			if r.Error != "" {
				return "error: " + r.Error
			}
			return answer(r.Allowed)
		}},
	},
	Item: func(r checkResult) any { return r },
}

func answer(allowed bool) string {
	if allowed {
		return "allowed"
	}
	return "denied"
}

func runCheck(ctx context.Context, o *CheckOptions) error {
	if o.File != "" {
		return runCheckMany(ctx, o)
	}
	item, err := parseCheck(o.Subject, o.Permission, o.Resource)
	if err != nil {
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
	c, err := o.Factory.Access(ctx)
	if err != nil {
		return err
	}
	d, err := c.Check(ctx, item.Subject, item.Permission, item.Resource, cons)
	if err != nil {
		return err
	}
	res := checkResult{Subject: item.Subject.String(), Permission: item.Permission, Resource: item.Resource.String(), Allowed: d.Allowed, CheckedAt: string(d.CheckedAt)}
	if !d.Allowed {
		if res.Unknown, err = newUnknowns(c, d.CheckedAt).of(ctx, item); err != nil {
			return err
		}
	}
	if err := p.Line(answer(d.Allowed), res); err != nil {
		return err
	}
	noteUnknown(p, res.Unknown)
	if o.ExitCode && !d.Allowed {
		return &cmdutil.ExitCodeError{Code: cmdutil.ExitDenied}
	}
	return nil
}

// MaxCheckLineBytes is the longest line check --file reads: three references and a
// permission are well under it. Only the start of a longer line is kept, for the message.
const MaxCheckLineBytes = 8 << 10

func runCheckMany(ctx context.Context, o *CheckOptions) error {
	var in io.Reader = o.Factory.IOStreams.In
	name := "standard input"
	if o.File != "-" {
		fh, err := os.Open(o.File)
		if err != nil {
			return cmdutil.AsUsage(fmt.Errorf("--file: %w", err))
		}
		defer fh.Close()
		in, name = fh, o.File
	}
	var items []access.CheckItem
	err := cmdutil.ReadLines(in, MaxCheckLineBytes, func(l cmdutil.Line) error {
		text := strings.TrimSpace(l.Text)
		if text == "" || strings.HasPrefix(text, "#") {
			return nil
		}
		if l.Long() {
			return cmdutil.Usagef("%s:%d: the line is %d bytes long, and a question is at most %d: %q", name, l.Number, l.Len, MaxCheckLineBytes, ref.Excerpt(text, 0, reltext.ExcerptWidth))
		}
		fields, columns := fieldsAt(l.Text)
		if len(fields) != 3 {
			return cmdutil.Usagef("%s:%d: want SUBJECT PERMISSION RESOURCE, got %q", name, l.Number, ref.Excerpt(text, 0, reltext.ExcerptWidth))
		}
		item, arg, err := parseCheckArgs(fields[0], fields[1], fields[2])
		if err != nil {
			return cmdutil.Usagef("%s:%d:%d: %w", name, l.Number, columns[arg], err)
		}
		items = append(items, item)
		return nil
	})
	if err != nil {
		if cmdutil.IsUsage(err) {
			return err
		}
		return fmt.Errorf("reading %s: %w", name, err)
	}
	cons, err := o.Consistency.Consistency()
	if err != nil {
		return err
	}
	p, err := o.Factory.Printer()
	if err != nil {
		return err
	}
	c, err := o.Factory.Access(ctx)
	if err != nil {
		return err
	}
	decisions, errs, err := c.CheckMany(ctx, items, cons)
	if err != nil {
		return err
	}
	results := make([]checkResult, len(items))
	denied, failed := false, false
	var unknown *unknowns
	var notes []string
	for i, it := range items {
		r := checkResult{Subject: it.Subject.String(), Permission: it.Permission, Resource: it.Resource.String()}
		if errs[i] != nil {
			r.Error, failed = errs[i].Error(), true
		} else {
			r.Allowed, r.CheckedAt = decisions[i].Allowed, string(decisions[i].CheckedAt)
			denied = denied || !decisions[i].Allowed
		}
		if errs[i] == nil && !r.Allowed {
			if unknown == nil {
				unknown = newUnknowns(c, decisions[i].CheckedAt)
			}
			if r.Unknown, err = unknown.of(ctx, it); err != nil {
				return err
			}
			for _, o := range r.Unknown {
				if !slices.Contains(notes, o) {
					notes = append(notes, o)
				}
			}
		}
		results[i] = r
	}
	if err := checkList.Print(p, results); err != nil {
		return err
	}
	noteUnknown(p, notes)
	if failed {
		return fmt.Errorf("some checks failed")
	}
	if o.ExitCode && denied {
		return &cmdutil.ExitCodeError{Code: cmdutil.ExitDenied}
	}
	return nil
}

// fieldsAt splits s around runs of spaces and tabs, and gives the 1-based column of each field.
func fieldsAt(s string) (fields []string, columns []int) {
	start := -1
	for i := 0; i <= len(s); i++ {
		space := i == len(s) || s[i] == ' ' || s[i] == '\t' || s[i] == '\r'
		switch {
		case !space && start < 0:
			start = i
		case space && start >= 0:
			fields, columns = append(fields, s[start:i]), append(columns, start+1)
			start = -1
		}
	}
	return fields, columns
}

// unknowns finds the objects of denied checks that no relationship names, asking the server
// once per object, at least as fresh as the checks.
type unknowns struct {
	client access.Service
	cons   access.Consistency
	known  map[ref.Object]bool
}

func newUnknowns(c access.Service, checkedAt access.Token) *unknowns {
	return &unknowns{client: c, cons: access.AtLeast(checkedAt), known: map[ref.Object]bool{}}
}

// of lists the subject and resource of item that no relationship names.
func (u *unknowns) of(ctx context.Context, item access.CheckItem) ([]string, error) {
	var out []string
	for _, o := range []ref.Object{item.Subject.Object, item.Resource} {
		known, seen := u.known[o]
		if !seen {
			var err error
			if known, err = u.client.Known(ctx, o, u.cons); err != nil {
				return nil, err
			}
			u.known[o] = known
		}
		if !known {
			out = append(out, o.String())
		}
	}
	return out, nil
}

// noteUnknown says on standard error which objects do not exist: the answer stays "denied"
// (nobody holds anything on them), but a mistyped id should not pass for a real refusal.
func noteUnknown(p *output.Printer, objects []string) {
	for _, o := range objects {
		p.Status("note: %s does not exist: no relationship names it (is the id right?)", o)
	}
}
