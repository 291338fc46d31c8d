package reach_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/reach"
	"github.com/accessgraph/accessgraph/pkg/spice"
	"github.com/accessgraph/accessgraph/schema"
)

// world is the small universe the generated histories write in: few enough ids that
// writers keep touching what readers ask about.
type world struct {
	run                  string
	users, groups, cases int
}

// Accounts, sold products and install base items: few, so grants on them meet cases.
const accounts, products, bases = 4, 3, 3

func (w world) user(i int) string    { return fmt.Sprintf("%s-u%d", w.run, i) }
func (w world) group(i int) string   { return fmt.Sprintf("%s-g%d", w.run, i) }
func (w world) kase(i int) string    { return fmt.Sprintf("%s-c%d", w.run, i) }
func (w world) account(i int) string { return fmt.Sprintf("%s-a%d", w.run, i) }
func (w world) product(i int) string { return fmt.Sprintf("%s-p%d", w.run, i) }
func (w world) base(i int) string    { return fmt.Sprintf("%s-b%d", w.run, i) }

func rel(resType, resID, relation, subType, subID string) *v1.Relationship {
	return &v1.Relationship{
		Resource: &v1.ObjectReference{ObjectType: resType, ObjectId: resID},
		Relation: relation,
		Subject:  &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: subType, ObjectId: subID}},
	}
}

// caseRelations are the case's own relationships to users that case#view reads.
var caseRelations = []string{"reporter", "authorized_contact", "authorized_consumer", "authorized_contributor", "partner_contact", "primary_partner_contact"}

// accountGrants are account relationships to users that reach view_all_cases, partner_any
// or partner_update, or none of them (viewer).
var accountGrants = []string{"admin", "viewer", "individual_cc", "individual_look", "individual_update", "individual_create"}

// randomRel is one of the relationships case#view and case#group_view read, at the case's
// level or through accounts, products, items and groups. Nesting goes from a higher group
// number to a lower one, so it has no cycle, except one nesting in three when cycles are
// allowed. Some partner grants expire, in an hour: SpiceDB's part of the answer reads them.
func (w world) randomRel(rng *rand.Rand, cycles bool) *v1.Relationship {
	switch rng.IntN(16) {
	case 5:
		return rel("case", w.kase(rng.IntN(w.cases)), caseRelations[rng.IntN(len(caseRelations))], "user", w.user(rng.IntN(w.users)))
	case 6:
		return rel("case", w.kase(rng.IntN(w.cases)), "account", "account", w.account(rng.IntN(accounts)))
	case 7:
		return rel("case", w.kase(rng.IntN(w.cases)), "sold_product", "sold_product", w.product(rng.IntN(products)))
	case 8:
		return rel("case", w.kase(rng.IntN(w.cases)), "install_base", "install_base", w.base(rng.IntN(bases)))
	case 9, 10:
		grant := accountGrants[rng.IntN(len(accountGrants))]
		r := rel("account", w.account(rng.IntN(accounts)), grant, "user", w.user(rng.IntN(w.users)))
		if strings.HasPrefix(grant, "individual_") && rng.IntN(2) == 0 {
			r.OptionalExpiresAt = timestamppb.New(time.Now().Add(time.Hour).Truncate(time.Second))
		}
		return r
	case 11:
		if rng.IntN(2) == 0 {
			return rel("sold_product", w.product(rng.IntN(products)), "authorized_contact", "user", w.user(rng.IntN(w.users)))
		}
		return rel("install_base", w.base(rng.IntN(bases)), "authorized_consumer", "user", w.user(rng.IntN(w.users)))
	}
	switch rng.IntN(5) {
	case 0:
		return rel("user", w.user(rng.IntN(w.users)), "member_of", "group", w.group(rng.IntN(w.groups)))
	case 1:
		child, parent := rng.IntN(w.groups), rng.IntN(w.groups)
		if !cycles || rng.IntN(3) != 0 {
			if child <= parent {
				child, parent = parent+1, child
			}
			if child >= w.groups {
				child, parent = w.groups-1, min(parent, w.groups-2)
			}
		}
		return rel("group", w.group(child), "parent", "group", w.group(parent))
	case 2:
		return rel("group", w.group(rng.IntN(w.groups)), "reader", "user", w.user(rng.IntN(w.users)))
	case 3:
		return rel("case", w.kase(rng.IntN(w.cases)), "reporter", "user", w.user(rng.IntN(w.users)))
	default:
		return rel("case", w.kase(rng.IntN(w.cases)), "open", "user", "*")
	}
}

