package root_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
	"github.com/accessgraph/accessgraph/pkg/cli/root"
	"github.com/accessgraph/accessgraph/pkg/ref"
	"github.com/accessgraph/accessgraph/pkg/spice"
)

// objectArgs are the placeholders of usage lines that stand for an object reference.
var objectArgs = map[string]bool{
	"SUBJECT": true, "RESOURCE": true, "OBJECT": true, "ACCOUNT": true, "USER": true, "CASE": true,
	"PARTNER": true, "GRANTEE": true, "PARTY": true, "GROUP": true, "CHILD": true, "PARENT": true,
	"FEATURE": true, "INSTALL_BASE": true, "SOLD_PRODUCT": true, "SERVICE_ORG": true,
}

// complete runs a completion request and returns its candidates (the directive line aside).
func complete(env *clitest.Env, args ...string) []string {
	r := env.Run(append([]string{cobra.ShellCompRequestCmd}, args...)...)
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		if l != "" && !strings.HasPrefix(l, ":") {
			out = append(out, strings.SplitN(l, "\t", 2)[0])
		}
	}
	return out
}

// Every positional argument that is an object reference, of every command, completes:
// first the public types it takes, then, for each, every id of that type the demo holds,
// whether the objects are resources (account:acme) or only subjects (user:bill). No
// internal type is ever offered.
func TestCompletionOfEveryObjectArgument(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	stored := map[string][]string{} // type -> ids, as resources or subjects
	for _, typ := range ref.Types() {
		for rel, err := range spice.ReadRelationships(context.Background(), env.Engine.Permissions(), spice.FullyConsistent(), &v1.RelationshipFilter{ResourceType: typ}) {
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range []*v1.ObjectReference{rel.GetResource(), rel.GetSubject().GetObject()} {
				if o.GetObjectId() != "*" && !slices.Contains(stored[o.GetObjectType()], o.GetObjectId()) {
					stored[o.GetObjectType()] = append(stored[o.GetObjectType()], o.GetObjectId())
				}
			}
		}
	}
	for _, ids := range stored {
		slices.Sort(ids)
	}
	if len(stored["user"]) < 5 {
		t.Fatalf("the demo holds only users %v", stored["user"])
	}

	cmd := root.NewCmdRoot(clitest.Offline(t).Factory(false))
	checked := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if c.HasSubCommands() || c.Hidden || !c.Runnable() {
			return
		}
		path := strings.Fields(c.CommandPath())[1:]
		var args []string
		for _, word := range strings.Fields(c.Use)[1:] {
			if strings.HasPrefix(word, "[") || strings.HasPrefix(word, "-") {
				break
			}
			word = strings.TrimSuffix(word, "...")
			offered := complete(env, append(append(slices.Clone(path), args...), "")...)
			next := ""
			if len(offered) > 0 {
				next = offered[0]
			}
			if objectArgs[word] {
				if len(offered) == 0 {
					t.Errorf("%s: argument %s completes nothing", c.CommandPath(), word)
				}
				for _, o := range offered {
					typ, ok := strings.CutSuffix(o, ":")
					if !ok || ref.IsInternal(typ) || !slices.Contains(ref.PublicTypes(), typ) {
						t.Errorf("%s: argument %s offers %q, not a public type", c.CommandPath(), word, o)
						continue
					}
					var want []string
					for _, id := range stored[typ] {
						want = append(want, typ+":"+id)
					}
					got := complete(env, append(append(slices.Clone(path), args...), typ+":")...)
					if !slices.Equal(got, want) {
						t.Errorf("%s: argument %s: %s completes %v; the demo holds %v", c.CommandPath(), word, o, got, want)
					}
					checked[typ] = true
					if len(got) > 0 && (next == "" || strings.HasSuffix(next, ":")) {
						next = got[0]
					}
				}
			}
			if next == "" {
				next = "x"
			}
			args = append(args, next)
		}
	}
	walk(cmd)
	for _, typ := range []string{"user", "account", "case", "partner", "group", "sold_product", "install_base", "feature", "service_org"} {
		if !checked[typ] {
			t.Errorf("no command argument completes %s ids", typ)
		}
	}
}

// Completion offers only public types and permissions: never a helper.
func TestCompletionOffersOnlyTheVocabulary(t *testing.T) {
	t.Parallel()
	env := clitest.NewDemo(t)
	for _, typ := range ref.PublicTypes() {
		got := complete(env, "lookup", "subjects", typ+":x", "")
		want := ref.PublicPermissions(typ)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("lookup subjects %s:x <TAB> = %v; want the public permissions %v", typ, got, want)
		}
	}
	for _, args := range [][]string{{"check", "user:bill", ""}, {"explain", "user:bill", ""}} {
		for _, p := range complete(env, args...) {
			public := false
			for _, typ := range ref.PublicTypes() {
				public = public || ref.IsPublicPermission(typ, p)
			}
			if !public {
				t.Errorf("%v offers %q, no public permission", args, p)
			}
		}
	}
	for _, args := range [][]string{{"check", ""}, {"lookup", "resources", "user:bill", "view", ""}, {"who-can", ""}} {
		for _, o := range complete(env, args...) {
			if ref.IsInternal(strings.TrimSuffix(o, ":")) {
				t.Errorf("%v offers the internal type %q", args, o)
			}
		}
	}
}
