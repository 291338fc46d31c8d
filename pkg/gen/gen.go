// Package gen generates a realistic support portal as SpiceDB relationships, deterministically
// from a seed, in exactly the shapes the domain layer (pkg/access) writes. It streams the
// relationships, so memory stays flat at any scale, and names the "hot" subjects and
// resources a benchmark should probe, with the answer each probe must get.
//
// The portal: accounts with contacts in three roles (most with an admin), open and closed
// cases with reporters, sold products with install base items, related parties and service
// organisations, partners with organisation grants (some expiring) and individual
// overrides, vendor staff with expiring grants, districts of schools (nested user groups)
// read by super customers, and custom roles bound on accounts.
//
// The first ReservedAccounts accounts have a fixed shape so the probes stay true whatever
// the seed: account 0 is the hot admin's account with HotCases cases, accounts 1..8 are the
// hot partner's customers, and so on (see Hot).
package gen

import (
	"fmt"
	"iter"
	"math/rand/v2"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accessgraph/accessgraph/pkg/ref"
)

// Config sizes the portal. Scale returns the standard ones.
type Config struct {
	Name string
	Seed uint64
	// Now anchors expiries (grants and requests expire 7 to 90 days after it); zero means
	// the start of today (UTC), so the stream is identical all day.
	Now time.Time

	Accounts    int // customer accounts (at least ReservedAccounts)
	MeanMembers int // contacts per ordinary account (uniform in 2..2*mean-2)
	MeanCases   int // cases per ordinary account (uniform in 1..2*mean-1)
	HotCases    int // cases of the hot admin's account
	Products    int // sold products per account (uniform in 1..2*mean-1)
	Items       int // install base items per sold product (uniform in 1..2*mean-1)

	Partners            int // partner organisations (at least 2)
	PartnerMembers      int // contacts per partner (at least 2)
	CustomersPerPartner int // accounts each partner holds an organisation grant on
	StaffUsers          int // vendor staff with expiring individual grants
	ServiceOrgs         int
	Roles               int // custom roles (at least 1)

	// EducationShare is the share of ordinary accounts that are schools' accounts: their
	// contacts are members of a school group; schools nest in districts.
	EducationShare     float64
	AccountsPerSchool  int
	SchoolsPerDistrict int
	// HotDistrictSchools is how many schools district-0 (the hot super customer's) holds;
	// zero means SchoolsPerDistrict.
	HotDistrictSchools int
}

// ReservedAccounts is how many leading accounts have a fixed shape for the probes.
const ReservedAccounts = 16

// Scale returns the configuration of a named scale: small (~10k relationships), medium
// (~1M) or large (~10M).
func Scale(name string) (Config, error) {
	c := Config{
		Name: name, Seed: 1,
		MeanMembers: 6, MeanCases: 20, HotCases: 200, Products: 2, Items: 2,
		PartnerMembers: 6, StaffUsers: 10, ServiceOrgs: 10, Roles: 5,
		EducationShare: 0.3, AccountsPerSchool: 2, SchoolsPerDistrict: 10,
	}
	switch name {
	case "small":
		c.Accounts, c.Partners, c.CustomersPerPartner = 100, 10, 10
	case "medium":
		c.Accounts, c.Partners, c.CustomersPerPartner, c.StaffUsers, c.ServiceOrgs = 10_000, 500, 20, 100, 200
		c.HotDistrictSchools = 100
	case "large":
		c.Accounts, c.Partners, c.CustomersPerPartner, c.StaffUsers, c.ServiceOrgs = 100_000, 5_000, 20, 1_000, 2_000
		c.HotDistrictSchools = 100
	default:
		return Config{}, fmt.Errorf("unknown scale %q (small, medium, large)", name)
	}
	return c, nil
}

// Probe is one check with the answer the generated data must give.
type Probe struct {
	Kind       string // path kind, such as "account_admin"
	Subject    string // user id
	Permission string
	Resource   *v1.ObjectReference
	Allowed    bool
}