// write makes one generated change through one of the raw API's write paths: a
// transaction of touches and deletes, a delete by filter, or an import.
func (w world) write(ctx context.Context, e *engine.Embedded, rng *rand.Rand, cycles bool, importNo int) error {
	switch k := rng.IntN(10); {
	case k < 7:
		var updates []*v1.RelationshipUpdate
		seen := map[string]bool{}
		for range 1 + rng.IntN(4) {
			r := w.randomRel(rng, cycles)
			key := fmt.Sprint(r)
			if seen[key] {
				continue
			}
			seen[key] = true
			op := v1.RelationshipUpdate_OPERATION_TOUCH
			if rng.IntN(3) == 0 {
				op = v1.RelationshipUpdate_OPERATION_DELETE
			}
			updates = append(updates, &v1.RelationshipUpdate{Operation: op, Relationship: r})
		}
		_, err := e.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: updates})
		return err
	case k < 8:
		r := w.randomRel(rng, cycles)
		_, err := e.DeleteRelationships(ctx, &v1.DeleteRelationshipsRequest{RelationshipFilter: &v1.RelationshipFilter{
			ResourceType: r.GetResource().GetObjectType(), OptionalRelation: r.GetRelation(),
			OptionalSubjectFilter: &v1.SubjectFilter{SubjectType: r.GetSubject().GetObject().GetObjectType(), OptionalSubjectId: r.GetSubject().GetObject().GetObjectId()},
		}})
		return err
	default:
		// An import creates: it uses a case of its own, so it never meets a stored one.
		stream, err := e.Permissions().ImportBulkRelationships(ctx)
		if err != nil {
			return err
		}
		c := fmt.Sprintf("%s-import%d", w.run, importNo)
		rels := []*v1.Relationship{
			rel("case", c, "reporter", "user", w.user(rng.IntN(w.users))),
			rel("case", c, "account", "account", w.account(rng.IntN(accounts))),
		}
		if rng.IntN(2) == 0 {
			rels = append(rels, rel("case", c, "open", "user", "*"))
		}
		if rng.IntN(2) == 0 {
			rels = append(rels, rel("case", c, "partner_contact", "user", w.user(rng.IntN(w.users))))
		}
		if err := stream.Send(&v1.ImportBulkRelationshipsRequest{Relationships: rels}); err != nil {
			return err
		}
		_, err = stream.CloseAndRecv()
		return err
	}
}

// unnestUpwards deletes every nesting of a group under one with a higher number.
func (w world) unnestUpwards(ctx context.Context, e *engine.Embedded) error {
	var updates []*v1.RelationshipUpdate
	for child := range w.groups {
		for parent := child; parent < w.groups; parent++ {
			updates = append(updates, &v1.RelationshipUpdate{
				Operation:    v1.RelationshipUpdate_OPERATION_DELETE,
				Relationship: rel("group", w.group(child), "parent", "group", w.group(parent)),
			})
		}
	}
	_, err := e.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: updates})
	return err
}

