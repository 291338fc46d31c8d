package refmodel

import (
	"maps"
	"slices"
	"time"
)

// EntitlementFeature is the rollout that gates software downloads and licence keys; every
// account takes part in it (contract section 1).
const EntitlementFeature = "entitlement_view"

// set is a set of ids.
type set map[string]bool

func (s set) add(id string)      { s[id] = true }
func (s set) del(id string)      { delete(s, id) }
func (s set) has(id string) bool { return s[id] }
func (s set) sorted() []string   { return slices.Sorted(maps.Keys(s)) }
func (s set) clone() set         { return maps.Clone(s) }
func newSet(ids ...string) set {
	s := set{}
	for _, id := range ids {
		s.add(id)
	}
	return s
}
func (s set) any(f func(string) bool) bool {
	for id := range s {
		if f(id) {
			return true
		}
	}
	return false
}

// grant is a partner grant: a level, until an optional expiry (zero: none).
type grant struct {
	level     Level
	expiresAt time.Time
}

// activeAt reports whether the grant still gives anything at now: after its expiry it gives
// nothing (contract section 2).
func (g grant) activeAt(now time.Time) bool { return g.expiresAt.IsZero() || now.Before(g.expiresAt) }

// link is the data-access agreement between one account and one partner (contract section 3).
type link struct {
	support        bool
	vendorManage   bool
	customerManage bool
}

type account struct {
	roles map[string]Role
	// pending join and role-change requests: they grant nothing (contract section 1).
	pending map[string]Role
	// orgGrants by partner id, individualGrants by user id.
	orgGrants        map[string]grant
	individualGrants map[string]grant
	// partnerRequests by Grantee.String() (partner:P or user:U).
	partnerRequests map[string]Level
	links           map[string]*link
}

type partner struct {
	parent  string
	members set
}

type group struct {
	users    set
	children set // groups nested directly inside this one
	parents  set
}

type feature struct {
	participants set
	released     bool
}

type caseObj struct {
	account     string
	soldProduct string
	installBase string
	reporter    string
	open        bool
	// partner contacts: additional, and the primary point of contact.
	partnerContacts set
	primaryContacts set
	// functional roles by role name.
	roles map[string]set
}

type soldProduct struct {
	account string
	roles   map[string]set // sold_product_authorized_contact / _consumer
}

type installBase struct {
	account     string
	soldProduct string
	roles       map[string]set // users, accounts or service orgs, by functional role name
}

// bindingKey is one custom role bound on one object.
type bindingKey struct {
	object Object
	role   string
}

type binding struct {
	users  set
	groups set
}

// World is the state of the reference model. Build it with NewWorld; change it with Apply;
// ask it with Allowed. It is not safe for concurrent use.
type World struct {
	// Now is the model's clock: a grant whose expiry is not after Now gives nothing. The
	// Tick operation moves it; it starts at the zero time, before every expiry.
	Now time.Time

	platform     map[PlatformRole]set
	features     map[string]*feature
	accounts     map[string]*account
	partners     map[string]*partner
	serviceOrgs  map[string]set
	groups       map[string]*group
	readers      map[string]string // user -> the one group they have read access over
	customRoles  map[string]map[Privilege]bool
	cases        map[string]*caseObj
	soldProducts map[string]*soldProduct
	installBase  map[string]*installBase
	bindings     map[bindingKey]*binding
}

// NewWorld returns an empty world: no platform administrator yet (see OpBootstrap), no
// accounts, and the entitlement rollout with no participants.
func NewWorld() *World {
	return &World{
		platform: map[PlatformRole]set{
			PlatformAdministrator: {}, PlatformCustomerCare: {}, PlatformStaff: {},
		},
		features:     map[string]*feature{EntitlementFeature: {participants: set{}}},
		accounts:     map[string]*account{},
		partners:     map[string]*partner{},
		serviceOrgs:  map[string]set{},
		groups:       map[string]*group{},
		readers:      map[string]string{},
		customRoles:  map[string]map[Privilege]bool{},
		cases:        map[string]*caseObj{},
		soldProducts: map[string]*soldProduct{},
		installBase:  map[string]*installBase{},
		bindings:     map[bindingKey]*binding{},
	}
}

