package audit_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// The portal world is built once, through the domain API, by the user who would make each
// change, and shared read-only by the tests. It follows the demo's cast (see pkg/demo) and
// adds what the golden explanations need: a partner without members, a full_admin partner
// and an individual grant that has already expired.
const (
	vera  = "vera"  // platform administrator
	carol = "carol" // Customer Care
	tara  = "tara"  // vendor staff: individual update on acme until farFuture
	bill  = "bill"  // acme admin (rollout participant)
	sally = "sally" // acme standard (rollout participant); sold product authorized contact
	joan  = "joan"  // acme viewer; install base authorized contact
	leo   = "leo"   // acme viewer in group acme_support (custom role support_lead on acme)
	pam   = "pam"   // integrator member (organisation look)
	pete  = "pete"  // integrator member with an individual cc (narrows the look)
	fred  = "fred"  // fixit member (organisation full_admin)
	priya = "priya" // individual look on acme that expired
	rita  = "rita"  // reseller member: support on, manage only vendor-side
	max   = "max"   // msp member: support and manage (both consents)
	dan   = "dan"   // valley admin
	sue   = "sue"   // valley viewer with group read access over the district
	amy   = "amy"   // almond_school
	ben   = "ben"   // birch_school
	cara  = "cara"  // almond_class_3 (inside almond_school)
	nina  = "nina"  // install base authorized contact who is no acme contact
	olga  = "olga"  // install base authorized consumer from outside acme
	finn  = "finn"  // fieldfix (service organisation) member
	olaf  = "olaf"  // former contact of orphan (an account without admin) who reported case 301
)

// farFuture is the consultant's grant expiry: fixed, so that golden texts are stable.
var farFuture = time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)

// allUsers is everyone the portal world knows, for exhaustive who-can checks.
var allUsers = []string{vera, carol, tara, bill, sally, joan, leo, pam, pete, fred, priya, rita, max, dan, sue, amy, ben, cara, nina, olga, finn, olaf, "outsider"}

type portal struct {
	ctx       context.Context
	c         *access.Client
	a         *audit.Auditor
	e         *engine.Embedded
	priyaExp  time.Time // when priya's grant expired
	tokenBase access.Token
}

var (
	portalOnce sync.Once
	portalVal  *portal
	portalErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if portalVal != nil {
		_ = portalVal.e.Close()
	}
	os.Exit(code)
}

// sharedPortal returns the portal world, building it on first use.
func sharedPortal(t *testing.T) *portal {
	t.Helper()
	portalOnce.Do(func() { portalVal, portalErr = buildPortal(context.Background()) })
	if portalErr != nil {
		t.Fatalf("building the portal world: %v", portalErr)
	}
	return portalVal
}

func newEngine(ctx context.Context) (*engine.Embedded, *access.Client, error) {
	e, err := engine.StartEmbedded(ctx, engine.EmbeddedConfig{StartTimeout: 60 * time.Second, ExpirySweepInterval: time.Second})
	if err != nil {
		return nil, nil, err
	}
	return e, access.New(e.Engine), nil
}

// steps runs changes in order and stops at the first error.
type steps struct {
	err error
}

func (s *steps) do(tok access.Token, err error) {
	if s.err == nil && err != nil {
		s.err = err
	}
}

func as(user, reason string) access.Actor { return access.As(user).Because(reason) }

func obj(s string) ref.Object {
	o, err := ref.Parse(s)
	if err != nil {
		panic(err)
	}
	return o
}

func user(id string) ref.Subject { return ref.Subject{Object: ref.Object{Type: "user", ID: id}} }