// spiceCases is SpiceDB's own answer at exactly the revision at.
func spiceCases(ctx context.Context, e *engine.Embedded, perm, user string, at *v1.ZedToken) ([]string, error) {
	var ids []string
	for resp, err := range spice.LookupResources(ctx, e.Permissions(), &v1.LookupResourcesRequest{
		Consistency:        spice.AtExactSnapshot(at.GetToken()),
		ResourceObjectType: "case",
		Permission:         perm,
		Subject:            &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: user}},
	}) {
		if err != nil {
			return nil, err
		}
		if resp.GetPermissionship() == v1.LookupPermissionship_LOOKUP_PERMISSIONSHIP_HAS_PERMISSION {
			ids = append(ids, resp.GetResourceObjectId())
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// spiceCheck is SpiceDB's own check at exactly the revision at.
func spiceCheck(ctx context.Context, e *engine.Embedded, perm, user, caseID string, at *v1.ZedToken) (bool, error) {
	resp, err := e.Permissions().CheckPermission(ctx, &v1.CheckPermissionRequest{
		Consistency: spice.AtExactSnapshot(at.GetToken()),
		Resource:    &v1.ObjectReference{ObjectType: "case", ObjectId: caseID},
		Permission:  perm,
		Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: user}},
	})
	if err != nil {
		return false, err
	}
	if resp.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_CONDITIONAL_PERMISSION {
		return false, fmt.Errorf("case:%s#%s of user:%s is conditional", caseID, perm, user)
	}
	return resp.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION, nil
}

var perms = []string{"view", "view_open", "view_closed", "group_view", "group_view_open", "group_view_closed"}

