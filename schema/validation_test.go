package schema

import (
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/authzed/spicedb/pkg/development"
	devinterface "github.com/authzed/spicedb/pkg/proto/developer/v1"
	"github.com/authzed/spicedb/pkg/spiceerrors"
	"github.com/authzed/spicedb/pkg/validationfile"
	"github.com/authzed/spicedb/pkg/validationfile/blocks"
)

// validationDir is the folder of FS holding the validation suites.
const validationDir = "validation"

// minTotalAssertions guards against suites being emptied: the validation files together must
// keep at least this many assertions.
const minTotalAssertions = 300

// validationFiles lists the validation suites embedded in FS, so a new file is picked up
// without touching this test.
func validationFiles(t *testing.T) []string {
	t.Helper()
	names, err := fs.Glob(FS, path.Join(validationDir, "*.yaml"))
	if err != nil {
		t.Fatalf("listing validation files: %v", err)
	}
	if len(names) == 0 {
		t.Fatalf("no validation files found under %s/", validationDir)
	}
	return names
}

// relativeFS resolves names relative to dir inside fsys, the way zed and SpiceDB's file loader
// resolve a validation file's schemaFile: relative to the folder holding the validation file.
// It lets every suite say schemaFile: "../accessgraph.zed" (which works from a shell too)
// while reading the embedded copy of the schema.
type relativeFS struct {
	fsys fs.FS
	dir  string
}

func (r relativeFS) Open(name string) (fs.File, error) {
	resolved := path.Join(r.dir, name)
	if !fs.ValidPath(resolved) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	return r.fsys.Open(resolved)
}

// sourceFSFor returns the filesystem a validation file's schemaFile is resolved against.
func sourceFSFor(file string) fs.FS {
	return relativeFS{fsys: FS, dir: path.Dir(file)}
}

// decodeValidationFile reads and parses one embedded validation file.
func decodeValidationFile(t *testing.T, file string) *validationfile.ValidationFile {
	t.Helper()
	src, err := fs.ReadFile(FS, file)
	if err != nil {
		t.Fatalf("%s: reading: %v", file, err)
	}
	vf, err := validationfile.DecodeValidationFile(src)
	if err != nil {
		t.Fatalf("%s: %s", file, describeParseError(src, err))
	}
	return vf
}

// describeParseError renders a validation-file parse error with the line it comes from.
func describeParseError(src []byte, err error) string {
	if withSource, ok := spiceerrors.AsWithSourceError(err); ok {
		line := lineOf(src, withSource.SourceCodeString, int(withSource.LineNumber))
		return fmt.Sprintf("line %d: %v", line, err)
	}
	return err.Error()
}

// lineOf returns the 1-indexed line of src holding context. SpiceDB computes the lines of
// relationships as if the block were folded (one blank line between relationships), which
// is wrong for the literal blocks these suites use, so when the reported line (fallback)
// does not hold context the line is looked up by content; fallback is returned when
// context is empty or not found.
func lineOf(src []byte, context string, fallback int) int {
	context = strings.TrimSpace(context)
	lines := strings.Split(string(src), "\n")
	if context == "" || (fallback >= 1 && fallback <= len(lines) && strings.Contains(lines[fallback-1], context)) {
		return fallback
	}
	for i, line := range lines {
		if strings.Contains(line, context) {
			return i + 1
		}
	}
	return fallback
}

// describeDevErrors renders developer errors as "file:line: message [context]", one a line,
// in line order (expected relations are checked in map order).
func describeDevErrors(file string, src []byte, devErrs []*devinterface.DeveloperError) string {
	devErrs = slices.Clone(devErrs)
	slices.SortStableFunc(devErrs, func(a, b *devinterface.DeveloperError) int {
		return cmp.Compare(a.Line, b.Line)
	})
	var b strings.Builder
	for _, e := range devErrs {
		where := fmt.Sprintf("%s:%d", file, e.Line)
		switch e.Source {
		case devinterface.DeveloperError_SCHEMA:
			where = fmt.Sprintf("%s:%d:%d", FileName, e.Line, e.Column)
		case devinterface.DeveloperError_RELATIONSHIP:
			where = fmt.Sprintf("%s:%d", file, lineOf(src, e.Context, int(e.Line)))
		}
		fmt.Fprintf(&b, "\n  %s: %s", where, e.Message)
		if e.Context != "" && !strings.Contains(e.Message, e.Context) {
			fmt.Fprintf(&b, " [%s]", e.Context)
		}
	}
	return b.String()
}

