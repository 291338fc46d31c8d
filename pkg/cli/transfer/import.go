package transfer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/cli/relationship"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/ref"
	"github.com/accessgraph/accessgraph/pkg/reltext"
	"github.com/accessgraph/accessgraph/pkg/spice"
)

// BatchSize is how many relationships one import write carries (SpiceDB's default
// maximum updates per WriteRelationships call). An import of at most BatchSize
// relationships is one transaction.
const BatchSize = 1000

// MaxLineBytes is the longest line import reads. The longest relationship (two ids of
// ref.MaxIDLength, types, relations and an expiry) is well under it; a longer line is bad,
// and only its start is kept for the message.
const MaxLineBytes = 8 << 10

// NewCmdImport builds `accessctl import`.
func NewCmdImport(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "import [--file FILE] [--as USER] [--yes]",
		Short: "Load relationships written by export, checked whole before anything is written",
		Long: `Load relationships, one per line in tuple notation (blank lines and # comments are
skipped), from --file or standard input.

The whole input is checked before anything is written: every line against the schema (types,
ids, relations, subject kinds, expiries), no relationship twice, and, for a file written by
export, its header and trailer (a file cut short or changed is refused). A bad line anywhere
refuses the whole import: the first is reported with its line, column and an excerpt, with
the number of bad lines. Files without the export header are taken as written by hand.

Then up to 1000 relationships are written in one transaction. A larger import is written in
batches of 1000 with TOUCH: every line has been checked, so only the server can stop it
partway (unreachable, a limit), and running the same import again (with --as and --yes, the
store now holds data) writes the rest and leaves the written ones as they are.
Relationships whose expiry has passed are skipped. Wildcard subjects written by the domain
layer (a released rollout, an open case, a custom role's privileges) are restored as
exported; import is an operator action that bypasses the domain rules.

Importing into a store that already holds relationships needs --as a platform
administrator (import writes around the domain rules, like relationship write), and asks for
confirmation on a terminal or needs --yes. Into an empty store (restoring a backup) it runs
without --as and is recorded as accessctl. Progress goes to standard error on a terminal.`,
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

	// Check everything before any server call: a bad file changes nothing.
	readProg := newProgress(o.Factory.IOStreams, "checked", o.Factory.Now)
	input, err := ReadImport(in, name, o.Factory.Now(), readProg.add)
	readProg.clear()
	if err != nil {
		return cmdutil.AsUsage(err)
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
	if h := input.Header; h != nil && h.SchemaSHA256 != "" {
		if resp, err := e.Schemas().ReadSchema(ctx, &v1.ReadSchemaRequest{}); err == nil {
			if sum := sha256.Sum256([]byte(resp.GetSchemaText())); hex.EncodeToString(sum[:]) != h.SchemaSHA256 {
				fmt.Fprintf(o.Factory.IOStreams.ErrOut, "note: %s was exported under another schema than this server's; every line was checked against the accessgraph schema\n", name)
			}
		}
	}

	prog := newProgress(o.Factory.IOStreams, "imported", o.Factory.Now)
	last, err := writeAll(ctx, e, actor, input.Updates, prog)
	if err != nil {
		prog.done(false)
		return err
	}
	prog.clear()
	summary := fmt.Sprintf("imported %d relationships in %s (%s)", prog.count, prog.elapsed(), prog.rate())
	if input.Expired > 0 {
		summary += fmt.Sprintf("; skipped %d expired", input.Expired)
	}
	token := access.Token(last.GetToken())
	if last == nil {
		if tok := e.FreshestToken(nil); tok != nil {
			token = access.Token(tok.GetToken())
		}
	}
	return p.Change(token, summary)
}

// writeAll writes checked updates: in one transaction when they fit in one write, else in
// TOUCH batches of BatchSize, each a transaction. It returns the last write's revision.
func writeAll(ctx context.Context, e *engine.Engine, actor access.Actor, updates []*v1.RelationshipUpdate, prog *progress) (*v1.ZedToken, error) {
	var last *v1.ZedToken
	for start := 0; start < len(updates); start += BatchSize {
		batch := updates[start:min(start+BatchSize, len(updates))]
		tok, err := relationship.Write(ctx, e, actor, "import", batch)
		if err != nil {
			if start == 0 {
				return nil, fmt.Errorf("%w (nothing was imported)", err)
			}
			return nil, fmt.Errorf("%w (%d of %d relationships were written before this batch; every line had been checked, so run the same import again, with --as and --yes, to write the rest: the written ones are left as they are)", err, start, len(updates))
		}
		last = tok
		prog.add(len(batch))
	}
	return last, nil
}

// Import is an input checked whole and ready to write.
type Import struct {
	// Updates are the TOUCH updates of the relationships to write, in file order.
	Updates []*v1.RelationshipUpdate
	// Expired counts the relationships skipped because their expiry had passed.
	Expired int
	// Header is the export header, nil for a file written by hand.
	Header *Header
}

// BadInputError is an input import refuses as a whole: a bad line (the first is named; Bad
// counts them all), or an export cut short or changed. Nothing is written. It wraps
// ref.ErrInvalid, or ErrDamaged for a damaged export.
type BadInputError struct {
	Name   string // the file, or "standard input"
	Line   int    // the first bad line, 0 when the fault is not one line's
	Column int    // the column at fault in it, 0 when unknown
	Bad    int    // how many lines are bad
	Err    error
}

func (e *BadInputError) Error() string {
	var b strings.Builder
	b.WriteString(e.Name)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	switch {
	case e.Bad > 1:
		fmt.Fprintf(&b, " (%d bad lines in all; nothing was imported)", e.Bad)
	default:
		b.WriteString(" (nothing was imported)")
	}
	return b.String()
}

func (e *BadInputError) Unwrap() error { return e.Err }

// ReadImport reads and checks a whole import input, named name in messages. Relationships
// whose expiry is not after now are counted in Expired and left out. progress, when not nil,
// is called with the number of relationship lines read since its last call.
func ReadImport(r io.Reader, name string, now time.Time, progress func(int)) (*Import, error) {
	in := &Import{}
	seen := map[string]int{} // relationship key -> the line it is on
	var (
		first     *BadInputError
		bad       int
		body      hash.Hash // the bytes between header and trailer, when there is a header
		count     int       // relationship lines
		end       *Trailer
		endLine   int
		unended   bool // a line without its newline: the input was cut inside it, or written by hand
		afterEnd  int  // the first line after the trailer
		relLines  int
		sinceProg int
	)
	fail := func(line, column int, err error) {
		bad++
		if first == nil {
			first = &BadInputError{Name: name, Line: line, Column: column, Err: err}
		}
	}
	err := cmdutil.ReadLines(r, MaxLineBytes, func(l cmdutil.Line) error {
		unended = !l.Newline
		if l.Number == 1 && strings.HasPrefix(l.Text, headerPrefix) {
			if !l.Newline {
				return &BadInputError{Name: name, Line: 1, Err: fmt.Errorf("%w: it holds only part of an export header, so it was cut short; export it again", ErrDamaged)}
			}
			h, err := parseHeader(l.Text)
			if err != nil {
				return &BadInputError{Name: name, Line: 1, Err: err}
			}
			in.Header, body = &h, sha256.New()
			return nil
		}
		if end != nil {
			if afterEnd == 0 {
				afterEnd = l.Number
			}
			return nil
		}
		if body != nil && strings.HasPrefix(l.Text, trailerPrefix) {
			t, err := parseTrailer(l.Text)
			if err != nil {
				return &BadInputError{Name: name, Line: l.Number, Err: err}
			}
			end, endLine = &t, l.Number
			return nil
		}
		if body != nil {
			body.Write([]byte(l.Text))
			if l.Newline {
				body.Write([]byte{'\n'})
			}
		}
		text := strings.TrimSpace(l.Text)
		if text == "" || strings.HasPrefix(text, "#") || strings.HasPrefix(text, "//") {
			return nil
		}
		count++
		if sinceProg++; progress != nil && sinceProg == 1000 {
			progress(sinceProg)
			sinceProg = 0
		}
		if l.Long() {
			fail(l.Number, 0, fmt.Errorf("%w: the line is %d bytes long, and no relationship is longer than %d: %q", ref.ErrInvalid, l.Len, MaxLineBytes, ref.Excerpt(l.Text, 0, reltext.ExcerptWidth)))
			return nil
		}
		rel, err := reltext.ParseFor(l.Text, reltext.ForImport)
		if err != nil {
			column := 0
			var pe *reltext.Error
			if errors.As(err, &pe) {
				column = pe.Column
			}
			fail(l.Number, column, err)
			return nil
		}
		key := reltext.FormatKey(rel)
		if prev, ok := seen[key]; ok {
			fail(l.Number, 0, fmt.Errorf("%w: %q is on line %d already: a file holds each relationship once (with one expiry); remove one of the two", ref.ErrInvalid, ref.Excerpt(key, 0, reltext.ExcerptWidth), prev))
			return nil
		}
		seen[key] = l.Number
		relLines++
		if exp := rel.GetOptionalExpiresAt(); exp != nil && !exp.AsTime().After(now) {
			in.Expired++
			return nil
		}
		in.Updates = append(in.Updates, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: rel})
		return nil
	})
	if progress != nil && sinceProg > 0 {
		progress(sinceProg)
	}
	var bie *BadInputError
	switch {
	case errors.As(err, &bie):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	// An export proves it is whole before its lines are judged: a cut can make any line bad.
	if in.Header != nil {
		damaged := func(format string, args ...any) error {
			return &BadInputError{Name: name, Err: fmt.Errorf("%w: "+format+"; export it again", append([]any{ErrDamaged}, args...)...)}
		}
		switch {
		case end == nil:
			return nil, damaged("it starts with an export header but has no trailer line (%s...), so it was cut short", trailerPrefix)
		case afterEnd > 0:
			return nil, damaged("line %d follows the trailer on line %d, so lines were added or files joined", afterEnd, endLine)
		case unended:
			return nil, damaged("its last line has no newline, so it was cut short")
		}
		sum := hex.EncodeToString(body.Sum(nil))
		if end.Relationships != count || end.SHA256 != sum {
			return nil, damaged("the trailer counts %d relationships with sha256 %.12s..., the file holds %d with sha256 %.12s..., so it was cut short or changed", end.Relationships, end.SHA256, count, sum)
		}
	}
	if first != nil {
		first.Bad = bad
		return nil, first
	}
	if in.Header == nil && relLines == 0 {
		return nil, &BadInputError{Name: name, Err: fmt.Errorf("%w: it holds no relationship, so there is nothing to import (an export starts with %q)", ref.ErrInvalid, headerPrefix+formatVersion)}
	}
	return in, nil
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