// TestIndexAgreesWithSpiceDBUnderConcurrentWrites: while three writers make generated
// changes to group nesting, membership, read access, reporters and open flags through
// every raw write path (transactions, deletes by filter, imports), readers ask the engine's
// index and a second index loaded from the data mid-way. Every answer the index gives must
// be SpiceDB's answer at exactly the index's revision, and that revision must contain the
// head read before the question. Cycles are written in one run, where the index must
// decline for users whose groups reach one.
func TestIndexAgreesWithSpiceDBUnderConcurrentWrites(t *testing.T) {
	datastores := map[string]string{"memory": "", "local": "file:" + t.TempDir()}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	for name, uri := range datastores {
		for _, cycles := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/cycles=%v", name, cycles), func(t *testing.T) {
				ctx := context.Background()
				e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{DatastoreURI: uri})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = e.Close() })
				w := world{run: fmt.Sprintf("r%d%v", os.Getpid(), cycles), users: 8, groups: 7, cases: 16}
				rng := rand.New(rand.NewPCG(seed, 0))
				for i := range 60 {
					if err := w.write(ctx, e, rng, cycles, 1000+i); err != nil {
						t.Fatal(err)
					}
				}
				// A second index loads what the first built change by change.
				loaded := reach.Start(e.Engine, zap.NewNop())
				t.Cleanup(loaded.Stop)
				waitReady(t, loaded)
				waitReady(t, e.Reach())
				indexes := map[string]*reach.Index{"engine's": e.Reach(), "loaded": loaded}

				const writers, writesEach, readers, minQuestions = 3, 150, 2, 80
				var answered, checks, declined, cyclic atomic.Int64
				var writing sync.WaitGroup
				stop := make(chan struct{})
				for i := range writers {
					writing.Go(func() {
						rng := rand.New(rand.NewPCG(seed, uint64(i+1)))
						for j := range writesEach {
							if err := w.write(ctx, e, rng, cycles, i*writesEach+j); err != nil {
								t.Errorf("writer %d: %v", i, err)
								return
							}
							// Cycles come and go: every fifth write removes every nesting that
							// could close one.
							if cycles && j%5 == 4 {
								if err := w.unnestUpwards(ctx, e); err != nil {
									t.Errorf("writer %d: %v", i, err)
									return
								}
							}
						}
					})
				}
				var reading sync.WaitGroup
				for i := range readers {
					reading.Go(func() {
						rng := rand.New(rand.NewPCG(seed, uint64(100+i)))
						compared := 0
						for n := 0; ; n++ {
							select {
							case <-stop:
								// Enough compared answers, or the writers left a cycle that
								// declines most questions.
								if compared >= minQuestions || n >= 10*minQuestions {
									return
								}
							default:
							}
							which := []string{"engine's", "loaded"}[rng.IntN(2)]
							perm, user := perms[rng.IntN(len(perms))], w.user(rng.IntN(w.users))
							head, err := e.HeadToken(ctx)
							if err != nil {
								t.Error(err)
								return
							}
							var got []string
							var at *v1.ZedToken
							checked := ""
							if rng.IntN(2) == 0 {
								// A check of one case, which is a listing of at most that case.
								checked = w.kase(rng.IntN(w.cases))
								var allowed bool
								allowed, at, err = indexes[which].Check(ctx, perm, user, checked)
								if allowed {
									got = []string{checked}
								}
							} else {
								got, at, err = indexes[which].Cases(ctx, perm, user)
							}
							if errors.Is(err, reach.ErrCycle) {
								if !cycles {
									t.Errorf("%s index found a cycle where none was written: %v", which, err)
								}
								cyclic.Add(1)
								time.Sleep(200 * time.Microsecond)
								continue
							}
							if errors.Is(err, reach.ErrUnanswered) {
								// Only a wait longer than the index's allows: a slow machine.
								declined.Add(1)
								t.Logf("%s index declined %s of %s: %v", which, perm, user, err)
								continue
							}
							if err != nil {
								t.Error(err)
								return
							}
							if covers, known := e.Covers(at, head); !known || !covers {
								t.Errorf("%s index answered %s of %s at a revision older than the head before the call", which, perm, user)
							}
							var want []string
							if checked != "" {
								allowed, err := spiceCheck(ctx, e, perm, user, checked, at)
								if err != nil {
									t.Error(err)
									return
								}
								if allowed {
									want = []string{checked}
								}
								checks.Add(1)
							} else if want, err = spiceCases(ctx, e, perm, user, at); err != nil {
								t.Error(err)
								return
							}
							if !slices.Equal(got, want) {
								t.Errorf("%s index: %s of %s (checked %q) = %v, SpiceDB at the same revision: %v", which, perm, user, checked, got, want)
							}
							answered.Add(1)
							compared++
						}
					})
				}
				writing.Wait()
				close(stop)
				reading.Wait()
				t.Logf("%d answers compared with SpiceDB (%d of them checks), %d declined for a cycle, %d for a wait", answered.Load(), checks.Load(), cyclic.Load(), declined.Load())
				if checks.Load() < 20 || checks.Load() > answered.Load()-20 {
					t.Errorf("%d checks among %d answers: both checks and listings must be compared", checks.Load(), answered.Load())
				}
				if declined.Load() > answered.Load()/10 {
					t.Errorf("the index declined %d questions for a wait, against %d answered", declined.Load(), answered.Load())
				}
				if answered.Load() < 100 {
					t.Errorf("only %d answers were compared", answered.Load())
				}
				if cycles {
					// A cycle below a group the user reads: every index declines, for both
					// listings that walk groups.
					if _, err := e.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{
						{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: rel("group", w.group(0), "parent", "group", w.group(1))},
						{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: rel("group", w.group(1), "parent", "group", w.group(0))},
						{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: rel("group", w.group(1), "reader", "user", w.user(0))},
					}}); err != nil {
						t.Fatal(err)
					}
					for which, x := range indexes {
						for _, perm := range []string{"view", "group_view_open"} {
							if _, _, err := x.Cases(ctx, perm, w.user(0)); !errors.Is(err, reach.ErrCycle) {
								t.Errorf("%s index, %s of a user reading a cycle: %v, want ErrCycle", which, perm, err)
							}
							if _, _, err := x.Check(ctx, perm, w.user(0), w.kase(0)); !errors.Is(err, reach.ErrCycle) {
								t.Errorf("%s index, a check of %s by a user reading a cycle: %v, want ErrCycle", which, perm, err)
							}
						}
					}
					// The last state keeps no cycle, so every question below is answered.
					if err := w.unnestUpwards(ctx, e); err != nil {
						t.Fatal(err)
					}
				}
				// At rest, each index holds exactly what SpiceDB holds and answers every
				// question as SpiceDB does.
				held := 0
				for _, f := range []*v1.RelationshipFilter{
					{ResourceType: "user", OptionalRelation: "member_of"}, {ResourceType: "group", OptionalRelation: "parent"},
					{ResourceType: "group", OptionalRelation: "reader"}, {ResourceType: "case"},
				} {
					rels, err := spice.CollectRelationships(ctx, e.Permissions(), spice.FullyConsistent(), f)
					if err != nil {
						t.Fatal(err)
					}
					held += len(rels)
				}
				for which, x := range indexes {
					waitReady(t, x)
					if got := x.Stats().Relationships; got != held {
						t.Errorf("%s index holds %d relationships, SpiceDB %d", which, got, held)
					}
					for _, perm := range perms {
						for u := range w.users {
							got, at, err := x.Cases(ctx, perm, w.user(u))
							if err != nil {
								t.Fatalf("%s index at rest: %v", which, err)
							}
							want, err := spiceCases(ctx, e, perm, w.user(u), at)
							if err != nil {
								t.Fatal(err)
							}
							if !slices.Equal(got, want) {
								t.Errorf("%s index at rest: %s of %s = %v, SpiceDB: %v", which, perm, w.user(u), got, want)
							}
							for c := range w.cases {
								allowed, at, err := x.Check(ctx, perm, w.user(u), w.kase(c))
								if err != nil {
									t.Fatalf("%s index at rest: %v", which, err)
								}
								want, err := spiceCheck(ctx, e, perm, w.user(u), w.kase(c), at)
								if err != nil {
									t.Fatal(err)
								}
								if allowed != want {
									t.Errorf("%s index at rest: check %s of %s on %s = %v, SpiceDB: %v", which, perm, w.user(u), w.kase(c), allowed, want)
								}
							}
						}
					}
				}
			})
		}
	}
}

