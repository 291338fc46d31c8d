// Package transfer holds `accessctl export` and `accessctl import`: every relationship of
// the store as text, one per line in tuple notation, in a file that proves it is whole
// (format.go); import checks the whole input before it writes anything.
package transfer

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/cli/relationship"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/reltext"
	"github.com/accessgraph/accessgraph/pkg/spice"
)

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
from one consistent snapshot: the newest revision when the export starts (at least as fresh
as --revision). An expiry is kept as [expiration:RFC3339]. The output can be read back with
"accessctl import". With -o json, a JSON array of relationships.

The first line is a header ("# accessgraph export v1 revision=... schema-sha256=...") and the
last a trailer ("# end relationships=N sha256=..."), both comments: import refuses a file
with the header whose trailer is missing or does not match, so an export cut short or
changed is never imported.

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
	if err := p.RefuseCSV("export"); err != nil {
		return cmdutil.AsUsage(err)
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
	if p.JSON() {
		err = exportJSON(ctx, e, cons, w, prog)
	} else {
		err = exportText(ctx, e, cons, w, prog)
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

// exportText writes the export file: header, relationship lines, trailer. It reads at the
// exact revision the header names, with the schema in force at that revision.
func exportText(ctx context.Context, e *engine.Engine, cons *v1.Consistency, w io.Writer, prog *progress) error {
	h := Header{SchemaSHA256: "none"}
	resp, err := e.ReadSchemaSince(ctx, nil)
	switch err := spice.Classify("reading the schema", err); {
	case err == nil:
		sum := sha256.Sum256([]byte(resp.GetSchemaText()))
		h.Revision, h.SchemaSHA256 = resp.GetReadAt().GetToken(), hex.EncodeToString(sum[:])
		// The newest revision, which is at least as fresh as any the flags ask for.
		cons = &v1.Consistency{Requirement: &v1.Consistency_AtExactSnapshot{AtExactSnapshot: resp.GetReadAt()}}
	case !errors.Is(err, spice.ErrNotFound):
		return err
	}
	ew := newExportWriter(w, h)
	err = Export(ctx, e, cons, func(rel *v1.Relationship) error {
		if err := ew.Line(reltext.Format(rel)); err != nil {
			return fmt.Errorf("writing the export: %w", err)
		}
		prog.add(1)
		return nil
	})
	if err != nil {
		return err
	}
	if err := ew.Close(); err != nil {
		return fmt.Errorf("writing the export: %w", err)
	}
	return nil
}

// exportJSON writes the relationships as one JSON array.
func exportJSON(ctx context.Context, e *engine.Engine, cons *v1.Consistency, w io.Writer, prog *progress) error {
	first := true
	fmt.Fprint(w, "[")
	err := Export(ctx, e, cons, func(rel *v1.Relationship) error {
		sep := ",\n  "
		if first {
			sep, first = "\n  ", false
		}
		fmt.Fprint(w, sep)
		if err := writeJSON(w, relationship.JSON(rel)); err != nil {
			return err
		}
		prog.add(1)
		return nil
	})
	if err != nil {
		return err
	}
	if !first {
		fmt.Fprint(w, "\n")
	}
	fmt.Fprintln(w, "]")
	return nil
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
