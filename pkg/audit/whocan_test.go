package audit_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
)

// question is a resource and permission whose holders are compared.
type question struct{ object, perm string }

// portalQuestions cover every section of the access model.
var portalQuestions = []question{
	{"account:acme", "view_members"}, {"account:acme", "manage_members"}, {"account:acme", "view_all_cases"},
	{"account:acme", "create_case"}, {"account:acme", "download_software"}, {"account:acme", "manage_service"},
	{"account:acme", "view_dashboard"}, {"account:acme", "administer"}, {"account:acme", "remove_members"},
	{"case:101", "view"}, {"case:101", "update"}, {"case:102", "update"}, {"case:103", "update"}, {"case:103", "reopen"},
	{"case:105", "view"}, {"case:202", "view"}, {"case:203", "update"}, {"case:202", "view_closed"},
	{"sold_product:router_x200", "view"}, {"install_base:router_x200_hq", "create_case"},
	{"install_base:router_x200_hq", "manage_cases"}, {"account:valley", "view_all_cases"},
}

// checkedHolders returns the users for whom Check says yes.
func checkedHolders(t *testing.T, c *access.Client, users []string, q question) []string {
	t.Helper()
	items := make([]access.CheckItem, len(users))
	for i, u := range users {
		items[i] = access.CheckItem{Subject: user(u), Permission: q.perm, Resource: obj(q.object)}
	}
	decisions, errs, err := c.CheckMany(context.Background(), items, access.Fresh())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i, d := range decisions {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if d.Allowed {
			out = append(out, users[i])
		}
	}
	slices.Sort(out)
	return out
}

func whoCan(t *testing.T, a *audit.Auditor, q question) []audit.Holder {
	t.Helper()
	var out []audit.Holder
	for h, err := range a.WhoCan(context.Background(), obj(q.object), q.perm) {
		if err != nil {
			t.Fatalf("who can %s %s: %v", q.perm, q.object, err)
		}
		out = append(out, h)
	}
	return out
}

func holderIDs(hs []audit.Holder) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.User)
	}
	return out
}

// Who-can equals, as a set, the users for whom Check says yes, and every holder has at
// least one path.
func TestWhoCanEqualsCheckOnPortal(t *testing.T) {
	p := sharedPortal(t)
	for _, q := range portalQuestions {
		t.Run(q.perm+" "+q.object, func(t *testing.T) {
			hs := whoCan(t, p.a, q)
			if got, want := holderIDs(hs), checkedHolders(t, p.c, allUsers, q); !slices.Equal(got, want) {
				t.Errorf("who can = %v, check says %v", got, want)
			}
			for _, h := range hs {
				if len(h.Paths) == 0 || len(h.Kinds) == 0 {
					t.Errorf("%s holds it with no path", h.User)
				}
			}
		})
	}
}

// Each holder comes with the kind of path that gives it.
func TestWhoCanKinds(t *testing.T) {
	p := sharedPortal(t)
	kinds := func(q question) string {
		var b strings.Builder
		for _, h := range whoCan(t, p.a, q) {
			fmt.Fprintf(&b, "%s=%v ", h.User, h.Kinds)
		}
		return strings.TrimSpace(b.String())
	}
	for _, tc := range []struct {
		q    question
		want string
	}{
		{question{"case:101", "view"}, "bill=[role:admin] fred=[partner organisation] leo=[custom role] pam=[partner organisation] sally=[reporter] tara=[vendor staff]"},
		{question{"case:102", "view"}, "bill=[role:admin] fred=[partner organisation] joan=[reporter] leo=[custom role] pam=[partner organisation] pete=[partner organisation partner individual] tara=[vendor staff]"},
		{question{"case:203", "view"}, "cara=[reporter] dan=[role:admin] sue=[group read access]"},
		{question{"account:acme", "view_members"}, "bill=[role:admin] carol=[customer care] fred=[partner organisation]"},
		{question{"account:acme", "view_dashboard"}, "bill=[role:admin] max=[data access] rita=[data access]"},
		{question{"case:105", "view"}, "bill=[role:admin] finn=[functional role] fred=[partner organisation] joan=[functional role] leo=[custom role] nina=[functional role] olga=[functional role reporter] pam=[partner organisation] sally=[functional role] tara=[vendor staff]"},
	} {
		if got := kinds(tc.q); got != tc.want {
			t.Errorf("who can %s %s:\n got %s\nwant %s", tc.q.perm, tc.q.object, got, tc.want)
		}
	}
}

