package engine_test

import (
	"context"
	"errors"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accessgraph/accessgraph/pkg/engine"
)

func startMemory(t *testing.T) *engine.Embedded {
	t.Helper()
	e, err := engine.StartEmbedded(context.Background(), engine.EmbeddedConfig{})
	if err != nil {
		t.Fatalf("starting embedded engine: %v", err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func rel(resType, resID, relation, subType, subID, subRel string) *v1.Relationship {
	return &v1.Relationship{
		Resource: &v1.ObjectReference{ObjectType: resType, ObjectId: resID},
		Relation: relation,
		Subject:  &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: subType, ObjectId: subID}, OptionalRelation: subRel},
	}
}

func check(t *testing.T, e *engine.Embedded, tok *v1.ZedToken, resType, resID, perm, userID string) bool {
	t.Helper()
	resp, err := e.Permissions().CheckPermission(context.Background(), &v1.CheckPermissionRequest{
		Consistency: &v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: e.FreshestToken(tok)}},
		Resource:    &v1.ObjectReference{ObjectType: resType, ObjectId: resID},
		Permission:  perm,
		Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: userID}},
	})
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	return resp.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION
}

func TestEmbeddedServesSchemaAndChecks(t *testing.T) {
	t.Parallel()
	e := startMemory(t)
	if e.Kind() != "memory" {
		t.Fatalf("kind = %q, want memory", e.Kind())
	}
	tok, err := e.WriteRelationships(context.Background(), &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{
		{Operation: v1.RelationshipUpdate_OPERATION_CREATE, Relationship: rel("account", "acme", "admin", "user", "bill", "")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !check(t, e, tok, "account", "acme", "view_all_cases", "bill") {
		t.Fatal("bill should view all cases of acme")
	}
	if check(t, e, tok, "account", "acme", "view_all_cases", "sally") {
		t.Fatal("sally should not view all cases of acme")
	}
	// Writing the same schema again is a no-op.
	if err := e.EnsureSchema(context.Background()); err != nil {
		t.Fatalf("EnsureSchema twice: %v", err)
	}
}

func TestTwoEmbeddedEnginesInOneProcess(t *testing.T) {
	t.Parallel()
	a, b := startMemory(t), startMemory(t)
	if a.PresharedKey() == b.PresharedKey() {
		t.Fatal("generated keys should differ")
	}
}

func TestExpiredGrantGivesNothing(t *testing.T) {
	t.Parallel()
	e := startMemory(t)
	ctx := context.Background()
	grant := rel("account", "acme", "individual_look", "user", "tam", "")
	grant.OptionalExpiresAt = timestamppb.New(time.Now().Add(1500 * time.Millisecond))
	// Siblings on the same object: the v1.56 advisory concerns expiry next to other relations.
	tok, err := e.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{
		{Operation: v1.RelationshipUpdate_OPERATION_CREATE, Relationship: grant},
		{Operation: v1.RelationshipUpdate_OPERATION_CREATE, Relationship: rel("account", "acme", "admin", "user", "bill", "")},
		{Operation: v1.RelationshipUpdate_OPERATION_CREATE, Relationship: rel("account", "acme", "individual_update", "user", "pam", "")},
		{Operation: v1.RelationshipUpdate_OPERATION_CREATE, Relationship: rel("case", "c1", "account", "account", "acme", "")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"tam", "bill", "pam"} {
		if !check(t, e, tok, "case", "c1", "view", u) {
			t.Fatalf("%s should view case c1 before the expiry", u)
		}
	}
	time.Sleep(1600 * time.Millisecond)
	for i := 0; i < 3; i++ {
		if check(t, e, tok, "case", "c1", "view", "tam") {
			t.Fatal("tam still views c1 after the grant expired")
		}
		if !check(t, e, tok, "case", "c1", "view", "pam") {
			t.Fatal("pam's grant does not expire")
		}
	}
}

func TestDatastoreURIs(t *testing.T) {
	t.Parallel()
	for uri, want := range map[string]string{"": "memory", "postgres://u:p@h:5432/db": "postgres", "cockroachdb://root@h:26257/db": "cockroachdb"} {
		got, _, err := engine.DatastoreEngine(uri)
		if err != nil || got != want {
			t.Errorf("DatastoreEngine(%q) = %q, %v; want %q", uri, got, err, want)
		}
	}
	if _, _, err := engine.DatastoreEngine("mysql://u:secret@h/db"); err == nil {
		t.Error("mysql should be refused")
	} else if contains(err.Error(), "secret") {
		t.Errorf("error leaks the password: %v", err)
	}
}

func TestRemoteNeedsEndpoint(t *testing.T) {
	t.Parallel()
	if _, err := engine.Dial(context.Background(), engine.RemoteConfig{}); !errors.Is(err, engine.ErrNoEndpoint) {
		t.Fatalf("Dial without endpoint: %v", err)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestExpiryReaperFindsGrantsWrittenByOtherClients(t *testing.T) {
	t.Parallel()
	e, err := engine.StartEmbedded(context.Background(), engine.EmbeddedConfig{ExpirySweepInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	grant := rel("account", "acme", "individual_look", "user", "tam", "")
	grant.OptionalExpiresAt = timestamppb.New(time.Now().Add(1500 * time.Millisecond))
	// Written through the raw API, as another SpiceDB client would: the engine does not see it.
	resp, err := e.Permissions().WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{
		{Operation: v1.RelationshipUpdate_OPERATION_CREATE, Relationship: grant},
		{Operation: v1.RelationshipUpdate_OPERATION_CREATE, Relationship: rel("case", "c1", "account", "account", "acme", "")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !check(t, e, resp.GetWrittenAt(), "case", "c1", "view", "tam") {
		t.Fatal("tam should view c1 before the expiry")
	}
	time.Sleep(1600 * time.Millisecond)
	if check(t, e, resp.GetWrittenAt(), "case", "c1", "view", "tam") {
		t.Fatal("tam still views c1 after the grant expired")
	}
}

func TestUnreachableDatabaseIsAClearError(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Port 1 on loopback: nothing listens there.
	_, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{DatastoreURI: "postgres://accessgraph:s3cret@127.0.0.1:1/accessgraph?connect_timeout=2"})
	if !errors.Is(err, engine.ErrDatastoreUnavailable) {
		t.Fatalf("error = %v, want ErrDatastoreUnavailable", err)
	}
	if contains(err.Error(), "s3cret") {
		t.Fatalf("error leaks the password: %v", err)
	}
	t.Logf("reported as: %v", err)
}
