package audit_test

import (
	"context"
	"errors"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// A wrong preshared key is an unusable server, never an authorisation refusal: the domain
// layer and the auditor report it alike (ErrUnauthenticated, also ErrUnavailable), so a
// program cannot mistake it for "this user may not".
func TestWrongKeyIsNotAPermissionRefusal(t *testing.T) {
	ctx := context.Background()
	e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{ListenAddress: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	wrong, err := engine.Dial(ctx, engine.RemoteConfig{Endpoint: e.Target(), PresharedKey: "not-the-key", Insecure: true, SkipSchema: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = wrong.Close() })
	c := access.New(wrong)
	a := audit.New(c)
	acme := ref.Object{Type: "account", ID: "acme"}
	bill := ref.Subject{Object: ref.Object{Type: "user", ID: "bill"}}

	_, checkErr := c.Check(ctx, bill, "view_all_cases", acme, access.Fresh())
	_, explainErr := a.Explain(ctx, bill, "view_all_cases", acme, access.Fresh())
	var whoErr error
	for _, err := range a.WhoCan(ctx, acme, "view_all_cases") {
		whoErr = err
		break
	}
	for name, err := range map[string]error{"check": checkErr, "explain": explainErr, "who-can": whoErr} {
		if !errors.Is(err, access.ErrUnauthenticated) || !errors.Is(err, access.ErrUnavailable) {
			t.Errorf("%s: %v is not ErrUnauthenticated and ErrUnavailable", name, err)
		}
		if errors.Is(err, access.ErrPermissionDenied) {
			t.Errorf("%s: %v reads as a permission refusal", name, err)
		}
	}
}