func buildPortal(ctx context.Context) (*portal, error) {
	e, c, err := newEngine(ctx)
	if err != nil {
		return nil, err
	}
	p := &portal{ctx: ctx, c: c, a: audit.New(c), e: e}
	s := &steps{}
	s.do(c.Bootstrap(ctx, vera, "first administrator"))
	s.do(c.AddPlatformRole(ctx, as(vera, "Customer Care agent"), carol, access.PlatformCustomerCare))
	s.do(c.AddPlatformRole(ctx, as(vera, "consultant"), tara, access.PlatformStaff))

	// Section 1: acme with admin, standard and viewer contacts, and the rollout pilot.
	s.do(c.CreateAccount(ctx, as(carol, "new customer"), "acme", bill))
	join := func(account, u string, role access.Role, approver string) {
		s.do(c.RequestAccess(ctx, as(u, "joining my site"), account, role))
		s.do(c.Approve(ctx, as(approver, "known contact"), account, u))
	}
	join("acme", sally, access.RoleStandard, bill)
	join("acme", joan, access.RoleViewer, bill)
	join("acme", leo, access.RoleViewer, bill)
	for _, u := range []string{bill, sally} {
		s.do(c.AddRolloutParticipant(ctx, as(vera, "entitlement pilot"), access.EntitlementRollout.ID, u))
	}

	// Section 2: partner levels.
	s.do(c.CreatePartner(ctx, as(vera, "integrator programme"), "integrator", ""))
	s.do(c.CreatePartner(ctx, as(vera, "field partner"), "fixit", ""))
	s.do(c.CreatePartner(ctx, as(vera, "dormant partner"), "ghost", ""))
	for _, m := range [][2]string{{"integrator", pam}, {"integrator", pete}, {"fixit", fred}} {
		s.do(c.AddPartnerMember(ctx, as(vera, "partner staff"), m[0], m[1]))
	}
	s.do(c.GrantPartner(ctx, as(bill, "integrator follows our cases"), "acme", access.PartnerOrg("integrator"), access.LevelLook, time.Time{}))
	s.do(c.GrantPartner(ctx, as(bill, "pete only on cases he is added to"), "acme", access.Individual(pete), access.LevelCC, time.Time{}))
	s.do(c.GrantPartner(ctx, as(bill, "fixit manages our contacts"), "acme", access.PartnerOrg("fixit"), access.LevelFullAdmin, time.Time{}))
	s.do(c.GrantPartner(ctx, as(bill, "old contract"), "acme", access.PartnerOrg("ghost"), access.LevelLook, time.Time{}))
	s.do(c.GrantPartner(ctx, as(bill, "on-site consultancy"), "acme", access.Individual(tara), access.LevelUpdate, farFuture))
	p.priyaExp = time.Now().Add(1500 * time.Millisecond).Truncate(time.Second).Add(time.Second)
	s.do(c.GrantPartner(ctx, as(bill, "two-second audit"), "acme", access.Individual(priya), access.LevelLook, p.priyaExp))

	// Section 3: data access.
	s.do(c.CreatePartner(ctx, as(vera, "reseller programme"), "reseller", ""))
	s.do(c.CreatePartner(ctx, as(vera, "managed service provider"), "msp", "reseller"))
	s.do(c.AddPartnerMember(ctx, as(vera, "partner staff"), "reseller", rita))
	s.do(c.AddPartnerMember(ctx, as(vera, "partner staff"), "msp", max))
	for _, partner := range []string{"reseller", "msp"} {
		s.do(c.LinkPartner(ctx, as(vera, "partner services contract"), "acme", partner))
		s.do(c.SetVendorManage(ctx, as(vera, "partner has manage privileges"), "acme", partner, true))
	}
	s.do(c.SetCustomerManage(ctx, as(bill, "msp runs our service"), "acme", "msp", true))

	// Section 4: a school district.
	for _, g := range []string{"district", "almond_school", "birch_school", "almond_class_3"} {
		s.do(c.CreateGroup(ctx, as(carol, "district onboarding"), g))
	}
	for _, n := range [][2]string{{"almond_school", "district"}, {"birch_school", "district"}, {"almond_class_3", "almond_school"}} {
		s.do(c.NestGroup(ctx, as(carol, "district structure"), n[0], n[1]))
	}
	for _, m := range [][2]string{{"almond_school", amy}, {"birch_school", ben}, {"almond_class_3", cara}} {
		s.do(c.AddGroupMember(ctx, as(carol, "school staff"), m[0], m[1]))
	}
	s.do(c.SetGroupReadAccess(ctx, as(carol, "district IT lead"), sue, "district"))
	s.do(c.CreateAccount(ctx, as(carol, "school district site"), "valley", dan))
	join("valley", sue, access.RoleViewer, dan)
	for _, u := range []string{amy, ben, cara} {
		join("valley", u, access.RoleStandard, dan)
	}
	for _, cs := range [][2]string{{"201", amy}, {"202", ben}, {"203", cara}} {
		s.do(c.CreateCase(ctx, as(cs[1], "projector broken"), access.NewCase{ID: cs[0], Account: "valley"}))
	}
	s.do(c.CloseCase(ctx, as(ben, "fixed"), "202"))

	// Section 5: products, install base, functional and custom roles.
	s.do(c.CreateSoldProduct(ctx, as(carol, "order 7781"), "router_x200", "acme"))
	s.do(c.CreateInstallBase(ctx, as(carol, "installed at HQ"), "router_x200_hq", "acme", "router_x200"))
	s.do(c.CreateServiceOrg(ctx, as(vera, "field service contractor"), "fieldfix"))
	s.do(c.AddServiceOrgMember(ctx, as(vera, "field engineer"), "fieldfix", finn))
	for _, a := range []struct{ object, role, party string }{
		{"sold_product:router_x200", "sold_product_authorized_contact", "user:" + sally},
		{"install_base:router_x200_hq", "install_base_authorized_contact", "user:" + joan},
		{"install_base:router_x200_hq", "install_base_authorized_contact", "user:" + nina},
		{"install_base:router_x200_hq", "install_base_authorized_consumer", "user:" + olga},
		{"install_base:router_x200_hq", "install_base_service_organization", "service_org:fieldfix"},
	} {
		role, err := access.ParseFunctionalRole(a.role)
		if err != nil {
			return nil, err
		}
		s.do(c.AssignFunctionalRole(ctx, as(bill, "product contacts"), obj(a.object), role, obj(a.party)))
	}
	s.do(c.DefineRole(ctx, as(vera, "support lead bundle"), "support_lead", []access.Privilege{access.PrivCaseRead, access.PrivCaseWrite}))
	s.do(c.CreateGroup(ctx, as(carol, "acme support team"), "acme_support"))
	s.do(c.AddGroupMember(ctx, as(carol, "acme support team"), "acme_support", leo))
	s.do(c.BindRole(ctx, as(bill, "support team reads and updates every case"), "support_lead", obj("account:acme"),
		ref.Subject{Object: obj("group:acme_support"), Relation: "member"}))

	// Cases on acme.
	for _, cs := range []struct {
		nc access.NewCase
		by string
	}{
		{access.NewCase{ID: "101", Account: "acme"}, sally},
		{access.NewCase{ID: "102", Account: "acme"}, joan},
		{access.NewCase{ID: "103", Account: "acme"}, sally},
		{access.NewCase{ID: "104", Account: "acme", InstallBase: "router_x200_hq"}, joan},
		{access.NewCase{ID: "105", Account: "acme", SoldProduct: "router_x200", InstallBase: "router_x200_hq"}, olga},
	} {
		s.do(c.CreateCase(ctx, as(cs.by, "support request"), cs.nc))
	}
	s.do(c.CloseCase(ctx, as(sally, "solution accepted"), "103"))
	s.do(c.AddCaseContact(ctx, as(bill, "consultant drives this one"), "101", tara, true))
	s.do(c.AddCaseContact(ctx, as(bill, "pete helps on this case"), "102", pete, false))

	// An account left without admin, whose only contact was removed after opening a case.
	s.do(c.CreateAccount(ctx, as(carol, "walk-in customer"), "orphan", ""))
	s.do(c.RequestAccess(ctx, as(olaf, "joining"), "orphan", access.RoleStandard))
	s.do(c.Approve(ctx, as(carol, "no admin yet"), "orphan", olaf))
	s.do(c.CreateCase(ctx, as(olaf, "printer jam"), access.NewCase{ID: "301", Account: "orphan"}))
	s.do(c.RemoveMember(ctx, as(carol, "left the company"), "orphan", olaf))
	if s.err != nil {
		_ = e.Close()
		return nil, s.err
	}

	// Wait for priya's grant to expire and be swept.
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err := c.Check(ctx, user(priya), "view_all_cases", obj("account:acme"), access.Fresh())
		if err != nil {
			_ = e.Close()
			return nil, err
		}
		if !d.Allowed && time.Now().After(p.priyaExp) {
			break
		}
		if time.Now().After(deadline) {
			_ = e.Close()
			return nil, context.DeadlineExceeded
		}
		time.Sleep(100 * time.Millisecond)
	}
	return p, nil
}
