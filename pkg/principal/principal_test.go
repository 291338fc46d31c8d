package principal_test

import (
	"context"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/principal"
)

func TestKindsAllowWhatTheyPromise(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		p                       principal.Principal
		raw, change, asSelf, as bool
	}{
		{principal.Principal{Name: "ops", Kind: principal.Operator}, true, true, true, true},
		{principal.Principal{Name: "bill", Kind: principal.User, User: "bill"}, false, true, true, false},
		{principal.Principal{Name: "audit", Kind: principal.Auditor}, false, false, false, false},
		{principal.Principal{Name: "portal", Kind: principal.Service}, false, true, true, true},
		{principal.Principal{Name: "none"}, false, false, false, false},
	} {
		t.Run(tc.p.String(), func(t *testing.T) {
			self := tc.p.User
			if self == "" {
				self = "someone"
			}
			if got := tc.p.MayWriteRaw(); got != tc.raw {
				t.Errorf("MayWriteRaw = %v, want %v", got, tc.raw)
			}
			if got := tc.p.MayChange(); got != tc.change {
				t.Errorf("MayChange = %v, want %v", got, tc.change)
			}
			if got := tc.p.MayActAs(self); got != tc.asSelf {
				t.Errorf("MayActAs(%s) = %v, want %v", self, got, tc.asSelf)
			}
			if got := tc.p.MayActAs("mallory"); got != tc.as {
				t.Errorf("MayActAs(mallory) = %v, want %v", got, tc.as)
			}
		})
	}
}

func TestParseKind(t *testing.T) {
	t.Parallel()
	for _, k := range principal.Kinds {
		if got, err := principal.ParseKind(string(k)); err != nil || got != k {
			t.Errorf("ParseKind(%q) = %q, %v", k, got, err)
		}
	}
	for _, bad := range []string{"", "Operator", "admin", "user ", "auditors"} {
		if _, err := principal.ParseKind(bad); err == nil {
			t.Errorf("ParseKind(%q) accepted", bad)
		}
	}
}

func TestContextCarriesPrincipal(t *testing.T) {
	t.Parallel()
	if _, ok := principal.FromContext(context.Background()); ok {
		t.Fatal("empty context carries a principal")
	}
	p := principal.Principal{Name: "bill", Kind: principal.User, User: "bill"}
	got, ok := principal.FromContext(principal.NewContext(context.Background(), p))
	if !ok || got != p {
		t.Fatalf("FromContext = %+v, %v", got, ok)
	}
}
