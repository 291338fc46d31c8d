package engine_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/spice"
)

// importPaused imports n admins of account in batches of 10 through one stream, waiting
// pause before closing it, as a client does that streams more than the timeout allows.
func importPaused(ctx context.Context, p v1.PermissionsServiceClient, account string, n int, pause time.Duration) error {
	stream, err := p.ImportBulkRelationships(ctx)
	if err != nil {
		return err
	}
	for i := 0; i < n; i += 10 {
		var batch []*v1.Relationship
		for j := i; j < min(i+10, n); j++ {
			batch = append(batch, rel("account", account, "admin", "user", fmt.Sprintf("u%d", j), ""))
		}
		if err := stream.Send(&v1.ImportBulkRelationshipsRequest{Relationships: batch}); err != nil {
			break // the server ended the stream: CloseAndRecv reports why
		}
	}
	time.Sleep(pause)
	_, err = stream.CloseAndRecv()
	return err
}

// TestStreamTimeoutEndsASilentImportAndKeepsNothing: an import stream that sends nothing
// back for longer than the stream timeout is ended with DeadlineExceeded, and none of it
// is kept, on every durable datastore (PostgreSQL with ACCESSGRAPH_TEST_POSTGRES); a longer
// timeout (serve --stream-timeout) lets the same import through. A negative timeout is refused at start.
func TestStreamTimeoutEndsASilentImportAndKeepsNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	stores := map[string]string{"local": "file:" + t.TempDir()}
	if os.Getenv(postgresEnv) != "" {
		stores["postgres"] = freshDB(t, needPostgres(t), "stream_timeout")
	}
	const timeout = 1500 * time.Millisecond
	for name, uri := range stores {
		t.Run(name, func(t *testing.T) {
			e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{DatastoreURI: uri, StreamTimeout: timeout})
			require.NoError(t, err)
			defer e.Close()
			kept := func(account string) int {
				rels, err := spice.CollectRelationships(ctx, e.Permissions(), spice.FullyConsistent(),
					&v1.RelationshipFilter{ResourceType: "account", OptionalResourceId: account})
				require.NoError(t, err)
				return len(rels)
			}
			for _, n := range []int{1, 25, 400} {
				account := fmt.Sprintf("silent%d", n)
				err := importPaused(ctx, e.Permissions(), account, n, 2*timeout)
				require.Equal(t, codes.DeadlineExceeded, status.Code(err), "import of %d held open past the timeout: %v", n, err)
				require.Zero(t, kept(account), "an import ended by the timeout kept relationships")

				account = fmt.Sprintf("prompt%d", n)
				require.NoError(t, importPaused(ctx, e.Permissions(), account, n, 0))
				require.Equal(t, n, kept(account))
			}
		})
	}

	// The same held-open import goes through under a longer timeout.
	e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{StreamTimeout: 4 * timeout})
	require.NoError(t, err)
	defer e.Close()
	require.NoError(t, importPaused(ctx, e.Permissions(), "patient", 25, 2*timeout))

	_, err = engine.StartEmbedded(ctx, engine.EmbeddedConfig{StreamTimeout: -time.Second})
	require.ErrorContains(t, err, "stream timeout")
}
