// Command embedding shows how a portal backend embeds accessgraph: it starts SpiceDB in
// process, sets up a site, and answers "can this person see this case, and which cases can
// they see" the way a request handler would.
//
// Run it with: go run ./examples/embedding
//
// The same program runs against an access server's domain API instead (pkg/client), with
// only the constructor changed: start a fresh server and pass its API URL and key,
//
//	accessctl serve --datastore memory     # the API on 127.0.0.1:50052; the key in the profile
//	ACCESSGRAPH_API_URL=http://127.0.0.1:50052 ACCESSGRAPH_API_KEY=KEY go run ./examples/embedding
//
// To use SpiceDB itself (or accessctl serve's SpiceDB API) from elsewhere, replace
// StartEmbedded with engine.Dial(ctx, engine.RemoteConfig{Endpoint: "host:50051", PresharedKey: key}).
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/client"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	portal, stop := open(ctx)
	defer stop()

	// One-time set-up: the vendor side, then a customer site.
	must(portal.Bootstrap(ctx, "vera", "first platform administrator"))
	must(portal.AddPlatformRole(ctx, access.As("vera"), "carol", access.PlatformCustomerCare))
	must(portal.CreateAccount(ctx, access.As("carol").Because("new customer"), "acme", "bill"))

	// Sally joins; bill approves. Every change names its actor and returns a token.
	must(portal.RequestAccess(ctx, access.As("sally"), "acme", access.RoleStandard))
	must(portal.Approve(ctx, access.As("bill").Because("known colleague"), "acme", "sally"))
	token := must(portal.CreateCase(ctx, access.As("sally"), access.NewCase{ID: "1001", Account: "acme"}))

	// In a request handler: authorise, then act. AtLeast(token) reads the caller's own writes.
	sally := ref.Subject{Object: ref.Object{Type: "user", ID: "sally"}}
	bill := ref.Subject{Object: ref.Object{Type: "user", ID: "bill"}}
	case1001 := ref.Object{Type: "case", ID: "1001"}
	for _, who := range []ref.Subject{sally, bill} {
		d, err := portal.Check(ctx, who, "update", case1001, access.AtLeast(token))
		if err != nil {
			log.Fatalf("checking: %v", err)
		}
		fmt.Printf("%s may update %s: %v\n", who, case1001, d.Allowed)
	}

	// Listing: every case bill can see, streamed page by page.
	for cs, err := range portal.LookupResources(ctx, bill, "view", "case", access.AtLeast(token)) {
		if err != nil {
			log.Fatalf("listing: %v", err)
		}
		fmt.Println("bill sees", cs)
	}
}

// open returns the domain layer: in process, on an engine of its own, or the domain API of
// the access server at $ACCESSGRAPH_API_URL. Both are an access.Service, so nothing else
// in the program depends on the choice.
func open(ctx context.Context) (access.Service, func()) {
	if url := os.Getenv("ACCESSGRAPH_API_URL"); url != "" {
		c, err := client.New(url, os.Getenv("ACCESSGRAPH_API_KEY"))
		if err != nil {
			log.Fatalf("connecting to the access server: %v", err)
		}
		return c, func() {}
	}
	// The memory datastore is for demos; pass DatastoreURI: "postgres://..." to keep data.
	e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{})
	if err != nil {
		log.Fatalf("starting the access engine: %v", err)
	}
	return access.New(e.Engine), func() { _ = e.Close() }
}

func must(t access.Token, err error) access.Token {
	if err != nil {
		log.Fatal(err)
	}
	return t
}
