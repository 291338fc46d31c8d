// Package transfer holds `accessctl export` and `accessctl import`: every relationship of
// the store as text, one per line in tuple notation, streamed both ways.
package transfer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/cli/iostreams"
	"github.com/accessgraph/accessgraph/pkg/cli/relationship"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/reltext"
	"github.com/accessgraph/accessgraph/pkg/spice"
)

// BatchSize is how many relationships one import write carries (SpiceDB's default
// maximum updates per WriteRelationships call).
const BatchSize = 1000

// Options are the inputs of export and import.
type Options struct {
	Factory     *factory.Factory
	Actor       cmdutil.ActorOptions
	File        string
	Yes         bool
	Consistency cmdutil.ConsistencyOptions
}

// NewCmdExport builds `accessctl export`.
func NewCmdExport(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "export [--file FILE]",
		Short: "Write every relationship, one per line in tuple notation",
		Long: `Write every relationship of the store, one per line in SpiceDB tuple notation, streamed
from one consistent snapshot. An expiry is kept as [expiration:RFC3339]. The output can be
read back with "accessctl import". With -o json, a JSON array of relationships.

Progress (count and rate) goes to standard error while it is a terminal; a summary line is
always printed there. --file is created readable by its owner only: it holds who can do
what on the whole portal.`,
		Example: `  # back up the store
  $ accessctl export --file backup.rels

  # the grants on acme
  $ accessctl export | grep '^account:acme#'`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.Run(cmd.Context(), runF, runExport, o)
		},
	}
	cmd.Flags().StringVar(&o.File, "file", "", "write to this file instead of standard output")
	cmdutil.AddConsistencyFlags(cmd, &o.Consistency)
	return cmd
}

func runExport(ctx context.Context, o *Options) error {
	p, err := o.Factory.Printer()
	if err != nil {
		return err
	}
	e, err := o.Factory.Engine(ctx)
	if err != nil {
		return err
	}
	cons, err := o.Consistency.V1Consistency(e)
	if err != nil {
		return err
	}
	var out io.Writer = o.Factory.IOStreams.Out
	var file *os.File
	if o.File != "" {
		file, err = os.OpenFile(o.File, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return fmt.Errorf("creating %s: %w", o.File, err)
		}
		defer file.Close()
		out = file
	}
	w := bufio.NewWriter(out)
	prog := newProgress(o.Factory.IOStreams, "exported", o.Factory.Now)
	first := true
	if p.JSON() {
		fmt.Fprint(w, "[")
	}
	err = Export(ctx, e, cons, func(rel *v1.Relationship) error {
		if p.JSON() {
			sep := ",\n  "
			if first {
				sep, first = "\n  ", false
			}
			fmt.Fprint(w, sep)
			if err := writeJSON(w, relationship.JSON(rel)); err != nil {
				return err
			}
		} else if _, err := fmt.Fprintln(w, reltext.Format(rel)); err != nil {
			return err
		}
		prog.add(1)
		return nil
	})
	if p.JSON() {
		if !first {
			fmt.Fprint(w, "\n")
		}
		fmt.Fprintln(w, "]")
	}
	if ferr := w.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("writing the export: %w", ferr)
	}
	if file != nil {
		if cerr := file.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("writing %s: %w", o.File, cerr)
		}
	}
	prog.done(err == nil)
	return err
}

// Export streams every relationship from one snapshot, resuming from the last cursor if
// the stream breaks.
func Export(ctx context.Context, e *engine.Engine, cons *v1.Consistency, each func(*v1.Relationship) error) error {
	var cursor *v1.Cursor
	for attempt := 0; ; attempt++ {
		stream, err := e.Permissions().ExportBulkRelationships(ctx, &v1.ExportBulkRelationshipsRequest{
			Consistency:    cons,
			OptionalCursor: cursor,
		})
		if err != nil {
			return cmdutil.RPCError("exporting relationships", err)
		}
		for {
			resp, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				if cursor != nil && attempt < 3 && ctx.Err() == nil {
					break // resume after the last complete batch
				}
				return cmdutil.RPCError("exporting relationships", err)
			}
			for _, rel := range resp.GetRelationships() {
				if err := each(rel); err != nil {
					return err
				}
			}
			cursor = resp.GetAfterResultCursor()
		}
	}
}

