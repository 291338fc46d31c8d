package access_test

import (
	"context"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/engine"
)

// callCounter counts the SpiceDB calls a client makes.
type callCounter struct{ n atomic.Int64 }

func (c *callCounter) options() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			c.n.Add(1)
			return invoker(ctx, method, req, reply, cc, opts...)
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			c.n.Add(1)
			return streamer(ctx, desc, cc, method, opts...)
		}),
	}
}

// Deciding a request and changing a role read the user's standing on the account once:
// every SpiceDB call of each operation is counted by a client interceptor.
func TestMembershipChangesMakeFewSpiceDBCalls(t *testing.T) {
	ctx := context.Background()
	e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{ListenAddress: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	setup := access.New(e.Engine)
	counter := &callCounter{}
	remote, err := engine.Dial(ctx, engine.RemoteConfig{Endpoint: e.Target(), PresharedKey: e.PresharedKey(), Insecure: true, SkipSchema: true, DialOptions: counter.options()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = remote.Close() })
	c := access.New(remote)

	mustDo := func(_ access.Token, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	mustDo(setup.Bootstrap(ctx, "vera", "setup"))
	mustDo(setup.CreateAccount(ctx, access.As("vera"), "acme", "bill"))
	for _, u := range []string{"joan", "sam", "tom"} {
		mustDo(setup.RequestAccess(ctx, access.As(u), "acme", access.RoleStandard))
	}

	// Each operation: the account exists (1), the actor may decide (1), the user's standing
	// (1), the write (1).
	tests := []struct {
		name string
		do   func() (access.Token, error)
		want int64
	}{
		{"approve", func() (access.Token, error) { return c.Approve(ctx, access.As("bill"), "acme", "joan") }, 4},
		{"deny", func() (access.Token, error) { return c.Deny(ctx, access.As("bill"), "acme", "sam") }, 4},
		{"change role", func() (access.Token, error) {
			return c.ChangeRole(ctx, access.As("bill"), "acme", "joan", access.RoleViewer)
		}, 4},
	}
	for _, tt := range tests {
		counter.n.Store(0)
		mustDo(tt.do())
		if got := counter.n.Load(); got != tt.want {
			t.Errorf("%s made %d SpiceDB calls, want %d", tt.name, got, tt.want)
		}
	}
}
