package auditcmd_test

import (
	"bufio"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
)

const pamViewsCase102 = "" +
	"allowed: user:pam view case:102\n" +
	"  1. [partner organisation] pam is a member of partner:integrator, which account:acme granted look (organisation grant); pam has no individual grant on account:acme; case:102 belongs to account:acme\n"

const peteCannotViewAllCases = "" +
	"denied: user:pete view_all_cases account:acme\n" +
	"  ways to hold it (any one is enough):\n" +
	"  - be an admin of account:acme: missing\n" +
	"  - hold a partner grant at look or above on account:acme: present but did not count\n" +
	"      pete is a member of partner:integrator, which account:acme granted look (organisation grant), but pete's individual grant takes precedence over the organisation grant: account:acme granted pete cc (individual grant)\n" +
	"  - hold a custom role with case read bound on account:acme: missing\n"

func TestExplain(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	tests := []struct {
		name     string
		tty      bool
		args     []string
		want     string
		wantCode int
	}{
		{"allowed on a terminal", true, []string{"explain", "user:pam", "view", "case:102"}, pamViewsCase102, cmdutil.ExitOK},
		{"allowed piped", false, []string{"explain", "user:pam", "view", "case:102"}, pamViewsCase102, cmdutil.ExitOK},
		{"allowed exits 0 with --exit-code", false, []string{"explain", "user:pam", "view", "case:102", "--exit-code"}, pamViewsCase102, cmdutil.ExitOK},
		{"denied on a terminal", true, []string{"explain", "user:pete", "view_all_cases", "account:acme"}, peteCannotViewAllCases, cmdutil.ExitOK},
		{"denied piped, fully consistent", false, []string{"explain", "user:pete", "view_all_cases", "account:acme", "--consistency", "full"}, peteCannotViewAllCases, cmdutil.ExitOK},
		{"denied exits 3 with --exit-code", false, []string{"explain", "user:pete", "view_all_cases", "account:acme", "--exit-code"}, peteCannotViewAllCases, cmdutil.ExitDenied},
		{"a closed case", false, []string{"explain", "user:sally", "update", "case:103"}, "" +
			"denied: user:sally update case:103\n" +
			"  ways to hold it (every one is needed):\n" +
			"  - be someone who may update case:103 while it is open: granted\n" +
			"      sally reported case:103; sally is a standard member of account:acme; case:103 belongs to account:acme\n" +
			"  - case:103 is open: missing\n" +
			"      case:103 is closed\n", cmdutil.ExitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := env.RunWith(clitest.Options{TTY: tt.tty}, tt.args...)
			if r.Stdout != tt.want || r.Stderr != "" || r.Code != tt.wantCode {
				t.Errorf("code %d, stderr %q, stdout:\n%s\nwant code %d, stdout:\n%s", r.Code, r.Stderr, r.Stdout, tt.wantCode, tt.want)
			}
		})
	}
}

func TestExplainJSON(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	r := env.Run("explain", "user:pam", "view", "case:102", "-o", "json", "--exit-code")
	want := `{
  "subject": "user:pam",
  "permission": "view",
  "resource": "case:102",
  "allowed": true,
  "checked_at": "TOKEN",
  "paths": [
    {
      "kind": "partner organisation",
      "text": "pam is a member of partner:integrator, which account:acme granted look (organisation grant); pam has no individual grant on account:acme; case:102 belongs to account:acme",
      "relationships": [
        "partner:integrator#member@user:pam",
        "account:acme#org_look@partner:integrator#member",
        "case:102#account@account:acme"
      ]
    }
  ]
}
`
	if got := clitest.Normalize(r.Stdout); got != want || r.Code != 0 {
		t.Errorf("allowed: code %d, stderr %q, stdout:\n%s\nwant:\n%s", r.Code, r.Stderr, got, want)
	}

	r = env.RunTTY("explain", "user:sally", "update", "case:103", "-o", "json", "--exit-code")
	want = `{
  "subject": "user:sally",
  "permission": "update",
  "resource": "case:103",
  "allowed": false,
  "checked_at": "TOKEN",
  "combine": "all",
  "ways": [
    {
      "expression": "editor",
      "description": "be someone who may update case:103 while it is open",
      "status": "granted",
      "details": [
        "sally reported case:103; sally is a standard member of account:acme; case:103 belongs to account:acme"
      ]
    },
    {
      "expression": "open",
      "description": "case:103 is open",
      "status": "missing",
      "details": [
        "case:103 is closed"
      ]
    }
  ]
}
`
	if got := clitest.Normalize(r.Stdout); got != want || r.Code != cmdutil.ExitDenied {
		t.Errorf("denied: code %d, stderr %q, stdout:\n%s\nwant code 3, stdout:\n%s", r.Code, r.Stderr, got, want)
	}
}