// Hot names the subjects and resources a benchmark should probe.
type Hot struct {
	Admin          string // admin of AdminAccount, which has HotCases cases
	AdminAccount   string
	SuperCustomer  string // reads District, which contains HotDistrictSchools schools
	District       string
	PartnerMember  string // member of Partner, with an organisation look grant on 8 customers
	Partner        string
	PartnerAccount string // one of Partner's customers
	OverrideUser   string // Partner member with individual overrides
	Joiner         string // user pending a join request on AdminAccount
	// Probes: for each path kind one allowed and one denied check.
	Probes []Probe
}

// Expected holds the answers of the hot lookups; it is complete once the stream has been
// fully consumed.
type Expected struct {
	Relationships       int
	AdminCases          int // cases Admin can view
	DistrictOpenCases   int // open cases SuperCustomer reads through the district
	PartnerMemberCases  int // cases PartnerMember can view across their customers
	AccountsWithoutAdmn int
}

// Generator streams one portal.
type Generator struct {
	cfg      Config
	expected Expected
	educ     []int // for each account: school index, or -1
	schools  int
}

// New returns a generator for cfg.
func New(cfg Config) (*Generator, error) {
	switch {
	case cfg.Accounts < ReservedAccounts+4:
		return nil, fmt.Errorf("need at least %d accounts", ReservedAccounts+4)
	case cfg.Partners < 2 || cfg.PartnerMembers < 2 || cfg.Roles < 1 || cfg.ServiceOrgs < 1:
		return nil, fmt.Errorf("need at least 2 partners of 2 members, 1 role and 1 service org")
	case cfg.MeanMembers < 2 || cfg.MeanCases < 1 || cfg.Products < 1 || cfg.Items < 1:
		return nil, fmt.Errorf("means must be positive (members at least 2)")
	case cfg.AccountsPerSchool < 1 || cfg.SchoolsPerDistrict < 1 || cfg.HotCases < 1:
		return nil, fmt.Errorf("schools, districts and hot cases must be positive")
	}
	if cfg.Now.IsZero() {
		// Today, so expiries are in the future and the stream is the same all day.
		cfg.Now = time.Now().UTC().Truncate(24 * time.Hour)
	}
	g := &Generator{cfg: cfg, educ: make([]int, cfg.Accounts)}
	// Education accounts: a seeded share of ordinary accounts, grouped in schools in order.
	r := g.rng(0xed)
	inSchool := 0
	for i := range g.educ {
		g.educ[i] = -1
		if i >= ReservedAccounts && r.Float64() < cfg.EducationShare {
			g.educ[i] = inSchool / cfg.AccountsPerSchool
			inSchool++
		}
	}
	g.schools = (inSchool + cfg.AccountsPerSchool - 1) / cfg.AccountsPerSchool
	if g.schools == 0 {
		return nil, fmt.Errorf("no education accounts: raise Accounts or EducationShare")
	}
	return g, nil
}

// districtOf returns the district of school s: the first HotDistrictSchools schools are in
// district-0, the others SchoolsPerDistrict to a district.
func (g *Generator) districtOf(s int) int {
	hot := g.cfg.HotDistrictSchools
	if hot <= 0 {
		hot = g.cfg.SchoolsPerDistrict
	}
	if s < hot {
		return 0
	}
	return 1 + (s-hot)/g.cfg.SchoolsPerDistrict
}

// Config returns the configuration.
func (g *Generator) Config() Config { return g.cfg }

// Expected returns the hot lookups' answers; complete after Relationships was consumed.
func (g *Generator) Expected() Expected { return g.expected }

func (g *Generator) rng(parts ...uint64) *rand.Rand {
	s := g.cfg.Seed
	for _, p := range parts {
		s = s*0x9e3779b97f4a7c15 + p + 1
	}
	return rand.New(rand.NewPCG(g.cfg.Seed, s))
}

// mustInternalID returns an internal id built by pkg/ref, as the domain layer builds it. The
// generator's own ids are always valid parts, so an error is a bug in this package.
func mustInternalID(id string, err error) string {
	if err != nil {
		panic("gen: " + err.Error())
	}
	return id
}

