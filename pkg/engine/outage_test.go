package engine_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// outageChecks is how many checks are made while the server is down.
const outageChecks = 30

// TestRemoteServerOutageFailsClosedAndRecovers connects a remote client (engine.Dial) to a
// SpiceDB server listening on TCP, stops the server, and checks that every check made
// meanwhile fails with an error naming the endpoint and never allows; then it starts a
// server on the same address again and checks that the same client recovers without being
// recreated. The server keeps its data on PostgreSQL when ACCESSGRAPH_TEST_POSTGRES is set;
// on the memory datastore the restarted server is empty, so the client writes the data again.
func TestRemoteServerOutageFailsClosedAndRecovers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	addr, key := freeLoopbackAddr(t), "outage-test-key-000001"
	datastore := ""
	if base := os.Getenv(postgresEnv); base != "" {
		datastore = freshDB(t, base, "accessgraph_remote_outage")
	}
	start := func() *engine.Embedded {
		t.Helper()
		s, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{DatastoreURI: datastore, ListenAddress: addr, PresharedKey: key})
		if err != nil {
			t.Fatalf("starting the server on %s: %v", addr, err)
		}
		return s
	}
	server := start()
	serverUp := true
	defer func() {
		if serverUp {
			_ = server.Close()
		}
	}()

	client, err := engine.Dial(ctx, engine.RemoteConfig{Endpoint: addr, PresharedKey: key, Insecure: true})
	if err != nil {
		t.Fatalf("dialing %s: %v", addr, err)
	}
	defer client.Close()
	domain := access.New(client)
	grant := func() *v1.ZedToken {
		t.Helper()
		tok, err := client.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{
			{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: rel("account", "acme", "admin", "user", "bill", "")},
		}})
		if err != nil {
			t.Fatalf("writing through the remote client: %v", err)
		}
		return tok
	}
	tok := grant()
	bill := ref.Subject{Object: ref.Object{Type: "user", ID: "bill"}}
	acme := ref.Object{Type: "account", ID: "acme"}
	if d, err := domain.Check(ctx, bill, "view_all_cases", acme, access.AtLeast(access.Token(tok.GetToken()))); err != nil || !d.Allowed {
		t.Fatalf("before the outage: bill view_all_cases acme = %+v, %v; want allowed", d, err)
	}

	if err := server.Close(); err != nil {
		t.Fatalf("stopping the server: %v", err)
	}
	serverUp = false
	stopped := time.Now()

	// Three ways to ask, all through the same client: the domain layer's default (Fresh),
	// the raw API at the write's token, and the raw API fully consistent.
	rawCheck := func(cons *v1.Consistency) (bool, error) {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		resp, err := client.Permissions().CheckPermission(cctx, &v1.CheckPermissionRequest{
			Consistency: cons,
			Resource:    &v1.ObjectReference{ObjectType: "account", ObjectId: "acme"},
			Permission:  "view_all_cases",
			Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "bill"}},
		})
		return resp.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION, err
	}
	asks := []struct {
		name string
		ask  func() (bool, error)
	}{
		{"domain check, fresh", func() (bool, error) {
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			d, err := domain.Check(cctx, bill, "view_all_cases", acme, access.Fresh())
			if err != nil && !errors.Is(err, access.ErrUnavailable) {
				t.Errorf("domain check during the outage: %v; want access.ErrUnavailable", err)
			}
			return d.Allowed, err
		}},
		{"raw check at the write's token", func() (bool, error) {
			return rawCheck(&v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: tok}})
		}},
		{"raw check, fully consistent", func() (bool, error) {
			return rawCheck(&v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}})
		}},
	}
	allowed, failed, unnamed := 0, 0, 0
	for i := range outageChecks {
		a := asks[i%len(asks)]
		ok, err := a.ask()
		if ok {
			allowed++
			t.Errorf("check %d (%s) during the outage allowed bill", i, a.name)
		}
		if err == nil {
			t.Errorf("check %d (%s) during the outage returned no error", i, a.name)
			continue
		}
		failed++
		if c := status.Code(err); a.name != "domain check, fresh" && c != codes.Unavailable && c != codes.DeadlineExceeded {
			t.Errorf("check %d (%s) during the outage: code %s, want Unavailable: %v", i, a.name, c, err)
		}
		if !strings.Contains(err.Error(), addr) {
			unnamed++
			t.Errorf("check %d (%s) during the outage: the error does not name the endpoint %s: %v", i, a.name, addr, err)
		}
		if i < len(asks) {
			t.Logf("during the outage, %s: %v", a.name, err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The server comes back on the same address; the client is the same object.
	server = start()
	serverUp = true
	up := time.Now()
	var recoveredAfter time.Duration
	for {
		allowedNow, err := rawCheck(&v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}})
		if err == nil {
			recoveredAfter = time.Since(up)
			if datastore != "" && !allowedNow {
				t.Fatal("after the outage, bill's acknowledged admin role is gone from PostgreSQL")
			}
			break
		}
		if time.Since(up) > 60*time.Second {
			t.Fatalf("the client did not recover within 60s of the server's return: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if datastore == "" {
		// The memory datastore starts empty: the same client writes the data again.
		tok = grant()
	}
	if d, err := domain.Check(ctx, bill, "view_all_cases", acme, access.Fresh()); err != nil || !d.Allowed {
		t.Fatalf("after recovery: bill view_all_cases acme = %+v, %v; want allowed", d, err)
	}
	if d, err := domain.Check(ctx, ref.Subject{Object: ref.Object{Type: "user", ID: "mallory"}}, "view_all_cases", acme, access.Fresh()); err != nil || d.Allowed {
		t.Fatalf("after recovery: mallory view_all_cases acme = %+v, %v; want denied", d, err)
	}
	t.Logf("remote outage (%s datastore, endpoint %s): %d checks during the outage, %d failed with an error, %d allowed, %d errors without the endpoint; server down %s; the same client answered %s after the server returned",
		server.Kind(), addr, outageChecks, failed, allowed, unnamed, up.Sub(stopped).Round(time.Millisecond), recoveredAfter.Round(time.Millisecond))
}