// randomWorld builds a seeded random portal through the domain API: accounts with
// members, partners with members and grants at random levels (some individual), groups
// nested without cycles with readers, and cases reported by members, some closed, some
// with partner contacts.
func randomWorld(t *testing.T, seed uint64) (*access.Client, *audit.Auditor, []string, []question) {
	t.Helper()
	ctx := context.Background()
	e, c, err := newEngine(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	must := func(tok access.Token, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("building the random world: %v", err)
		}
	}
	must(c.Bootstrap(ctx, "root", "random world"))
	must(c.AddPlatformRole(ctx, as("root", "care"), "care", access.PlatformCustomerCare))
	users := []string{"root", "care"}
	for i := range 14 {
		users = append(users, fmt.Sprintf("u%02d", i))
	}
	pick := func() string { return users[2+rng.IntN(len(users)-2)] }
	var questions []question
	members := map[string][]string{}
	for a := range 3 {
		acct := fmt.Sprintf("acct%d", a)
		admin := pick()
		must(c.CreateAccount(ctx, as("care", "onboarding"), acct, admin))
		members[acct] = []string{admin}
		for range 4 {
			u := pick()
			if slices.Contains(members[acct], u) {
				continue
			}
			role := access.Roles[rng.IntN(3)]
			must(c.RequestAccess(ctx, as(u, "join"), acct, role))
			must(c.Approve(ctx, as(admin, "ok"), acct, u))
			members[acct] = append(members[acct], u)
		}
		questions = append(questions, question{"account:" + acct, "view_all_cases"}, question{"account:" + acct, "manage_members"},
			question{"account:" + acct, "create_case"})
	}
	for pi := range 3 {
		partner := fmt.Sprintf("p%d", pi)
		must(c.CreatePartner(ctx, as("root", "programme"), partner, ""))
		for range 2 + rng.IntN(2) {
			must(c.AddPartnerMember(ctx, as("root", "staff"), partner, pick()))
		}
		for a := range 3 {
			if rng.IntN(2) == 0 {
				acct := fmt.Sprintf("acct%d", a)
				must(c.GrantPartner(ctx, as(members[acct][0], "grant"), acct, access.PartnerOrg(partner), access.Levels[rng.IntN(len(access.Levels))], time.Time{}))
			}
		}
	}
	for a := range 3 {
		acct := fmt.Sprintf("acct%d", a)
		for range 2 {
			u := pick()
			must(c.GrantPartner(ctx, as(members[acct][0], "individual"), acct, access.Individual(u), access.Levels[rng.IntN(len(access.Levels))], time.Time{}))
		}
	}
	for g := range 4 {
		must(c.CreateGroup(ctx, as("care", "groups"), fmt.Sprintf("g%d", g)))
		if g > 0 && rng.IntN(3) > 0 {
			must(c.NestGroup(ctx, as("care", "nest"), fmt.Sprintf("g%d", g), fmt.Sprintf("g%d", rng.IntN(g))))
		}
		for range 2 {
			must(c.AddGroupMember(ctx, as("care", "member"), fmt.Sprintf("g%d", g), pick()))
		}
	}
	for range 3 {
		must(c.SetGroupReadAccess(ctx, as("care", "super customer"), pick(), fmt.Sprintf("g%d", rng.IntN(4))))
	}
	caseN := 0
	for a := range 3 {
		acct := fmt.Sprintf("acct%d", a)
		for range 3 {
			caseN++
			id := fmt.Sprintf("c%d", caseN)
			reporter := members[acct][rng.IntN(len(members[acct]))]
			must(c.CreateCase(ctx, as(reporter, "help"), access.NewCase{ID: id, Account: acct}))
			if rng.IntN(3) == 0 {
				must(c.CloseCase(ctx, as(reporter, "done"), id))
			}
			questions = append(questions, question{"case:" + id, "view"}, question{"case:" + id, "update"})
		}
	}
	return c, audit.New(c), append(users, "nobody"), questions
}

// Who-can equals the users for whom Check says yes on generated worlds.
func TestWhoCanEqualsCheckOnRandomWorlds(t *testing.T) {
	for _, seed := range []uint64{1, 7} {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			t.Parallel()
			c, a, users, questions := randomWorld(t, seed)
			for _, q := range questions {
				hs := whoCan(t, a, q)
				if got, want := holderIDs(hs), checkedHolders(t, c, users, q); !slices.Equal(got, want) {
					t.Errorf("%s %s: who can = %v, check says %v", q.perm, q.object, got, want)
				}
				tree, err := a.Expand(context.Background(), obj(q.object), q.perm)
				if err != nil {
					t.Fatal(err)
				}
				if h := tree.Holders(); h.Everyone || !slices.Equal(nonNil(h.Users), nonNil(holderIDs(hs))) {
					t.Errorf("%s %s: expand holders = %+v, who can = %v", q.perm, q.object, h, holderIDs(hs))
				}
			}
		})
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
