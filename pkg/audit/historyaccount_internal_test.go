package audit

import (
	"fmt"
	"iter"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// Generated histories: objects are given owners first (cases and install base items owned
// by an account or through one of its sold products, partner links and role bindings held
// by an account), then random relationships touch random objects. An account's history
// must keep exactly the updates whose resource or subject the account owns, by an
// order-free fixed point over every ownership ever written; and starting after any change
// (Since) must give the rest of that same list.
func TestAccountScopeKeepsWhatTheAccountOwns(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(41, 43))
	obj := func(typ string, n int) ref.Object { return ref.Object{Type: typ, ID: fmt.Sprint(typ[:2], rng.IntN(n))} }
	user := func() ref.Subject {
		return ref.Subject{Object: ref.Object{Type: "user", ID: fmt.Sprint("u", rng.IntN(5))}}
	}
	for round := range 200 {
		var changes []Change
		add := func(us ...Update) {
			changes = append(changes, Change{Revision: access.Token(fmt.Sprint("r", len(changes)+1)), Updates: us})
		}
		up := func(res ref.Object, rel string, sub ref.Subject) Update {
			return Update{Operation: "touch", Resource: res, Relation: rel, Subject: sub, Relationship: res.String() + "#" + rel + "@" + sub.String()}
		}
		acct := func() ref.Object { return obj("account", 3) }
		for range 3 + rng.IntN(8) {
			switch rng.IntN(5) {
			case 0:
				add(up(obj("case", 6), "account", ref.Subject{Object: acct()}))
			case 1:
				add(up(obj("sold_product", 3), "account", ref.Subject{Object: acct()}))
			case 2:
				add(up(obj("install_base", 3), "sold_product", ref.Subject{Object: obj("sold_product", 3)}))
			case 3:
				add(up(acct(), "partner_link", ref.Subject{Object: obj("partner_link", 3)}))
			case 4:
				add(up(acct(), "role_binding", ref.Subject{Object: obj("role_binding", 3)}))
			}
		}
		for range 5 + rng.IntN(20) {
			var us []Update
			for range 1 + rng.IntN(3) {
				res := []func() ref.Object{acct, func() ref.Object { return obj("case", 6) }, func() ref.Object { return obj("sold_product", 3) },
					func() ref.Object { return obj("install_base", 3) }, func() ref.Object { return obj("partner_link", 3) },
					func() ref.Object { return obj("role_binding", 3) }, func() ref.Object { return obj("group", 2) }}[rng.IntN(7)]()
				u := up(res, []string{"reporter", "grantee", "member", "viewer"}[rng.IntN(4)], user())
				if rng.IntN(4) == 0 {
					u.Operation = "delete"
				}
				if rng.IntN(6) == 0 {
					u = up(res, "authorized_account", ref.Subject{Object: acct()})
				}
				us = append(us, u)
			}
			add(us...)
		}
		read := func(f HistoryFilter) iter.Seq2[Change, error] {
			return func(yield func(Change, error) bool) {
				for _, c := range changes {
					c.Updates = slices.Clone(c.Updates)
					if !yield(c, nil) {
						return
					}
				}
			}
		}
		for a := range 3 {
			account := ref.Object{Type: "account", ID: fmt.Sprint("ac", a)}
			owned := map[ref.Object]bool{account: true}
			for grew := true; grew; {
				grew = false
				for _, c := range changes {
					for _, u := range c.Updates {
						var next ref.Object
						switch {
						case u.Operation == "delete":
						case owned[u.Resource] && u.Resource.Type == "account" && (u.Subject.Object.Type == "partner_link" || u.Subject.Object.Type == "role_binding" || u.Subject.Object.Type == "case"):
							next = u.Subject.Object
						case owned[u.Subject.Object] && (u.Relation == "account" || u.Relation == "sold_product"):
							next = u.Resource
						}
						if !next.IsZero() && !owned[next] {
							owned[next], grew = true, true
						}
					}
				}
			}
			var want []string
			for _, c := range changes {
				for _, u := range c.Updates {
					if owned[u.Resource] || owned[u.Subject.Object] {
						want = append(want, string(c.Revision)+" "+u.Relationship)
					}
				}
			}
			list := func(since access.Token) []string {
				var out []string
				for c, err := range scopeToAccount(HistoryFilter{Account: account, Since: since}, true, nil, read) {
					if err != nil {
						t.Fatalf("round %d: %v", round, err)
					}
					for _, u := range c.Updates {
						out = append(out, string(c.Revision)+" "+u.Relationship)
					}
				}
				return out
			}
			if got := list(""); !slices.Equal(got, want) {
				t.Fatalf("round %d, %s:\n got %q\nwant %q", round, account, got, want)
			}
			k := rng.IntN(len(changes))
			since := changes[k].Revision
			var rest []string
			for _, w := range want {
				var n int
				fmt.Sscanf(w, "r%d", &n)
				if n > k+1 {
					rest = append(rest, w)
				}
			}
			if got := list(since); !slices.Equal(got, rest) {
				t.Fatalf("round %d, %s, after %s:\n got %q\nwant %q", round, account, since, got, rest)
			}
		}
	}
}