// Objects lists every object of a public type (account, case, sold_product, install_base)
// that exists, sorted by id.
func (w *World) Objects(typ string) []Object {
	var ids []string
	switch typ {
	case "account":
		ids = slices.Sorted(maps.Keys(w.accounts))
	case "case":
		ids = slices.Sorted(maps.Keys(w.cases))
	case "sold_product":
		ids = slices.Sorted(maps.Keys(w.soldProducts))
	case "install_base":
		ids = slices.Sorted(maps.Keys(w.installBase))
	}
	out := make([]Object, 0, len(ids))
	for _, id := range ids {
		out = append(out, Object{Type: typ, ID: id})
	}
	return out
}

// Exists reports whether an object exists: an account, partner, group, service_org, role,
// case, sold_product or install_base that was created.
func (w *World) Exists(o Object) bool {
	switch o.Type {
	case "account":
		return w.accounts[o.ID] != nil
	case "partner":
		return w.partners[o.ID] != nil
	case "group":
		return w.groups[o.ID] != nil
	case "service_org":
		return w.serviceOrgs[o.ID] != nil
	case "role":
		return w.customRoles[o.ID] != nil
	case "case":
		return w.cases[o.ID] != nil
	case "sold_product":
		return w.soldProducts[o.ID] != nil
	case "install_base":
		return w.installBase[o.ID] != nil
	}
	return false
}

// RoleOf returns the user's role on an account, or "" when they are not a contact of it.
func (w *World) RoleOf(accountID, user string) Role {
	if a := w.accounts[accountID]; a != nil {
		return a.roles[user]
	}
	return ""
}

// Members returns the account's contacts with their roles.
func (w *World) Members(accountID string) map[string]Role {
	if a := w.accounts[accountID]; a != nil {
		return maps.Clone(a.roles)
	}
	return nil
}

// PendingRequest returns the role a user asked for on an account, or "" when none is pending.
func (w *World) PendingRequest(accountID, user string) Role {
	if a := w.accounts[accountID]; a != nil {
		return a.pending[user]
	}
	return ""
}

// PendingPartnerRequest returns the level a grantee asked for on an account, or "".
func (w *World) PendingPartnerRequest(accountID string, g Grantee) Level {
	if a := w.accounts[accountID]; a != nil {
		return a.partnerRequests[g.String()]
	}
	return ""
}

// HasPlatformRole reports whether the user holds a vendor-side role.
func (w *World) HasPlatformRole(user string, r PlatformRole) bool { return w.platform[r].has(user) }

// PartnerMembers returns the direct members of a partner organisation.
func (w *World) PartnerMembers(partnerID string) []string {
	if p := w.partners[partnerID]; p != nil {
		return p.members.sorted()
	}
	return nil
}

// Linked reports whether a partner is linked to an account for data access.
func (w *World) Linked(accountID, partnerID string) bool {
	a := w.accounts[accountID]
	return a != nil && a.links[partnerID] != nil
}

// CaseAccount returns the account a case belongs to, or "" when the case does not exist.
func (w *World) CaseAccount(caseID string) string {
	if c := w.cases[caseID]; c != nil {
		return c.account
	}
	return ""
}

// CaseOpen reports whether a case exists and is open.
func (w *World) CaseOpen(caseID string) bool {
	c := w.cases[caseID]
	return c != nil && c.open
}

// ItemProduct returns the sold product an install base item is an instance of, or "".
func (w *World) ItemProduct(itemID string) string {
	if ib := w.installBase[itemID]; ib != nil {
		return ib.soldProduct
	}
	return ""
}

// OwnerOf returns the account owning a sold product or install base item, or "".
func (w *World) OwnerOf(o Object) string {
	switch o.Type {
	case "account":
		if w.accounts[o.ID] != nil {
			return o.ID
		}
	case "case":
		return w.CaseAccount(o.ID)
	case "sold_product":
		if sp := w.soldProducts[o.ID]; sp != nil {
			return sp.account
		}
	case "install_base":
		if ib := w.installBase[o.ID]; ib != nil {
			return ib.account
		}
	}
	return ""
}

// PartnerLevel returns the user's effective partner level on an account at the model's
// clock, and whether they hold any active grant there (see the contract's section 2).
func (w *World) PartnerLevel(accountID, user string) (Level, bool) {
	a := w.accounts[accountID]
	if a == nil {
		return "", false
	}
	return w.level(a, user)
}

