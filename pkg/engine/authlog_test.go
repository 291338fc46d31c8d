package engine_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/accessgraph/accessgraph/pkg/engine"
)

// TestFailedAuthenticationsAreLoggedBounded sends floods of refused requests (no key, a
// malformed header, a wrong key), unary and streaming, each flood from its own loopback
// address, and a run of accepted ones from another: each flooding host is reported, with
// its reason, at most once per interval and with the rest counted; the accepted host is never
// reported; no report holds any part of either key.
func TestFailedAuthenticationsAreLoggedBounded(t *testing.T) {
	t.Parallel()
	const realKey, wrongKey = "Kq-Real-Secret-Value-Xy", "Wv-Wrong-Guess-Value-Jz"
	var mu sync.Mutex
	var reports []engine.AuthFailure
	addr := freeLoopbackAddr(t)
	e, err := engine.StartEmbedded(context.Background(), engine.EmbeddedConfig{
		ListenAddress: addr, PresharedKey: realKey,
		OnAuthFailure: func(f engine.AuthFailure) { mu.Lock(); reports = append(reports, f); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })

	floods := []struct {
		from, auth, reason string
	}{
		{"127.0.0.2", "", "no bearer key"},
		{"127.0.0.3", "Bearer " + wrongKey, "wrong key"},
		{"127.0.0.4", "Basic " + wrongKey, "no bearer key"},
		{"127.0.0.7", wrongKey, "malformed authorization header"},
		{"127.0.0.5", "Bearer ", "no bearer key"},
		{"127.0.0.6", "Bearer " + realKey, ""},
	}
	const perFlood = 120
	start := time.Now()
	for _, fl := range floods {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithContextDialer(func(ctx context.Context, target string) (net.Conn, error) {
				d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(fl.from)}}
				return d.DialContext(ctx, "tcp", target)
			}))
		if err != nil {
			t.Fatal(err)
		}
		p := v1.NewPermissionsServiceClient(conn)
		ctx := context.Background()
		if fl.auth != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", fl.auth)
		}
		for i := range perFlood {
			var err error
			if i%2 == 0 {
				_, err = p.CheckPermission(ctx, &v1.CheckPermissionRequest{
					Resource: &v1.ObjectReference{ObjectType: "account", ObjectId: "acme"}, Permission: "manage_members",
					Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "bill"}},
				})
			} else {
				var s grpc.ServerStreamingClient[v1.ReadRelationshipsResponse]
				if s, err = p.ReadRelationships(ctx, &v1.ReadRelationshipsRequest{RelationshipFilter: &v1.RelationshipFilter{ResourceType: "account"}}); err == nil {
					_, err = s.Recv()
					if err != nil && strings.Contains(err.Error(), "EOF") {
						err = nil
					}
				}
			}
			if (err == nil) != (fl.reason == "") {
				t.Fatalf("request %d from %s with %q: error %v", i, fl.from, fl.reason, err)
			}
		}
		_ = conn.Close()
	}
	elapsed := time.Since(start)

	mu.Lock()
	defer mu.Unlock()
	maxPerHost := 1 + int(elapsed/engine.AuthFailureInterval)
	for _, fl := range floods {
		lines, counted := 0, 0
		for _, r := range reports {
			if host, _, _ := net.SplitHostPort(r.Peer); host != fl.from {
				continue
			}
			lines++
			counted += 1 + r.Suppressed
			if r.Reason != fl.reason || !strings.HasPrefix(r.Method, "/authzed.api.v1.PermissionsService/") {
				t.Errorf("report %+v from %s; want reason %q and the method called", r, fl.from, fl.reason)
			}
		}
		switch {
		case fl.reason == "" && lines > 0:
			t.Errorf("accepted requests from %s were reported %d times", fl.from, lines)
		case fl.reason != "" && (lines < 1 || lines > maxPerHost || counted > perFlood):
			t.Errorf("%d refused requests from %s: %d lines counting %d failures; want 1 to %d lines (%v elapsed)", perFlood, fl.from, lines, counted, maxPerHost, elapsed)
		}
	}
	all := fmt.Sprintf("%+v", reports)
	for _, key := range []string{realKey, wrongKey} {
		for i := 0; i+5 <= len(key); i++ {
			if strings.Contains(all, key[i:i+5]) {
				t.Fatalf("reports hold %q, part of a key: %s", key[i:i+5], all)
			}
		}
	}
}