const acmeViewMembers = "" +
	"account:acme#view_members (union)\n" +
	"├── account:acme#admin\n" +
	"│   └── user:bill\n" +
	"└── account:acme#care (union)\n" +
	"    └── platform:main#act_as_customer_care (union)\n" +
	"        └── platform:main#customer_care\n" +
	"            └── user:carol\n"

func TestExpand(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	for _, tty := range []bool{true, false} {
		r := env.RunWith(clitest.Options{TTY: tty}, "expand", "account:acme", "view_members")
		if r.Stdout != acmeViewMembers || r.Code != 0 || r.Stderr != "" {
			t.Errorf("tree (tty %v): code %d, stderr %q, stdout:\n%s\nwant:\n%s", tty, r.Code, r.Stderr, r.Stdout, acmeViewMembers)
		}
	}

	r := env.Run("expand", "account:acme", "view_members", "--format", "dot")
	wantDOT := "" +
		"digraph expand {\n" +
		"  rankdir=LR;\n" +
		"  node [fontname=\"Helvetica\"];\n" +
		"  n0 [label=\"account:acme#view_members (union)\", shape=diamond];\n" +
		"  n1 [label=\"account:acme#admin\", shape=box];\n" +
		"  n2 [label=\"user:bill\", shape=ellipse];\n"
	if !strings.HasPrefix(r.Stdout, wantDOT) || !strings.HasSuffix(r.Stdout, "}\n") || r.Code != 0 {
		t.Errorf("dot: code %d, stderr %q, stdout:\n%s\nwant it to start with:\n%s", r.Code, r.Stderr, r.Stdout, wantDOT)
	}

	r = env.Run("expand", "case:203", "update", "--format", "mermaid")
	wantMermaid := "" +
		"flowchart LR\n" +
		"  n0{\"case:203#35;update (intersection)\"}\n" +
		"  n1{\"case:203#35;editor (union)\"}\n" +
		"  n2{\"case:203#35;active_reporter (intersection)\"}\n" +
		"  n3[\"case:203#35;reporter\"]\n" +
		"  n4([\"user:cara\"])\n"
	if !strings.HasPrefix(r.Stdout, wantMermaid) || r.Code != 0 {
		t.Errorf("mermaid: code %d, stderr %q, stdout:\n%s\nwant it to start with:\n%s", r.Code, r.Stderr, r.Stdout, wantMermaid)
	}

	// -o json is --format json: the tree with its holders.
	asJSON := env.Run("expand", "case:203", "update", "-o", "json")
	formatJSON := env.Run("expand", "case:203", "update", "--format", "json")
	var tree struct {
		Resource, Permission string
		Holders              struct {
			Everyone bool
			Users    []string
		}
	}
	if err := json.Unmarshal([]byte(asJSON.Stdout), &tree); err != nil {
		t.Fatalf("expand -o json: %v\n%s", err, asJSON.Stdout)
	}
	if tree.Resource != "case:203" || tree.Permission != "update" || strings.Join(tree.Holders.Users, " ") != "cara dan sue" || tree.Holders.Everyone {
		t.Errorf("expand -o json: %+v, want case:203 update held by cara dan sue", tree)
	}
	if clitest.Normalize(asJSON.Stdout) != clitest.Normalize(formatJSON.Stdout) {
		t.Errorf("-o json and --format json differ:\n%s\n%s", asJSON.Stdout, formatJSON.Stdout)
	}

	// --full keeps the branches that grant nobody; the pruned tree is part of it.
	full := env.Run("expand", "case:203", "update", "--full")
	pruned := env.Run("expand", "case:203", "update")
	if !strings.Contains(full.Stdout, "(empty)") || strings.Contains(pruned.Stdout, "(empty)") || len(full.Stdout) <= len(pruned.Stdout) {
		t.Errorf("--full:\n%s\npruned:\n%s", full.Stdout, pruned.Stdout)
	}
}