// PartnerGrants returns the grantees holding an active partner grant on an account,
// organisations first, sorted.
func (w *World) PartnerGrants(accountID string) []Grantee {
	a := w.accounts[accountID]
	if a == nil {
		return nil
	}
	var out []Grantee
	for _, p := range slices.Sorted(maps.Keys(a.orgGrants)) {
		if a.orgGrants[p].activeAt(w.Now) {
			out = append(out, Grantee{Partner: p})
		}
	}
	for _, u := range slices.Sorted(maps.Keys(a.individualGrants)) {
		if a.individualGrants[u].activeAt(w.Now) {
			out = append(out, Grantee{User: u})
		}
	}
	return out
}

// Grant returns the grantee's active grant on an account: its level, its expiry (zero for
// none), and whether there is one.
func (w *World) Grant(accountID string, g Grantee) (Level, time.Time, bool) {
	a := w.accounts[accountID]
	if a == nil {
		return "", time.Time{}, false
	}
	gr, ok := a.grantOf(g)
	if !ok || !gr.activeAt(w.Now) {
		return "", time.Time{}, false
	}
	return gr.level, gr.expiresAt, true
}

// GroupReadAccess returns the group the user has read access over, or "".
func (w *World) GroupReadAccess(user string) string { return w.readers[user] }

// CustomRoles returns the ids of the defined custom roles, sorted.
func (w *World) CustomRoles() []string { return slices.Sorted(maps.Keys(w.customRoles)) }

// Groups returns the ids of the existing groups, sorted.
func (w *World) Groups() []string { return slices.Sorted(maps.Keys(w.groups)) }

// Partners returns the ids of the existing partners, sorted.
func (w *World) Partners() []string { return slices.Sorted(maps.Keys(w.partners)) }

// ServiceOrgs returns the ids of the existing service organisations, sorted.
func (w *World) ServiceOrgs() []string { return slices.Sorted(maps.Keys(w.serviceOrgs)) }

// --- derived facts used by the permissions and the authorisation rules ---

func (w *World) isAdministrator(u string) bool { return w.platform[PlatformAdministrator].has(u) }
func (w *World) isCare(u string) bool          { return w.platform[PlatformCustomerCare].has(u) }

// canOnboard: platform administrators and Customer Care create accounts, groups and
// products (docs/model.md section 4, "Groups are platform-wide"; section 6 table).
func (w *World) canOnboard(u string) bool { return w.isAdministrator(u) || w.isCare(u) }

// participates reports whether the user takes part in the entitlement rollout: named as a
// participant, or the rollout is released to everyone (contract section 1).
func (w *World) participates(u string) bool {
	f := w.features[EntitlementFeature]
	return f != nil && (f.released || f.participants.has(u))
}

// level returns the user's effective partner level on an account and whether they have any
// grant there. Individual before organisation: an active individual grant alone decides;
// otherwise the highest active grant of an organisation the user is a direct member of
// (contract section 2). Expired grants count nowhere, so an expired individual grant falls
// back to the organisation's level (docs/model.md section 2, "An expired individual grant
// falls back to the organisation's grant"). Organisations reach only their direct members:
// nothing flows through the partner tree (contract section 3, docs/model.md section 3).
func (w *World) level(a *account, u string) (Level, bool) {
	if g, ok := a.individualGrants[u]; ok && g.activeAt(w.Now) {
		return g.level, true
	}
	best, found := Level(""), false
	for pid, g := range a.orgGrants {
		p := w.partners[pid]
		if p == nil || !p.members.has(u) || !g.activeAt(w.Now) {
			continue
		}
		if !found || g.level.rank() > best.rank() {
			best, found = g.level, true
		}
	}
	return best, found
}

// levelAtLeast reports whether the user's effective partner level on the account is min or higher.
func (w *World) levelAtLeast(a *account, u string, min Level) bool {
	l, ok := w.level(a, u)
	return ok && l.AtLeast(min)
}

// hasAnyGrant reports whether the user holds some active grant on the account, individual
// or through an organisation (what an additional case contact needs, contract section 2).
func (w *World) hasAnyGrant(a *account, u string) bool {
	_, ok := w.level(a, u)
	return ok
}

// groupMembers returns every user in a group, through nested groups at any depth
// (contract section 4: membership is transitive).
func (w *World) groupMembers(gid string) set {
	out := set{}
	seen := set{}
	var walk func(string)
	walk = func(id string) {
		if seen.has(id) {
			return
		}
		seen.add(id)
		g := w.groups[id]
		if g == nil {
			return
		}
		for u := range g.users {
			out.add(u)
		}
		for c := range g.children {
			walk(c)
		}
	}
	walk(gid)
	return out
}

