package refmodel_test

import (
	"context"
	"flag"
	"fmt"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

var flagKnownBugs = flag.Bool("refmodel.knownbugs", false, "run the reproductions of known product bugs (they fail while the bug is open)")

// TestKnownBugLateExpiryReaper reproduces the product bug behind the allow-list entry "late
// expiry reaper" (docs/reliability.md, "Findings", 1): when the engine's expiry reaper runs
// after a grant's expiry instead of 250 ms before it, the grant keeps giving access after its
// expiry (contract section 2: "after it, the grant gives nothing").
//
// To make the reaper late on purpose, the account holds 40,000 pending join requests (each
// with the default 30-day expiry) and the reaper rescans every 50 ms: each scan reads all of
// them, and the reaper deletes due grants only between scans. Each round grants an
// individual update level expiring 1.5 s later, checks view_all_cases before the expiry, and
// checks again 300 ms after it. It fails while the bug is open; run it with
//
//	go test ./pkg/refmodel/ -run TestKnownBugLateExpiryReaper -refmodel.knownbugs -v
func TestKnownBugLateExpiryReaper(t *testing.T) {
	if !*flagKnownBugs {
		t.Skip("reproduction of an open product bug; run with -refmodel.knownbugs")
	}
	ctx := context.Background()
	e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{ExpirySweepInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	c := access.New(e.Engine)
	for _, step := range []func() (access.Token, error){
		func() (access.Token, error) { return c.Bootstrap(ctx, "vera", "setup") },
		func() (access.Token, error) {
			return c.AddPlatformRole(ctx, access.As("vera"), "carol", access.PlatformCustomerCare)
		},
		func() (access.Token, error) { return c.CreateAccount(ctx, access.As("carol"), "acme", "ada") },
	} {
		if _, err := step(); err != nil {
			t.Fatal(err)
		}
	}
	for b := range 40 {
		var ups []*v1.RelationshipUpdate
		for i := range 1000 {
			ups = append(ups, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: &v1.Relationship{
				Resource:          &v1.ObjectReference{ObjectType: "account", ObjectId: "acme"},
				Relation:          "join_request_viewer",
				Subject:           &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: fmt.Sprintf("u%d_%d", b, i)}},
				OptionalExpiresAt: timestamppb.New(time.Now().Add(access.DefaultRequestTTL)),
			}})
		}
		if _, err := e.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: ups}); err != nil {
			t.Fatal(err)
		}
	}
	late := 0
	const rounds = 5
	for round := range rounds {
		user := fmt.Sprintf("tam%d", round)
		expiry := time.Now().Add(1500 * time.Millisecond)
		if _, err := c.GrantPartner(ctx, access.As("ada"), "acme", access.Individual(user), access.LevelUpdate, expiry); err != nil {
			t.Fatal(err)
		}
		ask := func() bool {
			d, err := c.Check(ctx, ref.Subject{Object: ref.Object{Type: "user", ID: user}}, "view_all_cases", ref.Object{Type: "account", ID: "acme"}, access.Fresh())
			if err != nil {
				t.Fatal(err)
			}
			return d.Allowed
		}
		if !ask() {
			t.Fatalf("round %d: %s cannot view all cases before the expiry", round, user)
		}
		time.Sleep(time.Until(expiry) + 300*time.Millisecond)
		if ask() {
			late++
			for ask() && time.Since(expiry) < 20*time.Second {
				time.Sleep(250 * time.Millisecond)
			}
			t.Logf("round %d: %s still viewed all of acme's cases 300 ms after the grant expired, and until %s after it",
				round, user, time.Since(expiry).Round(250*time.Millisecond))
		}
	}
	if late > 0 {
		t.Errorf("%d of %d grants still gave access 300 ms after their expiry (contract section 2: after it, the grant gives nothing)", late, rounds)
	}
}