// writeAll applies op to every relationship in one transaction.
func writeAll(t *testing.T, e *engine.Embedded, op v1.RelationshipUpdate_Operation, rels ...*v1.Relationship) {
	t.Helper()
	var updates []*v1.RelationshipUpdate
	for _, r := range rels {
		updates = append(updates, &v1.RelationshipUpdate{Operation: op, Relationship: r})
	}
	if _, err := e.WriteRelationships(context.Background(), &v1.WriteRelationshipsRequest{Updates: updates}); err != nil {
		t.Fatal(err)
	}
}

// waitReady waits until x answers at the head.
func waitReady(t *testing.T, x *reach.Index) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := x.Current(ctx); err != nil {
		t.Fatal(err)
	}
}

// startIndexed starts an embedded engine, closed when the test ends, and waits until its
// index answers at the head.
func startIndexed(t *testing.T, cfg engine.EmbeddedConfig) (*engine.Embedded, *reach.Index) {
	t.Helper()
	e, err := engine.StartEmbedded(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	waitReady(t, e.Reach())
	return e, e.Reach()
}

// TestIndexStopsAnsweringForAnotherSchema: once the served schema defines group_view
// differently, the index stops answering (the domain's listing then gives SpiceDB's answer
// under the new schema), and it loads again and answers once the schema is back.
func TestIndexStopsAnsweringForAnotherSchema(t *testing.T) {
	ctx := context.Background()
	e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	w := world{run: "schema", users: 4, groups: 3, cases: 6}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 40 {
		if err := w.write(ctx, e, rng, false, i); err != nil {
			t.Fatal(err)
		}
	}
	idx := e.Reach()
	waitReady(t, idx)

	const original = "permission group_view = reporter->read_cases"
	served := schema.Served()
	if !strings.Contains(served, original) {
		t.Fatalf("the schema no longer defines %q", original)
	}
	other := strings.Replace(served, original, "permission group_view = reporter->read_cases + authorized_contact", 1)
	if _, err := e.Schemas().WriteSchema(ctx, &v1.WriteSchemaRequest{Schema: other}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ready, why := idx.Status()
		if !ready && strings.Contains(why, "case#group_view") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the index still answers under another schema (ready %v, %q)", ready, why)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, _, err := idx.Cases(ctx, "group_view", w.user(0)); !errors.Is(err, reach.ErrUnanswered) {
		t.Fatalf("Cases under another schema: %v, want ErrUnanswered", err)
	}

	if _, err := e.Schemas().WriteSchema(ctx, &v1.WriteSchemaRequest{Schema: served}); err != nil {
		t.Fatal(err)
	}
	waitReady(t, idx)
	for _, perm := range perms {
		for u := range w.users {
			got, at, err := idx.Cases(ctx, perm, w.user(u))
			if err != nil {
				t.Fatal(err)
			}
			want, err := spiceCases(ctx, e, perm, w.user(u), at)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("after the schema came back: %s of %s = %v, SpiceDB: %v", perm, w.user(u), got, want)
			}
		}
	}
}

