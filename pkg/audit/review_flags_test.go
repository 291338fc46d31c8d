package audit_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// The overriding and one-sided consent flags over every combination: for each pair of
// organisation and individual levels, a member of the organisation with an individual grant
// is flagged once, with "narrows", "widens" or "repeats" as the two levels compare, and the
// engine agrees that the individual level is the one in force; for each pair of consents, a
// data-access partner is flagged exactly when one side alone consented, naming the side
// that has not.
func TestReviewFlagsOverridingAndOneSidedConsent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	c := access.New(e.Engine)
	must := func(_ access.Token, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	as := func(u string) access.Actor { return access.As(u).Because("review flags test") }
	must(c.Bootstrap(ctx, "vera", "setup"))
	must(c.AddPlatformRole(ctx, as("vera"), "carol", access.PlatformCustomerCare))
	index := func(l access.Level) int { return slices.Index(access.Levels, l) }
	look := index(access.LevelLook)
	a := audit.New(c)

	for _, org := range access.Levels {
		for _, ind := range access.Levels {
			acct := fmt.Sprintf("acct_%s_%s", org, ind)
			partner, user := "p_"+acct, "u_"+acct
			must(c.CreateAccount(ctx, as("carol"), acct, "adm_"+acct))
			must(c.CreatePartner(ctx, as("vera"), partner, ""))
			must(c.AddPartnerMember(ctx, as("vera"), partner, user))
			must(c.GrantPartner(ctx, as("adm_"+acct), acct, access.PartnerOrg(partner), org, time.Time{}))
			must(c.GrantPartner(ctx, as("adm_"+acct), acct, access.Individual(user), ind, time.Time{}))

			verb := "repeats"
			if index(ind) < index(org) {
				verb = "narrows"
			} else if index(ind) > index(org) {
				verb = "widens"
			}
			rv, err := a.AccessReview(ctx, as("adm_"+acct), acct, audit.ReviewOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var got []audit.Flag
			for _, f := range rv.Flags {
				if f.Kind == audit.FlagOverriding {
					got = append(got, f)
				}
			}
			want := fmt.Sprintf("%s's individual grant %s on account:%s %s partner:%s's organisation grant %s", user, ind, acct, verb, partner, org)
			if len(got) != 1 || got[0].Subject != "user:"+user || got[0].Message != want {
				t.Fatalf("organisation %s, individual %s: overriding flags %+v, want one: %q", org, ind, got, want)
			}
			// The individual level is the one in force, whichever way it goes.
			d, err := c.Check(ctx, ref.Subject{Object: ref.Object{Type: "user", ID: user}}, "view_all_cases", ref.Object{Type: "account", ID: acct}, access.Fresh())
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed != (index(ind) >= look) {
				t.Fatalf("organisation %s, individual %s: %s sees all cases %v; the individual level says %v", org, ind, user, d.Allowed, index(ind) >= look)
			}
		}
	}

	for _, vendor := range []bool{false, true} {
		for _, customer := range []bool{false, true} {
			acct := fmt.Sprintf("consent_%t_%t", vendor, customer)
			partner := "p_" + acct
			must(c.CreateAccount(ctx, as("carol"), acct, "adm_"+acct))
			must(c.CreatePartner(ctx, as("vera"), partner, ""))
			must(c.AddPartnerMember(ctx, as("vera"), partner, "u_"+acct))
			must(c.LinkPartner(ctx, as("vera"), acct, partner))
			if vendor {
				must(c.SetVendorManage(ctx, as("vera"), acct, partner, true))
			}
			if customer {
				must(c.SetCustomerManage(ctx, as("adm_"+acct), acct, partner, true))
			}
			rv, err := a.AccessReview(ctx, as("adm_"+acct), acct, audit.ReviewOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var got []audit.Flag
			for _, f := range rv.Flags {
				if f.Kind == audit.FlagOneSidedConsent {
					got = append(got, f)
				}
			}
			switch {
			case vendor == customer && len(got) != 0:
				t.Fatalf("vendor %v, customer %v: one-sided consent flags %+v, want none", vendor, customer, got)
			case vendor && !customer && (len(got) != 1 || got[0].Subject != "partner:"+partner || !strings.Contains(got[0].Message, "account:"+acct+" has not")):
				t.Fatalf("vendor only: flags %+v, want one naming the customer's missing consent", got)
			case customer && !vendor && (len(got) != 1 || got[0].Subject != "partner:"+partner || !strings.Contains(got[0].Message, "the vendor has not")):
				t.Fatalf("customer only: flags %+v, want one naming the vendor's missing consent", got)
			}
		}
	}
}
