package transfer

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"

	"github.com/accessgraph/accessgraph/pkg/ref"
)

// The export file: plain relationship lines between a header and a trailer, both comments, so
// the file stays readable and greppable and any line-based tool can read it:
//
//	# accessgraph export v1 revision=TOKEN schema-sha256=HEX
//	account:acme#admin@user:bill
//	...
//	# end relationships=N sha256=HEX
//
// The trailer's sha256 covers every byte between the header line and the trailer line (each
// line with its newline), and N counts the relationship lines among them. A file that starts
// with the header is imported only if the trailer is there, last, complete and matching: an
// export cut anywhere, or edited, is refused before anything is written. A file without the
// header is taken as written by hand, line by line.
const (
	headerPrefix  = "# accessgraph export "
	formatVersion = "v1"
	trailerPrefix = "# end "
)

// ErrDamaged reports an export whose header promises a trailer that is missing, incomplete or
// does not match the lines: the file was cut short or changed after it was written.
var ErrDamaged = errors.New("the export is damaged")

// Header is what the first line of an export says.
type Header struct {
	Revision     string
	SchemaSHA256 string
}

func (h Header) String() string {
	return fmt.Sprintf("%s%s revision=%s schema-sha256=%s", headerPrefix, formatVersion, h.Revision, h.SchemaSHA256)
}

// Trailer is what the last line of an export says.
type Trailer struct {
	Relationships int
	SHA256        string
}

func (t Trailer) String() string {
	return fmt.Sprintf("%srelationships=%d sha256=%s", trailerPrefix, t.Relationships, t.SHA256)
}

// fields reads the key=value words after prefix.
func fields(line, prefix string) map[string]string {
	out := map[string]string{}
	for _, w := range strings.Fields(strings.TrimPrefix(line, prefix)) {
		if k, v, ok := strings.Cut(w, "="); ok {
			out[k] = v
		} else {
			out[w] = ""
		}
	}
	return out
}

// parseHeader reads a header line (one that starts with headerPrefix).
func parseHeader(line string) (Header, error) {
	f := fields(line, headerPrefix)
	if _, ok := f[formatVersion]; !ok {
		return Header{}, fmt.Errorf("%w: line 1 %q is an export header of a format this accessctl does not know (it reads %s): import it with the accessctl that wrote it", ErrDamaged, ref.Excerpt(line, 0, 80), formatVersion)
	}
	return Header{Revision: f["revision"], SchemaSHA256: f["schema-sha256"]}, nil
}

// parseTrailer reads a trailer line (one that starts with trailerPrefix).
func parseTrailer(line string) (Trailer, error) {
	f := fields(line, trailerPrefix)
	n, err := strconv.Atoi(f["relationships"])
	sum := f["sha256"]
	if _, herr := hex.DecodeString(sum); err != nil || n < 0 || herr != nil || len(sum) != sha256.Size*2 || len(f) != 2 {
		return Trailer{}, fmt.Errorf("%w: the trailer %q is incomplete: the file was cut short or changed; export it again", ErrDamaged, ref.Excerpt(line, 0, 80))
	}
	return Trailer{Relationships: n, SHA256: sum}, nil
}

// exportWriter writes an export: the header, relationship lines, and on Close the trailer.
type exportWriter struct {
	w     io.Writer
	sum   hash.Hash
	count int
	err   error
}

func newExportWriter(w io.Writer, h Header) *exportWriter {
	ew := &exportWriter{w: w, sum: sha256.New()}
	_, ew.err = fmt.Fprintln(w, h)
	return ew
}

// Line writes one relationship line.
func (ew *exportWriter) Line(text string) error {
	if ew.err != nil {
		return ew.err
	}
	line := text + "\n"
	ew.sum.Write([]byte(line))
	ew.count++
	_, ew.err = io.WriteString(ew.w, line)
	return ew.err
}

// Close writes the trailer.
func (ew *exportWriter) Close() error {
	if ew.err != nil {
		return ew.err
	}
	_, ew.err = fmt.Fprintln(ew.w, Trailer{Relationships: ew.count, SHA256: hex.EncodeToString(ew.sum.Sum(nil))})
	return ew.err
}
