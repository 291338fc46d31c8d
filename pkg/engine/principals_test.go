package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/principal"
	"github.com/accessgraph/accessgraph/pkg/principal/keys"
	"github.com/accessgraph/accessgraph/pkg/spice"
	"github.com/accessgraph/accessgraph/schema"
)

// watchMetadata returns the change metadata of the next change Watch reports after token.
func watchMetadata(t *testing.T, s *keyServer, after *v1.ZedToken) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w, err := s.Watch().Watch(ctx, &v1.WatchRequest{OptionalStartCursor: after})
	if err != nil {
		t.Fatal(err)
	}
	for {
		resp, err := w.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetUpdates()) > 0 {
			return resp.GetOptionalTransactionMetadata().AsMap()
		}
	}
}

// headToken is the datastore's head: every write committed before the call, which a plain
// ReadSchema's coalesced head lookup does not promise (docs/engine.md, the traps table).
func headToken(t *testing.T, s *keyServer) *v1.ZedToken {
	t.Helper()
	tok, err := s.HeadToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestForgedActorIsRecordedOnlyAsClaimed replays the forged-approval attack: a raw write
// through authzed-go whose metadata claims actor user:bill and operation member.approve.
// With an operator key the change is recorded with the operator as its principal and the
// claim only as claimed_actor; with an auditor key it is refused and nothing is written.
func TestForgedActorIsRecordedOnlyAsClaimed(t *testing.T) {
	s := startKeyServer(t, engine.EmbeddedConfig{})
	ctx := context.Background()
	forged, _ := structpb.NewStruct(map[string]any{"actor": "user:bill", "operation": "member.approve", "reason": "new hire"})
	req := func(id string) *v1.WriteRelationshipsRequest {
		return &v1.WriteRelationshipsRequest{
			Updates:                     []*v1.RelationshipUpdate{{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: relOf("account", id, "admin", "user", "dave")}},
			OptionalTransactionMetadata: forged,
		}
	}

	start := headToken(t, s)
	if _, err := s.client(t, s.keys[principal.Operator]).WriteRelationships(ctx, req("acme")); err != nil {
		t.Fatal(err)
	}
	got := watchMetadata(t, s, start)
	want := map[string]any{"principal": "operator:the-operator", spice.KeyClaimedActor: "user:bill", "operation": "member.approve", "reason": "new hire"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("recorded metadata %v, want %v", got, want)
	}

	_, err := s.client(t, s.keys[principal.Auditor]).WriteRelationships(ctx, req("valley"))
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("auditor's forged write: %v, want PermissionDenied", err)
	}
	rels, err := spice.CollectRelationships(ctx, s.Permissions(), spice.FullyConsistent(), &v1.RelationshipFilter{ResourceType: "account", OptionalResourceId: "valley"})
	if err != nil || len(rels) != 0 {
		t.Fatalf("the auditor's write left %v (%v)", rels, err)
	}
}

// TestDomainLayerPrincipalIsRecorded: the engine's own connection passes the principal a
// call's context carries, and history records it beside the actor the domain layer
// authorised; a client over the network cannot pass one.
func TestDomainLayerPrincipalIsRecorded(t *testing.T) {
	s := startKeyServer(t, engine.EmbeddedConfig{})
	ctx := principal.NewContext(context.Background(), principal.Principal{Name: "portal", Kind: principal.Service})
	meta, _ := spice.Change{Actor: "user:bill", Operation: "member.approve", Reason: "new hire"}.Metadata()
	start := headToken(t, s)
	if _, err := s.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{
		Updates:                     []*v1.RelationshipUpdate{{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: relOf("account", "acme", "admin", "user", "dave")}},
		OptionalTransactionMetadata: meta,
	}); err != nil {
		t.Fatal(err)
	}
	got := watchMetadata(t, s, start)
	if got["principal"] != "service:portal" || got["actor"] != "user:bill" {
		t.Fatalf("recorded %v, want principal service:portal and actor user:bill", got)
	}
}