func TestWhoCan(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	r := env.Run("who-can", "case:105", "view")
	want := "" +
		"user:bill\trole:admin\n" +
		"user:finn\tfunctional role\n" +
		"user:joan\tfunctional role\n" +
		"user:leo\tcustom role\n" +
		"user:nina\tfunctional role\n" +
		"user:olga\tfunctional role, reporter\n" +
		"user:pam\tpartner organisation\n" +
		"user:sally\tfunctional role\n" +
		"user:tara\tvendor staff\n"
	if r.Stdout != want || r.Code != 0 || r.Stderr != "" {
		t.Errorf("piped: code %d, stderr %q, stdout:\n%s\nwant:\n%s", r.Code, r.Stderr, r.Stdout, want)
	}

	r = env.RunTTY("who-can", "account:acme", "manage_members")
	want = "" +
		"USER               KINDS\n" +
		"user:bill          role:admin\n"
	if r.Stdout != want || r.Code != 0 {
		t.Errorf("terminal: code %d, stderr %q, stdout:\n%s\nwant:\n%s", r.Code, r.Stderr, r.Stdout, want)
	}

	r = env.Run("who-can", "case:101", "view", "-o", "json")
	var holders []struct {
		User  string
		Kinds []string
		Paths []struct {
			Kind, Text    string
			Relationships []string
		}
	}
	if err := json.Unmarshal([]byte(r.Stdout), &holders); err != nil {
		t.Fatalf("-o json: %v\n%s", err, r.Stdout)
	}
	var users []string
	for _, h := range holders {
		users = append(users, h.User)
		if len(h.Kinds) == 0 || len(h.Paths) == 0 || h.Paths[0].Text == "" || len(h.Paths[0].Relationships) == 0 {
			t.Errorf("holder %s has no kinds or paths: %+v", h.User, h)
		}
	}
	if got := strings.Join(users, " "); got != "user:bill user:leo user:pam user:sally user:tara" {
		t.Errorf("-o json users = %q, want user:bill user:leo user:pam user:sally user:tara", got)
	}

	r = env.Run("who-can", "case:101", "administer", "-o", "json")
	if r.Code != cmdutil.ExitUsage {
		t.Errorf("unknown permission: code %d, stderr %q", r.Code, r.Stderr)
	}
	r = env.Run("who-can", "account:nowhere", "view_all_cases", "-o", "json")
	if r.Stdout != "[]\n" || r.Code != 0 {
		t.Errorf("nobody, as JSON: code %d, stdout %q, stderr %q; want []", r.Code, r.Stdout, r.Stderr)
	}
}