// Ids. Every id is a valid public id (pkg/ref): SpiceDB's [a-zA-Z0-9/_\-=+], never "|", which
// joins the parts of partner_link and role_binding ids.
func AccountID(i int) string      { return fmt.Sprintf("acc-%06d", i) }
func UserID(acct, k int) string   { return fmt.Sprintf("u-%d-%d", acct, k) }
func CaseID(acct, k int) string   { return fmt.Sprintf("c-%d-%d", acct, k) }
func PartnerID(p int) string      { return fmt.Sprintf("partner-%d", p) }
func PartnerUser(p, k int) string { return fmt.Sprintf("pu-%d-%d", p, k) }
func SchoolID(s int) string       { return fmt.Sprintf("school-%d", s) }
func DistrictID(d int) string     { return fmt.Sprintf("district-%d", d) }
func ProductID(a, p int) string   { return fmt.Sprintf("sp-%d-%d", a, p) }
func ItemID(a, p, k int) string   { return fmt.Sprintf("ib-%d-%d-%d", a, p, k) }
func RoleID(r int) string         { return fmt.Sprintf("role-%d", r) }

// Levels are the partner grant levels, lowest first.
var Levels = []string{"cc", "look", "update", "create", "service_admin", "full_admin"}

// Hot returns the hot subjects and the probes. It does not need the stream.
func (g *Generator) Hot() Hot {
	cs := func(id string) *v1.ObjectReference { return obj("case", id) }
	h := Hot{
		Admin: UserID(0, 0), AdminAccount: AccountID(0),
		SuperCustomer: "super-0", District: DistrictID(0),
		PartnerMember: PartnerUser(0, 0), Partner: PartnerID(0), PartnerAccount: AccountID(1),
		OverrideUser: PartnerUser(0, 1), Joiner: "joiner-0",
	}
	firstEduc := -1
	for i, s := range g.educ {
		if s == 0 {
			firstEduc = i
			break
		}
	}
	h.Probes = []Probe{
		{"reporter", UserID(0, 1), "view", cs(CaseID(0, 0)), true},
		{"reporter", UserID(0, 1), "view", cs(CaseID(0, 1)), false},
		{"account_admin", h.Admin, "view", cs(CaseID(0, 5)), true},
		{"account_admin", h.Admin, "view", cs(CaseID(1, 0)), false},
		{"super_customer", h.SuperCustomer, "view", cs(CaseID(firstEduc, 0)), true},
		{"super_customer", h.SuperCustomer, "view", cs(CaseID(0, 0)), false},
		{"partner_org_grant", h.PartnerMember, "view", cs(CaseID(1, 0)), true},
		{"partner_org_grant", h.PartnerMember, "view", cs(CaseID(0, 0)), false},
		// pu-0-1: individual update on account 1, individual cc on account 2 (the org's look there no longer counts for them).
		{"individual_override", h.OverrideUser, "view", cs(CaseID(1, 0)), true},
		{"individual_override", h.OverrideUser, "view", cs(CaseID(2, 0)), false},
		// account 5's contacts are authorized contacts of item ib-4-0-0 through its authorized_account.
		{"install_base_account", UserID(5, 0), "view", obj("install_base", ItemID(4, 0, 0)), true},
		{"install_base_account", UserID(5, 0), "view", obj("install_base", ItemID(6, 0, 0)), false},
		// cr-0 holds role-0 (case read) on account 3.
		{"custom_role", "cr-0", "view", cs(CaseID(3, 0)), true},
		{"custom_role", "cr-0", "view", cs(CaseID(0, 0)), false},
	}
	return h
}