// contains reports whether group outer contains group inner at any depth (or is it).
func (w *World) contains(outer, inner string) bool {
	if outer == inner {
		return true
	}
	seen := set{}
	var walk func(string) bool
	walk = func(id string) bool {
		if seen.has(id) {
			return false
		}
		seen.add(id)
		g := w.groups[id]
		if g == nil {
			return false
		}
		for c := range g.children {
			if c == inner || walk(c) {
				return true
			}
		}
		return false
	}
	return walk(outer)
}

// readsCasesOf reports whether reader's group read access covers cases reported by
// reporter: the reporter is a (transitive) member of the group the reader reads
// (contract section 4).
func (w *World) readsCasesOf(reader, reporter string) bool {
	gid, ok := w.readers[reader]
	return ok && reporter != "" && w.groupMembers(gid).has(reporter)
}

// privileges returns the privileges a user holds through custom roles bound on object,
// with the implications of contract section 5 applied.
func (w *World) privileges(u string, o Object) map[Privilege]bool {
	out := map[Privilege]bool{}
	for k, b := range w.bindings {
		if k.object != o {
			continue
		}
		granted := b.users.has(u) || b.groups.any(func(g string) bool { return w.groupMembers(g).has(u) })
		if !granted {
			continue
		}
		for p := range w.customRoles[k.role] {
			out[p] = true
			for _, q := range implied[p] {
				out[q] = true
			}
		}
	}
	return out
}

// hasPrivilege reports whether a custom role bound on any of the scopes gives u privilege p.
// Scopes are the object asked about and the objects it hangs under (contract section 5:
// "scoped to that object and what hangs under it"). Empty scopes are skipped.
func (w *World) hasPrivilege(u string, p Privilege, scopes ...Object) bool {
	for _, s := range scopes {
		if s.ID == "" {
			continue
		}
		if w.privileges(u, s)[p] {
			return true
		}
	}
	return false
}

// scopeOf returns the object, or a zero Object when id is empty.
func scopeOf(typ, id string) Object {
	if id == "" {
		return Object{}
	}
	return Object{Type: typ, ID: id}
}

// Clone returns a deep copy of the world: changing one never changes the other.
func (w *World) Clone() *World {
	c := NewWorld()
	c.Now = w.Now
	for r, s := range w.platform {
		c.platform[r] = s.clone()
	}
	for id, f := range w.features {
		c.features[id] = &feature{participants: f.participants.clone(), released: f.released}
	}
	for id, a := range w.accounts {
		na := &account{
			roles: maps.Clone(a.roles), pending: maps.Clone(a.pending),
			orgGrants: maps.Clone(a.orgGrants), individualGrants: maps.Clone(a.individualGrants),
			partnerRequests: maps.Clone(a.partnerRequests), links: map[string]*link{},
		}
		for p, l := range a.links {
			cl := *l
			na.links[p] = &cl
		}
		c.accounts[id] = na
	}
	for id, p := range w.partners {
		c.partners[id] = &partner{parent: p.parent, members: p.members.clone()}
	}
	for id, s := range w.serviceOrgs {
		c.serviceOrgs[id] = s.clone()
	}
	for id, g := range w.groups {
		c.groups[id] = &group{users: g.users.clone(), children: g.children.clone(), parents: g.parents.clone()}
	}
	c.readers = maps.Clone(w.readers)
	for id, privs := range w.customRoles {
		c.customRoles[id] = maps.Clone(privs)
	}
	for id, cs := range w.cases {
		nc := *cs
		nc.partnerContacts, nc.primaryContacts = cs.partnerContacts.clone(), cs.primaryContacts.clone()
		nc.roles = cloneRoles(cs.roles)
		c.cases[id] = &nc
	}
	for id, sp := range w.soldProducts {
		c.soldProducts[id] = &soldProduct{account: sp.account, roles: cloneRoles(sp.roles)}
	}
	for id, ib := range w.installBase {
		c.installBase[id] = &installBase{account: ib.account, soldProduct: ib.soldProduct, roles: cloneRoles(ib.roles)}
	}
	for k, b := range w.bindings {
		c.bindings[k] = &binding{users: b.users.clone(), groups: b.groups.clone()}
	}
	return c
}

func cloneRoles(m map[string]set) map[string]set {
	out := make(map[string]set, len(m))
	for k, s := range m {
		out[k] = s.clone()
	}
	return out
}
