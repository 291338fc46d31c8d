package audit_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// exampleWorld starts an in-process engine holding acme (admin bill, standard sally, who
// reported case 42) and the integrator partner (pam, pete) with a look grant on acme,
// narrowed to cc for pete. It returns the token of the last change before the grants.
func exampleWorld(ctx context.Context) (*access.Client, access.Token, func()) {
	e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{})
	if err != nil {
		panic(err)
	}
	c := access.New(e.Engine)
	var beforeGrants access.Token
	for i, step := range []func() (access.Token, error){
		func() (access.Token, error) { return c.Bootstrap(ctx, "vera", "first administrator") },
		func() (access.Token, error) {
			return c.AddPlatformRole(ctx, access.As("vera"), "carol", access.PlatformCustomerCare)
		},
		func() (access.Token, error) { return c.CreateAccount(ctx, access.As("carol"), "acme", "bill") },
		func() (access.Token, error) {
			return c.RequestAccess(ctx, access.As("sally"), "acme", access.RoleStandard)
		},
		func() (access.Token, error) { return c.Approve(ctx, access.As("bill"), "acme", "sally") },
		func() (access.Token, error) {
			return c.CreateCase(ctx, access.As("sally").Because("printer on fire"), access.NewCase{ID: "42", Account: "acme"})
		},
		func() (access.Token, error) { return c.CreatePartner(ctx, access.As("vera"), "integrator", "") },
		func() (access.Token, error) { return c.AddPartnerMember(ctx, access.As("vera"), "integrator", "pam") },
		func() (access.Token, error) { return c.AddPartnerMember(ctx, access.As("vera"), "integrator", "pete") },
		func() (access.Token, error) {
			return c.GrantPartner(ctx, access.As("bill").Because("integrator follows our cases"), "acme", access.PartnerOrg("integrator"), access.LevelLook, time.Time{})
		},
		func() (access.Token, error) {
			return c.GrantPartner(ctx, access.As("bill").Because("pete only on cases he is added to"), "acme", access.Individual("pete"), access.LevelCC, time.Time{})
		},
	} {
		tok, err := step()
		if err != nil {
			panic(err)
		}
		if i == 8 {
			beforeGrants = tok
		}
	}
	return c, beforeGrants, func() { _ = e.Close() }
}

func ExampleAuditor_Explain() {
	ctx := context.Background()
	c, _, stop := exampleWorld(ctx)
	defer stop()
	a := audit.New(c)

	pam := ref.Subject{Object: ref.Object{Type: "user", ID: "pam"}}
	ex, err := a.Explain(ctx, pam, "view", ref.Object{Type: "case", ID: "42"}, access.Fresh())
	if err != nil {
		panic(err)
	}
	_ = audit.WriteExplanationText(os.Stdout, ex)

	pete := ref.Subject{Object: ref.Object{Type: "user", ID: "pete"}}
	ex, err = a.Explain(ctx, pete, "view_all_cases", ref.Object{Type: "account", ID: "acme"}, access.Fresh())
	if err != nil {
		panic(err)
	}
	_ = audit.WriteExplanationText(os.Stdout, ex)
	// Output:
	// allowed: user:pam view case:42
	//   1. [partner organisation] pam is a member of partner:integrator, which account:acme granted look (organisation grant); pam has no individual grant on account:acme; case:42 belongs to account:acme
	// denied: user:pete view_all_cases account:acme
	//   ways to hold it (any one is enough):
	//   - be an admin of account:acme: missing
	//   - hold a partner grant at look or above on account:acme: present but did not count
	//       pete is a member of partner:integrator, which account:acme granted look (organisation grant), but pete's individual grant takes precedence over the organisation grant: account:acme granted pete cc (individual grant)
	//   - hold a custom role with case read bound on account:acme: missing
}

func ExampleAuditor_WhoCan() {
	ctx := context.Background()
	c, _, stop := exampleWorld(ctx)
	defer stop()

	var holders []audit.Holder
	for h, err := range audit.New(c).WhoCan(ctx, ref.Object{Type: "case", ID: "42"}, "view") {
		if err != nil {
			panic(err)
		}
		holders = append(holders, h)
	}
	_ = audit.WriteHoldersText(os.Stdout, holders)
	// Output:
	// USER        KINDS
	// user:bill   role:admin
	// user:pam    partner organisation
	// user:sally  reporter
}

func ExampleAuditor_History() {
	ctx := context.Background()
	c, beforeGrants, stop := exampleWorld(ctx)
	defer stop()

	for change, err := range audit.New(c).History(ctx, audit.HistoryFilter{Since: beforeGrants}) {
		if err != nil {
			panic(err)
		}
		// Times vary from run to run; print the rest.
		fmt.Printf("%s %s %q\n", change.Actor, change.Operation, change.Reason)
		for _, u := range change.Updates {
			fmt.Printf("  %s %s\n", u.Operation, u.Relationship)
		}
	}
	// Output:
	// user:bill partner.grant "integrator follows our cases"
	//   touch account:acme#org_look@partner:integrator#member
	// user:bill partner.grant "pete only on cases he is added to"
	//   touch account:acme#individual_cc@user:pete
}

func ExampleTree_Holders() {
	ctx := context.Background()
	c, _, stop := exampleWorld(ctx)
	defer stop()

	tree, err := audit.New(c).Expand(ctx, ref.Object{Type: "account", ID: "acme"}, "view_all_cases")
	if err != nil {
		panic(err)
	}
	_ = audit.WriteTreeText(os.Stdout, tree.Pruned())
	fmt.Println("holders:", tree.Holders().Users)
	// Output:
	// account:acme#view_all_cases (union)
	// ├── account:acme#admin
	// │   └── user:bill
	// └── account:acme#partner_look (exclusion)
	//     ├── account:acme#org_look_level (union)
	//     │   └── account:acme#org_look
	//     │       └── partner:integrator#member
	//     │           ├── user:pam
	//     │           └── user:pete
	//     └── minus account:acme#individual_grantee (union)
	//         └── account:acme#individual_cc
	//             └── user:pete
	// holders: [bill pam]
}