// ProbeSet returns n probes of one path kind (or "mixed": every kind in turn), alternately
// allowed and denied, spread over many resources so that a benchmark does not only measure
// SpiceDB's cache of one answer. Answers follow from the fixed shape of the reserved
// accounts.
func (g *Generator) ProbeSet(kind string, n int) []Probe {
	cfg := g.cfg
	var district0, outside []int // accounts read through district-0, and accounts not
	for a, s := range g.educ {
		if s >= 0 && g.districtOf(s) == 0 {
			district0 = append(district0, a)
		} else {
			outside = append(outside, a)
		}
	}
	cs := func(a, k int) *v1.ObjectReference { return obj("case", CaseID(a, k)) }
	ordinary := func(j int) int { return ReservedAccounts + j%(cfg.Accounts-ReservedAccounts) }
	out := make([]Probe, 0, n)
	for i := 0; i < n; i++ {
		k := kind
		if kind == "mixed" {
			k = PathKinds[(i/2)%len(PathKinds)]
		}
		allowed, j := i%2 == 0, i/2
		p := Probe{Kind: k, Permission: "view", Allowed: allowed}
		switch k {
		case "reporter":
			c := j % cfg.HotCases
			p.Subject = UserID(0, 1+c%9)
			if allowed {
				p.Resource = cs(0, c)
			} else {
				p.Resource = cs(0, (c+1)%cfg.HotCases)
			}
		case "account_admin":
			p.Subject = UserID(0, 0)
			if allowed {
				p.Resource = cs(0, j%cfg.HotCases)
			} else {
				p.Resource = cs(1+j%(ReservedAccounts-1), j%cfg.MeanCases)
			}
		case "super_customer":
			p.Subject = "super-0"
			if allowed {
				p.Resource = cs(district0[j%len(district0)], 0)
			} else {
				p.Resource = cs(outside[j%len(outside)], 0)
			}
		case "partner_org_grant":
			p.Subject = PartnerUser(0, 0)
			if allowed {
				p.Resource = cs(1+j%8, (j/8)%cfg.MeanCases)
			} else {
				p.Resource = cs(ordinary(j*7919), 0)
			}
		case "individual_override":
			p.Subject = PartnerUser(0, 1)
			if allowed { // individual update on 1, the organisation's look on 3..8
				p.Resource = cs([]int{1, 3, 4, 5, 6, 7, 8}[j%7], (j/7)%cfg.MeanCases)
			} else { // individual cc on 2 overrides the organisation's look
				p.Resource = cs(2, j%cfg.MeanCases)
			}
		case "install_base_account":
			p.Subject = UserID(5, j%3)
			if allowed {
				p.Resource = obj("install_base", ItemID(4, 0, 0))
			} else {
				p.Resource = obj("install_base", ItemID(6+j%(ReservedAccounts-6), 0, 0))
			}
		case "custom_role":
			p.Subject = "cr-0"
			if allowed {
				p.Resource = cs(3, j%cfg.MeanCases)
			} else {
				p.Resource = cs(ordinary(j*7919), 0)
			}
		}
		out = append(out, p)
	}
	return out
}

// PathKinds lists the probe kinds in order.
var PathKinds = []string{"reporter", "account_admin", "super_customer", "partner_org_grant", "individual_override", "install_base_account", "custom_role"}

func obj(typ, id string) *v1.ObjectReference {
	return &v1.ObjectReference{ObjectType: typ, ObjectId: id}
}

func rel(resType, resID, relation, subType, subID, subRel string) *v1.Relationship {
	return &v1.Relationship{
		Resource: obj(resType, resID),
		Relation: relation,
		Subject:  &v1.SubjectReference{Object: obj(subType, subID), OptionalRelation: subRel},
	}
}

func withExpiry(r *v1.Relationship, at time.Time) *v1.Relationship {
	r.OptionalExpiresAt = timestamppb.New(at)
	return r
}

// between returns a uniform int in lo..hi.
func between(r *rand.Rand, lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + r.IntN(hi-lo+1)
}

// Relationships streams the whole portal. Each relationship appears once (bulk import has
// create semantics). Consuming it to the end completes Expected.
func (g *Generator) Relationships() iter.Seq[*v1.Relationship] {
	return func(yield func(*v1.Relationship) bool) {
		g.expected = Expected{}
		n := 0
		emit := func(r *v1.Relationship) bool {
			n++
			return yield(r)
		}
		ok := g.platform(emit) && g.groups(emit) && g.roles(emit) && g.serviceOrgs(emit)
		for i := 0; ok && i < g.cfg.Accounts; i++ {
			ok = g.account(i, emit)
		}
		ok = ok && g.partners(emit) && g.staff(emit)
		g.expected.Relationships = n
	}
}

