package serve_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
	"github.com/accessgraph/accessgraph/pkg/client"
)

// historyJSON lists the server's history through the CLI, as JSON Lines.
func historyJSON(t *testing.T, env *clitest.Env, args ...string) []audit.Change {
	t.Helper()
	r := env.Must(append([]string{"history", "-o", "json"}, args...)...)
	var out []audit.Change
	for line := range strings.Lines(r.Stdout) {
		var c struct {
			Revision      string `json:"revision"`
			Actor         string `json:"actor"`
			Operation     string `json:"operation"`
			ChainPosition int64  `json:"chain_position"`
			Updates       []struct {
				Operation    string `json:"operation"`
				Relationship string `json:"relationship"`
			} `json:"updates"`
		}
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatalf("%v: %q", err, line)
		}
		ch := audit.Change{Revision: access.Token(c.Revision), Actor: c.Actor, Operation: c.Operation, ChainPosition: c.ChainPosition}
		for _, u := range c.Updates {
			ch.Updates = append(ch.Updates, audit.Update{Operation: u.Operation, Relationship: u.Relationship})
		}
		out = append(out, ch)
	}
	return out
}

// waitLoggedCLI waits until every change history lists is in the durable log.
func waitLoggedCLI(t *testing.T, env *clitest.Env) []audit.Change {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; {
		changes := historyJSON(t, env)
		if len(changes) > 0 && !slices.ContainsFunc(changes, func(c audit.Change) bool { return c.ChainPosition == 0 }) {
			return changes
		}
		if time.Now().After(deadline) {
			t.Fatal("the audit log did not catch up within 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// accountOracle is, independently of the order of changes, every object an account ever
// owned: the objects its ownership relationships (account#partner_link, #role_binding,
// #partner_managed_case; case, sold product, install base #account and #sold_product) name,
// to a fixed point.
func accountOracle(changes []audit.Change, account string) map[string]bool {
	owned := map[string]bool{account: true}
	for grew := true; grew; {
		grew = false
		for _, c := range changes {
			for _, u := range c.Updates {
				res, rest, _ := strings.Cut(u.Relationship, "#")
				rel, sub, _ := strings.Cut(rest, "@")
				if strings.Contains(sub, "#") {
					continue
				}
				resType, _, _ := strings.Cut(res, ":")
				subType, _, _ := strings.Cut(sub, ":")
				switch {
				case owned[res] && resType == "account" && (subType == "partner_link" || subType == "role_binding" || subType == "case") && !owned[sub]:
					owned[sub], grew = true, true
				case owned[sub] && (rel == "account" || rel == "sold_product") && (resType == "case" || resType == "sold_product" || resType == "install_base") && !owned[res]:
					if resType == "sold_product" && rel != "account" {
						continue
					}
					owned[res], grew = true, true
				}
			}
		}
	}
	return owned
}

// The ledger's views through the CLI and the domain API: history read a page at a time
// equals history read whole, for every page size; --account keeps exactly what touched the
// account and what it owns; -o csv exports one row per relationship; --limit stops and says
// how to continue; --at-revision answers just after a change; access-diff names what
// changed in an account's access; history verify compares the stored relationships.
func TestLedgerViewsThroughTheCLI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env, p, _ := serveDemo(t)
	before := waitLoggedCLI(t, env)
	t0 := time.Now()
	time.Sleep(20 * time.Millisecond)
	env.Must("member", "request", "account:acme", "viewer", "--as", "user:hank", "--reason", "=cmd|' /C calc'!A0")
	env.Must("member", "approve", "account:acme", "user:hank", "--as", "user:bill", "--reason", "known contact")
	all := waitLoggedCLI(t, env)
	if len(all) < len(before)+2 || len(all) < 10 {
		t.Fatalf("history holds %d changes after the approval (%d before)", len(all), len(before))
	}

	// Pages.
	revisions := func(cs []audit.Change) []access.Token {
		out := make([]access.Token, len(cs))
		for i, c := range cs {
			out[i] = c.Revision
		}
		return out
	}
	for _, size := range []int{1, 2, 3, 7, len(all) - 1, len(all), len(all) + 1, 0} {
		c, err := client.New(p.APIURL, p.Token, client.WithHistoryPage(size))
		if err != nil {
			t.Fatal(err)
		}
		var got []audit.Change
		for ch, err := range c.History(ctx, audit.HistoryFilter{}) {
			if err != nil {
				t.Fatalf("page size %d: %v", size, err)
			}
			got = append(got, ch)
		}
		if !slices.Equal(revisions(got), revisions(all)) {
			t.Fatalf("page size %d: %d changes %v, want %d %v", size, len(got), revisions(got), len(all), revisions(all))
		}
	}
	for _, size := range []int{-1, 1 << 30} {
		c, _ := client.New(p.APIURL, p.Token, client.WithHistoryPage(size))
		for _, err := range c.History(ctx, audit.HistoryFilter{}) {
			if !errors.Is(err, access.ErrInvalidArgument) {
				t.Fatalf("page size %d: %v, want an invalid argument", size, err)
			}
			break
		}
	}

	// --account, against an oracle that ignores the order of changes.
	for _, account := range []string{"acme", "valley", "nosuchaccount"} {
		owned := accountOracle(all, "account:"+account)
		var want []string
		for _, c := range all {
			for _, u := range c.Updates {
				res, rest, _ := strings.Cut(u.Relationship, "#")
				_, sub, _ := strings.Cut(rest, "@")
				sub, _, _ = strings.Cut(sub, "#")
				if owned[res] || owned[sub] {
					want = append(want, string(c.Revision)+" "+u.Operation+" "+u.Relationship)
				}
			}
		}
		var got []string
		for _, c := range historyJSON(t, env, "--account", account) {
			for _, u := range c.Updates {
				got = append(got, string(c.Revision)+" "+u.Operation+" "+u.Relationship)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("history --account %s:\n got %d: %q\nwant %d: %q", account, len(got), got, len(want), want)
		}
		if account != "nosuchaccount" && len(want) < 5 {
			t.Errorf("the oracle finds only %d updates for %s", len(want), account)
		}
	}
	env.Expect(cmdutil.ExitUsage, "--object and --account", "history", "--account", "acme", "--object", "user:hank")

	// -o csv: a header, one row per relationship, a formula-like reason defused.
	r := env.Must("history", "--account", "acme", "-o", "csv")
	rows, err := csv.NewReader(strings.NewReader(r.Stdout)).ReadAll()
	if err != nil {
		t.Fatalf("history -o csv is not CSV: %v\n%s", err, r.Stdout)
	}
	if !slices.Equal(rows[0], audit.ChangeCSVHeader) {
		t.Fatalf("CSV header %q", rows[0])
	}
	defused := false
	for _, row := range rows[1:] {
		if len(row) != len(audit.ChangeCSVHeader) {
			t.Fatalf("CSV row %q", row)
		}
		if strings.HasPrefix(row[7], "=") {
			t.Fatalf("a reason a spreadsheet runs as a formula: %q", row[7])
		}
		defused = defused || row[7] == "'=cmd|' /C calc'!A0"
	}
	if !defused {
		t.Fatalf("the request's reason is not in the CSV:\n%s", r.Stdout)
	}

	// --limit.
	r = env.Must("history", "--limit", "3", "-o", "json")
	if n := strings.Count(r.Stdout, "\n"); n != 3 || !strings.Contains(r.Stderr, "--since "+string(all[2].Revision)) {
		t.Fatalf("history --limit 3: %d lines, stderr %q", n, r.Stderr)
	}

	// --at-revision, just before and just after the approval.
	approval := slices.IndexFunc(all, func(c audit.Change) bool { return c.Operation == "member.approve" })
	if approval < 1 {
		t.Fatalf("no approval in %v", all)
	}
	env.Expect(cmdutil.ExitDenied, "", "check", "user:hank", "member", "account:acme", "--exit-code", "--at-revision", string(all[approval-1].Revision))
	env.Must("check", "user:hank", "member", "account:acme", "--at-revision", string(all[approval].Revision))
	env.Expect(cmdutil.ExitUsage, "give one", "check", "user:hank", "member", "account:acme", "--at-revision", string(all[approval].Revision), "--at", "1h")
	env.Expect(cmdutil.ExitError, "not in the audit log", "who-can", "account:acme", "member", "--at-revision", "no-such-revision")

	// As of a time, through every command that takes --at, with a real time: before the
	// approval hank is nowhere; after it he is everywhere, and --provenance names the
	// approval (when, by whom, why) behind his membership.
	after := time.Now().UTC().Format(time.RFC3339Nano)
	before0 := t0.UTC().Format(time.RFC3339Nano)
	for _, tc := range []struct {
		at   string
		want bool
	}{{before0, false}, {after, true}} {
		has := func(cmd string, out string) {
			t.Helper()
			if strings.Contains(out, "hank") != tc.want {
				t.Fatalf("%s --at %s: mentions hank %v, want %v:\n%s", cmd, tc.at, !tc.want, tc.want, out)
			}
		}
		has("expand", env.Must("expand", "account:acme", "member", "--at", tc.at).Stdout)
		has("lookup subjects", env.Must("lookup", "subjects", "account:acme", "member", "user", "--at", tc.at).Stdout)
		has("who-can", env.Must("who-can", "account:acme", "member", "--at", tc.at, "--provenance").Stdout)
		if lr := env.Must("lookup", "resources", "user:hank", "member", "account", "--at", tc.at).Stdout; strings.Contains(lr, "acme") != tc.want {
			t.Fatalf("lookup resources --at %s: finds acme %v, want %v:\n%s", tc.at, !tc.want, tc.want, lr)
		}
		x := env.Run("explain", "user:hank", "member", "account:acme", "--at", tc.at, "--provenance")
		if strings.Contains(x.Stdout, "known contact") != tc.want || strings.Contains(x.Stdout, "member.approve") != tc.want {
			t.Fatalf("explain --at %s --provenance names the approval %v, want %v:\n%s%s", tc.at, !tc.want, tc.want, x.Stdout, x.Stderr)
		}
	}
	w := env.Must("who-can", "account:acme", "member", "--at", after, "--provenance")
	// hank's block: his line and the indented lines under it.
	hankBlock, in := "", false
	for line := range strings.Lines(w.Stdout) {
		if !strings.HasPrefix(line, " ") {
			in = strings.HasPrefix(line, "user:hank")
		}
		if in {
			hankBlock += line
		}
	}
	if !strings.Contains(hankBlock, "account:acme#viewer@user:hank") || !strings.Contains(hankBlock, "by user:bill") || !strings.Contains(hankBlock, `member.approve "known contact"`) {
		t.Fatalf("who-can --at --provenance does not name bill's approval behind hank:\n%s", w.Stdout)
	}

	// access-diff.
	r = env.Must("access-diff", "account:acme", "--as", "user:bill", "--from", t0.UTC().Format(time.RFC3339Nano), "-o", "csv")
	rows, err = csv.NewReader(strings.NewReader(r.Stdout)).ReadAll()
	if err != nil || !slices.Equal(rows[0], []string{"section", "key", "change", "before", "after"}) {
		t.Fatalf("access-diff -o csv: %v\n%s", err, r.Stdout)
	}
	if !slices.ContainsFunc(rows[1:], func(row []string) bool {
		return row[0] == "member" && row[1] == "hank" && row[2] == "added" && row[4] == "viewer"
	}) {
		t.Fatalf("access-diff does not show hank added as a viewer:\n%s", r.Stdout)
	}
	env.Expect(cmdutil.ExitUsage, "--from is required", "access-diff", "account:acme", "--as", "user:bill")

	// verify compares the stored relationships.
	if r := env.Must("history", "verify"); !strings.Contains(r.Stdout, "relationships: ") {
		t.Fatalf("history verify says nothing of the stored relationships:\n%s", r.Stdout)
	}
}