// NewCmdImport builds `accessctl import`.
func NewCmdImport(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "import [--file FILE] [--as USER] [--yes]",
		Short: "Load relationships written by export, in idempotent batches",
		Long: `Load relationships, one per line in tuple notation (blank lines and # comments are
skipped), from --file or standard input, streamed in batches of 1000.

Each batch is written with TOUCH, so importing the same file twice leaves the store as one
import would: a failed import can be fixed and run again. The import as a whole is not one
transaction. Relationships whose expiry has passed are skipped. Wildcard subjects written by
the domain layer (a released rollout, an open case, a custom role's privileges) are restored
as exported; import is an operator action that bypasses the domain rules.

Importing into a store that already holds relationships needs --as a platform
administrator (import writes around the domain rules, like relationship write), and asks for
confirmation on a terminal or needs --yes. Into an empty store (restoring a backup) it runs
without --as and is recorded as accessctl.`,
		Example: `  # restore a backup into a fresh server
  $ accessctl import --file backup.rels

  # copy one server into another
  $ accessctl export --endpoint old:50051 | accessctl import --endpoint new:50051 --yes`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.Run(cmd.Context(), runF, runImport, o)
		},
	}
	cmd.Flags().StringVar(&o.File, "file", "", "read from this file instead of standard input")
	cmd.Flags().BoolVarP(&o.Yes, "yes", "y", false, "import into a non-empty store without asking")
	cmd.Flags().StringVar(&o.Actor.As, "as", "", "the platform administrator making the import, user:ID (needed unless the store is empty)")
	cmd.Flags().StringVar(&o.Actor.Reason, "reason", "", "why, for the audit trail")
	return cmd
}

func runImport(ctx context.Context, o *Options) error {
	actor := access.Actor{Reason: o.Actor.ReasonOr("import")}
	if o.Actor.As != "" {
		a, err := o.Actor.Actor()
		if err != nil {
			return err
		}
		actor.User = a.User
	}
	var in io.Reader = o.Factory.IOStreams.In
	name := "standard input"
	if o.File != "" {
		fh, err := os.Open(o.File)
		if err != nil {
			return cmdutil.AsUsage(fmt.Errorf("--file: %w", err))
		}
		defer fh.Close()
		in, name = fh, o.File
	}
	p, err := o.Factory.Printer()
	if err != nil {
		return err
	}
	c, err := o.Factory.Client(ctx)
	if err != nil {
		return err
	}
	e := c.Engine()
	empty, err := isEmpty(ctx, e)
	if err != nil {
		return err
	}
	// Import writes around the domain rules, so it is authorised like relationship write: a
	// store that holds data takes an import only from a platform administrator. An empty
	// store has no administrator to ask (restoring a backup is how one arrives); there the
	// import is recorded as accessctl and --as, which nobody could vouch for, is refused.
	switch {
	case empty && actor.User != "":
		return cmdutil.Usagef("--as %s: the store is empty, so nobody can be authorised yet; import without --as (it is recorded as accessctl)", o.Actor.As)
	case !empty && actor.User == "":
		return cmdutil.Usagef("importing into a store that holds relationships needs --as USER, a platform administrator")
	case !empty:
		if err := relationship.RequirePlatformAdmin(ctx, c, actor); err != nil {
			return err
		}
	}
	if !empty {
		if err := cmdutil.Confirm(o.Factory.IOStreams, o.Yes, "The store already holds relationships; import into it anyway?", "import into a non-empty store"); err != nil {
			return err
		}
	}

	prog := newProgress(o.Factory.IOStreams, "imported", o.Factory.Now)
	var last *v1.ZedToken
	batch := make([]*v1.RelationshipUpdate, 0, BatchSize)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		tok, err := relationship.Write(ctx, e, actor, "import", batch)
		if err != nil {
			return fmt.Errorf("%w (%d relationships were imported before this batch; import is idempotent, so fix the cause and run it again)", err, prog.count)
		}
		last = tok
		prog.add(len(batch))
		batch = batch[:0]
		return nil
	}
	now := o.Factory.Now()
	skipped := 0
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") || strings.HasPrefix(text, "//") {
			continue
		}
		rel, err := reltext.Parse(text, true)
		if err != nil {
			prog.done(false)
			return fmt.Errorf("%s:%d: %w (%d relationships were imported before it)", name, line, err, prog.count)
		}
		if exp := rel.GetOptionalExpiresAt(); exp != nil && !exp.AsTime().After(now) {
			skipped++
			continue
		}
		batch = append(batch, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: rel})
		if len(batch) == BatchSize {
			if err := flush(); err != nil {
				prog.done(false)
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		prog.done(false)
		return fmt.Errorf("reading %s: %w", name, err)
	}
	if err := flush(); err != nil {
		prog.done(false)
		return err
	}
	prog.clear()
	summary := fmt.Sprintf("imported %d relationships in %s (%s)", prog.count, prog.elapsed(), prog.rate())
	if skipped > 0 {
		summary += fmt.Sprintf("; skipped %d expired", skipped)
	}
	token := access.Token(last.GetToken())
	if last == nil {
		if tok := e.FreshestToken(nil); tok != nil {
			token = access.Token(tok.GetToken())
		}
	}
	return p.Change(token, summary)
}

