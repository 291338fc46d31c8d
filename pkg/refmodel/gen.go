package refmodel

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// The fixed cast of every generated world.
const (
	// VendorAdmin is the platform administrator every generated world bootstraps.
	VendorAdmin = "vera"
	// CareAgent is the Customer Care agent every generated world starts with.
	CareAgent = "carol"
)

// UserPool is the other users of a generated world; any of them may become a contact,
// partner member, related party or vendor staff.
var UserPool = []string{"ann", "ben", "cat", "dan", "eve", "fay", "gus", "hal", "ivy", "jon"}

// AllUsers returns VendorAdmin, CareAgent and UserPool: every user a generated world uses.
func AllUsers() []string { return append([]string{VendorAdmin, CareAgent}, UserPool...) }

// GenConfig sizes a generated world. The zero value gives the default size.
type GenConfig struct {
	// Ops is the number of random operations after the skeleton (accounts, partners,
	// groups, products); zero means 60.
	Ops int
	// NoExpiry, when set, generates no grant that expires soon (so no Tick waits).
	NoExpiry bool
}

// Generate returns a random but reproducible sequence of operations for a small world
// (2 or 3 accounts, up to 12 users, a few partners, groups, products and cases). The same
// seed and config always give the same sequence. Most operations are done by an actor the
// model authorises, so the world grows; about one in five by a random actor, so refusals
// are exercised too. Grants marked Soon are followed, within a few operations, by a Tick
// past their expiry.
func Generate(seed uint64, cfg GenConfig) []Op {
	if cfg.Ops == 0 {
		cfg.Ops = 60
	}
	g := &gen{
		r:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		w:     NewWorld(),
		clock: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
		cfg:   cfg,
	}
	g.skeleton()
	for len(g.ops) < cfg.Ops+g.skeletonLen {
		g.step()
	}
	if !g.soonAt.IsZero() {
		g.tick()
	}
	return g.ops
}

type gen struct {
	r           *rand.Rand
	w           *World
	ops         []Op
	cfg         GenConfig
	skeletonLen int

	clock     time.Time // logical time for expiries in the generator's own model
	soonAt    time.Time // expiry of the soon grants since the last tick; zero if none
	sinceSoon int

	nCases, nProducts, nItems, nAccounts, nPartners, nGroups, nRoles int
}

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

func pick[T any](g *gen, xs []T) T { return xs[g.r.IntN(len(xs))] }

func (g *gen) user() string { return pick(g, AllUsers()) }

func (g *gen) poolUser() string { return pick(g, UserPool) }

// emit records an op done by actor and applies it to the generator's model.
func (g *gen) emit(op Op) {
	g.w.Apply(op)
	g.ops = append(g.ops, op)
}

// as picks an actor for op: usually one the model authorises (if any), otherwise anyone.
func (g *gen) as(op Op) Op {
	if g.chance(0.8) {
		var ok []string
		for _, u := range AllUsers() {
			op.Actor = u
			if g.w.Predict(op) == OK {
				ok = append(ok, u)
			}
		}
		if len(ok) > 0 {
			op.Actor = pick(g, ok)
			return op
		}
	}
	op.Actor = g.user()
	return op
}

// existing returns an existing id from ids, or occasionally a missing one.
func (g *gen) existing(ids []string, missing string) string {
	if len(ids) == 0 || g.chance(0.03) {
		return missing
	}
	return pick(g, ids)
}

func (g *gen) account() string     { return g.existing(g.objectIDs("account"), "a9") }
func (g *gen) partner() string     { return g.existing(g.w.Partners(), "p9") }
func (g *gen) group() string       { return g.existing(g.w.Groups(), "g9") }
func (g *gen) serviceOrg() string  { return g.existing(g.w.ServiceOrgs(), "s9") }
func (g *gen) customRole() string  { return g.existing(g.w.CustomRoles(), "r9") }
func (g *gen) caseID() string      { return g.existing(g.objectIDs("case"), "c99") }
func (g *gen) soldProduct() string { return g.existing(g.objectIDs("sold_product"), "sp9") }
func (g *gen) item() string        { return g.existing(g.objectIDs("install_base"), "ib9") }

func (g *gen) objectIDs(typ string) []string {
	var out []string
	for _, o := range g.w.Objects(typ) {
		out = append(out, o.ID)
	}
	return out
}