type emitFn func(*v1.Relationship) bool

func (g *Generator) platform(emit emitFn) bool {
	return emit(rel("platform", "main", "administrator", "user", "vera", "")) &&
		emit(rel("platform", "main", "customer_care", "user", "carol", "")) &&
		emit(rel("feature", "entitlement_view", "participant", "user", "*", ""))
}

// groups: schools nested in districts (both directions of the nesting, as NestGroup writes),
// and one super customer per district and per school.
func (g *Generator) groups(emit emitFn) bool {
	districts := g.districtOf(g.schools-1) + 1
	for d := 0; d < districts; d++ {
		id := DistrictID(d)
		if !emit(rel("group", id, "platform", "platform", "main", "")) ||
			!emit(rel("group", id, "reader", "user", fmt.Sprintf("super-%d", d), "")) {
			return false
		}
	}
	for s := 0; s < g.schools; s++ {
		id, parent := SchoolID(s), DistrictID(g.districtOf(s))
		if !emit(rel("group", id, "platform", "platform", "main", "")) ||
			!emit(rel("group", id, "parent", "group", parent, "")) ||
			!emit(rel("group", parent, "direct_member", "group", id, "member")) ||
			!emit(rel("group", id, "reader", "user", fmt.Sprintf("school-super-%d", s), "")) {
			return false
		}
	}
	return true
}

// roles: custom roles as DefineRole writes them. role-0 is a case reader.
func (g *Generator) roles(emit emitFn) bool {
	bundles := [][]string{
		{"case_read", "sold_product_read"},
		{"case_create", "case_write", "install_base_read"},
		{"sold_product_read", "sold_product_contact_read", "install_base_read", "installed_product_read"},
		{"case_read", "case_related_party_write"},
		{"install_base_read", "install_base_related_party_write"},
	}
	for r := 0; r < g.cfg.Roles; r++ {
		id := RoleID(r)
		if !emit(rel("role", id, "platform", "platform", "main", "")) {
			return false
		}
		for _, p := range bundles[r%len(bundles)] {
			if !emit(rel("role", id, p, "user", "*", "")) {
				return false
			}
		}
	}
	return true
}

func (g *Generator) serviceOrgs(emit emitFn) bool {
	for s := 0; s < g.cfg.ServiceOrgs; s++ {
		id := fmt.Sprintf("so-%d", s)
		if !emit(rel("service_org", id, "platform", "platform", "main", "")) {
			return false
		}
		for k := 0; k < 5; k++ {
			if !emit(rel("service_org", id, "direct_member", "user", fmt.Sprintf("su-%d-%d", s, k), "")) {
				return false
			}
		}
	}
	return true
}

// bindRole writes a role binding as BindRole does.
func bindRole(emit emitFn, objType, objID, roleID, granteeType, granteeID, granteeRel string) bool {
	b := mustInternalID(ref.RoleBindingID(ref.Object{Type: objType, ID: objID}, roleID))
	return emit(rel("role_binding", b, "role", "role", roleID, "")) &&
		emit(rel("role_binding", b, "grantee", granteeType, granteeID, granteeRel)) &&
		emit(rel(objType, objID, "role_binding", "role_binding", b, ""))
}

