package audit

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
)

// levelIndex orders partner levels, lowest first.
func levelIndex(l access.Level) int { return slices.Index(access.Levels, l) }

func (rv *reviewer) flags(out *Review, within time.Duration) {
	now := out.GeneratedAt
	acct := rv.acct.String()
	admins := 0
	contacts := map[string]bool{}
	for _, m := range out.Members {
		contacts[m.User] = true
		if m.Role == access.RoleAdmin {
			admins++
		}
	}
	if admins == 0 {
		out.Flags = append(out.Flags, Flag{FlagNoAdmin, acct, acct + " has no admin: join requests go to Customer Care"})
	}
	grants := append(append([]GrantAccess{}, out.Partners...), out.VendorStaff...)
	for _, g := range grants {
		if within > 0 && !g.ExpiresAt.IsZero() && g.ExpiresAt.Sub(now) <= within {
			out.Flags = append(out.Flags, Flag{FlagExpiring, g.Grantee, fmt.Sprintf("%s grant %s on %s expires %s (in %s)",
				g.Kind, g.Level, acct, g.ExpiresAt.Format(time.RFC3339), roundDays(g.ExpiresAt.Sub(now)))})
		}
		if g.Kind == "organisation" && len(g.Members) == 0 {
			out.Flags = append(out.Flags, Flag{FlagEmptyPartner, g.Grantee, fmt.Sprintf("%s holds %s on %s but has no members", g.Grantee, g.Level, acct)})
		}
	}
	for _, ind := range grants {
		if ind.Kind != "individual" {
			continue
		}
		user := strings.TrimPrefix(ind.Grantee, "user:")
		for _, org := range out.Partners {
			if org.Kind == "organisation" && slices.Contains(org.Members, user) {
				out.Flags = append(out.Flags, Flag{FlagOverriding, ind.Grantee, fmt.Sprintf(
					"%s's individual grant %s on %s %s %s's organisation grant %s", user, ind.Level, acct, overrideVerb(ind.Level, org.Level), org.Grantee, org.Level)})
			}
		}
	}
	for _, d := range out.DataAccess {
		if len(d.Members) == 0 {
			out.Flags = append(out.Flags, Flag{FlagEmptyPartner, d.Partner, d.Partner + " has a data-access agreement with " + acct + " but no members"})
		}
		switch {
		case d.VendorManage && !d.CustomerManage:
			out.Flags = append(out.Flags, Flag{FlagOneSidedConsent, d.Partner, fmt.Sprintf(
				"the vendor consented to %s managing %s's data but %s has not: its members cannot manage until both do", d.Partner, acct, acct)})
		case d.CustomerManage && !d.VendorManage:
			out.Flags = append(out.Flags, Flag{FlagOneSidedConsent, d.Partner, fmt.Sprintf(
				"%s consented to %s managing its data but the vendor has not: its members cannot manage until both do", acct, d.Partner)})
		}
	}
	reporters := make([]string, 0, len(rv.reporters))
	for u := range rv.reporters {
		reporters = append(reporters, u)
	}
	slices.Sort(reporters)
	for _, u := range reporters {
		if !contacts[u] && !rv.isPartyOrPartner(out, u) {
			cases := slices.Sorted(slices.Values(rv.reporters[u]))
			out.Flags = append(out.Flags, Flag{FlagFormerMember, "user:" + u, fmt.Sprintf(
				"%s is no longer a member or partner of %s but still sees the cases they reported: %s", u, acct, strings.Join(cases, ", "))})
		}
	}
}

// isPartyOrPartner reports whether a reporter has another reason to be on the account's
// cases (a related party, a partner or vendor staff), which makes reporting unremarkable.
func (rv *reviewer) isPartyOrPartner(out *Review, user string) bool {
	for _, p := range out.RelatedParties {
		if p.Party == user || slices.Contains(p.Members, user) {
			return true
		}
	}
	for _, g := range append(append([]GrantAccess{}, out.Partners...), out.VendorStaff...) {
		if g.Grantee == "user:"+user || slices.Contains(g.Members, user) {
			return true
		}
	}
	return false
}

// overrideVerb says how an individual grant at level ind stands to the organisation grant
// at level org it replaces for that person.
func overrideVerb(ind, org access.Level) string {
	switch i, o := levelIndex(ind), levelIndex(org); {
	case i < o:
		return "narrows"
	case i > o:
		return "widens"
	}
	return "repeats"
}

// roundDays renders a duration in whole days (or hours under a day).
func roundDays(d time.Duration) string {
	if d < 24*time.Hour {
		return fmt.Sprintf("%dh", int(d.Round(time.Hour).Hours()))
	}
	return fmt.Sprintf("%d days", int((d+12*time.Hour).Hours()/24))
}
