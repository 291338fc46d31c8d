package schemacmd

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/authzed/spicedb/pkg/development"
	devinterface "github.com/authzed/spicedb/pkg/proto/developer/v1"
)

// isSchemaFile reports whether file is a schema (.zed), which validate compiles, as zed
// validate does, rather than reads as a validation file.
func isSchemaFile(file string) bool { return strings.EqualFold(filepath.Ext(file), ".zed") }

// validateSchema compiles a schema file and reports its errors at line:column, and its lint
// warnings. A schema without definitions is a failure: it would accept nothing.
func validateSchema(ctx context.Context, r Result, src []byte) Result {
	dc, devErrs, err := development.NewDevContext(ctx, &devinterface.RequestContext{Schema: string(src)},
		development.WithSourceFS(dirFS(filepath.Dir(r.File))), development.WithRootFileName(filepath.Base(r.File)))
	switch {
	case err != nil:
		r.Failures = append(r.Failures, Problem{File: r.File, Message: "compiling: " + err.Error()})
		return r
	case devErrs != nil:
		for _, e := range devErrs.GetInputErrors() {
			r.Failures = append(r.Failures, Problem{File: r.File, Line: int(e.GetLine()), Column: int(e.GetColumn()), Message: e.GetMessage(), Context: e.GetContext()})
		}
		return r
	}
	defer dc.Dispose()
	r.Definitions = len(dc.CompiledSchema.ObjectDefinitions)
	if r.Definitions == 0 {
		r.Failures = append(r.Failures, Problem{File: r.File, Message: "the schema has no definitions: write at least one definition TYPE { ... }"})
		return r
	}
	if warnings, err := development.GetWarnings(ctx, dc); err == nil {
		for _, w := range warnings {
			r.Warnings = append(r.Warnings, Problem{File: r.File, Line: int(w.GetLine()), Column: int(w.GetColumn()), Message: w.GetMessage(), Context: w.GetSourceCode()})
		}
	}
	r.OK = true
	return r
}
