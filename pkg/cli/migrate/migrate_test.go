package migrate_test

import (
	"testing"

	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
)

func TestMigrateRefusesWhatCannotBeMigrated(t *testing.T) {
	t.Parallel()
	env := clitest.New(t)
	env.Expect(2, "needs no migration", "migrate", "--datastore", "memory")
	env.Expect(2, "needs no migration", "migrate")
	env.Expect(2, "unknown datastore", "migrate", "--datastore", "mysql://u@h/db")
	// An unreachable database is an error naming the fix, with the password hidden.
	r := env.Expect(1, "is the database running", "migrate", "--datastore", "postgres://u:s3cret@127.0.0.1:1/db?connect_timeout=2")
	if contains(r.Stderr, "s3cret") {
		t.Fatalf("the password leaked: %s", r.Stderr)
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