func TestAccessReview(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	r := env.Run("access-review", "account:acme", "--as", "user:bill", "--format", "csv")
	got := clitest.Normalize(r.Stdout)
	for _, line := range []string{
		"section,subject,access,object,expires_at,detail\n" +
			"member,user:bill,role:admin,account:acme,,\n" +
			"member,user:sally,role:standard,account:acme,,\n" +
			"member,user:joan,role:viewer,account:acme,,\n" +
			"member,user:leo,role:viewer,account:acme,,\n" +
			"customer care,user:carol,customer care,platform:main,,\n",
		"partner,partner:integrator,organisation look,account:acme,,members: pam pete\n",
		"vendor staff,user:tara,individual update,account:acme,TIME,\n",
		"data access,partner:reseller,\"support, manage pending customer consent\",account:acme,,members: rita\n",
		"custom role,group:acme_support#member,role:support_lead,account:acme,,privileges: case_read case_write\n",
		"flag,user:tara,expiring,account:acme,,individual grant update on account:acme expires TIME (in 30 days)\n",
		"flag,user:pete,overriding,account:acme,,pete's individual grant cc on account:acme narrows partner:integrator's organisation grant look\n",
		"flag,partner:reseller,one-sided consent,account:acme,,the vendor consented to partner:reseller managing account:acme's data but account:acme has not: its members cannot manage until both do\n",
	} {
		if !strings.Contains(got, line) {
			t.Errorf("CSV lacks:\n%s\ngot:\n%s", line, got)
		}
	}
	if !strings.HasPrefix(got, "section,subject,access,object,expires_at,detail\nmember,user:bill,") || r.Code != 0 || r.Stderr != "" {
		t.Errorf("CSV: code %d, stderr %q, stdout:\n%s", r.Code, r.Stderr, got)
	}

	// --expiring-within 0 turns the expiry flag off.
	r = env.Run("access-review", "account:acme", "--as", "user:bill", "--format", "csv", "--expiring-within", "0")
	if strings.Contains(r.Stdout, ",expiring,") || !strings.Contains(r.Stdout, ",overriding,") {
		t.Errorf("--expiring-within 0:\n%s", r.Stdout)
	}

	// Piped table: tab-separated rows, no header.
	r = env.Run("access-review", "account:acme", "--as", "user:carol")
	if !strings.HasPrefix(r.Stdout, "member\tuser:bill\trole:admin\taccount:acme\t\t\n") || strings.Contains(r.Stdout, "SECTION") {
		t.Errorf("piped table:\n%s", r.Stdout)
	}
	// Terminal: the package's text, with its title and header.
	r = env.RunTTY("access-review", "account:acme", "--as", "user:bill")
	if !strings.HasPrefix(clitest.Normalize(r.Stdout), "Access review of account:acme at TIME\nSECTION ") {
		t.Errorf("terminal:\n%s", r.Stdout)
	}
	// JSON: every section.
	r = env.Run("access-review", "account:valley", "--as", "user:dan", "-o", "json")
	var review map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.Stdout), &review); err != nil {
		t.Fatalf("-o json: %v\n%s", err, r.Stdout)
	}
	for _, key := range []string{"account", "members", "partners", "super_customers", "flags"} {
		if _, ok := review[key]; !ok {
			t.Errorf("-o json lacks %q:\n%s", key, r.Stdout)
		}
	}
	if !strings.Contains(string(review["super_customers"]), `"user": "sue"`) {
		t.Errorf("valley's super customer sue is missing: %s", review["super_customers"])
	}

	r = env.Run("access-review", "account:acme", "--as", "user:sally")
	if r.Code != cmdutil.ExitError || r.Stderr != "error: permission denied: user:sally lacks view_members on account:acme\n" {
		t.Errorf("a standard member's review: code %d, stderr %q", r.Code, r.Stderr)
	}
}

