package transfer_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
	"github.com/accessgraph/accessgraph/pkg/cli/transfer"
	"github.com/accessgraph/accessgraph/pkg/ref"
	"github.com/accessgraph/accessgraph/pkg/reltext"
)

// smallStore holds one relationship of each shape an export writes: plain, subject set,
// expiring (on relations that take an expiry), wildcard.
var smallStore = []string{
	"account:acme#platform@platform:main",
	"account:acme#admin@user:bill",
	"account:acme#individual_look@user:tara[expiration:2031-01-02T03:04:05Z]",
	"account:acme#org_look@partner:integrator#member[expiration:2031-01-02T03:04:05Z]",
	"group:district#direct_member@group:almond#member",
	"feature:beta#participant@user:*",
}

// generated returns n distinct valid relationship lines, every seventh with an expiry.
func generated(n int) []string {
	lines := make([]string, n)
	for i := range lines {
		switch {
		case i%7 == 3:
			lines[i] = fmt.Sprintf("account:gen%d#individual_update@user:u%d[expiration:2031-06-0%dT00:00:00Z]", i%13, i, 1+i%9)
		case i%5 == 1:
			lines[i] = fmt.Sprintf("group:g%d#direct_member@group:h%d#member", i, i%17)
		default:
			lines[i] = fmt.Sprintf("account:gen%d#viewer@user:u%d", i%13, i)
		}
	}
	return lines
}

// write stores relationship lines directly through the engine.
func write(t *testing.T, env *clitest.Env, lines []string) {
	t.Helper()
	var updates []*v1.RelationshipUpdate
	for i, l := range lines {
		rel, err := reltext.ParseFor(l, reltext.ForImport)
		if err != nil {
			t.Fatal(err)
		}
		updates = append(updates, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: rel})
		if len(updates) == 1000 || i == len(lines)-1 {
			if _, err := env.Engine.WriteRelationships(context.Background(), &v1.WriteRelationshipsRequest{Updates: updates}); err != nil {
				t.Fatal(err)
			}
			updates = nil
		}
	}
}

// relationships counts the relationships of a store, by exporting it.
func relationships(t *testing.T, env *clitest.Env) int {
	t.Helper()
	r := env.Must("export")
	n := 0
	for _, l := range strings.Split(r.Stdout, "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			n++
		}
	}
	if !strings.Contains(r.Stdout, fmt.Sprintf("\n# end relationships=%d sha256=", n)) {
		t.Fatalf("the export's trailer does not count its %d lines:\n%s", n, r.Stdout)
	}
	return n
}

// An export cut at any byte, inside the header, an id, an expiry, the trailer or between
// lines, is refused before anything is written; only the whole file imports.
func TestImportRefusesEveryCutOfAnExport(t *testing.T) {
	t.Parallel()
	src := clitest.New(t)
	write(t, src, smallStore)
	full := src.Must("export").Stdout
	dst := clitest.New(t)
	for k := range len(full) {
		r := dst.RunWith(clitest.Options{Stdin: full[:k]}, "import")
		if r.Code != cmdutil.ExitUsage || !strings.Contains(r.Stderr, "nothing was imported") {
			t.Fatalf("cut at byte %d of %d (%q): code %d, stderr %q", k, len(full), full[max(0, k-20):k], r.Code, r.Stderr)
		}
	}
	if n := relationships(t, dst); n != 0 {
		t.Fatalf("the refused cuts wrote %d relationships", n)
	}
	// The export of an empty store is whole too: it imports as nothing.
	if r := dst.RunWith(clitest.Options{Stdin: dst.Must("export").Stdout}, "import"); r.Code != 0 || !strings.HasPrefix(r.Stderr, "imported 0 relationships") {
		t.Fatalf("the export of an empty store: code %d, stderr %q", r.Code, r.Stderr)
	}
	if r := dst.RunWith(clitest.Options{Stdin: full}, "import"); r.Code != 0 || !strings.HasPrefix(r.Stderr, fmt.Sprintf("imported %d relationships", len(smallStore))) {
		t.Fatalf("the whole export: code %d, stderr %q", r.Code, r.Stderr)
	}
}