// TestViewListingFollowsEachBranch: for each way case#view can reach a case (and ways that
// look close but do not), the index's view, view_open and view_closed listings equal
// SpiceDB's at the same revision and the expected cases.
func TestViewListingFollowsEachBranch(t *testing.T) {
	ctx := context.Background()
	e, idx := startIndexed(t, engine.EmbeddedConfig{})
	hour := timestamppb.New(time.Now().Add(time.Hour).Truncate(time.Second))
	expiring := func(r *v1.Relationship) *v1.Relationship { r.OptionalExpiresAt = hour; return r }
	tests := []struct {
		name string
		rels []*v1.Relationship // written for the case "c" of account "a" (open) and user "u"
		want bool
	}{
		{"nothing", nil, false},
		{"reporter", []*v1.Relationship{rel("case", "c", "reporter", "user", "u")}, true},
		{"authorized contact", []*v1.Relationship{rel("case", "c", "authorized_contact", "user", "u")}, true},
		{"authorized consumer", []*v1.Relationship{rel("case", "c", "authorized_consumer", "user", "u")}, true},
		{"authorized contributor", []*v1.Relationship{rel("case", "c", "authorized_contributor", "user", "u")}, true},
		{"partner contact without a grant", []*v1.Relationship{rel("case", "c", "partner_contact", "user", "u")}, false},
		{"partner contact with a CC grant", []*v1.Relationship{rel("case", "c", "partner_contact", "user", "u"), rel("account", "a", "individual_cc", "user", "u")}, true},
		{"partner contact with an expiring grant", []*v1.Relationship{rel("case", "c", "partner_contact", "user", "u"), expiring(rel("account", "a", "individual_cc", "user", "u"))}, true},
		{"partner contact with a grant on another account", []*v1.Relationship{rel("case", "c", "partner_contact", "user", "u"), rel("account", "other", "individual_full_admin", "user", "u")}, false},
		{"partner contact with a grant through the organisation", []*v1.Relationship{
			rel("case", "c", "partner_contact", "user", "u"), rel("partner", "p", "member", "user", "u"),
			{Resource: &v1.ObjectReference{ObjectType: "account", ObjectId: "a"}, Relation: "org_cc", Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "partner", ObjectId: "p"}, OptionalRelation: "member"}},
		}, true},
		{"primary partner contact at CC", []*v1.Relationship{rel("case", "c", "primary_partner_contact", "user", "u"), rel("account", "a", "individual_cc", "user", "u")}, false},
		{"primary partner contact at update", []*v1.Relationship{rel("case", "c", "primary_partner_contact", "user", "u"), rel("account", "a", "individual_update", "user", "u")}, true},
		{"account admin", []*v1.Relationship{rel("account", "a", "admin", "user", "u")}, true},
		{"account viewer", []*v1.Relationship{rel("account", "a", "viewer", "user", "u")}, false},
		{"partner at look", []*v1.Relationship{rel("account", "a", "individual_look", "user", "u")}, true},
		{"partner at CC only", []*v1.Relationship{rel("account", "a", "individual_cc", "user", "u")}, false},
		{"sold product contact", []*v1.Relationship{rel("case", "c", "sold_product", "sold_product", "sp"), rel("sold_product", "sp", "authorized_contact", "user", "u")}, true},
		{"contact of another sold product", []*v1.Relationship{rel("case", "c", "sold_product", "sold_product", "sp"), rel("sold_product", "sp2", "authorized_contact", "user", "u")}, false},
		{"install base consumer", []*v1.Relationship{rel("case", "c", "install_base", "install_base", "ib"), rel("install_base", "ib", "authorized_consumer", "user", "u")}, true},
		{"group reader of the reporter's group", []*v1.Relationship{
			rel("case", "c", "reporter", "user", "r"), rel("user", "r", "member_of", "group", "g"), rel("group", "g", "reader", "user", "u"),
		}, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Each case in its own names, so one case's relationships never meet another's.
			ns := func(id string) string { return fmt.Sprintf("v%d-%s", i, id) }
			updates := []*v1.RelationshipUpdate{
				{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: rel("case", ns("c"), "account", "account", ns("a"))},
				{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: rel("case", ns("c"), "open", "user", "*")},
				{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: rel("case", ns("closed"), "account", "account", ns("a"))},
			}
			for _, r := range tt.rels {
				r = r.CloneVT()
				r.Resource.ObjectId = ns(r.GetResource().GetObjectId())
				r.Subject.Object.ObjectId = ns(r.GetSubject().GetObject().GetObjectId())
				updates = append(updates, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: r})
				// The same relationship on a closed case of the same account.
				if r.GetResource().GetObjectType() == "case" {
					closed := r.CloneVT()
					closed.Resource.ObjectId = ns("closed")
					updates = append(updates, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: closed})
				}
			}
			if _, err := e.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: updates}); err != nil {
				t.Fatal(err)
			}
			for perm, wantCases := range map[string][]string{"view": {ns("c"), ns("closed")}, "view_open": {ns("c")}, "view_closed": {ns("closed")}} {
				if !tt.want {
					wantCases = nil
				}
				got, at, err := idx.Cases(ctx, perm, ns("u"))
				if err != nil {
					t.Fatal(err)
				}
				want, err := spiceCases(ctx, e, perm, ns("u"), at)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s: the index answers %v, SpiceDB at the same revision %v", perm, got, want)
				}
				slices.Sort(wantCases)
				if !slices.Equal(got, wantCases) && !(len(got) == 0 && len(wantCases) == 0) {
					t.Errorf("%s: the index answers %v, want %v", perm, got, wantCases)
				}
				for _, c := range []string{ns("c"), ns("closed")} {
					allowed, at, err := idx.Check(ctx, perm, ns("u"), c)
					if err != nil {
						t.Fatal(err)
					}
					spiceAllowed, err := spiceCheck(ctx, e, perm, ns("u"), c, at)
					if err != nil {
						t.Fatal(err)
					}
					if want := slices.Contains(wantCases, c); allowed != want || allowed != spiceAllowed {
						t.Errorf("check %s on %s: the index answers %v, SpiceDB at the same revision %v, want %v", perm, c, allowed, spiceAllowed, want)
					}
				}
			}
		})
	}
}