func TestHistory(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	request := env.Must("member", "request", "account:acme", "viewer", "--as", "user:hank", "--reason", "new hire")
	env.Must("member", "approve", "account:acme", "user:hank", "--as", "user:bill", "--reason", "known contact")

	r := env.Run("history", "--object", "user:hank")
	want := "" +
		"TIME  user:hank  member.request  \"new hire\"\n" +
		"    touch  account:acme#join_request_viewer@user:hank (expires TIME)\n" +
		"TIME  user:bill  member.approve  \"known contact\"\n" +
		"    delete account:acme#join_request_viewer@user:hank (expires TIME)\n" +
		"    touch  account:acme#viewer@user:hank\n"
	if got := clitest.Normalize(r.Stdout); got != want || r.Code != 0 || r.Stderr != "" {
		t.Errorf("--object: code %d, stderr %q, stdout:\n%s\nwant:\n%s", r.Code, r.Stderr, got, want)
	}

	// The object filter keeps only the relationships touching the object.
	r = env.Run("history", "--object", "account:acme", "--actor", "user:hank")
	want = "" +
		"TIME  user:hank  member.request  \"new hire\"\n" +
		"    touch  account:acme#join_request_viewer@user:hank (expires TIME)\n"
	if got := clitest.Normalize(r.Stdout); got != want {
		t.Errorf("--actor: stdout:\n%s\nwant:\n%s", got, want)
	}

	// After the request's revision: only the approval.
	since := strings.TrimSpace(request.Stdout)
	r = env.Run("history", "--object", "user:hank", "--since", since, "-o", "json")
	jsonLines := lines(r.Stdout)
	if len(jsonLines) != 1 {
		t.Fatalf("--since: %d lines, want 1:\n%s", len(jsonLines), r.Stdout)
	}
	var c struct {
		Revision, Actor, Reason, Operation string
		TimeFromRevision                   bool `json:"time_from_revision"`
		Updates                            []struct{ Operation, Relationship string }
	}
	if err := json.Unmarshal([]byte(jsonLines[0]), &c); err != nil {
		t.Fatal(err)
	}
	if c.Actor != "user:bill" || c.Operation != "member.approve" || c.Reason != "known contact" || c.Revision == "" || !c.TimeFromRevision ||
		len(c.Updates) != 2 || c.Updates[1].Relationship != "account:acme#viewer@user:hank" {
		t.Errorf("--since -o json: %+v", c)
	}

	// The whole replay starts with the demo's bootstrap.
	r = env.Run("history")
	if !strings.HasPrefix(clitest.Normalize(r.Stdout), "TIME  user:vera  platform.bootstrap  \"demo: vendor administrator\"\n    touch  platform:main#administrator@user:vera\n") {
		t.Errorf("full history starts with:\n%s", r.Stdout[:min(len(r.Stdout), 300)])
	}
}

func TestHistoryFollow(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	out := newStreamBuffer()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan clitest.Result)
	go func() {
		done <- env.RunWith(clitest.Options{Ctx: ctx, Stdout: out}, "history", "--follow", "--object", "account:valley")
	}()

	// Follow starts from now: request and deny again until a request shows.
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; !out.has("member.request"); i++ {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no change followed; output so far:\n%s", out.String())
		}
		if i%10 == 0 {
			env.Must("member", "request", "account:valley", "viewer", "--as", "user:carl", "--reason", "following")
			env.Must("member", "deny", "account:valley", "user:carl", "--as", "user:dan")
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	r := <-done
	if r.Code != 0 || r.Stderr != "" {
		t.Errorf("--follow ended with code %d, stderr %q", r.Code, r.Stderr)
	}
	if got := clitest.Normalize(out.String()); !strings.Contains(got, "TIME  user:carl  member.request  \"following\"\n    touch  account:valley#join_request_viewer@user:carl (expires TIME)\n") {
		t.Errorf("followed:\n%s", got)
	}
}

