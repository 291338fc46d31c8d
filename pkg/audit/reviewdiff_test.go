package audit_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
)

// genReview draws a review from a small space, so two draws share some entries and differ
// in others.
func genReview(rng *rand.Rand) audit.Review {
	var r audit.Review
	r.Account = "acme"
	users := []string{"bill", "sally", "hank", "pete"}
	for _, u := range users {
		if rng.IntN(2) == 0 {
			r.Members = append(r.Members, audit.MemberAccess{User: u, Role: []access.Role{access.RoleAdmin, access.RoleStandard, access.RoleViewer}[rng.IntN(3)]})
		}
	}
	for _, p := range []string{"partner:p1", "partner:p2", "user:vic"} {
		if rng.IntN(2) == 0 {
			g := audit.GrantAccess{Grantee: p, Kind: "organisation", Level: access.Level(fmt.Sprint("level", rng.IntN(2)))}
			if rng.IntN(2) == 0 {
				g.ExpiresAt = time.Date(2027, 1, 1+rng.IntN(2), 0, 0, 0, 0, time.UTC)
			}
			r.Partners = append(r.Partners, g)
		}
	}
	for _, c := range []string{"case:101", "case:102"} {
		if rng.IntN(2) == 0 {
			r.RelatedParties = append(r.RelatedParties, audit.RelatedPartyEntry{Object: c, Role: "case_partner_contact", Party: users[rng.IntN(2)]})
		}
	}
	if rng.IntN(2) == 0 {
		r.CustomerCare = []string{"carol"}
	}
	return r
}

// For generated pairs of reviews: a review differs from itself in nothing; what one
// direction adds the other removes, with before and after swapped; and every change is a
// real difference of the two reviews' entries.
func TestDiffReviewsIsASymmetricEntryDiff(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 5))
	for i := range 500 {
		a, b := genReview(rng), genReview(rng)
		if d := audit.DiffReviews(a, a); len(d.Changes) != 0 {
			t.Fatalf("case %d: a review differs from itself: %+v", i, d.Changes)
		}
		ab, ba := audit.DiffReviews(a, b), audit.DiffReviews(b, a)
		if len(ab.Changes) != len(ba.Changes) {
			t.Fatalf("case %d: %d changes one way, %d the other", i, len(ab.Changes), len(ba.Changes))
		}
		back := map[string]audit.ReviewChange{}
		for _, c := range ba.Changes {
			back[c.Section+"|"+c.Key] = c
		}
		opposite := map[string]string{"added": "removed", "removed": "added", "changed": "changed"}
		for _, c := range ab.Changes {
			r, ok := back[c.Section+"|"+c.Key]
			if !ok || r.Change != opposite[c.Change] || r.Before != c.After || r.After != c.Before {
				t.Fatalf("case %d: %+v one way, %+v the other", i, c, r)
			}
			if c.Before == c.After {
				t.Fatalf("case %d: a change that changes nothing: %+v", i, c)
			}
		}
		// Members: an independent count of who was added or removed.
		role := func(r audit.Review) map[string]access.Role {
			m := map[string]access.Role{}
			for _, x := range r.Members {
				m[x.User] = x.Role
			}
			return m
		}
		ra, rb := role(a), role(b)
		want := 0
		for _, u := range []string{"bill", "sally", "hank", "pete"} {
			if ra[u] != rb[u] {
				want++
			}
		}
		got := 0
		for _, c := range ab.Changes {
			if c.Section == "member" {
				got++
			}
		}
		if got != want {
			t.Fatalf("case %d: %d member changes, want %d", i, got, want)
		}
	}
}