func (g *gen) privileges() []Privilege {
	n := 1 + g.r.IntN(5)
	var out []Privilege
	for len(out) < n {
		p := pick(g, Privileges)
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// skeleton creates the cast: platform roles, accounts, partners, a service organisation,
// groups, products, items and custom roles.
func (g *gen) skeleton() {
	g.emit(Op{Kind: OpBootstrap, User: VendorAdmin})
	g.emit(Op{Kind: OpAddPlatformRole, Actor: VendorAdmin, User: CareAgent, PlatformRole: PlatformCustomerCare})
	if g.chance(0.5) {
		g.emit(Op{Kind: OpAddPlatformRole, Actor: VendorAdmin, User: g.poolUser(), PlatformRole: PlatformStaff})
	}
	if g.chance(0.2) {
		g.emit(Op{Kind: OpAddPlatformRole, Actor: VendorAdmin, User: g.poolUser(), PlatformRole: pick(g, []PlatformRole{PlatformAdministrator, PlatformCustomerCare})})
	}
	for range 2 + g.r.IntN(2) {
		g.newAccount()
	}
	for range 1 + g.r.IntN(3) {
		g.newPartner()
	}
	for _, p := range g.w.Partners() {
		for range 1 + g.r.IntN(3) {
			g.emit(Op{Kind: OpAddPartnerMember, Actor: VendorAdmin, Partner: p, User: g.poolUser()})
		}
	}
	for _, a := range g.objectIDs("account") {
		for _, p := range g.w.Partners() {
			if g.chance(0.3) {
				g.emit(Op{Kind: OpLinkPartner, Actor: VendorAdmin, Account: a, Partner: p})
			}
		}
	}
	if g.chance(0.6) {
		g.emit(Op{Kind: OpCreateServiceOrg, Actor: VendorAdmin, ServiceOrg: "s1"})
		for range 1 + g.r.IntN(2) {
			g.emit(Op{Kind: OpAddServiceOrgMember, Actor: VendorAdmin, ServiceOrg: "s1", User: g.poolUser()})
		}
	}
	for range 1 + g.r.IntN(3) {
		g.newGroup()
	}
	for _, gid := range g.w.Groups() {
		for range 1 + g.r.IntN(3) {
			g.emit(Op{Kind: OpAddGroupMember, Actor: CareAgent, Group: gid, User: g.poolUser()})
		}
	}
	if gs := g.w.Groups(); len(gs) > 1 {
		for range g.r.IntN(3) {
			g.emit(Op{Kind: OpNestGroup, Actor: CareAgent, Group: pick(g, gs), Parent: pick(g, gs)})
		}
	}
	for _, a := range g.objectIDs("account") {
		for range g.r.IntN(3) {
			g.newProduct(a)
		}
		for range g.r.IntN(3) {
			g.newItem(a)
		}
	}
	for range g.r.IntN(3) {
		g.newRole()
	}
	// A few contacts and cases per account.
	for _, a := range g.objectIDs("account") {
		for range 1 + g.r.IntN(3) {
			u := g.poolUser()
			if g.w.RoleOf(a, u) != "" {
				continue
			}
			g.emit(Op{Kind: OpRequestAccess, Actor: u, Account: a, SiteRole: pick(g, []Role{RoleStandard, RoleStandard, RoleViewer, RoleAdmin})})
			g.emit(g.as(Op{Kind: OpApprove, Account: a, User: u}))
		}
		for range g.r.IntN(3) {
			g.nCases++
			g.emit(g.as(Op{Kind: OpCreateCase, Case: fmt.Sprintf("c%d", g.nCases), Account: a}))
		}
		for range 1 + g.r.IntN(3) {
			g.emit(g.as(Op{Kind: OpGrantPartner, Account: a, Grantee: g.grantee(), Level: pick(g, Levels)}))
		}
	}
	g.skeletonLen = len(g.ops)
}

func (g *gen) newAccount() {
	g.nAccounts++
	admin := ""
	if g.chance(0.85) {
		admin = g.poolUser()
	}
	g.emit(Op{Kind: OpCreateAccount, Actor: pick(g, []string{CareAgent, VendorAdmin}), Account: fmt.Sprintf("a%d", g.nAccounts), User: admin})
}

func (g *gen) newPartner() {
	g.nPartners++
	parent := ""
	if ps := g.w.Partners(); len(ps) > 0 && g.chance(0.4) {
		parent = pick(g, ps)
	}
	g.emit(Op{Kind: OpCreatePartner, Actor: VendorAdmin, Partner: fmt.Sprintf("p%d", g.nPartners), Parent: parent})
}

func (g *gen) newGroup() {
	g.nGroups++
	g.emit(Op{Kind: OpCreateGroup, Actor: CareAgent, Group: fmt.Sprintf("g%d", g.nGroups)})
}

func (g *gen) newProduct(acct string) {
	g.nProducts++
	g.emit(Op{Kind: OpCreateSoldProduct, Actor: CareAgent, SoldProduct: fmt.Sprintf("sp%d", g.nProducts), Account: acct})
}

func (g *gen) newItem(acct string) {
	g.nItems++
	sp := ""
	var own []string
	for _, o := range g.w.Objects("sold_product") {
		if g.w.OwnerOf(o) == acct {
			own = append(own, o.ID)
		}
	}
	if len(own) > 0 && g.chance(0.75) {
		sp = pick(g, own)
	}
	g.emit(Op{Kind: OpCreateInstallBase, Actor: CareAgent, InstallBase: fmt.Sprintf("ib%d", g.nItems), Account: acct, SoldProduct: sp})
}

func (g *gen) newRole() {
	g.nRoles++
	g.emit(Op{Kind: OpDefineRole, Actor: VendorAdmin, CustomRole: fmt.Sprintf("r%d", g.nRoles), Privileges: g.privileges()})
}

// tick lets the soon grants expire.
func (g *gen) tick() {
	g.emit(Op{Kind: OpTick, At: g.soonAt.Add(time.Second)})
	g.clock = g.soonAt.Add(time.Second)
	g.soonAt = time.Time{}
	g.sinceSoon = 0
}

// step emits one random operation.
func (g *gen) step() {
	if !g.soonAt.IsZero() {
		g.sinceSoon++
		if g.sinceSoon > 8 || g.chance(0.12) {
			g.tick()
			return
		}
	}
	total := 0
	for _, c := range choices {
		total += c.weight
	}
	n := g.r.IntN(total)
	for _, c := range choices {
		if n < c.weight {
			if op, ok := c.make(g); ok {
				g.emit(op)
			}
			return
		}
		n -= c.weight
	}
}

// linkedPair returns an account and a partner linked for data access, or random ones.
func (g *gen) linkedPair() (string, string) {
	type pair struct{ a, p string }
	var ps []pair
	for _, a := range g.objectIDs("account") {
		for _, p := range g.w.Partners() {
			if g.w.Linked(a, p) {
				ps = append(ps, pair{a, p})
			}
		}
	}
	if len(ps) > 0 && g.chance(0.85) {
		x := pick(g, ps)
		return x.a, x.p
	}
	return g.account(), g.partner()
}

// grantHolder returns a user with a partner grant on the account (at least min, if set),
// or anyone.
func (g *gen) grantHolder(acct string, min Level) string {
	var us []string
	for _, u := range AllUsers() {
		if l, ok := g.w.PartnerLevel(acct, u); ok && (min == "" || l.AtLeast(min)) {
			us = append(us, u)
		}
	}
	if len(us) > 0 && g.chance(0.85) {
		return pick(g, us)
	}
	return g.user()
}

// reader returns a user with group read access, or anyone.
func (g *gen) reader() string {
	var us []string
	for _, u := range AllUsers() {
		if g.w.GroupReadAccess(u) != "" {
			us = append(us, u)
		}
	}
	if len(us) > 0 && g.chance(0.85) {
		return pick(g, us)
	}
	return g.user()
}

// grantee returns a partner organisation or an individual user, often a partner member
// (so individual grants meet organisation grants).
func (g *gen) grantee() Grantee {
	if g.chance(0.5) {
		return Grantee{Partner: g.partner()}
	}
	if ps := g.w.Partners(); len(ps) > 0 && g.chance(0.5) {
		if ms := g.w.PartnerMembers(pick(g, ps)); len(ms) > 0 {
			return Grantee{User: pick(g, ms)}
		}
	}
	return Grantee{User: g.user()}
}

// pendingRequest returns an account and a user with a pending join request there, or
// random ones.
func (g *gen) pendingRequest() (string, string, bool) {
	type pair struct{ a, u string }
	var ps []pair
	for _, a := range g.objectIDs("account") {
		for _, u := range AllUsers() {
			if g.w.PendingRequest(a, u) != "" {
				ps = append(ps, pair{a, u})
			}
		}
	}
	if len(ps) > 0 && g.chance(0.9) {
		x := pick(g, ps)
		return x.a, x.u, true
	}
	return g.account(), g.user(), len(ps) > 0 || g.chance(0.2)
}

// member returns a contact of the account, or anyone. Admins are picked less often (an
// account whose admins all went is a dead end for most operations).
func (g *gen) member(acct string) string {
	ms := g.w.Members(acct)
	if len(ms) > 0 && g.chance(0.9) {
		var ids []string
		for u, r := range ms {
			if r != RoleAdmin || g.chance(0.3) {
				ids = append(ids, u)
			}
		}
		if len(ids) == 0 {
			return g.user()
		}
		slices.Sort(ids)
		return pick(g, ids)
	}
	return g.user()
}

// pendingPartner returns an account and a grantee with a pending partner request there,
// or random ones.
func (g *gen) pendingPartner() (string, Grantee, bool) {
	type pair struct {
		a  string
		gr Grantee
	}
	var ps []pair
	for _, a := range g.objectIDs("account") {
		for _, p := range g.w.Partners() {
			if gr := (Grantee{Partner: p}); g.w.PendingPartnerRequest(a, gr) != "" {
				ps = append(ps, pair{a, gr})
			}
		}
		for _, u := range AllUsers() {
			if gr := (Grantee{User: u}); g.w.PendingPartnerRequest(a, gr) != "" {
				ps = append(ps, pair{a, gr})
			}
		}
	}
	if len(ps) > 0 && g.chance(0.9) {
		x := pick(g, ps)
		return x.a, x.gr, true
	}
	return g.account(), g.grantee(), len(ps) > 0 || g.chance(0.2)
}

// heldGrant returns an account and a grantee holding an active grant there, or random ones.
func (g *gen) heldGrant() (string, Grantee, bool) {
	type pair struct {
		a  string
		gr Grantee
	}
	var ps []pair
	for _, a := range g.objectIDs("account") {
		for _, gr := range g.w.PartnerGrants(a) {
			ps = append(ps, pair{a, gr})
		}
	}
	if len(ps) > 0 && g.chance(0.85) {
		x := pick(g, ps)
		return x.a, x.gr, true
	}
	return g.account(), g.grantee(), len(ps) > 0 || g.chance(0.2)
}

// caseInState returns a case that is open (or closed), or any case.
func (g *gen) caseInState(open bool) string {
	var cs []string
	for _, c := range g.objectIDs("case") {
		if g.w.CaseOpen(c) == open {
			cs = append(cs, c)
		}
	}
	if len(cs) > 0 && g.chance(0.85) {
		return pick(g, cs)
	}
	return g.caseID()
}

// functionalTarget returns an object and a functional role fitting it, with a party.
func (g *gen) functionalTarget() (Object, string, Object, bool) {
	var objs []Object
	for _, typ := range []string{"case", "sold_product", "install_base"} {
		objs = append(objs, g.w.Objects(typ)...)
	}
	if len(objs) == 0 {
		return Object{}, "", Object{}, false
	}
	o := pick(g, objs)
	var roles []FunctionalRole
	for _, fr := range FunctionalRoles {
		if fr.On == o.Type {
			roles = append(roles, fr)
		}
	}
	fr := pick(g, roles)
	party := Object{Type: "user", ID: g.user()}
	switch fr.PartyType {
	case "account":
		party = Object{Type: "account", ID: g.account()}
	case "service_org":
		party = Object{Type: "service_org", ID: g.serviceOrg()}
	}
	return o, fr.Name, party, true
}

// bindTarget returns an account, sold product or item to bind a role on.
func (g *gen) bindTarget() (Object, bool) {
	var objs []Object
	for _, typ := range []string{"account", "sold_product", "install_base"} {
		objs = append(objs, g.w.Objects(typ)...)
	}
	if len(objs) == 0 {
		return Object{}, false
	}
	return pick(g, objs), true
}

func (g *gen) bindGrantee() Grantee {
	if gs := g.w.Groups(); len(gs) > 0 && g.chance(0.35) {
		return Grantee{Group: pick(g, gs)}
	}
	return Grantee{User: g.user()}
}

type choice struct {
	weight int
	make   func(g *gen) (Op, bool)
}

var choices = []choice{
	// Site membership.
	{8, func(g *gen) (Op, bool) {
		return Op{Kind: OpRequestAccess, Actor: g.poolUser(), Account: g.account(), SiteRole: pick(g, Roles)}, true
	}},
	{8, func(g *gen) (Op, bool) {
		a, u, ok := g.pendingRequest()
		return g.as(Op{Kind: OpApprove, Account: a, User: u}), ok
	}},
	{2, func(g *gen) (Op, bool) {
		a, u, ok := g.pendingRequest()
		return g.as(Op{Kind: OpDeny, Account: a, User: u}), ok
	}},
	{4, func(g *gen) (Op, bool) {
		a := g.account()
		return g.as(Op{Kind: OpChangeRole, Account: a, User: g.member(a), SiteRole: pick(g, Roles)}), true
	}},
	{2, func(g *gen) (Op, bool) {
		a := g.account()
		return g.as(Op{Kind: OpRemoveMember, Account: a, User: g.member(a)}), true
	}},
	{2, func(g *gen) (Op, bool) {
		a := g.account()
		return Op{Kind: OpLeave, Actor: g.member(a), Account: a}, true
	}},
	// Partner levels.
	{12, func(g *gen) (Op, bool) {
		op := Op{Kind: OpGrantPartner, Account: g.account(), Grantee: g.grantee(), Level: pick(g, Levels)}
		switch n := g.r.IntN(100); {
		case n < 25 && !g.cfg.NoExpiry:
			if g.soonAt.IsZero() {
				g.soonAt = g.clock.Add(time.Hour)
			}
			op.Soon, op.ExpiresAt = true, g.soonAt
		case n < 40:
			op.ExpiresAt = g.clock.Add(24 * time.Hour * 365)
		}
		return g.as(op), true
	}},
	{4, func(g *gen) (Op, bool) {
		a, gr, ok := g.heldGrant()
		return g.as(Op{Kind: OpRevokePartner, Account: a, Grantee: gr}), ok
	}},
	// Renew a grant at the same level, often one about to expire, without expiry or with a
	// distant one: the renewal must survive the old expiry.
	{3, func(g *gen) (Op, bool) {
		a, gr, ok := g.heldGrant()
		l, exp, held := g.w.Grant(a, gr)
		if !ok || !held {
			return Op{}, false
		}
		op := Op{Kind: OpGrantPartner, Account: a, Grantee: gr, Level: l}
		if !exp.IsZero() && g.chance(0.5) {
			op.ExpiresAt = g.clock.Add(24 * time.Hour * 365)
		}
		return g.as(op), true
	}},
	{4, func(g *gen) (Op, bool) {
		op := Op{Kind: OpRequestPartnerLevel, Account: g.account(), Level: pick(g, Levels)}
		if p := g.partner(); g.chance(0.5) {
			op.Grantee = Grantee{Partner: p}
			op.Actor = g.user()
			if ms := g.w.PartnerMembers(p); len(ms) > 0 && g.chance(0.8) {
				op.Actor = pick(g, ms)
			}
		} else {
			op.Actor = g.user()
			op.Grantee = Grantee{User: op.Actor}
		}
		return op, true
	}},
	{4, func(g *gen) (Op, bool) {
		a, gr, ok := g.pendingPartner()
		return g.as(Op{Kind: OpApprovePartnerRequest, Account: a, Grantee: gr}), ok
	}},
	{2, func(g *gen) (Op, bool) {
		a, gr, ok := g.pendingPartner()
		return g.as(Op{Kind: OpDenyPartnerRequest, Account: a, Grantee: gr}), ok
	}},
	// Data access.
	{5, func(g *gen) (Op, bool) {
		return g.as(Op{Kind: OpLinkPartner, Account: g.account(), Partner: g.partner()}), true
	}},
	{1, func(g *gen) (Op, bool) {
		a, p := g.linkedPair()
		return g.as(Op{Kind: OpUnlinkPartner, Account: a, Partner: p}), true
	}},
	{2, func(g *gen) (Op, bool) {
		a, p := g.linkedPair()
		return g.as(Op{Kind: OpSetSupportAccess, Account: a, Partner: p, On: g.chance(0.5)}), true
	}},
	{3, func(g *gen) (Op, bool) {
		a, p := g.linkedPair()
		return g.as(Op{Kind: OpSetVendorManage, Account: a, Partner: p, On: g.chance(0.7)}), true
	}},
	{3, func(g *gen) (Op, bool) {
		a, p := g.linkedPair()
		return g.as(Op{Kind: OpSetCustomerManage, Account: a, Partner: p, On: g.chance(0.7)}), true
	}},
	// Cases.
	{12, func(g *gen) (Op, bool) {
		g.nCases++
		op := Op{Kind: OpCreateCase, Case: fmt.Sprintf("c%d", g.nCases), Account: g.account()}
		switch n := g.r.IntN(10); {
		case n < 3:
			op.SoldProduct = g.soldProduct()
			op.Account = g.ownerOr(SoldProduct(op.SoldProduct), op.Account)
		case n < 6:
			op.InstallBase = g.item()
			op.Account = g.ownerOr(InstallBase(op.InstallBase), op.Account)
			switch {
			case g.chance(0.3):
				op.SoldProduct = g.w.ItemProduct(op.InstallBase)
			case g.chance(0.05):
				op.SoldProduct = g.soldProduct() // most likely not the item's product
			}
		}
		return g.as(op), true
	}},
	{5, func(g *gen) (Op, bool) { return g.as(Op{Kind: OpCloseCase, Case: g.caseInState(true)}), true }},
	{3, func(g *gen) (Op, bool) { return g.as(Op{Kind: OpReopenCase, Case: g.caseInState(false)}), true }},
	{8, func(g *gen) (Op, bool) {
		c, primary := g.caseID(), g.chance(0.4)
		min := Level("")
		if primary {
			min = LevelUpdate
		}
		return g.as(Op{Kind: OpAddCaseContact, Case: c, User: g.grantHolder(g.w.CaseAccount(c), min), On: primary}), true
	}},
	{2, func(g *gen) (Op, bool) {
		c := g.caseID()
		return g.as(Op{Kind: OpRemoveCaseContact, Case: c, User: g.grantHolder(g.w.CaseAccount(c), "")}), true
	}},
	// Functional and custom roles.
	{14, func(g *gen) (Op, bool) {
		o, fr, party, ok := g.functionalTarget()
		return g.as(Op{Kind: OpAssignFunctionalRole, Object: o, FunctionalRole: fr, Party: party}), ok
	}},
	{2, func(g *gen) (Op, bool) {
		o, fr, party, ok := g.functionalTarget()
		return g.as(Op{Kind: OpRemoveFunctionalRole, Object: o, FunctionalRole: fr, Party: party}), ok
	}},
	{6, func(g *gen) (Op, bool) {
		o, ok := g.bindTarget()
		return g.as(Op{Kind: OpBindRole, CustomRole: g.customRole(), Object: o, Grantee: g.bindGrantee()}), ok
	}},
	{1, func(g *gen) (Op, bool) {
		o, ok := g.bindTarget()
		return g.as(Op{Kind: OpUnbindRole, CustomRole: g.customRole(), Object: o, Grantee: g.bindGrantee()}), ok
	}},
	{2, func(g *gen) (Op, bool) {
		if g.nRoles < 3 && g.chance(0.5) {
			g.nRoles++
			return g.as(Op{Kind: OpDefineRole, CustomRole: fmt.Sprintf("r%d", g.nRoles), Privileges: g.privileges()}), true
		}
		return g.as(Op{Kind: OpDefineRole, CustomRole: g.customRole(), Privileges: g.privileges()}), true
	}},
	// Groups.
	{2, func(g *gen) (Op, bool) {
		return g.as(Op{Kind: OpAddGroupMember, Group: g.group(), User: g.user()}), true
	}},
	{1, func(g *gen) (Op, bool) {
		return g.as(Op{Kind: OpRemoveGroupMember, Group: g.group(), User: g.user()}), true
	}},
	{2, func(g *gen) (Op, bool) { return g.as(Op{Kind: OpNestGroup, Group: g.group(), Parent: g.group()}), true }},
	{1, func(g *gen) (Op, bool) {
		return g.as(Op{Kind: OpUnnestGroup, Group: g.group(), Parent: g.group()}), true
	}},
	{4, func(g *gen) (Op, bool) {
		return g.as(Op{Kind: OpSetGroupReadAccess, User: g.user(), Group: g.group()}), true
	}},
	{1, func(g *gen) (Op, bool) { return g.as(Op{Kind: OpClearGroupReadAccess, User: g.reader()}), true }},
	// Platform.
	{3, func(g *gen) (Op, bool) { return g.as(Op{Kind: OpAddRolloutParticipant, User: g.user()}), true }},
	{1, func(g *gen) (Op, bool) { return g.as(Op{Kind: OpRemoveRolloutParticipant, User: g.user()}), true }},
	{1, func(g *gen) (Op, bool) { return g.as(Op{Kind: OpReleaseToEveryone, On: g.chance(0.5)}), true }},
	{1, func(g *gen) (Op, bool) {
		return g.as(Op{Kind: OpAddPlatformRole, User: g.poolUser(), PlatformRole: pick(g, []PlatformRole{PlatformAdministrator, PlatformCustomerCare, PlatformStaff})}), true
	}},
	{1, func(g *gen) (Op, bool) {
		return g.as(Op{Kind: OpRemovePlatformRole, User: g.user(), PlatformRole: pick(g, []PlatformRole{PlatformAdministrator, PlatformCustomerCare, PlatformStaff})}), true
	}},
	{2, func(g *gen) (Op, bool) {
		return g.as(Op{Kind: OpAddPartnerMember, Partner: g.partner(), User: g.user()}), true
	}},
	{1, func(g *gen) (Op, bool) {
		return g.as(Op{Kind: OpRemovePartnerMember, Partner: g.partner(), User: g.user()}), true
	}},
	{1, func(g *gen) (Op, bool) {
		return g.as(Op{Kind: OpAddServiceOrgMember, ServiceOrg: g.serviceOrg(), User: g.user()}), true
	}},
	{1, func(g *gen) (Op, bool) {
		return g.as(Op{Kind: OpRemoveServiceOrgMember, ServiceOrg: g.serviceOrg(), User: g.user()}), true
	}},
	// More objects.
	{1, func(g *gen) (Op, bool) {
		if g.nAccounts >= 3 {
			return Op{}, false
		}
		g.nAccounts++
		return g.as(Op{Kind: OpCreateAccount, Account: fmt.Sprintf("a%d", g.nAccounts), User: g.poolUser()}), true
	}},
	{1, func(g *gen) (Op, bool) {
		g.nProducts++
		return g.as(Op{Kind: OpCreateSoldProduct, SoldProduct: fmt.Sprintf("sp%d", g.nProducts), Account: g.account()}), true
	}},
	{1, func(g *gen) (Op, bool) {
		g.nItems++
		a := g.account()
		sp := ""
		if g.chance(0.7) {
			sp = g.soldProduct()
		}
		return g.as(Op{Kind: OpCreateInstallBase, InstallBase: fmt.Sprintf("ib%d", g.nItems), Account: a, SoldProduct: sp}), true
	}},
	{1, func(g *gen) (Op, bool) {
		if g.nPartners >= 4 {
			return Op{}, false
		}
		g.nPartners++
		parent := ""
		if g.chance(0.4) {
			parent = g.partner()
		}
		return g.as(Op{Kind: OpCreatePartner, Partner: fmt.Sprintf("p%d", g.nPartners), Parent: parent}), true
	}},
	{1, func(g *gen) (Op, bool) {
		if g.nGroups >= 4 {
			return Op{}, false
		}
		g.nGroups++
		return g.as(Op{Kind: OpCreateGroup, Group: fmt.Sprintf("g%d", g.nGroups)}), true
	}},
}

// ownerOr returns the owner of o, or fallback when it has none (mostly keeps generated
// cases on the right account; occasionally the fallback makes a mismatched one).
func (g *gen) ownerOr(o Object, fallback string) string {
	if owner := g.w.OwnerOf(o); owner != "" && g.chance(0.95) {
		return owner
	}
	return fallback
}
