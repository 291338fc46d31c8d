package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/demo"
)

func rowKey(r audit.ReviewRow) string {
	return r.Section + "|" + r.Subject + "|" + r.Access + "|" + r.Object
}

func TestReviewPageIsTheAuditorsReviewSortableAndDownloadable(t *testing.T) {
	s := sharedServer(t)
	ctx := context.Background()
	b := s.browser(t)
	b.signIn(operatorKey)
	for _, tc := range []struct{ account, reviewer string }{{demo.Acme, demo.AcmeAdmin}, {demo.Valley, demo.ValleyAdmin}, {demo.Acme, demo.CustomerCare}} {
		rv, err := s.audit.AccessReview(ctx, access.As(tc.reviewer), tc.account, audit.ReviewOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rows := rv.Rows()
		if len(rows) < 3 {
			t.Fatalf("review of %s has %d rows: too few to prove anything", tc.account, len(rows))
		}
		if tc.account == demo.Acme {
			// The demo's acme raises the findings an auditor looks for first.
			for _, kind := range []audit.FlagKind{audit.FlagExpiring, audit.FlagOverriding, audit.FlagOneSidedConsent} {
				if !slices.ContainsFunc(rows, func(r audit.ReviewRow) bool { return r.Section == "flag" && r.Access == string(kind) }) {
					t.Fatalf("review of acme has no %q flag: %+v", kind, rv.Flags)
				}
			}
		}
		for _, column := range []string{"", "section", "subject", "access", "object", "expires", "detail"} {
			v := url.Values{"as": {tc.reviewer}}
			if column != "" {
				v.Set("sort", column)
			}
			resp, body := b.get("/accounts/" + tc.account + "/review?" + v.Encode())
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("review %s sort %q: %d\n%s", tc.account, column, resp.StatusCode, body)
			}
			var got []string
			for _, a := range attrsInOrder(body, "data-row") {
				got = append(got, html.UnescapeString(a))
			}
			want := slices.Clone(rows)
			if column != "" && column != "expires" {
				field := map[string]func(audit.ReviewRow) string{
					"section": func(r audit.ReviewRow) string { return r.Section }, "subject": func(r audit.ReviewRow) string { return r.Subject },
					"access": func(r audit.ReviewRow) string { return r.Access }, "object": func(r audit.ReviewRow) string { return r.Object },
					"detail": func(r audit.ReviewRow) string { return r.Detail },
				}[column]
				slices.SortStableFunc(want, func(a, b audit.ReviewRow) int { return compare(field(a), field(b)) })
			}
			var wantKeys []string
			for _, r := range want {
				wantKeys = append(wantKeys, rowKey(r))
			}
			if column == "expires" { // the same rows; the order is checked by the unit test
				slices.Sort(got)
				slices.Sort(wantKeys)
			}
			if !slices.Equal(got, wantKeys) {
				t.Errorf("review %s by %s sort %q: page rows %v, want %v", tc.account, tc.reviewer, column, got, wantKeys)
			}
		}
		var csv, js bytes.Buffer
		if err := audit.WriteReviewCSV(&csv, rv); err != nil {
			t.Fatal(err)
		}
		if err := audit.WriteReviewJSON(&js, rv); err != nil {
			t.Fatal(err)
		}
		for format, want := range map[string]string{"csv": csv.String(), "json": js.String()} {
			resp, body := b.get("/accounts/" + tc.account + "/review?as=" + tc.reviewer + "&format=" + format)
			if format == "json" { // when it was read and made differs from the test's own review
				body, want = withoutMoments(t, body), withoutMoments(t, want)
			}
			if resp.StatusCode != http.StatusOK || body != want || resp.Header.Get("Content-Disposition") == "" {
				t.Errorf("review %s %s download: %d %q\n%s\nwant\n%s", tc.account, format, resp.StatusCode, resp.Header.Get("Content-Disposition"), body, want)
			}
		}
	}
	if resp, _ := b.get("/accounts/acme/review?as=bill&sort=nonsense"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("an unknown sort column: %d, want 400", resp.StatusCode)
	}
}

// withoutMoments is a review's JSON without reviewed_at and generated_at.
func withoutMoments(t *testing.T, s string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("review JSON: %v\n%s", err, s)
	}
	delete(m, "reviewed_at")
	delete(m, "generated_at")
	out, _ := json.Marshal(m)
	return string(out)
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestReviewIsRefusedToWhomTheAPIRefusesIt(t *testing.T) {
	s := sharedServer(t)
	b := s.browser(t)
	b.signIn(sallyKey) // a standard member: no view_members on acme
	if resp, body := b.get("/accounts/acme/review"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("sally's review of acme: %d, want 403\n%s", resp.StatusCode, body)
	}
	bill := s.browser(t)
	bill.signIn(billKey)
	if resp, body := bill.get("/accounts/acme/review?as=sally"); resp.StatusCode != http.StatusOK || !contains(body, `data-row=`) {
		t.Errorf("bill's review of acme (as= ignored for a user key): %d\n%s", resp.StatusCode, body)
	}
}