// TestRevokedKeyIsRefusedOnItsNextRequest and an expired key within a second of expiry.
func TestRevokedAndExpiredKeysAreRefused(t *testing.T) {
	s := startKeyServer(t, engine.EmbeddedConfig{})
	ctx := context.Background()
	check := func(c *rawClient) error {
		_, err := c.CheckPermission(ctx, &v1.CheckPermissionRequest{Consistency: spice.FullyConsistent(), Resource: objRef("account", "acme"), Permission: "manage_members", Subject: subj("user", "bill")})
		return err
	}
	c := s.client(t, s.keys[principal.Auditor])
	if err := check(c); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Registry().Revoke(ctx, "the-auditor"); err != nil {
		t.Fatal(err)
	}
	if err := check(c); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("revoked key: %v, want Unauthenticated", err)
	}

	expires := time.Now().Add(1500 * time.Millisecond)
	key, p, err := s.Registry().Create(ctx, principal.Principal{Name: "short-lived", Kind: principal.Operator, Expires: expires})
	if err != nil {
		t.Fatal(err)
	}
	if p.CredentialID == "" || !p.Expires.Equal(expires) {
		t.Fatalf("created %+v", p)
	}
	short := s.client(t, key)
	if err := check(short); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	for {
		err := check(short)
		if status.Code(err) == codes.Unauthenticated {
			if late := time.Since(expires); late > time.Second {
				t.Fatalf("refused %s after expiry, want within a second", late)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if time.Since(expires) > time.Second {
			t.Fatalf("still accepted %s after expiry", time.Since(expires))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestKeysNeverReachTheLogs captures the server's log and its failed-authentication
// reports while keys are created, used, revoked and refused: neither a key nor its hash
// (nor the hash's first characters, the credential id) appears.
func TestKeysNeverReachTheLogs(t *testing.T) {
	var mu sync.Mutex
	var buf bytes.Buffer
	sink := zapcore.AddSync(writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return buf.Write(p) }))
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewDevelopmentEncoderConfig()), sink, zapcore.DebugLevel))
	s := startKeyServer(t, engine.EmbeddedConfig{
		Logger:        log,
		OnAuthFailure: func(f engine.AuthFailure) { log.Warn("authentication refused", zap.Any("failure", f)) },
	})
	ctx := context.Background()
	for _, k := range principal.Kinds {
		c := s.client(t, s.keys[k])
		_, _ = c.ReadSchema(ctx, &v1.ReadSchemaRequest{})
		_, _ = c.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: relOf("account", "acme", "admin", "user", "dave")}}})
	}
	if _, err := s.Registry().Revoke(ctx, "the-user"); err != nil {
		t.Fatal(err)
	}
	_, _ = s.client(t, s.keys[principal.User]).ReadSchema(ctx, &v1.ReadSchemaRequest{})
	_, _ = s.client(t, "agk_not-a-key-anyone-issued-0000000000").ReadSchema(ctx, &v1.ReadSchemaRequest{})
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if !strings.Contains(out, "authentication refused") {
		t.Fatalf("the refused key was not reported; log:\n%s", out)
	}
	for k, key := range s.keys {
		for _, secret := range []string{key, keys.Hash(key), keys.ID(keys.Hash(key)), key[len(keys.KeyPrefix):][:12]} {
			if strings.Contains(out, secret) {
				t.Errorf("the log holds the %s key or its hash (%q)", k, secret)
			}
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

var _ io.Writer = writerFunc(nil)

// TestInternalDefinitionsAreInvisible: no raw read by any client shows the internal
// definitions, except an operator's reads of the registry's relationships.
func TestInternalDefinitionsAreInvisible(t *testing.T) {
	s := startKeyServer(t, engine.EmbeddedConfig{})
	ctx := context.Background()

	// Watch: an auditor sees the model's changes, not the registry's.
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	watch, err := s.client(t, s.keys[principal.Auditor]).Watch(wctx, &v1.WatchRequest{OptionalStartCursor: headToken(t, s)})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Registry().Create(ctx, principal.Principal{Name: "watched", Kind: principal.Service}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: relOf("account", "acme", "admin", "user", "dave")}}}); err != nil {
		t.Fatal(err)
	}
	for seenModel := false; !seenModel; {
		resp, err := watch.Recv()
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range resp.GetUpdates() {
			if strings.HasPrefix(u.GetRelationship().GetResource().GetObjectType(), schema.ServerPrefix) {
				t.Fatalf("the auditor's Watch shows %v", u)
			}
			seenModel = true
		}
	}
	for _, k := range []principal.Kind{principal.Operator, principal.Auditor} {
		c := s.client(t, s.keys[k])
		sch, err := c.ReadSchema(ctx, &v1.ReadSchemaRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(sch.GetSchemaText(), schema.ServerPrefix) || !strings.Contains(sch.GetSchemaText(), "definition case") {
			t.Errorf("%s reads a schema with internal definitions, or without the model:\n%s", k, sch.GetSchemaText())
		}
		refl, err := c.ReflectSchema(ctx, &v1.ReflectSchemaRequest{Consistency: spice.FullyConsistent()})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range refl.GetDefinitions() {
			if strings.HasPrefix(d.GetName(), schema.ServerPrefix) {
				t.Errorf("%s reflects %s", k, d.GetName())
			}
		}
		exp, err := c.ExportBulkRelationships(ctx, &v1.ExportBulkRelationshipsRequest{Consistency: spice.FullyConsistent()})
		if err != nil {
			t.Fatal(err)
		}
		for {
			resp, err := exp.Recv()
			if err != nil {
				break
			}
			for _, r := range resp.GetRelationships() {
				if strings.HasPrefix(r.GetResource().GetObjectType(), schema.ServerPrefix) {
					t.Errorf("%s exports %v", k, r)
				}
			}
		}
	}
	// The stored schema keeps them, and an operator's schema write cannot drop them.
	if _, err := s.client(t, s.keys[principal.Operator]).WriteSchema(ctx, &v1.WriteSchemaRequest{Schema: schema.Text}); err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureSchema(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Registry().Resolve(ctx, s.keys[principal.Operator]); err != nil {
		t.Fatalf("after an operator's schema write: %v", err)
	}
}

// TestKeysSurviveARestartOnTheLocalDatastore: keys made with the registry are kept in the
// datastore across restarts; the serve key is replaced when the server starts with another.
func TestKeysSurviveARestartOnTheLocalDatastore(t *testing.T) {
	keysSurviveARestart(t, "file:"+t.TempDir())
}

// TestKeysSurviveARestartOnPostgres is the same on PostgreSQL (ACCESSGRAPH_TEST_POSTGRES).
func TestKeysSurviveARestartOnPostgres(t *testing.T) {
	base := needPostgres(t)
	keysSurviveARestart(t, freshDB(t, base, "accessgraph_principals"))
}

func keysSurviveARestart(t *testing.T, uri string) {
	ctx := context.Background()
	first, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{DatastoreURI: uri})
	if err != nil {
		t.Fatal(err)
	}
	oldServeKey := first.PresharedKey()
	key, _, err := first.Registry().Create(ctx, principal.Principal{Name: "compliance", Kind: principal.Auditor})
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	second, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{DatastoreURI: uri})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	p, err := second.Registry().Resolve(ctx, key)
	if err != nil || p.String() != "auditor:compliance" {
		t.Fatalf("after restart: %v %v", p, err)
	}
	if _, err := second.Registry().Resolve(ctx, oldServeKey); err == nil {
		t.Fatal("the previous run's serve key still works")
	}
	if _, err := second.Registry().Resolve(ctx, second.PresharedKey()); err != nil {
		t.Fatal(err)
	}
}
