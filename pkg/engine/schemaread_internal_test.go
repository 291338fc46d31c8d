package engine

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/spicedb/pkg/datalayer"
	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/zedtoken"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/accessgraph/accessgraph/pkg/localstore"
)

// fixedHead is a revision source whose head is a given revision.
type fixedHead struct{ head int }

func (fixedHead) UniqueID(context.Context) (string, error) { return "fixed", nil }
func (fixedHead) RevisionFromString(s string) (datastore.Revision, error) {
	return localstore.ParseRevisionString(s)
}
func (f fixedHead) HeadRevision(context.Context) (datastore.RevisionWithSchemaHash, error) {
	return datastore.RevisionWithSchemaHash{Revision: revisionAt(f.head)}, nil
}

func revisionAt(n int) datastore.Revision {
	rev, err := localstore.ParseRevisionString(strconv.Itoa(n))
	if err != nil {
		panic(err)
	}
	return rev
}

func tokenAt(t *testing.T, n int) *v1.ZedToken {
	t.Helper()
	tok, err := zedtoken.NewFromRevision(context.Background(), revisionAt(n), datalayer.SchemaHash(""), fixedHead{})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// scriptedSchemas answers ReadSchema at the revisions of its script in turn, then at the last.
type scriptedSchemas struct {
	v1.UnimplementedSchemaServiceServer
	t         *testing.T
	script    []int
	afterRead func()

	mu    sync.Mutex
	reads int
}

func (s *scriptedSchemas) ReadSchema(context.Context, *v1.ReadSchemaRequest) (*v1.ReadSchemaResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at := s.script[min(s.reads, len(s.script)-1)]
	s.reads++
	if s.afterRead != nil {
		s.afterRead()
	}
	return &v1.ReadSchemaResponse{SchemaText: "definition user {}", ReadAt: tokenAt(s.t, at)}, nil
}

// TestReadSchemaSinceRereadsAnswersFromBeforeTheRevision: the schema reads SpiceDB answers
// from a head lookup begun before the revision asked for are read again, and only an answer
// containing it is returned; a remote engine, whose revisions cannot be ordered, answers its
// first read.
func TestReadSchemaSinceRereadsAnswersFromBeforeTheRevision(t *testing.T) {
	stale := make([]int, staleSchemaReads)
	for i := range stale {
		stale[i] = 3
	}
	tests := []struct {
		name      string
		remote    bool
		head      int
		after     int // 0: the head
		script    []int
		wantAt    int
		wantReads int
		wantErr   string
	}{
		{name: "current at once", head: 5, script: []int{5}, wantAt: 5, wantReads: 1},
		{name: "newer than the head", head: 5, script: []int{7}, wantAt: 7, wantReads: 1},
		{name: "two stale answers", head: 5, script: []int{3, 4, 5}, wantAt: 5, wantReads: 3},
		{name: "one stale answer, then newer", head: 5, script: []int{4, 9}, wantAt: 9, wantReads: 2},
		{name: "since a given revision", head: 9, after: 4, script: []int{3, 4}, wantAt: 4, wantReads: 2},
		{name: "stale every time", head: 5, script: stale, wantReads: staleSchemaReads, wantErr: "answered from before revision"},
		{name: "remote", remote: true, script: []int{3, 5}, wantAt: 3, wantReads: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &scriptedSchemas{t: t, script: tt.script}
			e := &Engine{conn: serveSchemas(t, fake), tokens: newTokenTracker(fixedHead{head: tt.head})}
			if tt.remote {
				e.tokens = newTokenTracker(nil)
			}
			var after *v1.ZedToken
			if tt.after != 0 {
				after = tokenAt(t, tt.after)
			}
			resp, err := e.ReadSchemaSince(context.Background(), after)
			if fake.reads != tt.wantReads {
				t.Errorf("%d reads, want %d", fake.reads, tt.wantReads)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.GetReadAt().GetToken(); got != tokenAt(t, tt.wantAt).GetToken() {
				t.Fatalf("read at %s, want revision %d", got, tt.wantAt)
			}
		})
	}

	t.Run("cancelled while stale", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		fake := &scriptedSchemas{t: t, script: []int{3}, afterRead: cancel}
		e := &Engine{conn: serveSchemas(t, fake), tokens: newTokenTracker(fixedHead{head: 5})}
		_, err := e.ReadSchemaSince(ctx, nil)
		if !errors.Is(err, context.Canceled) && status.Code(err) != codes.Canceled {
			t.Fatalf("error %v, want the cancellation", err)
		}
		if fake.reads != 1 {
			t.Fatalf("%d reads after the cancellation, want 1", fake.reads)
		}
	})
}

// serveSchemas serves schemas in process and returns a connection to it.
func serveSchemas(t *testing.T, schemas v1.SchemaServiceServer) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	v1.RegisterSchemaServiceServer(srv, schemas)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///schemas",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}
