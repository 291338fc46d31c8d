package serve_test

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
	"github.com/accessgraph/accessgraph/pkg/cli/profile"
	"github.com/accessgraph/accessgraph/pkg/client"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/principal"
	"github.com/accessgraph/accessgraph/pkg/principal/keys"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// startServeWithAPI runs serve --demo with the domain API on a free port and returns the API's
// address, the profile serve wrote and a function that stops serve and returns its result.
func startServeWithAPI(t *testing.T, ctx context.Context) (string, *profile.Profile, func() clitest.Result) {
	t.Helper()
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
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan clitest.Result, 1)
	go func() {
		done <- env.RunWith(clitest.Options{Ctx: ctx}, "serve", "--demo", "--addr", "127.0.0.1:0", "--api-addr", apiAddr)
	}()
	var once sync.Once
	var result clitest.Result
	stop := func() clitest.Result {
		once.Do(func() {
			cancel()
			result = <-done
		})
		return result
	}
	var p *profile.Profile
	for deadline := time.Now().Add(60 * time.Second); ; {
		if p, err = profile.Read(filepath.Join(dir, profile.FileName)); err == nil {
			break
		}
		select {
		case r := <-done:
			cancel()
			t.Fatalf("serve stopped early: code %d, stderr:\n%s", r.Code, r.Stderr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatal("no profile after 60s")
		}
	}
	return apiAddr, p, stop
}

// serve --demo serves the domain API on --api-addr: the preshared key is an operator's,
// any other key is refused.
func TestServeServesTheDomainAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	apiAddr, p, stop := startServeWithAPI(t, ctx)
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

	if r := stop(); r.Code != 0 {
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

// The domain API resolves keys with the server's registry: keys made after start-up prove
// their principals at once (a user acts only as itself, an auditor only reads, a service
// names its actor), a revoked key is refused on its next call, and refused keys are logged
// without the key.
func TestServeAPIKeysComeFromTheRegistry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	apiAddr, p, stop := startServeWithAPI(t, ctx)
	defer stop()
	e, err := engine.Dial(ctx, engine.RemoteConfig{Endpoint: p.Endpoint, PresharedKey: p.Token, Insecure: true, SkipSchema: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	registry := keys.New(e.Permissions())
	keyOf := map[string]string{}
	for _, pr := range []principal.Principal{
		{Name: "bill-laptop", Kind: principal.User, User: "bill"},
		{Name: "dave-phone", Kind: principal.User, User: "dave"},
		{Name: "compliance", Kind: principal.Auditor},
		{Name: "portal", Kind: principal.Service},
	} {
		key, _, err := registry.Create(ctx, pr)
		if err != nil {
			t.Fatalf("creating %s: %v", pr, err)
		}
		keyOf[pr.Name] = key
	}
	callers := map[string]*client.Client{}
	for name, key := range keyOf {
		if callers[name], err = client.New("http://"+apiAddr, key); err != nil {
			t.Fatal(err)
		}
	}
	acme := ref.Object{Type: "account", ID: "acme"}
	user := func(id string) ref.Subject { return ref.Subject{Object: ref.Object{Type: "user", ID: id}} }

	// Reads as the key's own user, and as anyone else, for every user key; the auditor reads as
	// anyone; the service reads for the user it names.
	for _, tc := range []struct {
		caller, as string
		want       error
	}{
		{"bill-laptop", "bill", nil},
		{"bill-laptop", "sally", principal.ErrPermissionDenied},
		{"bill-laptop", "vera", principal.ErrPermissionDenied},
		{"dave-phone", "bill", principal.ErrPermissionDenied},
		{"compliance", "bill", nil},
		{"portal", "bill", nil},
	} {
		_, err := callers[tc.caller].PendingRequests(ctx, access.As(tc.as), "acme")
		if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s reading acme's pending requests as %s: %v, want %v", tc.caller, tc.as, err, tc.want)
		}
	}
	// Changes: the auditor is refused whoever it names, a user key as anyone but itself.
	for _, tc := range []struct {
		caller, as string
		want       error
	}{
		{"compliance", "dave", principal.ErrPermissionDenied},
		{"compliance", "bill", principal.ErrPermissionDenied},
		{"dave-phone", "sally", principal.ErrPermissionDenied},
		{"bill-laptop", "dave", principal.ErrPermissionDenied},
	} {
		if _, err := callers[tc.caller].RequestAccess(ctx, access.As(tc.as), "acme", access.RoleViewer); !errors.Is(err, tc.want) {
			t.Errorf("%s requesting access as %s: %v, want %v", tc.caller, tc.as, err, tc.want)
		}
	}
	if d, err := callers["compliance"].Check(ctx, user("dave"), "member", acme, access.Fresh()); err != nil || d.Allowed {
		t.Fatalf("dave before approval: %+v, %v", d, err)
	}
	// bill approves dave with his own key: the rules authorise bill, and the change is his.
	if _, err := callers["bill-laptop"].Approve(ctx, access.Actor{}, "acme", "dave"); err != nil {
		t.Fatalf("bill approving dave with his own key: %v", err)
	}
	if d, err := callers["compliance"].Check(ctx, user("dave"), "member", acme, access.Fresh()); err != nil || !d.Allowed {
		t.Fatalf("dave after approval: %+v, %v", d, err)
	}

	// A revoked key is refused on its very next call; the others keep working.
	if _, err := registry.Revoke(ctx, "bill-laptop"); err != nil {
		t.Fatal(err)
	}
	if _, err := callers["bill-laptop"].PendingRequests(ctx, access.As("bill"), "acme"); !errors.Is(err, principal.ErrUnauthenticated) {
		t.Errorf("a revoked key's next call: %v, want unauthenticated", err)
	}
	if _, err := callers["compliance"].Check(ctx, user("bill"), "view_all_cases", acme, access.Fresh()); err != nil {
		t.Errorf("another key after the revocation: %v", err)
	}
	wrong := "agk_" + strings.Repeat("x", 40)
	anon, err := client.New("http://"+apiAddr, wrong)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := anon.Check(ctx, user("bill"), "view_all_cases", acme, access.Fresh()); !errors.Is(err, principal.ErrUnauthenticated) {
		t.Errorf("an unknown key: %v", err)
	}

	r := stop()
	if r.Code != 0 {
		t.Fatalf("serve: code %d, stderr:\n%s", r.Code, r.Stderr)
	}
	if !strings.Contains(r.Stderr, "authentication refused") || !strings.Contains(r.Stderr, "/accessgraph.v1.AccessService/") {
		t.Errorf("no refused-authentication line for the domain API in serve's log:\n%s", r.Stderr)
	}
	for name, key := range keyOf {
		if strings.Contains(r.Stderr, key) || strings.Contains(r.Stderr, keys.Hash(key)) {
			t.Errorf("serve's log holds %s's key or its hash", name)
		}
	}
	if strings.Contains(r.Stderr, wrong) {
		t.Error("serve's log holds a refused key")
	}
}
