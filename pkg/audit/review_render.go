package audit

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// ReviewRow is one line of a review in flat form: the CSV rows and the table lines.
type ReviewRow struct {
	// Section is member, customer care, partner, vendor staff, data access, super customer,
	// related party, custom role or flag.
	Section string
	// Subject is who has the access (a user id, partner:ID, user:ID, group:ID#member, ...).
	Subject string
	// Access is what they hold: a role, a grant kind and level, a functional role, ...
	Access string
	// Object is what it is held on.
	Object string
	// ExpiresAt is the grant's expiry, or zero.
	ExpiresAt time.Time
	// Detail adds members, cases or a finding's message.
	Detail string
}

// Rows flattens the review, section by section, flags last.
func (r Review) Rows() []ReviewRow {
	acct := "account:" + r.Account
	var rows []ReviewRow
	add := func(row ReviewRow) { rows = append(rows, row) }
	for _, m := range r.Members {
		add(ReviewRow{Section: "member", Subject: userSubject(m.User), Access: "role:" + string(m.Role), Object: acct})
	}
	for _, u := range r.CustomerCare {
		add(ReviewRow{Section: "customer care", Subject: userSubject(u), Access: "customer care", Object: "platform:main"})
	}
	grant := func(section string, g GrantAccess) {
		row := ReviewRow{Section: section, Subject: g.Grantee, Access: g.Kind + " " + string(g.Level), Object: acct, ExpiresAt: g.ExpiresAt}
		if g.Kind == "organisation" {
			row.Detail = "members: " + listOrNone(g.Members)
		}
		add(row)
	}
	for _, g := range r.Partners {
		grant("partner", g)
	}
	for _, g := range r.VendorStaff {
		grant("vendor staff", g)
	}
	for _, d := range r.DataAccess {
		add(ReviewRow{Section: "data access", Subject: d.Partner, Access: dataAccessWords(d), Object: acct, Detail: "members: " + listOrNone(d.Members)})
	}
	for _, s := range r.SuperCustomers {
		add(ReviewRow{Section: "super customer", Subject: userSubject(s.User), Access: "group read access", Object: s.Group,
			Detail: "reporters: " + strings.Join(s.Reporters, " ") + "; cases: " + strings.Join(s.Cases, " ")})
	}
	for _, p := range r.RelatedParties {
		row := ReviewRow{Section: "related party", Subject: userSubject(p.Party), Access: p.Role, Object: p.Object}
		if len(p.Members) > 0 {
			row.Detail = "members: " + strings.Join(p.Members, " ")
		}
		add(row)
	}
	for _, b := range r.CustomRoles {
		for _, g := range b.Grantees {
			add(ReviewRow{Section: "custom role", Subject: g, Access: "role:" + b.Role, Object: b.Object, Detail: "privileges: " + listOrNone(b.Privileges)})
		}
	}
	for _, f := range r.Flags {
		add(ReviewRow{Section: "flag", Subject: f.Subject, Access: string(f.Kind), Object: acct, Detail: f.Message})
	}
	return rows
}

// userSubject writes a bare user id as user:ID, as every other listing does; a subject
// that already names its type passes unchanged.
func userSubject(id string) string {
	if strings.Contains(id, ":") {
		return id
	}
	return "user:" + id
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return strings.Join(s, " ")
}

func dataAccessWords(d DataAccessEntry) string {
	var parts []string
	if d.Support || d.Manage {
		parts = append(parts, "support")
	}
	switch {
	case d.Manage:
		parts = append(parts, "manage")
	case d.VendorManage:
		parts = append(parts, "manage pending customer consent")
	case d.CustomerManage:
		parts = append(parts, "manage pending vendor configuration")
	}
	if len(parts) == 0 {
		return "linked, no access"
	}
	return strings.Join(parts, ", ")
}

func expiryText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// WriteReviewText writes the review as an aligned table with a header line per section.
func WriteReviewText(w io.Writer, r Review) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Access review of account:%s at %s\n", r.Account, r.GeneratedAt.UTC().Format(time.RFC3339))
	fmt.Fprintln(tw, "SECTION\tSUBJECT\tACCESS\tON\tEXPIRES\tDETAIL")
	for _, row := range r.Rows() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", row.Section, row.Subject, row.Access, row.Object, orDash(expiryText(row.ExpiresAt)), row.Detail)
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// WriteReviewCSV writes the review as CSV with a header row: section, subject, access,
// object, expires_at (RFC 3339 or empty), detail.
func WriteReviewCSV(w io.Writer, r Review) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"section", "subject", "access", "object", "expires_at", "detail"})
	for _, row := range r.Rows() {
		_ = cw.Write([]string{row.Section, row.Subject, row.Access, row.Object, expiryText(row.ExpiresAt), row.Detail})
	}
	cw.Flush()
	return cw.Error()
}

// MarshalJSON uses lower-case field names and always lists every section.
func (r Review) MarshalJSON() ([]byte, error) {
	return marshalJSON(struct {
		Account        string              `json:"account"`
		ReviewedAt     string              `json:"reviewed_at"`
		GeneratedAt    time.Time           `json:"generated_at"`
		Members        []MemberAccess      `json:"members"`
		CustomerCare   []string            `json:"customer_care"`
		Partners       []GrantAccess       `json:"partners"`
		VendorStaff    []GrantAccess       `json:"vendor_staff"`
		DataAccess     []DataAccessEntry   `json:"data_access"`
		SuperCustomers []SuperCustomer     `json:"super_customers"`
		RelatedParties []RelatedPartyEntry `json:"related_parties"`
		CustomRoles    []RoleBindingEntry  `json:"custom_roles"`
		Flags          []Flag              `json:"flags"`
	}{
		r.Account, string(r.ReviewedAt), r.GeneratedAt,
		orEmpty(r.Members), nonNil(r.CustomerCare), orEmpty(r.Partners), orEmpty(r.VendorStaff),
		orEmpty(r.DataAccess), orEmpty(r.SuperCustomers), orEmpty(r.RelatedParties), orEmpty(r.CustomRoles), orEmpty(r.Flags),
	})
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// WriteReviewJSON writes the review as indented JSON.
func WriteReviewJSON(w io.Writer, r Review) error { return writeJSON(w, r) }