// TestViewListingAfterAQuietSpell: when nothing a view listing's SpiceDB lookups (or a
// check's SpiceDB questions) read has changed for longer than the datastore keeps history,
// while other writes moved the head, the index still answers, as SpiceDB does, instead of
// declining.
func TestViewListingAfterAQuietSpell(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const window = time.Second
	e, idx := startIndexed(t, engine.EmbeddedConfig{DatastoreURI: engine.LocalURI(t.TempDir()), GCWindow: window, RevisionQuantization: 50 * time.Millisecond})
	touch := func(rels ...*v1.Relationship) {
		t.Helper()
		writeAll(t, e, v1.RelationshipUpdate_OPERATION_TOUCH, rels...)
	}
	touch(rel("case", "c", "account", "account", "a"), rel("account", "a", "admin", "user", "u"))
	waitReady(t, idx)
	// Dates the lookups at this revision: the next one changes nothing they read.
	touch(rel("account", "a", "admin", "user", "u2"))
	touch(rel("feature", "f", "participant", "user", "someone"))
	time.Sleep(window + 500*time.Millisecond)
	got, at, err := idx.Cases(ctx, "view", "u")
	if err != nil {
		t.Fatalf("after a quiet spell: %v", err)
	}
	want, err := spiceCases(ctx, e, "view", "u", at)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) || !slices.Equal(got, []string{"c"}) {
		t.Fatalf("after a quiet spell the index answers %v, SpiceDB %v, want [c]", got, want)
	}
	// A check asks SpiceDB at the same dated revision: one question, then two (a product).
	for _, more := range [][]*v1.Relationship{nil, {rel("case", "c", "sold_product", "sold_product", "sp")}} {
		if more != nil {
			touch(more...)
			touch(rel("feature", "f", "participant", "user", "someone-else"))
			time.Sleep(window + 500*time.Millisecond)
		}
		allowed, _, err := idx.Check(ctx, "view", "u", "c")
		if err != nil || !allowed {
			t.Fatalf("a check after a quiet spell (asking %d more): %v, %v; want allowed", len(more), allowed, err)
		}
	}
}

