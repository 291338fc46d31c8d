package refmodel

import (
	"maps"
	"slices"
)

// CaseStatus filters case listings: "all", "open" or "closed".
type CaseStatus string

// Case status filters.
const (
	StatusAll    CaseStatus = "all"
	StatusOpen   CaseStatus = "open"
	StatusClosed CaseStatus = "closed"
)

func (w *World) casesWhere(status CaseStatus, keep func(id string, c *caseObj) bool) []string {
	var out []string
	for _, id := range slices.Sorted(maps.Keys(w.cases)) {
		c := w.cases[id]
		if (status == StatusOpen && !c.open) || (status == StatusClosed && c.open) {
			continue
		}
		if keep(id, c) {
			out = append(out, id)
		}
	}
	return out
}

// VisibleCases lists, sorted, the cases the user can view across all accounts (for a
// partner member: across all their customers, contract section 2), filtered by status.
func (w *World) VisibleCases(user string, status CaseStatus) []string {
	return w.casesWhere(status, func(id string, _ *caseObj) bool { return w.Allowed(user, "view", Case(id)) })
}

// GroupCases lists, sorted, the cases the user sees through group read access: those
// reported by a (transitive) member of the group they read (contract section 4), filtered
// by status.
func (w *World) GroupCases(user string, status CaseStatus) []string {
	return w.casesWhere(status, func(_ string, c *caseObj) bool { return w.readsCasesOf(user, c.reporter) })
}

// PartnerManagedCases lists, sorted, the account's cases whose primary point of contact is
// a partner (contract section 2). The list is not pruned when that partner's grant ends
// (docs/model.md section 2, "The partner-managed index is not pruned when a grant ends").
func (w *World) PartnerManagedCases(accountID string) []string {
	return w.casesWhere(StatusAll, func(_ string, c *caseObj) bool {
		return c.account == accountID && len(c.primaryContacts) > 0
	})
}

// Approvers lists, sorted, who may decide the pending join or role-change request of user on
// the account: the holders of manage_members (its admins and full_admin partners), and
// Customer Care when the account has no admin (contract section 1). The requester is never
// their own approver, and partners never decide a request for the admin role (contract
// section 2, no re-delegation; docs/model.md section 1).
func (w *World) Approvers(accountID, user string) []string {
	a := w.accounts[accountID]
	if a == nil {
		return nil
	}
	out := set{}
	if a.pending[user] == RoleAdmin {
		for u, r := range a.roles {
			if r == RoleAdmin {
				out.add(u)
			}
		}
		if !a.hasAdmin() {
			for u := range w.platform[PlatformCustomerCare] {
				out.add(u)
			}
		}
		delete(out, user)
		return out.sorted()
	}
	for u, r := range a.roles {
		if r == RoleAdmin {
			out.add(u)
		}
	}
	// Every user who may hold a partner level: individual grantees and organisation members.
	candidates := set{}
	for u := range a.individualGrants {
		candidates.add(u)
	}
	for p := range a.orgGrants {
		if pt := w.partners[p]; pt != nil {
			for u := range pt.members {
				candidates.add(u)
			}
		}
	}
	for u := range candidates {
		if w.levelAtLeast(a, u, LevelFullAdmin) {
			out.add(u)
		}
	}
	if !a.hasAdmin() {
		for u := range w.platform[PlatformCustomerCare] {
			out.add(u)
		}
	}
	delete(out, user)
	return out.sorted()
}
