package access_test

import (
	"context"
	"fmt"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// exampleClient starts an in-process engine with a vendor administrator (vera), a Customer
// Care agent (carol) and the site acme administered by bill.
func exampleClient(ctx context.Context) (*access.Client, func()) {
	e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{})
	if err != nil {
		panic(err)
	}
	c := access.New(e.Engine)
	steps := []func() (access.Token, error){
		func() (access.Token, error) { return c.Bootstrap(ctx, "vera", "first administrator") },
		func() (access.Token, error) {
			return c.AddPlatformRole(ctx, access.As("vera"), "carol", access.PlatformCustomerCare)
		},
		func() (access.Token, error) { return c.CreateAccount(ctx, access.As("carol"), "acme", "bill") },
	}
	for _, step := range steps {
		if _, err := step(); err != nil {
			panic(err)
		}
	}
	return c, func() { _ = e.Close() }
}

func ExampleClient_RequestAccess() {
	ctx := context.Background()
	c, stop := exampleClient(ctx)
	defer stop()

	// Sally asks to join acme as a standard member; bill, the site administrator, approves.
	if _, err := c.RequestAccess(ctx, access.As("sally").Because("new hire"), "acme", access.RoleStandard); err != nil {
		panic(err)
	}
	approvers, _ := c.Approvers(ctx, access.As("sally"), "acme", "sally")
	fmt.Println("approvers:", approvers)
	token, err := c.Approve(ctx, access.As("bill"), "acme", "sally")
	if err != nil {
		panic(err)
	}

	// Read after write: a check at the returned token sees the approval.
	sally := ref.Subject{Object: ref.Object{Type: "user", ID: "sally"}}
	d, _ := c.Check(ctx, sally, "create_case", ref.Object{Type: "account", ID: "acme"}, access.AtLeast(token))
	fmt.Println("sally can create cases:", d.Allowed)
	d, _ = c.Check(ctx, sally, "view_all_cases", ref.Object{Type: "account", ID: "acme"}, access.AtLeast(token))
	fmt.Println("sally can view all cases:", d.Allowed)
	// Output:
	// approvers: [{bill admin}]
	// sally can create cases: true
	// sally can view all cases: false
}

func ExampleClient_GrantPartner() {
	ctx := context.Background()
	c, stop := exampleClient(ctx)
	defer stop()
	_, _ = c.CreatePartner(ctx, access.As("vera"), "integrator", "")
	_, _ = c.AddPartnerMember(ctx, access.As("vera"), "integrator", "pam")
	_, _ = c.AddPartnerMember(ctx, access.As("vera"), "integrator", "pete")

	// The whole organisation gets look; pete's individual cc grant takes precedence for him.
	_, _ = c.GrantPartner(ctx, access.As("bill"), "acme", access.PartnerOrg("integrator"), access.LevelLook, time.Time{})
	_, _ = c.GrantPartner(ctx, access.As("bill"), "acme", access.Individual("pete"), access.LevelCC, time.Time{})

	acme := ref.Object{Type: "account", ID: "acme"}
	for _, u := range []string{"pam", "pete"} {
		d, _ := c.Check(ctx, ref.Subject{Object: ref.Object{Type: "user", ID: u}}, "view_all_cases", acme, access.Fresh())
		fmt.Printf("%s views all cases: %v\n", u, d.Allowed)
	}

	// A partner can never grant access onwards.
	_, err := c.GrantPartner(ctx, access.As("pam"), "acme", access.Individual("eve"), access.LevelLook, time.Time{})
	fmt.Println(err)
	// Output:
	// pam views all cases: true
	// pete views all cases: false
	// permission denied: user:pam lacks manage_partners on account:acme
}

func ExampleClient_LookupResources() {
	ctx := context.Background()
	c, stop := exampleClient(ctx)
	defer stop()
	for _, id := range []string{"41", "42"} {
		_, _ = c.CreateCase(ctx, access.As("bill"), access.NewCase{ID: id, Account: "acme"})
	}
	_, _ = c.CloseCase(ctx, access.As("bill"), "41")

	// Lookups stream every result, paging through SpiceDB as needed.
	bill := ref.Subject{Object: ref.Object{Type: "user", ID: "bill"}}
	for cs, err := range c.LookupResources(ctx, bill, "view_open", "case", access.Fresh()) {
		if err != nil {
			panic(err)
		}
		fmt.Println("open:", cs)
	}
	// Output:
	// open: case:42
}
