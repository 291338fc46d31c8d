package query_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
)

// A check on an object that no relationship names still answers "denied" (nobody holds
// anything on it) with the usual exit codes, and says on standard error which object does
// not exist, so a mistyped id does not pass for a real refusal. Known objects that are
// denied get no note.
func TestCheckSaysWhichObjectDoesNotExist(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	type question struct{ subject, permission, resource string }
	known := []question{
		{"user:joan", "view_all_cases", "account:acme"},
		{"user:pete", "view", "case:101"},
		{"user:sue", "view", "case:204"},
		{"partner:integrator#member", "view", "case:201"},
	}
	// Each known, denied question with its subject, its resource or both replaced by ids
	// one edit away from the real ones.
	typo := func(ref string) string {
		typ, id, _ := strings.Cut(ref, ":")
		id, rel, _ := strings.Cut(id, "#")
		out := typ + ":" + id + "x"
		if rel != "" {
			out += "#" + rel
		}
		return out
	}
	object := func(subject string) string { s, _, _ := strings.Cut(subject, "#"); return s }
	cases := 0
	for _, q := range known {
		r := env.Run("check", q.subject, q.permission, q.resource, "--exit-code")
		if r.Code != cmdutil.ExitDenied || r.Stdout != "denied\n" || r.Stderr != "" {
			t.Fatalf("%v: code %d, stdout %q, stderr %q; want a plain denied", q, r.Code, r.Stdout, r.Stderr)
		}
		for _, v := range []struct {
			q       question
			unknown []string
		}{
			{question{typo(q.subject), q.permission, q.resource}, []string{object(typo(q.subject))}},
			{question{q.subject, q.permission, typo(q.resource)}, []string{typo(q.resource)}},
			{question{typo(q.subject), q.permission, typo(q.resource)}, []string{object(typo(q.subject)), typo(q.resource)}},
		} {
			cases++
			var notes string
			for _, o := range v.unknown {
				notes += fmt.Sprintf("note: %s does not exist: no relationship names it (is the id right?)\n", o)
			}
			r := env.Run("check", v.q.subject, v.q.permission, v.q.resource, "--exit-code")
			if r.Code != cmdutil.ExitDenied || r.Stdout != "denied\n" || r.Stderr != notes {
				t.Errorf("%v: code %d, stdout %q, stderr %q; want exit 3, denied and %q", v.q, r.Code, r.Stdout, r.Stderr, notes)
			}
			r = env.Run("check", v.q.subject, v.q.permission, v.q.resource)
			if r.Code != 0 || r.Stdout != "denied\n" {
				t.Errorf("%v without --exit-code: code %d, stdout %q", v.q, r.Code, r.Stdout)
			}
			r = env.Run("check", v.q.subject, v.q.permission, v.q.resource, "-o", "json")
			var res struct{ Unknown []string }
			if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil || strings.Join(res.Unknown, " ") != strings.Join(v.unknown, " ") {
				t.Errorf("%v -o json: unknown %v (%v); want %v\n%s", v.q, res.Unknown, err, v.unknown, r.Stdout)
			}
		}
	}

	// check --file: one note per unknown object, however many lines name it.
	file := "user:ghost view case:101\nuser:ghost view case:102\nuser:pete view case:101\nuser:bill view case:101\nuser:bill view case:999\n"
	r := env.RunWith(clitest.Options{Stdin: file}, "check", "--file", "-", "--exit-code")
	wantOut := "user:ghost\tview\tcase:101\tdenied\nuser:ghost\tview\tcase:102\tdenied\nuser:pete\tview\tcase:101\tdenied\nuser:bill\tview\tcase:101\tallowed\nuser:bill\tview\tcase:999\tdenied\n"
	wantErr := "note: user:ghost does not exist: no relationship names it (is the id right?)\nnote: case:999 does not exist: no relationship names it (is the id right?)\n"
	if r.Code != cmdutil.ExitDenied || r.Stdout != wantOut || r.Stderr != wantErr {
		t.Errorf("--file: code %d, stdout:\n%s\nstderr:\n%s\nwant:\n%s%s", r.Code, r.Stdout, r.Stderr, wantOut, wantErr)
	}
	if cases < 12 {
		t.Errorf("only %d cases", cases)
	}
}