// isEmpty reports whether the store holds no relationship at all.
func isEmpty(ctx context.Context, e *engine.Engine) (bool, error) {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := e.Permissions().ExportBulkRelationships(cctx, &v1.ExportBulkRelationshipsRequest{
		Consistency:   spice.FullyConsistent(),
		OptionalLimit: 1,
	})
	if err != nil {
		return false, cmdutil.RPCError("checking whether the store is empty", err)
	}
	_, err = stream.Recv()
	switch {
	case errors.Is(err, io.EOF):
		return true, nil
	case err != nil:
		return false, cmdutil.RPCError("checking whether the store is empty", err)
	}
	return false, nil
}

// progress reports a running count on a terminal's standard error and a final summary.
type progress struct {
	ios   *iostreams.IOStreams
	verb  string
	now   func() time.Time
	start time.Time
	last  time.Time
	count int
	shown bool
}

func newProgress(ios *iostreams.IOStreams, verb string, now func() time.Time) *progress {
	t := now()
	return &progress{ios: ios, verb: verb, now: now, start: t, last: t}
}

func (p *progress) add(n int) {
	p.count += n
	if !p.ios.IsStderrTTY() {
		return
	}
	if t := p.now(); t.Sub(p.last) >= 200*time.Millisecond {
		p.last = t
		p.shown = true
		fmt.Fprintf(p.ios.ErrOut, "\r%s %d relationships (%s)", p.verb, p.count, p.rate())
	}
}

func (p *progress) elapsed() time.Duration { return p.now().Sub(p.start).Round(time.Millisecond) }

func (p *progress) rate() string {
	secs := p.now().Sub(p.start).Seconds()
	if secs <= 0 {
		return "- /s"
	}
	return fmt.Sprintf("%.0f/s", float64(p.count)/secs)
}

// clear removes the progress line.
func (p *progress) clear() {
	if p.shown {
		fmt.Fprint(p.ios.ErrOut, "\r\033[K")
		p.shown = false
	}
}

// done prints the summary line (always) after clearing the progress line.
func (p *progress) done(ok bool) {
	p.clear()
	if ok {
		fmt.Fprintf(p.ios.ErrOut, "%s %d relationships in %s (%s)\n", p.verb, p.count, p.elapsed(), p.rate())
	} else {
		fmt.Fprintf(p.ios.ErrOut, "stopped after %d relationships\n", p.count)
	}
}