// Mistakes are usage errors found before any server call.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	env := clitest.Offline(t) // no engine: these must fail before connecting
	tests := []struct {
		args       []string
		wantStderr string
	}{
		{[]string{"explain", "usr:sally", "view", "case:101"},
			"error: invalid argument: unknown object type \"usr\" (known: user, platform, feature, group, partner, service_org, role, account, sold_product, install_base, case)\nRun 'accessctl explain --help' for usage.\n"},
		{[]string{"explain", "user:sally", "viw", "case:101", "--exit-code"},
			"error: case has no permission \"viw\"; did you mean \"view\"?\nRun 'accessctl explain --help' for usage.\n"},
		{[]string{"explain", "user:sally", "view"},
			"error: accessctl explain: missing RESOURCE (usage: accessctl explain SUBJECT PERMISSION RESOURCE [flags])\nRun 'accessctl explain --help' for usage.\n"},
		{[]string{"explain", "user:sally", "view", "case:101", "--consistency", "eventual"},
			"error: invalid argument: unknown consistency \"eventual\" (fresh, at-least, full, fastest)\nRun 'accessctl explain --help' for usage.\n"},
		{[]string{"expand", "case", "view"},
			"error: invalid argument: \"case\" is not a reference: write TYPE:ID, for example user:sally\nRun 'accessctl expand --help' for usage.\n"},
		{[]string{"expand", "case:101", "view", "--format", "svg"},
			"error: --format \"svg\": use tree, json, dot, mermaid\nRun 'accessctl expand --help' for usage.\n"},
		{[]string{"expand", "case:101", "view", "--format", "dot", "-o", "json"},
			"error: -o json and --format dot disagree: give one of them\nRun 'accessctl expand --help' for usage.\n"},
		{[]string{"who-can", "case:101", "veiw"},
			"error: case has no permission \"veiw\"; did you mean \"view\"?\nRun 'accessctl who-can --help' for usage.\n"},
		{[]string{"access-review", "account:acme"},
			"error: --as is required: a review is run by a named user who may view the account's members, for example --as user:bill\nRun 'accessctl access-review --help' for usage.\n"},
		{[]string{"access-review", "partner:integrator", "--as", "user:bill"},
			"error: invalid argument: partner:integrator is a partner; a account is needed here\nRun 'accessctl access-review --help' for usage.\n"},
		{[]string{"access-review", "account:acme", "--as", "user:bill", "--format", "xlsx"},
			"error: --format \"xlsx\": use table, csv, json\nRun 'accessctl access-review --help' for usage.\n"},
		{[]string{"access-review", "account:acme", "--as", "user:bill", "--expiring-within", "-1h"},
			"error: --expiring-within -1h0m0s is negative: give a duration such as 720h, or 0 for no expiry flags\nRun 'accessctl access-review --help' for usage.\n"},
		{[]string{"history", "--object", "pete"},
			"error: --object: invalid argument: \"pete\" is not a reference: write TYPE:ID, for example user:sally\nRun 'accessctl history --help' for usage.\n"},
		{[]string{"history", "--actor", "partner:integrator"},
			"error: --actor: invalid argument: partner:integrator is a partner; a user is needed here (or system:expiry for the expiry sweep)\nRun 'accessctl history --help' for usage.\n"},
		{[]string{"history", "--datastore", "memory"},
			"error: --datastore: the audit log lives in a PostgreSQL or CockroachDB database; give a postgres:// or cockroachdb:// URI\nRun 'accessctl history --help' for usage.\n"},
		{[]string{"history", "--datastore", "mysql://db/audit"},
			"error: --datastore: unknown datastore \"mysql://db/audit\": use file:DIR (durable, in this process), memory, postgres://USER@HOST:PORT/DB or cockroachdb://USER@HOST:PORT/DB\nRun 'accessctl history --help' for usage.\n"},
		{[]string{"audit", "consume"},
			"error: --datastore is required: the audit log lives in a PostgreSQL or CockroachDB database (postgres://... or cockroachdb://...)\nRun 'accessctl audit consume --help' for usage.\n"},
		{[]string{"audit", "consume", "--datastore", "postgres://db/audit", "--log-level", "loud"},
			"error: --log-level \"loud\": use debug, info, warn or error\nRun 'accessctl audit consume --help' for usage.\n"},
		{[]string{"audit", "consme"},
			"error: unknown command \"consme\" for \"accessctl audit\"; did you mean \"consume\"?\nRun 'accessctl audit --help' for usage.\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			r := env.Run(tt.args...)
			if r.Code != cmdutil.ExitUsage || r.Stdout != "" || r.Stderr != tt.wantStderr {
				t.Errorf("code %d, stdout %q, stderr:\n%s\nwant code 2, stderr:\n%s", r.Code, r.Stdout, r.Stderr, tt.wantStderr)
			}
		})
	}
}