// The same for a large export (5,000 relationships, several write batches): cuts at random
// bytes, just before every "[expiration:" of the first hundred lines (the cut that once made
// a 30-day grant permanent), and at line boundaries; then one changed character.
func TestImportRefusesCutsOfALargeExport(t *testing.T) {
	t.Parallel()
	src := clitest.New(t)
	write(t, src, generated(5000))
	full := src.Must("export").Stdout
	var cuts []int
	rng := rand.New(rand.NewPCG(1, 2))
	for range 120 {
		cuts = append(cuts, rng.IntN(len(full)))
	}
	for i, lines := 0, 0; i < len(full) && lines < 100; i++ {
		if strings.HasPrefix(full[i:], "[expiration:") {
			cuts = append(cuts, i, i+len("[expiration:")+4)
		}
		if full[i] == '\n' {
			lines++
			cuts = append(cuts, i, i+1)
		}
	}
	cuts = append(cuts, len(full)-1, len(full)-2, strings.LastIndex(full, "# end"))
	dst := clitest.New(t)
	for _, k := range cuts {
		r := dst.RunWith(clitest.Options{Stdin: full[:k]}, "import")
		if r.Code != cmdutil.ExitUsage || !strings.Contains(r.Stderr, "nothing was imported") {
			t.Fatalf("cut at byte %d of %d (%q): code %d, stderr %q", k, len(full), full[max(0, k-20):k], r.Code, r.Stderr)
		}
	}
	// One character changed, the line still a valid relationship: the checksum catches it.
	altered := strings.Replace(full, "#viewer@user:u12\n", "#viewer@user:u13\n", 1)
	if altered == full {
		t.Fatal("the export has no line to alter")
	}
	dst.Expect(cmdutil.ExitUsage, "the export is damaged: the trailer counts 5000 relationships with sha256", "import", "--file", writeFile(t, altered))
	// Two exports joined, or a line added after the trailer.
	dst.Expect(cmdutil.ExitUsage, "follows the trailer", "import", "--file", writeFile(t, full+"account:acme#admin@user:mallory\n"))
	if n := relationships(t, dst); n != 0 {
		t.Fatalf("the refused cuts wrote %d relationships", n)
	}
	if r := dst.RunWith(clitest.Options{Stdin: full}, "import"); r.Code != 0 || !strings.HasPrefix(r.Stderr, "imported 5000 relationships") {
		t.Fatalf("the whole export: code %d, stderr %q", r.Code, r.Stderr)
	}
	if n := relationships(t, dst); n != 5000 {
		t.Fatalf("imported %d of 5000 relationships", n)
	}
}

// A file without the export header is taken as written by hand: cut at a line boundary it
// holds fewer lines, each imported as written (nothing can tell it was cut).
func TestImportReadsHandWrittenFiles(t *testing.T) {
	t.Parallel()
	lines := append(append([]string{}, smallStore...), generated(20)...)
	for k := 1; k <= len(lines); k++ {
		text := strings.Join(lines[:k], "\n")
		if k%2 == 0 {
			text += "\n"
		}
		in, err := transfer.ReadImport(strings.NewReader("# written by hand\n\n"+text), "rels", time.Now(), nil)
		if err != nil || len(in.Updates) != k || in.Header != nil {
			t.Fatalf("%d lines: %v, %v", k, in, err)
		}
		for i, u := range in.Updates {
			if got := reltext.Format(u.GetRelationship()); got != lines[i] {
				t.Fatalf("%d lines: line %d imported as %q, written %q", k, i+1, got, lines[i])
			}
		}
	}
	for _, empty := range []string{"", "\n\n", "# only a comment\n", "# accessgraph exp"} {
		if _, err := transfer.ReadImport(strings.NewReader(empty), "rels", time.Now(), nil); !errors.Is(err, ref.ErrInvalid) || !strings.Contains(err.Error(), "holds no relationship") {
			t.Errorf("%q: %v", empty, err)
		}
	}
}

