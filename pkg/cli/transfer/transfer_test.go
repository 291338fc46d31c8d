package transfer_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
)

// Export, import into an empty store, export again: the same relationships. Importing the
// same file a second time changes nothing (TOUCH batches).
func TestExportImportRoundTrip(t *testing.T) {
	t.Parallel()
	src := clitest.NewDemo(t)
	file := filepath.Join(t.TempDir(), "demo.rels")
	r := src.Run("export", "--file", file)
	if r.Code != 0 || r.Stdout != "" || !strings.HasPrefix(r.Stderr, "exported ") {
		t.Fatalf("export: code %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	first := src.Run("export").Stdout
	if !strings.Contains(first, "account:acme#individual_update@user:tara[expiration:") {
		t.Errorf("the export lost the consultant's expiry")
	}
	if !strings.Contains(first, "case:101#open@user:*\n") {
		t.Errorf("the export lost the open status of case 101")
	}

	dst := clitest.New(t)
	r = dst.Run("import", "--file", file)
	n := strings.Count(first, "\n") - 2 // the header and the trailer
	if r.Code != 0 || !strings.HasPrefix(r.Stderr, "imported ") || !strings.Contains(r.Stderr, "imported "+itoa(n)+" relationships") {
		t.Fatalf("import: code %d, stderr %q (want %d relationships)", r.Code, r.Stderr, n)
	}
	exported, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if withoutHeader(string(exported)) != withoutHeader(first) {
		t.Errorf("two exports of an unchanged store differ:\n%s", lineDiff(withoutHeader(string(exported)), withoutHeader(first)))
	}
	if got := dst.Run("export").Stdout; withoutHeader(got) != withoutHeader(string(exported)) {
		t.Errorf("the imported store differs from the exported one:\n%s", lineDiff(withoutHeader(string(exported)), withoutHeader(got)))
	}

	r = dst.Run("import", "--file", file, "--as", "user:vera")
	want := "error: import into a non-empty store needs confirmation: pass --yes when not running interactively\nRun 'accessctl import --help' for usage.\n"
	if r.Code != cmdutil.ExitUsage || r.Stderr != want {
		t.Errorf("import into a non-empty store: code %d, stderr %q", r.Code, r.Stderr)
	}
	r = dst.RunWith(clitest.Options{Stdin: first}, "import", "--yes", "--as", "user:vera")
	if r.Code != 0 {
		t.Fatalf("re-import: code %d, stderr %q", r.Code, r.Stderr)
	}
	if got := dst.Run("export").Stdout; withoutHeader(got) != withoutHeader(first) {
		t.Errorf("re-importing changed the store:\n%s", lineDiff(withoutHeader(first), withoutHeader(got)))
	}
	// The imported portal works like the original.
	if c := dst.Run("check", "user:sue", "view", "case:203", "--exit-code"); c.Code != 0 {
		t.Errorf("after import, sue cannot view case:203: %q", c.Stderr)
	}
}

// Import writes around the domain rules, so it is authorised like relationship write: only a
// platform administrator imports into a store that holds data, and an import that is refused
// changes nothing.
func TestImportIsAuthorised(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	before := env.Run("export").Stdout
	promote := "account:acme#admin@user:joan\n"
	for _, tt := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"import", "--yes"}, cmdutil.ExitUsage, "needs --as USER, a platform administrator"},
		{[]string{"import", "--yes", "--as", "user:joan"}, cmdutil.ExitError, "permission denied: user:joan lacks administer on platform:main"},
		{[]string{"import", "--yes", "--as", "user:bill"}, cmdutil.ExitError, "permission denied: user:bill lacks administer on platform:main"},
		{[]string{"import", "--yes", "--as", "user:nobody"}, cmdutil.ExitError, "permission denied: user:nobody lacks administer on platform:main"},
	} {
		r := env.RunWith(clitest.Options{Stdin: promote}, tt.args...)
		if r.Code != tt.code || !strings.Contains(r.Stderr, tt.err) {
			t.Errorf("%v: code %d, stderr %q; want %d, %q", tt.args, r.Code, r.Stderr, tt.code, tt.err)
		}
	}
	if env.Run("export").Stdout != before {
		t.Fatal("a refused import changed the store")
	}
	if r := env.RunWith(clitest.Options{Stdin: promote}, "import", "--yes", "--as", "user:vera"); r.Code != 0 {
		t.Fatalf("platform administrator: code %d, stderr %q", r.Code, r.Stderr)
	}
	// An empty store has nobody to authorise: --as is refused there.
	empty := clitest.New(t)
	if r := empty.RunWith(clitest.Options{Stdin: promote}, "import", "--as", "user:joan"); r.Code != cmdutil.ExitUsage || !strings.Contains(r.Stderr, "the store is empty") {
		t.Errorf("empty store with --as: code %d, stderr %q", r.Code, r.Stderr)
	}
}

func TestImportReportsTheLine(t *testing.T) {
	t.Parallel()
	env := clitest.New(t)
	stdin := "# two good lines, then a bad one\naccount:acme#platform@platform:main\naccount:acme#admin@user:bill\nacount:acme#admin@user:bill\n"
	r := env.RunWith(clitest.Options{Stdin: stdin}, "import")
	if r.Code != cmdutil.ExitUsage || !strings.Contains(r.Stderr, "error: standard input:4:1: relationship \"acount:acme#admin@user:bill\": invalid argument: unknown object type \"acount\"") || !strings.Contains(r.Stderr, "(nothing was imported)") {
		t.Errorf("code %d, stderr %q", r.Code, r.Stderr)
	}
}

func TestExportJSON(t *testing.T) {
	t.Parallel()
	env := clitest.New(t)
	r := env.RunWith(clitest.Options{Stdin: "account:acme#platform@platform:main\n"}, "import")
	if r.Code != 0 {
		t.Fatal(r.Stderr)
	}
	if r := env.Run("export"); !regexp.MustCompile(`^# accessgraph export v1 revision=\S+ schema-sha256=[0-9a-f]{64}\naccount:acme#platform@platform:main\n# end relationships=1 sha256=[0-9a-f]{64}\n$`).MatchString(r.Stdout) {
		t.Errorf("export:\n%s", r.Stdout)
	}
	r = env.Run("export", "-o", "json")
	want := `[
  {"relationship":"account:acme#platform@platform:main","resource":"account:acme","relation":"platform","subject":"platform:main","expires_at":null}
]
`
	if r.Stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.Stdout, want)
	}
}

// withoutHeader drops an export's header line, whose revision differs between stores.
func withoutHeader(export string) string {
	if !strings.HasPrefix(export, "# accessgraph export v1 ") {
		return "no header in:\n" + export
	}
	_, rest, _ := strings.Cut(export, "\n")
	return rest
}

// lineDiff lists the lines only in want (-) and only in got (+), or says the two differ in
// order only.
func lineDiff(want, got string) string {
	count := map[string]int{}
	for _, l := range strings.Split(want, "\n") {
		count[l]++
	}
	for _, l := range strings.Split(got, "\n") {
		count[l]--
	}
	var out []string
	for l, n := range count {
		switch {
		case n > 0:
			out = append(out, "- "+l)
		case n < 0:
			out = append(out, "+ "+l)
		}
	}
	if len(out) == 0 {
		return "the same lines in another order"
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}

func itoa(n int) string {
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	if s == "" {
		return "0"
	}
	return s
}