// countExpectedSubjects counts the subject lines of a validation block.
func countExpectedSubjects(expected blocks.ParsedExpectedRelations) int {
	n := 0
	for _, subjects := range expected.ValidationMap {
		n += len(subjects)
	}
	return n
}

// TestValidationFiles runs every validation suite against the schema: the relationships must
// load, every assertion must hold, and the expected relations must match exactly, so a schema
// change that alters an expected relation fails here until the suite is updated.
func TestValidationFiles(t *testing.T) {
	for _, file := range validationFiles(t) {
		t.Run(path.Base(file), func(t *testing.T) {
			t.Parallel()
			src, err := fs.ReadFile(FS, file)
			if err != nil {
				t.Fatalf("%s: reading: %v", file, err)
			}

			yctx, devErrs, err := development.NewDevContextForYAML(context.Background(), src,
				development.WithSourceFS(sourceFSFor(file)))
			if err != nil {
				t.Fatalf("%s: %s", file, describeParseError(src, err))
			}
			if devErrs != nil {
				t.Fatalf("%s: input errors:%s", file, describeDevErrors(file, src, devErrs.InputErrors))
			}
			t.Cleanup(yctx.DevContext.Dispose)

			failed, err := development.RunAllAssertions(yctx.DevContext, &yctx.Assertions)
			if err != nil {
				t.Fatalf("%s: running assertions: %v", file, err)
			}
			if len(failed) > 0 {
				t.Errorf("%s: %d assertion(s) failed:%s", file, len(failed), describeDevErrors(file, src, failed))
			}

			_, mismatches, err := development.RunValidation(yctx.DevContext, &yctx.ExpectedRelations)
			if err != nil {
				t.Fatalf("%s: checking expected relations: %v", file, err)
			}
			if len(mismatches) > 0 {
				t.Errorf("%s: %d expected-relation difference(s):%s", file, len(mismatches), describeDevErrors(file, src, mismatches))
			}

			nTrue, nFalse := len(yctx.Assertions.AssertTrue), len(yctx.Assertions.AssertFalse)
			t.Logf("%s: %d assertions (%d true, %d false), %d expected relations checked (%d subjects)",
				path.Base(file), nTrue+nFalse, nTrue, nFalse,
				len(yctx.ExpectedRelations.ValidationMap), countExpectedSubjects(yctx.ExpectedRelations))
		})
	}
}

// TestValidationFilesDeclareSchemaFile makes sure no suite silently carries a schema of its
// own: each names the one schema file, relative to the validation folder.
func TestValidationFilesDeclareSchemaFile(t *testing.T) {
	for _, file := range validationFiles(t) {
		vf := decodeValidationFile(t, file)
		if vf.Schema.Schema != "" {
			t.Errorf("%s: carries an inline schema; use schemaFile: %q instead", file, "../"+FileName)
		}
		if vf.SchemaFile == "" {
			t.Errorf("%s: does not declare schemaFile", file)
			continue
		}
		if resolved := path.Join(path.Dir(file), vf.SchemaFile); resolved != FileName {
			t.Errorf("%s: schemaFile %q resolves to %q, want %q", file, vf.SchemaFile, resolved, FileName)
		}
	}
}

// TestValidationTotals guards against suites being emptied.
func TestValidationTotals(t *testing.T) {
	total, expected := 0, 0
	for _, file := range validationFiles(t) {
		vf := decodeValidationFile(t, file)
		n := len(vf.Assertions.AssertTrue) + len(vf.Assertions.AssertFalse)
		if n == 0 {
			t.Errorf("%s: has no assertions", file)
		}
		if len(vf.ExpectedRelations.ValidationMap) == 0 {
			t.Errorf("%s: has no expected relations (validation block)", file)
		}
		total += n
		expected += len(vf.ExpectedRelations.ValidationMap)
	}
	t.Logf("all suites: %d assertions, %d expected relations", total, expected)
	if total < minTotalAssertions {
		t.Errorf("the validation suites hold %d assertions in total, want at least %d", total, minTotalAssertions)
	}
}