func TestCompletion(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"__complete", "explain", "us"}, []string{"user:"}},
		{[]string{"__complete", "explain", "user:pam", "view_all"}, []string{"view_all_cases"}},
		{[]string{"__complete", "explain", "user:pam", "view", "ca"}, []string{"case:"}},
		{[]string{"__complete", "expand", "account:"}, []string{"account:acme", "account:valley"}},
		{[]string{"__complete", "expand", "account:acme", "view_m"}, []string{"view_members"}},
		{[]string{"__complete", "expand", "case:101", "view", "--format", ""}, []string{"tree", "json", "dot", "mermaid"}},
		{[]string{"__complete", "who-can", "case:101", "up"}, []string{"update"}},
		{[]string{"__complete", "access-review", "account:"}, []string{"account:acme", "account:valley"}},
		{[]string{"__complete", "access-review", "account:acme", "--format", ""}, []string{"table", "csv", "json"}},
		{[]string{"__complete", "history", "--object", "acc"}, []string{"account:"}},
		{[]string{"__complete", "history", "--object", "case:10"}, []string{"case:101", "case:102"}},
		{[]string{"__complete", "history", "--actor", "sys"}, []string{"system:expiry"}},
		{[]string{"__complete", "audit", ""}, []string{"consume"}},
	}
	for _, tt := range tests {
		r := env.Run(tt.args...)
		for _, w := range tt.want {
			if !strings.Contains("\n"+r.Stdout, "\n"+w+"\n") && !strings.Contains("\n"+r.Stdout, "\n"+w+"\t") {
				t.Errorf("%v: completions lack %q:\n%s", tt.args[1:], w, r.Stdout)
			}
		}
	}
}

// streamBuffer is standard output that a test reads while the command still writes.
type streamBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func newStreamBuffer() *streamBuffer { return &streamBuffer{} }

func (s *streamBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *streamBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *streamBuffer) has(text string) bool { return strings.Contains(s.String(), text) }

// lines splits JSON Lines output.
func lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// who-can names its users as lookup subjects and every other listing do (user:ID), on
// every resource and permission of the demo's cases and account: the first column of each
// line is exactly one of lookup subjects' lines.
func TestWhoCanNamesUsersAsListingsDo(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	questions := [][2]string{{"account:acme", "view_all_cases"}, {"account:acme", "view_members"}, {"account:acme", "manage_partners"}}
	for _, c := range []string{"101", "102", "103", "105", "201"} {
		questions = append(questions, [2]string{"case:" + c, "view"}, [2]string{"case:" + c, "update"})
	}
	users := 0
	for _, q := range questions {
		lookup := env.Must("lookup", "subjects", q[0], q[1], "user")
		want := strings.Split(strings.TrimSpace(lookup.Stdout), "\n")
		slices.Sort(want) // lookup subjects answers in SpiceDB's order; who-can in user id order
		r := env.Must("who-can", q[0], q[1])
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
			user, _, _ := strings.Cut(line, "\t")
			got = append(got, user)
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("who-can %s %s names %v; lookup subjects names %v", q[0], q[1], got, want)
		}
		users += len(got)
	}
	if users < 30 {
		t.Errorf("only %d holders over every question", users)
	}
}