// TestChecksDeclineWhileNestingHasACycle: SpiceDB's check walks up from the reporter's
// groups, so a cycle above them ends it even when the user reads none of those groups. While
// any cycle of nesting is stored the index leaves checks to SpiceDB (listings of users whose
// groups reach none still answer), and answers again once it is gone.
func TestChecksDeclineWhileNestingHasACycle(t *testing.T) {
	ctx := context.Background()
	e, idx := startIndexed(t, engine.EmbeddedConfig{})
	write := func(op v1.RelationshipUpdate_Operation, rels ...*v1.Relationship) {
		t.Helper()
		writeAll(t, e, op, rels...)
	}
	write(v1.RelationshipUpdate_OPERATION_TOUCH,
		rel("case", "c", "reporter", "user", "r"), rel("case", "c", "account", "account", "a"),
		rel("account", "a", "admin", "user", "u"), rel("user", "r", "member_of", "group", "g1"),
		rel("group", "g1", "parent", "group", "g2"), rel("group", "g2", "parent", "group", "g3"))
	cycle := rel("group", "g3", "parent", "group", "g1")
	for round, cyclic := range []bool{false, true, false} {
		op := v1.RelationshipUpdate_OPERATION_DELETE
		if cyclic {
			op = v1.RelationshipUpdate_OPERATION_TOUCH
		}
		write(op, cycle)
		for _, user := range []string{"u", "r", "nobody"} {
			allowed, at, err := idx.Check(ctx, "view", user, "c")
			if cyclic {
				if !errors.Is(err, reach.ErrCycle) {
					t.Errorf("round %d: a check by %s with a cycle above the reporter's group: %v, %v; want ErrCycle", round, user, allowed, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("round %d: a check by %s: %v", round, user, err)
			}
			want, err := spiceCheck(ctx, e, "view", user, "c", at)
			if err != nil {
				t.Fatal(err)
			}
			if allowed != want || allowed != (user != "nobody") {
				t.Errorf("round %d: a check by %s: the index answers %v, SpiceDB %v", round, user, allowed, want)
			}
		}
		// u reads no group, so the cycle is not u's listing's to decline.
		got, at, err := idx.Cases(ctx, "view", "u")
		if err != nil {
			t.Fatalf("round %d: u's listing: %v", round, err)
		}
		if want, err := spiceCases(ctx, e, "view", "u", at); err != nil || !slices.Equal(got, want) || !slices.Equal(got, []string{"c"}) {
			t.Errorf("round %d: u's listing: the index answers %v, SpiceDB %v (%v), want [c]", round, got, want, err)
		}
	}
}
