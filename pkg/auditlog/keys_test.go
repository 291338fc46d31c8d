package auditlog_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/auditlog"
	"github.com/accessgraph/accessgraph/pkg/principal"
	"github.com/accessgraph/accessgraph/pkg/principal/keys"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// Issuing, rotating and revoking keys are changes like any other: each is an entry in the
// hash chain with the operator who made it and the principal whose key it was, and history
// asked for a key operation lists it (its operation, actor and reason) without the
// registry's relationships, which name key hashes; other views leave it out.
func TestKeyChangesAreOnTheRecord(t *testing.T) {
	ctx := context.Background()
	s := startLocal(t, filepath.Join(t.TempDir(), "data"))
	defer s.stop()
	reg := s.e.Registry()
	alice := principal.Principal{Name: "ops-alice", Kind: principal.Operator}
	opCtx := principal.NewContext(ctx, alice)
	if _, _, err := reg.Create(opCtx, principal.Principal{Name: "audit-ann", Kind: principal.Auditor}); err != nil {
		t.Fatal(err)
	}
	rotated, _, err := reg.Rotate(opCtx, "audit-ann", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Revoke(opCtx, "audit-ann"); err != nil {
		t.Fatal(err)
	}

	want := []string{keys.OpCreate, keys.OpRotate, keys.OpRevoke}
	var entries []auditlog.Entry
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		entries = entries[:0]
		for en, err := range s.log.Entries(ctx, auditlog.Filter{}) {
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(en.Operation, "key.") && en.Reason == "key auditor:audit-ann" {
				entries = append(entries, en)
			}
		}
		if len(entries) == len(want) || time.Now().After(deadline) {
			break
		}
	}
	if len(entries) != len(want) {
		t.Fatalf("the log holds %d changes of audit-ann's key, want %d: %+v", len(entries), len(want), entries)
	}
	for i, en := range entries {
		if en.Operation != want[i] || en.Actor != "operator:ops-alice" || en.Position == 0 || len(en.Hash) != 64 || len(en.Changes) == 0 {
			t.Fatalf("entry %d: %+v, want %s by operator:ops-alice, chained, with its relationships", i, en, want[i])
		}
	}
	if v, err := s.log.Verify(ctx, nil); err != nil || !v.Intact() {
		t.Fatalf("verify: %+v, %v", v, err)
	}

	hist := audit.NewLogHistory(s.log)
	var listed []audit.Change
	for _, op := range want {
		for c, err := range hist.History(ctx, audit.HistoryFilter{Operation: op}) {
			if err != nil {
				t.Fatal(err)
			}
			if c.Reason == "key auditor:audit-ann" {
				listed = append(listed, c)
			}
		}
	}
	if len(listed) != len(want) {
		t.Fatalf("history lists %d key changes, want %d: %+v", len(listed), len(want), listed)
	}
	for i, c := range listed {
		var text strings.Builder
		if err := audit.WriteChangeText(&text, c); err != nil {
			t.Fatal(err)
		}
		if c.Operation != want[i] || c.Actor != "operator:ops-alice" || len(c.Updates) != 0 ||
			!strings.Contains(text.String(), "key auditor:audit-ann") || strings.Contains(text.String(), "credential") || strings.Contains(text.String(), rotated) {
			t.Fatalf("history change %d: %+v\n%s", i, c, text.String())
		}
	}
	// Unfiltered history and a filter by object list none of them: they touch no object
	// of the access model.
	for _, f := range []audit.HistoryFilter{{}, {Object: ref.Object{Type: "user", ID: "audit-ann"}}, {Actor: "operator:ops-alice"}} {
		for c, err := range hist.History(ctx, f) {
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(c.Operation, "key.") {
				t.Fatalf("history %+v lists %+v", f, c)
			}
		}
	}
}
