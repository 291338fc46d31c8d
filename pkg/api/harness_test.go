package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/api"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/client"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/principal"
)

// The keys of the test server's principals.
const (
	operatorKey = "operator-key-0123456789"
	userKey     = "user-bill-key-0123456789" // user principal bound to user:bill
	auditorKey  = "auditor-key-0123456789"
	serviceKey  = "service-key-0123456789"
)

var testKeys = api.StaticKeys{
	operatorKey: {Name: "ops", Kind: principal.Operator},
	userKey:     {Name: "bill", Kind: principal.User, User: "bill"},
	auditorKey:  {Name: "audit", Kind: principal.Auditor},
	serviceKey:  {Name: "portal", Kind: principal.Service},
}

// server is a real engine (memory datastore) with the domain layer on it, and the API
// serving that domain layer over HTTP/1.1 and unencrypted HTTP/2 (for gRPC).
type server struct {
	url      string
	embedded *access.Client
	auditor  *audit.Auditor
}

func newServer(t *testing.T, wrap func(access.Service) access.Service) *server {
	t.Helper()
	ctx := context.Background()
	e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{StartTimeout: 60 * time.Second})
	if err != nil {
		t.Fatalf("starting engine: %v", err)
	}
	t.Cleanup(func() { _ = e.Close() })
	c := access.New(e.Engine)
	a := audit.New(c)
	var svc access.Service = c
	if wrap != nil {
		svc = wrap(c)
	}
	h, err := api.Handler(api.Options{Access: svc, Audit: a, Resolver: testKeys})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	return &server{url: srv.URL, embedded: c, auditor: a}
}

// remote is a client of the server with the given key.
func (s *server) remote(t *testing.T, key string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(s.url, key, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// seed builds the world the tests share, through any access.Service: vera platform
// administrator, carol Customer Care, account acme (bill admin, sally standard), partner
// integrator (pam) with look on acme, case 42 reported by sally, group eng (sally).
func seed(t *testing.T, svc access.Service) {
	t.Helper()
	ctx := context.Background()
	vera := access.As("vera").Because("seed")
	steps := []func() (access.Token, error){
		func() (access.Token, error) { return svc.Bootstrap(ctx, "vera", "seed") },
		func() (access.Token, error) {
			return svc.AddPlatformRole(ctx, vera, "carol", access.PlatformCustomerCare)
		},
		func() (access.Token, error) { return svc.CreateAccount(ctx, vera, "acme", "bill") },
		func() (access.Token, error) { return svc.CreateAccount(ctx, vera, "globex", "gina") },
		func() (access.Token, error) {
			return svc.RequestAccess(ctx, access.As("sally"), "acme", access.RoleStandard)
		},
		func() (access.Token, error) { return svc.Approve(ctx, access.As("bill"), "acme", "sally") },
		func() (access.Token, error) { return svc.CreatePartner(ctx, vera, "integrator", "") },
		func() (access.Token, error) { return svc.AddPartnerMember(ctx, vera, "integrator", "pam") },
		func() (access.Token, error) {
			return svc.GrantPartner(ctx, access.As("bill"), "acme", access.PartnerOrg("integrator"), access.LevelLook, time.Time{})
		},
		func() (access.Token, error) {
			return svc.CreateCase(ctx, access.As("sally"), access.NewCase{ID: "42", Account: "acme"})
		},
		func() (access.Token, error) { return svc.CreateGroup(ctx, vera, "eng") },
		func() (access.Token, error) { return svc.AddGroupMember(ctx, vera, "eng", "sally") },
	}
	for i, step := range steps {
		if _, err := step(); err != nil {
			t.Fatalf("seed step %d: %v", i, err)
		}
	}
}