// A bad line at the start, in the middle or at the end of a 5,000-line import refuses the
// whole import: the store keeps every relationship it had and gains none, whichever write
// batch the line would have fallen in. The first bad line is named with its column, and
// every bad line is counted.
func TestImportWithABadLineWritesNothing(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	before := relationships(t, env)
	good := generated(5000)
	bad := []struct {
		line, column int
		text, msg    string
	}{
		{1, 1, "acount:gen1#viewer@user:x", `unknown object type "acount"`},
		{2500, 30, "account:gen1#viewer@user:bill[expiration:2030-01-0", "is not closed with ]: the line may have been cut short"},
		{1001, 21, "account:gen1#viewer@us er:bill", `unknown object type "us er"`},
		{4999, 21, "account:gen1#viewer@user:bi\x00ll", `user id "bi\x00ll" may only contain`},
		{5000, 14, "account:gen1#nonsense@user:bill", `account has no relation "nonsense"`},
		{5000, 1, good[17], "is on line 18 already: a file holds each relationship once"},
	}
	for _, b := range bad {
		lines := append([]string{}, good...)
		lines[b.line-1] = b.text
		r := env.RunWith(clitest.Options{Stdin: strings.Join(lines, "\n") + "\n"}, "import", "--as", "user:vera", "--yes")
		at := fmt.Sprintf("error: standard input:%d:%d: ", b.line, b.column)
		if b.column == 1 && strings.Contains(b.msg, "already") {
			at = fmt.Sprintf("error: standard input:%d: ", b.line)
		}
		if r.Code != cmdutil.ExitUsage || !strings.HasPrefix(r.Stderr, at) || !strings.Contains(r.Stderr, b.msg) || !strings.Contains(r.Stderr, "(nothing was imported)") {
			t.Errorf("bad line %d: code %d, stderr %q; want %q ... %q", b.line, r.Code, r.Stderr, at, b.msg)
		}
	}
	// Three bad lines: the first is named, all are counted.
	lines := append([]string{}, good...)
	lines[10], lines[2000], lines[4000] = "x", "account:gen1#viewer@user:", "account:gen1#viewer"
	file := writeFile(t, strings.Join(lines, "\n"))
	r := env.RunWith(clitest.Options{}, "import", "--as", "user:vera", "--yes", "--file", file)
	if r.Code != cmdutil.ExitUsage || !strings.HasPrefix(r.Stderr, "error: "+file+":11:2: relationship \"x\": invalid argument: no @SUBJECT") || !strings.Contains(r.Stderr, "(3 bad lines in all; nothing was imported)") {
		t.Errorf("three bad lines: %q", r.Stderr)
	}
	if n := relationships(t, env); n != before {
		t.Fatalf("refused imports changed the store from %d to %d relationships", before, n)
	}
	// The same lines, all good, are written whole (five batches).
	env.Must("import", "--as", "user:vera", "--yes", "--file", writeFile(t, strings.Join(good, "\n")))
	if n := relationships(t, env); n != before+5000 {
		t.Fatalf("after importing 5000 relationships the store holds %d, want %d", n, before+5000)
	}
}

// A 3 MB line is reported with its number, its length and an excerpt of about 80 characters,
// never echoed whole; so is an over-long id.
func TestImportQuotesAnExcerptOfALongLine(t *testing.T) {
	t.Parallel()
	env := clitest.New(t)
	huge := "account:acme#viewer@user:" + strings.Repeat("z", 3<<20)
	longID := "account:acme#viewer@user:" + strings.Repeat("y", ref.MaxIDLength+1)
	for _, tt := range []struct {
		line, want string
	}{
		{huge, fmt.Sprintf(`standard input:3: invalid argument: the line is %d bytes long, and no relationship is longer than %d: "account:acme#viewer@user:zzz`, len(huge), transfer.MaxLineBytes)},
		{longID, "standard input:3:21: relationship \"account:acme#viewer@user:yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy...\": invalid argument: user id is 1025 characters long, the limit is 1024"},
	} {
		r := env.RunWith(clitest.Options{Stdin: "account:acme#platform@platform:main\naccount:acme#admin@user:bill\n" + tt.line + "\n"}, "import")
		if r.Code != cmdutil.ExitUsage || !strings.Contains(r.Stderr, tt.want) || len(r.Stderr) > 700 {
			t.Errorf("code %d, %d bytes of stderr: %.400q; want %q", r.Code, len(r.Stderr), r.Stderr, tt.want)
		}
	}
	if n := relationships(t, env); n != 0 {
		t.Fatalf("refused imports wrote %d relationships", n)
	}
}

// Progress: a line rewritten in place on a terminal's standard error while checking and
// writing; when standard error is not a terminal, only the summary.
func TestImportProgress(t *testing.T) {
	t.Parallel()
	text := strings.Join(generated(3000), "\n") + "\n"
	// A clock that advances a second at every reading, so every progress step is shown.
	var mu sync.Mutex
	clock := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tick := func(f *factory.Factory) {
		f.Now = func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			clock = clock.Add(time.Second)
			return clock
		}
	}
	r := clitest.New(t).RunWith(clitest.Options{TTY: true, Stdin: text, Factory: tick}, "import")
	for _, want := range []string{"\rchecked 1000 relationships", "\rchecked 3000 relationships", "\rimported 1000 relationships", "\rimported 3000 relationships", "\r\033[Kimported 3000 relationships in "} {
		if r.Code != 0 || !strings.Contains(r.Stderr, want) {
			t.Errorf("terminal: code %d, stderr %q lacks %q", r.Code, r.Stderr, want)
		}
	}
	r = clitest.New(t).RunWith(clitest.Options{Stdin: text, Factory: tick}, "import")
	if r.Code != 0 || strings.Count(r.Stderr, "\n") != 1 || !strings.HasPrefix(r.Stderr, "imported 3000 relationships in ") || strings.Contains(r.Stderr, "\r") {
		t.Errorf("piped: code %d, stderr %q", r.Code, r.Stderr)
	}
}

func writeFile(t *testing.T, text string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "in.rels")
	if err := os.WriteFile(name, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}