// account streams one account with its contacts, cases, products and role bindings.
func (g *Generator) account(i int, emit emitFn) bool {
	cfg := g.cfg
	r := g.rng(1, uint64(i))
	acct := AccountID(i)
	if !emit(rel("account", acct, "platform", "platform", "main", "")) ||
		!emit(rel("account", acct, "entitlement_rollout", "feature", "entitlement_view", "")) {
		return false
	}
	reserved := i < ReservedAccounts
	members := between(r, 2, 2*cfg.MeanMembers-2)
	if i == 0 {
		members = 10
	} else if reserved {
		members = max(members, 3)
	}
	hasAdmin := reserved || r.Float64() < 0.85
	if !hasAdmin {
		g.expected.AccountsWithoutAdmn++
	}
	for k := 0; k < members; k++ {
		role := "viewer"
		switch {
		case k == 0 && hasAdmin, k == 1 && !reserved && r.Float64() < 0.2:
			role = "admin"
		case k > 0 && k%2 == 1:
			role = "standard"
		}
		u := UserID(i, k)
		if !emit(rel("account", acct, role, "user", u, "")) {
			return false
		}
		if s := g.educ[i]; s >= 0 {
			if !emit(rel("group", SchoolID(s), "direct_member", "user", u, "")) ||
				!emit(rel("user", u, "member_of", "group", SchoolID(s), "")) {
				return false
			}
		}
	}
	// A pending join request on the hot account, and now and then elsewhere.
	if i == 0 || r.Float64() < 0.05 {
		joiner := fmt.Sprintf("joiner-%d", i)
		if !emit(withExpiry(rel("account", acct, "join_request_viewer", "user", joiner, ""), cfg.Now.Add(30*24*time.Hour))) {
			return false
		}
	}

	// Sold products and install base items.
	products := between(r, 1, 2*cfg.Products-1)
	for p := 0; p < products; p++ {
		sp := ProductID(i, p)
		if !emit(rel("sold_product", sp, "account", "account", acct, "")) ||
			!emit(rel("sold_product", sp, "authorized_contact", "user", UserID(i, r.IntN(members)), "")) {
			return false
		}
		items := between(r, 1, 2*cfg.Items-1)
		for k := 0; k < items; k++ {
			ib := ItemID(i, p, k)
			if !emit(rel("install_base", ib, "account", "account", acct, "")) ||
				!emit(rel("install_base", ib, "sold_product", "sold_product", sp, "")) ||
				!emit(rel("sold_product", sp, "install_base", "install_base", ib, "")) ||
				!emit(rel("install_base", ib, "authorized_contact", "user", UserID(i, r.IntN(members)), "")) {
				return false
			}
			if !reserved && r.Float64() < 0.3 {
				so := fmt.Sprintf("so-%d", r.IntN(cfg.ServiceOrgs))
				if !emit(rel("install_base", ib, "service_organization", "service_org", so, "")) {
					return false
				}
			}
			// Authorized accounts: fixed for the probe (account 5 on ib-4-0-0), random among
			// ordinary accounts elsewhere.
			switch {
			case i == 4 && p == 0 && k == 0:
				if !emit(rel("install_base", ib, "authorized_account", "account", AccountID(5), "")) {
					return false
				}
			case !reserved && r.Float64() < 0.1:
				other := ReservedAccounts + r.IntN(cfg.Accounts-ReservedAccounts)
				if !emit(rel("install_base", ib, "authorized_account", "account", AccountID(other), "")) {
					return false
				}
			}
		}
	}

	// Cases: reporter is a contact; open cases hold open@user:*.
	cases := between(r, 1, 2*cfg.MeanCases-1)
	switch {
	case i == 0:
		cases = cfg.HotCases
	case reserved:
		cases = cfg.MeanCases
	}
	for k := 0; k < cases; k++ {
		c := CaseID(i, k)
		reporter := UserID(i, r.IntN(members))
		if i == 0 {
			reporter = UserID(0, 1+k%(members-1))
		}
		if !emit(rel("case", c, "account", "account", acct, "")) ||
			!emit(rel("case", c, "reporter", "user", reporter, "")) {
			return false
		}
		open := r.Float64() < 0.6
		if open && !emit(rel("case", c, "open", "user", "*", "")) {
			return false
		}
		if !reserved && r.Float64() < 0.3 {
			p := r.IntN(products)
			if !emit(rel("case", c, "sold_product", "sold_product", ProductID(i, p), "")) {
				return false
			}
		}
		if i == 0 {
			g.expected.AdminCases++
		}
		if i >= 1 && i <= 8 {
			g.expected.PartnerMemberCases++
		}
		if s := g.educ[i]; s >= 0 && g.districtOf(s) == 0 && open {
			g.expected.DistrictOpenCases++
		}
	}

	// Custom roles: cr-0 holds role-0 on account 3; elsewhere now and then an account binds
	// a role to one of its contacts, or to its school.
	switch {
	case i == 3:
		if !bindRole(emit, "account", acct, RoleID(0), "user", "cr-0", "") {
			return false
		}
	case !reserved && r.Float64() < 0.05:
		if !bindRole(emit, "account", acct, RoleID(r.IntN(cfg.Roles)), "user", UserID(i, r.IntN(members)), "") {
			return false
		}
	case !reserved && g.educ[i] >= 0 && r.Float64() < 0.05:
		if !bindRole(emit, "sold_product", ProductID(i, 0), RoleID(r.IntN(cfg.Roles)), "group", SchoolID(g.educ[i]), "member") {
			return false
		}
	}
	return true
}

