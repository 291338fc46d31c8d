package transfer_test

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/accessgraph/accessgraph/pkg/cli/transfer"
	"github.com/accessgraph/accessgraph/pkg/ref"
	"github.com/accessgraph/accessgraph/pkg/reltext"
)

// exportOfSmallStore is an export of two relationships, whole (its trailer matches).
const exportOfSmallStore = "# accessgraph export v1 revision=GhUKEzE3 schema-sha256=0\n" +
	"account:acme#platform@platform:main\n" +
	"account:acme#admin@user:bill\n" +
	"# end relationships=2 sha256=84949ce4d52b063d50310d3b817a5ff5e100f8ed3f056210ae131fb13bc4a973\n"

// FuzzReadImport: ReadImport never panics; it refuses with a *BadInputError that wraps
// ref.ErrInvalid or ErrDamaged and whose message is short and printable, or returns
// relationships that are valid, each once, and (for an export) exactly as many as the
// trailer counts.
func FuzzReadImport(f *testing.F) {
	for _, s := range []string{
		exportOfSmallStore,
		strings.Join(smallStore, "\n") + "\n",
		strings.Join(smallStore, "\n"),
		"# accessgraph export v1 revision=x schema-sha256=y\n# end relationships=0 sha256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n",
		"account:acme#admin@user:bill\naccount:acme#admin@user:bill\n",
		"account:acme#individual_look@user:tara[expiration:2001-01-01T00:00:00Z]\n",
		"account:acme#admin@user:bi\x00ll\n",
		"\n\n# c\n// d\n",
	} {
		f.Add(s)
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, in string) {
		got, err := transfer.ReadImport(strings.NewReader(in), "in", now, nil)
		if err != nil {
			var bie *transfer.BadInputError
			if !errors.As(err, &bie) || !(errors.Is(err, ref.ErrInvalid) || errors.Is(err, transfer.ErrDamaged)) {
				t.Fatalf("ReadImport(%q): %v (%T) is not a BadInputError of a known class", in, err, err)
			}
			msg := err.Error()
			if len(msg) > 1500 || strings.IndexFunc(msg, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) }) >= 0 {
				t.Fatalf("ReadImport(%q): message of %d bytes, or with a control character: %q", in, len(msg), msg)
			}
			return
		}
		seen := map[string]bool{}
		for _, u := range got.Updates {
			text := reltext.Format(u.GetRelationship())
			if _, err := reltext.ParseFor(text, reltext.ForImport); err != nil {
				t.Fatalf("ReadImport(%q) accepted %q: %v", in, text, err)
			}
			key := reltext.FormatKey(u.GetRelationship())
			if seen[key] {
				t.Fatalf("ReadImport(%q) returned %q twice", in, key)
			}
			seen[key] = true
			if exp := u.GetRelationship().GetOptionalExpiresAt(); exp != nil && !exp.AsTime().After(now) {
				t.Fatalf("ReadImport(%q) kept an expired relationship %q", in, text)
			}
		}
		if got.Header != nil {
			last := in[strings.LastIndex(strings.TrimSuffix(in, "\n"), "\n")+1:]
			if !strings.HasPrefix(last, "# end relationships=") || !strings.HasSuffix(in, "\n") {
				t.Fatalf("ReadImport(%q) accepted an export that does not end with its trailer", in)
			}
		}
	})
}

// The fuzz seed export is whole, so the fuzzer starts from an accepted export.
func TestFuzzSeedExportIsWhole(t *testing.T) {
	got, err := transfer.ReadImport(strings.NewReader(exportOfSmallStore), "seed", time.Now(), nil)
	if err != nil || len(got.Updates) != 2 || got.Header == nil {
		t.Fatalf("%v, %v", got, err)
	}
}
