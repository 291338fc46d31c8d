package serve_test

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
	"github.com/accessgraph/accessgraph/pkg/cli/profile"
	"github.com/accessgraph/accessgraph/pkg/client"
	"github.com/accessgraph/accessgraph/pkg/principal"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// serve --demo serves the domain API on --api-addr: the preshared key is an operator's,
// any other key is refused.
func TestServeServesTheDomainAPI(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	apiAddr := ln.Addr().String()
	_ = ln.Close()
	dir := filepath.Join(t.TempDir(), "config")
	env := clitest.Offline(t)
	env.Env["ACCESSCTL_CONFIG_DIR"] = dir
	env.Env["ACCESSCTL_DATA_DIR"] = t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan clitest.Result, 1)
	go func() {
		done <- env.RunWith(clitest.Options{Ctx: ctx}, "serve", "--demo", "--addr", "127.0.0.1:0", "--api-addr", apiAddr)
	}()
	var p *profile.Profile
	for deadline := time.Now().Add(60 * time.Second); ; {
		if p, err = profile.Read(filepath.Join(dir, profile.FileName)); err == nil {
			break
		}
		select {
		case r := <-done:
			t.Fatalf("serve stopped early: code %d, stderr:\n%s", r.Code, r.Stderr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no profile after 60s")
		}
	}

	c, err := client.New("http://"+apiAddr, p.Token)
	if err != nil {
		t.Fatal(err)
	}
	bill := ref.Subject{Object: ref.Object{Type: "user", ID: "bill"}}
	d, err := c.Check(ctx, bill, "view_all_cases", ref.Object{Type: "account", ID: "acme"}, access.Fresh())
	if err != nil || !d.Allowed {
		t.Fatalf("check through the API: %+v, %v", d, err)
	}
	members, err := c.PendingRequests(ctx, access.As("bill"), "acme")
	if err != nil {
		t.Fatalf("a read as bill: %v (%v)", err, members)
	}
	grpc, err := client.New("http://"+apiAddr, p.Token, client.WithGRPC())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := grpc.Check(ctx, bill, "view_all_cases", ref.Object{Type: "account", ID: "acme"}, access.Fresh()); err != nil {
		t.Fatalf("check through the API over gRPC: %v", err)
	}
	wrong, err := client.New("http://"+apiAddr, "not-the-key-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wrong.Check(ctx, bill, "view_all_cases", ref.Object{Type: "account", ID: "acme"}, access.Fresh()); !errors.Is(err, principal.ErrUnauthenticated) {
		t.Fatalf("a wrong key: %v", err)
	}

	cancel()
	if r := <-done; r.Code != 0 {
		t.Fatalf("serve: code %d, stderr:\n%s", r.Code, r.Stderr)
	}
}

func TestServeRefusesPlaintextAPIOffLoopback(t *testing.T) {
	t.Parallel()
	env := clitest.Offline(t)
	env.Env["ACCESSCTL_CONFIG_DIR"] = t.TempDir()
	env.Env["ACCESSCTL_DATA_DIR"] = t.TempDir()
	r := env.Run("serve", "--addr", "127.0.0.1:0", "--api-addr", "0.0.0.0:0")
	if r.Code != cmdutil.ExitUsage || !strings.Contains(r.Stderr, "refusing to serve the domain API in plain HTTP on 0.0.0.0:0") {
		t.Errorf("code %d, stderr %q", r.Code, r.Stderr)
	}
}