// partners: each partner with members, organisation grants on its customers (some
// expiring), a data-access link on some, and individual overrides for its second member.
// Partner 0's customers are accounts 1..8 at look, with pu-0-1 overridden to update on
// account 1 and to cc on account 2.
func (g *Generator) partners(emit emitFn) bool {
	cfg := g.cfg
	for p := 0; p < cfg.Partners; p++ {
		r := g.rng(2, uint64(p))
		id := PartnerID(p)
		if !emit(rel("partner", id, "platform", "platform", "main", "")) {
			return false
		}
		for k := 0; k < cfg.PartnerMembers; k++ {
			if !emit(rel("partner", id, "member", "user", PartnerUser(p, k), "")) {
				return false
			}
		}
		seen := map[int]bool{}
		for c := 0; c < cfg.CustomersPerPartner; c++ {
			var acct int
			level := Levels[r.IntN(len(Levels))]
			if p == 0 {
				if c >= 8 {
					break
				}
				acct, level = 1+c, "look"
			} else {
				acct = ReservedAccounts + r.IntN(cfg.Accounts-ReservedAccounts)
				if seen[acct] {
					continue
				}
			}
			seen[acct] = true
			a := AccountID(acct)
			grant := rel("account", a, "org_"+level, "partner", id, "member")
			if p != 0 && r.Float64() < 0.2 {
				grant = withExpiry(grant, cfg.Now.Add(time.Duration(between(r, 30, 90))*24*time.Hour))
			}
			if !emit(grant) {
				return false
			}
			if p != 0 && r.Float64() < 0.5 {
				link := mustInternalID(ref.PartnerLinkID(a, id))
				if !emit(rel("partner_link", link, "partner", "partner", id, "")) ||
					!emit(rel("partner_link", link, "support_enabled", "partner", id, "member")) ||
					!emit(rel("account", a, "partner_link", "partner_link", link, "")) {
					return false
				}
			}
			// Individual overrides for the partner's second member.
			override := ""
			switch {
			case p == 0 && acct == 1:
				override = "update"
			case p == 0 && acct == 2:
				override = "cc"
			case p != 0 && r.Float64() < 0.2:
				override = Levels[r.IntN(len(Levels))]
			}
			if override != "" && !emit(rel("account", a, "individual_"+override, "user", PartnerUser(p, 1), "")) {
				return false
			}
		}
	}
	return true
}

// staff: vendor staff with expiring individual look grants on a few ordinary accounts.
func (g *Generator) staff(emit emitFn) bool {
	cfg := g.cfg
	for s := 0; s < cfg.StaffUsers; s++ {
		r := g.rng(3, uint64(s))
		u := fmt.Sprintf("staff-%d", s)
		if !emit(rel("platform", "main", "staff", "user", u, "")) {
			return false
		}
		seen := map[int]bool{}
		for k := 0; k < 3; k++ {
			acct := ReservedAccounts + r.IntN(cfg.Accounts-ReservedAccounts)
			if seen[acct] {
				continue
			}
			seen[acct] = true
			grant := withExpiry(rel("account", AccountID(acct), "individual_look", "user", u, ""),
				cfg.Now.Add(time.Duration(between(r, 7, 60))*24*time.Hour))
			if !emit(grant) {
				return false
			}
		}
	}
	return true
}
