package schemacmd

import (
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/authzed/spicedb/pkg/development"
	devinterface "github.com/authzed/spicedb/pkg/proto/developer/v1"
	"github.com/authzed/spicedb/pkg/spiceerrors"
	"github.com/authzed/spicedb/pkg/validationfile"
	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
)

// NewCmdValidate builds `accessctl schema validate`.
func NewCmdValidate(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	return &cobra.Command{
		Use:   "validate FILE...",
		Short: "Run SpiceDB validation files, or compile .zed schemas (offline)",
		Long: `Run SpiceDB validation files (the format zed validate reads): load their relationships
into an in-memory engine, check every assertTrue/assertFalse and compare the expected
relations (validation block). A schemaFile is read relative to the validation file's folder.
A .zed file is compiled as a schema instead, its errors reported at line:column.

A validation file fails, before anything runs, when it is empty, has a key other than
schema, schemaFile, relationships, assertions and validation (or, under assertions, other
than assertTrue, assertFalse and assertCaveated), has an empty assertions block, or checks
nothing (no assertions and no expected relations): SpiceDB would ignore a misspelled
"assertions:" and pass. A schema fails when it does not compile or has no definitions.

Each failure is printed with its file and line; each file ends with a summary,
"N assertions, M expected relations: ok" or "schema with N definitions: ok". Schema lint
warnings are printed but do not fail. Exits 1 if any file fails. No server is needed.`,
		Example: `  # the project's own suites
  $ accessctl schema validate schema/validation/*.yaml

  # compile the schema, as zed validate does
  $ accessctl schema validate schema/accessgraph.zed`,
		Args: cmdutil.MinArgs(1, "FILE"),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return []string{"yaml", "yml", "zed"}, cobra.ShellCompDirectiveFilterFileExt
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Files = args
			return cmdutil.Run(cmd.Context(), runF, runValidate, o)
		},
	}
}

// Problem is one failure or warning of a validation file.
type Problem struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
	Context string `json:"context,omitempty"`
}

func (p Problem) String() string {
	var s string
	switch {
	case p.Line == 0:
		s = fmt.Sprintf("%s: %s", p.File, p.Message)
	case p.Column == 0:
		s = fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	default:
		s = fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Column, p.Message)
	}
	if p.Context != "" && !strings.Contains(p.Message, p.Context) {
		s += " [" + p.Context + "]"
	}
	return s
}

// Result is the outcome of one validation file.
type Result struct {
	File              string    `json:"file"`
	Assertions        int       `json:"assertions"`
	ExpectedRelations int       `json:"expected_relations"`
	Definitions       int       `json:"definitions,omitempty"`
	OK                bool      `json:"ok"`
	Failures          []Problem `json:"failures"`
	Warnings          []Problem `json:"warnings"`
}

// Summary is the line printed for the file.
func (r Result) Summary() string {
	verdict := "ok"
	if !r.OK {
		verdict = fmt.Sprintf("FAILED (%d problem(s))", len(r.Failures))
	}
	if isSchemaFile(r.File) && !r.OK && r.Definitions == 0 {
		return fmt.Sprintf("%s: schema: %s", r.File, verdict)
	}
	if isSchemaFile(r.File) {
		return fmt.Sprintf("%s: schema with %d definitions: %s", r.File, r.Definitions, verdict)
	}
	return fmt.Sprintf("%s: %d assertions, %d expected relations: %s", r.File, r.Assertions, r.ExpectedRelations, verdict)
}

func runValidate(ctx context.Context, o *Options) error {
	p, err := o.Factory.Printer()
	if err != nil {
		return err
	}
	if err := p.RefuseCSV("schema validate"); err != nil {
		return cmdutil.AsUsage(err)
	}
	var results []Result
	failed := 0
	for _, file := range o.Files {
		r := Validate(ctx, file)
		results = append(results, r)
		if !r.OK {
			failed++
		}
		if p.JSON() {
			continue
		}
		for _, w := range r.Warnings {
			fmt.Fprintf(o.Factory.IOStreams.ErrOut, "warning: %s\n", w)
		}
		for _, pr := range r.Failures {
			fmt.Fprintln(o.Factory.IOStreams.Out, pr)
		}
		fmt.Fprintln(o.Factory.IOStreams.Out, r.Summary())
	}
	if p.JSON() {
		if err := p.Table(nil, nil, results); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("validation failed: %d of %d file(s)", failed, len(o.Files))
	}
	return nil
}

