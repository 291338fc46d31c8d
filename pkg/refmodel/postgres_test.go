package refmodel_test

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"

	"github.com/accessgraph/accessgraph/pkg/engine"
)

// postgresEnv names a PostgreSQL server (a URI of any database on it, as a superuser) on
// which to run the differential and escalation tests instead of the memory datastore, as
// the domain layer's own suite does (pkg/access/postgres_test.go).
const postgresEnv = "ACCESSGRAPH_TEST_POSTGRES"

const templateDB = "accessgraph_refmodel_template"

var (
	templateOnce sync.Once
	templateErr  error
	createMu     sync.Mutex // CREATE DATABASE ... TEMPLATE allows one copy at a time
	dbCounter    atomic.Int64
)

func withDatabase(base, name string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
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

// freshDatabase copies a migrated template database for one world; drop removes it once
// the world's engine has closed.
func freshDatabase(ctx context.Context, base string) (uri string, drop func(), err error) {
	templateOnce.Do(func() {
		_ = adminExec(ctx, base, "DROP DATABASE IF EXISTS "+templateDB+" WITH (FORCE)")
		if templateErr = adminExec(ctx, base, "CREATE DATABASE "+templateDB); templateErr != nil {
			return
		}
		uri, err := withDatabase(base, templateDB)
		if err != nil {
			templateErr = err
			return
		}
		templateErr = engine.Migrate(ctx, uri)
	})
	if templateErr != nil {
		return "", nil, fmt.Errorf("preparing the PostgreSQL template database: %w", templateErr)
	}
	name := fmt.Sprintf("accessgraph_refmodel_%d", dbCounter.Add(1))
	createMu.Lock()
	_ = adminExec(ctx, base, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	err = adminExec(ctx, base, "CREATE DATABASE "+name+" TEMPLATE "+templateDB)
	createMu.Unlock()
	if err != nil {
		return "", nil, fmt.Errorf("creating test database %s: %w", name, err)
	}
	drop = func() { _ = adminExec(context.Background(), base, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") }
	uri, err = withDatabase(base, name)
	if err != nil {
		drop()
		return "", nil, err
	}
	return uri, drop, nil
}
