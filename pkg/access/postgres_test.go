package access_test

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/accessgraph/accessgraph/pkg/engine"
)

// postgresEnv names a PostgreSQL server (a URI of any database on it, as a superuser) on
// which to run the whole scenario suite instead of the memory datastore. `make
// test-postgres` starts a private cluster and sets it.
const postgresEnv = "ACCESSGRAPH_TEST_POSTGRES"

const templateDB = "accessgraph_test_template"

var (
	templateOnce sync.Once
	templateErr  error
	createMu     sync.Mutex // CREATE DATABASE ... TEMPLATE allows one copy at a time
	dbCounter    atomic.Int64
)

// withDatabase returns base with its database name replaced.
func withDatabase(base, name string) string {
	u, err := url.Parse(base)
	if err != nil {
		panic(err)
	}
	u.Path = "/" + name
	return u.String()
}

func adminExec(ctx context.Context, base, sql string) error {
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// freshDatabase copies a migrated template database for one test and drops it afterwards.
func freshDatabase(t *testing.T, base string) string {
	t.Helper()
	ctx := context.Background()
	templateOnce.Do(func() {
		_ = adminExec(ctx, base, "DROP DATABASE IF EXISTS "+templateDB+" WITH (FORCE)")
		if templateErr = adminExec(ctx, base, "CREATE DATABASE "+templateDB); templateErr != nil {
			return
		}
		templateErr = engine.Migrate(ctx, withDatabase(base, templateDB))
	})
	if templateErr != nil {
		t.Fatalf("preparing the PostgreSQL template database: %v", templateErr)
	}
	name := fmt.Sprintf("accessgraph_test_%d_%d", dbCounter.Add(1), len(t.Name()))
	createMu.Lock()
	_ = adminExec(ctx, base, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	err := adminExec(ctx, base, "CREATE DATABASE "+name+" TEMPLATE "+templateDB)
	createMu.Unlock()
	if err != nil {
		t.Fatalf("creating test database %s: %v", name, err)
	}
	// Registered before the engine's own cleanup, so it runs after the engine has closed.
	t.Cleanup(func() { _ = adminExec(ctx, base, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	return withDatabase(base, name)
}
