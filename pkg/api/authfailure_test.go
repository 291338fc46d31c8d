package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/api"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/client"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/principal"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// brokenRegistry cannot be read: it stands for a key registry whose datastore is down.
type brokenRegistry struct{}

func (brokenRegistry) Resolve(context.Context, string) (principal.Principal, error) {
	return principal.Principal{}, fmt.Errorf("reading the key registry: %w", access.ErrUnavailable)
}

// Every refused key reaches OnAuthFailure with its reason and the procedure, never the key;
// an accepted key does not; a registry that cannot be read is unavailable, not a refusal.
func TestRefusedKeysAreReportedWithoutTheKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{StartTimeout: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	c := access.New(e.Engine)
	var mu sync.Mutex
	var reported []api.AuthFailure
	serveWith := func(resolver principal.Resolver) string {
		h, err := api.Handler(api.Options{Access: c, Audit: audit.New(c), Resolver: resolver, OnAuthFailure: func(f api.AuthFailure) {
			mu.Lock()
			defer mu.Unlock()
			reported = append(reported, f)
		}})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	reports := func() []api.AuthFailure {
		mu.Lock()
		defer mu.Unlock()
		return append([]api.AuthFailure(nil), reported...)
	}
	url := serveWith(testKeys)
	bill := ref.Subject{Object: ref.Object{Type: "user", ID: "bill"}}
	acme := ref.Object{Type: "account", ID: "acme"}

	wrongKeys := []string{"", "agk_wrong-key-0123456789", operatorKey + "x", strings.ToUpper(auditorKey), " "}
	for i, key := range wrongKeys {
		mu.Lock()
		reported = nil
		mu.Unlock()
		var err error
		if strings.TrimSpace(key) == "" {
			// client.New refuses an empty key: send the call as curl would, with no key.
			err = callWithoutKey(t, url, key)
		} else {
			_, err = mustClient(t, url, key).Check(ctx, bill, "view_all_cases", acme, access.Fresh())
		}
		if !errors.Is(err, principal.ErrUnauthenticated) {
			t.Errorf("key %d: %v, want unauthenticated", i, err)
		}
		got := reports()
		if len(got) != 1 || got[0].Procedure != "/accessgraph.v1.AccessService/Check" || got[0].Peer == "" {
			t.Fatalf("key %d: reported %+v, want one report of the Check call", i, got)
		}
		wantReason := "wrong key"
		if strings.TrimSpace(key) == "" {
			wantReason = "no bearer key"
		}
		if got[0].Reason != wantReason {
			t.Errorf("key %d: reason %q, want %q", i, got[0].Reason, wantReason)
		}
		if key != "" && strings.TrimSpace(key) != "" && strings.Contains(fmt.Sprintf("%+v", got[0]), key) {
			t.Errorf("key %d: the report holds the key", i)
		}
	}

	mu.Lock()
	reported = nil
	mu.Unlock()
	for _, key := range []string{operatorKey, auditorKey, serviceKey} {
		if _, err := mustClient(t, url, key).Check(ctx, bill, "view_all_cases", acme, access.Fresh()); err != nil {
			t.Errorf("a good key: %v", err)
		}
	}
	if got := reports(); len(got) != 0 {
		t.Errorf("accepted keys were reported: %+v", got)
	}

	down := serveWith(brokenRegistry{})
	_, err = mustClient(t, down, operatorKey).Check(ctx, bill, "view_all_cases", acme, access.Fresh())
	if !errors.Is(err, access.ErrUnavailable) || errors.Is(err, principal.ErrUnauthenticated) {
		t.Errorf("an unreadable registry: %v, want unavailable", err)
	}
	if got := reports(); len(got) != 0 {
		t.Errorf("an unreadable registry was reported as a refused key: %+v", got)
	}
}

// callWithoutKey posts a Check in HTTP/JSON with "Authorization: Bearer KEY" for a blank key
// (or no header for an empty one) and returns ErrUnauthenticated for a 401.
func callWithoutKey(t *testing.T, url, key string) error {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/accessgraph.v1.AccessService/Check",
		strings.NewReader(`{"subject":"user:bill","permission":"view_all_cases","resource":"account:acme"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		return principal.ErrUnauthenticated
	}
	return fmt.Errorf("status %d", resp.StatusCode)
}

func mustClient(t *testing.T, url, key string) *client.Client {
	t.Helper()
	c, err := client.New(url, key)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
