package audit

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// ReviewChange is one difference between two access reviews of an account: something
// added, removed or changed in one of the review's sections.
type ReviewChange struct {
	// Section is "member", "customer care", "partner", "vendor staff", "data access",
	// "super customer", "related party" or "custom role".
	Section string `json:"section"`
	// Key is who or what changed: a user, a partner, a grant's object and role.
	Key string `json:"key"`
	// Change is "added", "removed" or "changed".
	Change string `json:"change"`
	// Before and After describe the entry in each review (empty where it is absent).
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
}

// ReviewDiff is what changed in an account's access between two reviews.
type ReviewDiff struct {
	Account string `json:"account"`
	// From and To are when the two reviews describe (the reviews' GeneratedAt).
	From    time.Time      `json:"from"`
	To      time.Time      `json:"to"`
	Changes []ReviewChange `json:"changes"`
}

// DiffReviews compares two reviews of one account, entry by entry, section by section.
// Findings (flags) are left out: they follow from the entries, and "expiring soon" from
// when each review was made.
func DiffReviews(before, after Review) ReviewDiff {
	d := ReviewDiff{Account: cmp.Or(after.Account, before.Account), From: before.GeneratedAt, To: after.GeneratedAt, Changes: []ReviewChange{}}
	b, a := reviewFacts(before), reviewFacts(after)
	for _, section := range reviewSections {
		keys := map[string]bool{}
		for k := range b[section] {
			keys[k] = true
		}
		for k := range a[section] {
			keys[k] = true
		}
		for _, k := range slices.Sorted(maps.Keys(keys)) {
			was, wasOK := b[section][k]
			now, nowOK := a[section][k]
			c := ReviewChange{Section: section, Key: k, Before: was, After: now}
			switch {
			case !wasOK:
				c.Change = "added"
			case !nowOK:
				c.Change = "removed"
			case was != now:
				c.Change = "changed"
			default:
				continue
			}
			d.Changes = append(d.Changes, c)
		}
	}
	return d
}

var reviewSections = []string{"member", "customer care", "partner", "vendor staff", "data access", "super customer", "related party", "custom role"}

// reviewFacts flattens a review into, per section, each entry's key and description.
func reviewFacts(r Review) map[string]map[string]string {
	f := map[string]map[string]string{}
	put := func(section, key, value string) {
		if f[section] == nil {
			f[section] = map[string]string{}
		}
		f[section][key] = value
	}
	for _, m := range r.Members {
		put("member", m.User, string(m.Role))
	}
	for _, u := range r.CustomerCare {
		put("customer care", u, "customer care")
	}
	grant := func(section string, gs []GrantAccess) {
		for _, g := range gs {
			v := fmt.Sprintf("%s %s", g.Kind, g.Level)
			if !g.ExpiresAt.IsZero() {
				v += ", expires " + g.ExpiresAt.UTC().Format(time.RFC3339)
			}
			if len(g.Members) > 0 {
				v += ", members " + strings.Join(g.Members, " ")
			}
			put(section, g.Grantee, v)
		}
	}
	grant("partner", r.Partners)
	grant("vendor staff", r.VendorStaff)
	for _, d := range r.DataAccess {
		put("data access", d.Partner, fmt.Sprintf("support %t, vendor manage %t, customer manage %t, manage %t, members %s",
			d.Support, d.VendorManage, d.CustomerManage, d.Manage, strings.Join(d.Members, " ")))
	}
	for _, s := range r.SuperCustomers {
		put("super customer", s.User+" through "+s.Group, fmt.Sprintf("reporters %s, cases %s", strings.Join(s.Reporters, " "), strings.Join(s.Cases, " ")))
	}
	for _, p := range r.RelatedParties {
		put("related party", p.Object+" "+p.Role+" "+p.Party, "members "+strings.Join(p.Members, " "))
	}
	for _, rb := range r.CustomRoles {
		put("custom role", rb.Object+" "+rb.Role, fmt.Sprintf("privileges %s, grantees %s", strings.Join(rb.Privileges, " "), strings.Join(rb.Grantees, " ")))
	}
	return f
}
