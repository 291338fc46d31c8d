package engine_test

import (
	"bufio"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/jackc/pgx/v5"

	"github.com/accessgraph/accessgraph/pkg/engine"
)

// These tests need a real PostgreSQL: `make test-postgres` starts a private cluster and sets
// ACCESSGRAPH_TEST_POSTGRES. They run the server in a child process (this test binary, see
// TestMain) so that it can be killed with SIGKILL.
const postgresEnv = "ACCESSGRAPH_TEST_POSTGRES"

func TestMain(m *testing.M) {
	if os.Getenv("ACCESSGRAPH_ENGINE_CHILD") == "serve" {
		serveChild()
		return
	}
	os.Exit(m.Run())
}

// serveChild runs an embedded server until killed, printing "ready" once it serves.
func serveChild() {
	e, err := engine.StartEmbedded(context.Background(), engine.EmbeddedConfig{
		DatastoreURI:  os.Getenv("CHILD_DATASTORE"),
		ListenAddress: os.Getenv("CHILD_ADDR"),
		PresharedKey:  os.Getenv("CHILD_KEY"),
	})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	defer e.Close()
	fmt.Println("ready")
	select {}
}

func needPostgres(t *testing.T) string {
	t.Helper()
	base := os.Getenv(postgresEnv)
	if base == "" {
		t.Skip("set " + postgresEnv + " (make test-postgres) to run PostgreSQL durability tests")
	}
	return base
}

func withDB(base, name string) string {
	u, err := url.Parse(base)
	if err != nil {
		panic(err)
	}
	u.Path = "/" + name
	return u.String()
}

func sqlExec(t *testing.T, uri, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func freshDB(t *testing.T, base, name string) string {
	t.Helper()
	sqlExec(t, base, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	sqlExec(t, base, "CREATE DATABASE "+name)
	t.Cleanup(func() { sqlExec(t, base, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	return withDB(base, name)
}

type child struct {
	cmd *exec.Cmd
}

func startChild(t *testing.T, datastore, addr, key string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "ACCESSGRAPH_ENGINE_CHILD=serve", "CHILD_DATASTORE="+datastore, "CHILD_ADDR="+addr, "CHILD_KEY="+key)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd}
	t.Cleanup(c.kill)
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("server child did not start: %q %v", line, err)
	}
	return c
}

func (c *child) kill() {
	if c.cmd.ProcessState == nil {
		_ = c.cmd.Process.Signal(syscall.SIGKILL)
		_ = c.cmd.Wait()
	}
}

func dialChild(t *testing.T, addr, key string) *engine.Engine {
	t.Helper()
	e, err := engine.Dial(context.Background(), engine.RemoteConfig{Endpoint: addr, PresharedKey: key, Insecure: true, SkipSchema: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func grantRel(i int) *v1.Relationship {
	return rel("account", "acme", "individual_look", "user", fmt.Sprintf("u%d", i), "")
}

func TestAcknowledgedWritesSurviveKill9(t *testing.T) {
	base := needPostgres(t)
	uri := freshDB(t, base, "accessgraph_durability")
	addr, key := freeLoopbackAddr(t), "durability-test-key-0001"
	server := startChild(t, uri, addr, key)
	client := dialChild(t, addr, key)

	// One writer keeps granting; the server is killed mid-stream.
	var mu sync.Mutex
	var acked []int
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			_, err := client.WriteRelationships(context.Background(), &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{
				{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: grantRel(i)},
			}})
			if err != nil {
				return // the server is gone
			}
			mu.Lock()
			acked = append(acked, i)
			mu.Unlock()
		}
	}()
	time.Sleep(1500 * time.Millisecond)
	server.kill()
	<-done

	startChild(t, uri, addr, key)
	after := dialChild(t, addr, key)
	lost := 0
	for _, i := range acked {
		resp, err := after.Permissions().CheckPermission(context.Background(), &v1.CheckPermissionRequest{
			Consistency: &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
			Resource:    &v1.ObjectReference{ObjectType: "account", ObjectId: "acme"},
			Permission:  "individual_grantee",
			Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: fmt.Sprintf("u%d", i)}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetPermissionship() != v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION {
			lost++
		}
	}
	if len(acked) == 0 {
		t.Fatal("no write was acknowledged before the kill")
	}
	t.Logf("kill -9 mid-stream: %d acknowledged grants, %d lost", len(acked), lost)
	if lost != 0 {
		t.Fatalf("%d acknowledged grants lost", lost)
	}
}

// TestPostgresOutageFailsClosedAndRecovers stops a private PostgreSQL under a running server.
func TestPostgresOutageFailsClosedAndRecovers(t *testing.T) {
	needPostgres(t)
	pg := startPrivateCluster(t, "postgres-outage-test")
	uri := pg.uri
	ctx := context.Background()
	e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{DatastoreURI: uri})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	tok, err := e.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{
		{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: rel("account", "acme", "admin", "user", "bill", "")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !check(t, e, tok, "account", "acme", "view_all_cases", "bill") {
		t.Fatal("bill should view all cases")
	}

	pg.do("stop")
	if ready, _, _ := e.Ready(ctx); ready {
		t.Error("the server reports ready while PostgreSQL is down")
	}
	allowed := 0
	for i := 0; i < 5; i++ {
		resp, err := e.Permissions().CheckPermission(ctx, &v1.CheckPermissionRequest{
			Consistency: &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
			Resource:    &v1.ObjectReference{ObjectType: "account", ObjectId: "acme"},
			Permission:  "view_all_cases",
			Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "bill"}},
		})
		if err == nil && resp.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION {
			allowed++
		}
	}
	if allowed != 0 {
		t.Fatalf("%d of 5 checks said yes with the database down", allowed)
	}

	pg.do("start")
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := e.Permissions().CheckPermission(ctx, &v1.CheckPermissionRequest{
			Consistency: &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
			Resource:    &v1.ObjectReference{ObjectType: "account", ObjectId: "acme"},
			Permission:  "view_all_cases",
			Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "bill"}},
		})
		if err == nil {
			if resp.GetPermissionship() != v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION {
				t.Fatal("the acknowledged grant is gone after the outage")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery 30s after PostgreSQL returned: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Log("outage: checks failed closed while PostgreSQL was down; recovered with nothing lost")
}

func TestTrackCommitTimestampOffIsReported(t *testing.T) {
	base := needPostgres(t)
	ctx := context.Background()
	good, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{DatastoreURI: freshDB(t, base, "accessgraph_settings")})
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	if w := good.Warnings(); len(w) != 0 {
		t.Fatalf("warnings on a well-configured server: %v", w)
	}

	pg := startPrivateCluster(t, "postgres-settings-test")
	uri := pg.uri
	sqlExec(t, uri, "ALTER SYSTEM SET track_commit_timestamp = off")
	pg.do("stop")
	pg.do("start")
	bad, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{DatastoreURI: uri})
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	if w := bad.Warnings(); len(w) != 1 || !strings.Contains(w[0], "set track_commit_timestamp = on") {
		t.Fatalf("warnings = %v", w)
	}
}