// dirFS opens names relative to a folder, ".." included, the way zed resolves a
// validation file's schemaFile ("../accessgraph.zed"); os.DirFS refuses "..".
type dirFS string

func (d dirFS) Open(name string) (fs.File, error) {
	return os.Open(filepath.Join(string(d), filepath.FromSlash(name)))
}

// Validate runs one validation file.
func Validate(ctx context.Context, file string) Result {
	r := Result{File: file, Failures: []Problem{}, Warnings: []Problem{}}
	fail := func(line int, format string, args ...any) Result {
		r.Failures = append(r.Failures, Problem{File: file, Line: line, Message: fmt.Sprintf(format, args...)})
		return r
	}
	src, err := os.ReadFile(file)
	if err != nil {
		return fail(0, "reading: %v", err)
	}
	if isSchemaFile(file) {
		return validateSchema(ctx, r, src)
	}
	if problems := checkStructure(file, src); len(problems) > 0 {
		r.Failures = problems
		return r
	}
	yctx, devErrs, err := development.NewDevContextForYAML(ctx, src, development.WithSourceFS(dirFS(filepath.Dir(file))))
	if err != nil {
		line := 0
		if ws, ok := spiceerrors.AsWithSourceError(err); ok {
			line = lineOf(src, ws.SourceCodeString, int(ws.LineNumber))
		}
		return fail(line, "%v", err)
	}
	if devErrs != nil {
		r.Failures = append(r.Failures, problems(file, schemaPath(file, src), src, devErrs.InputErrors)...)
		return r
	}
	defer yctx.DevContext.Dispose()
	r.Assertions = len(yctx.Assertions.AssertTrue) + len(yctx.Assertions.AssertFalse) + len(yctx.Assertions.AssertCaveated)
	r.ExpectedRelations = len(yctx.ExpectedRelations.ValidationMap)

	failedAssertions, err := development.RunAllAssertions(yctx.DevContext, &yctx.Assertions)
	if err != nil {
		return fail(0, "running assertions: %v", err)
	}
	r.Failures = append(r.Failures, problems(file, "", src, failedAssertions)...)

	_, mismatches, err := development.RunValidation(yctx.DevContext, &yctx.ExpectedRelations)
	if err != nil {
		return fail(0, "checking expected relations: %v", err)
	}
	r.Failures = append(r.Failures, problems(file, "", src, mismatches)...)

	if warnings, err := development.GetWarnings(ctx, yctx.DevContext); err == nil {
		for _, w := range warnings {
			r.Warnings = append(r.Warnings, Problem{File: file, Line: int(w.Line), Message: w.Message, Context: w.SourceCode})
		}
	}
	r.OK = len(r.Failures) == 0
	return r
}

// schemaPath is where the validation file's schemaFile lives, or the file itself for an
// inline schema.
func schemaPath(file string, src []byte) string {
	vf, err := validationfile.DecodeValidationFile(src)
	if err != nil || vf.SchemaFile == "" {
		return file
	}
	return filepath.Join(filepath.Dir(file), filepath.FromSlash(vf.SchemaFile))
}

// problems renders developer errors in line order (expected relations come in map order).
// Schema errors are reported against schemaFile.
func problems(file, schemaFile string, src []byte, devErrs []*devinterface.DeveloperError) []Problem {
	devErrs = slices.Clone(devErrs)
	slices.SortStableFunc(devErrs, func(a, b *devinterface.DeveloperError) int { return cmp.Compare(a.Line, b.Line) })
	out := make([]Problem, 0, len(devErrs))
	for _, e := range devErrs {
		p := Problem{File: file, Line: int(e.Line), Message: e.Message, Context: e.Context}
		switch e.Source {
		case devinterface.DeveloperError_SCHEMA:
			if schemaFile != "" {
				p.File = schemaFile
			}
		case devinterface.DeveloperError_RELATIONSHIP:
			p.Line = lineOf(src, e.Context, int(e.Line))
		}
		out = append(out, p)
	}
	return out
}

// lineOf returns the 1-indexed line of src holding context, or fallback. SpiceDB counts
// the lines of a literal relationships block as if it were folded, so relationship errors
// are placed by content.
func lineOf(src []byte, context string, fallback int) int {
	context = strings.TrimSpace(context)
	if context == "" {
		return fallback
	}
	for i, line := range strings.Split(string(src), "\n") {
		if strings.Contains(line, context) {
			return i + 1
		}
	}
	return fallback
}
