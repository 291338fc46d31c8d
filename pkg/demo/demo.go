// Package demo loads the demonstration portal: one vendor platform telling the five stories
// of the access model (site roles, partner levels, partner data access, school-district
// groups, products with functional and custom roles). Everything is written through the
// domain API, by the user who would make each change in real life, so the demo is
// authorised like any other change. examples/demo/README.md describes the cast.
package demo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// The cast. Tests and the walkthrough rely on these names.
const (
	VendorAdmin  = "vera"  // platform administrator
	CustomerCare = "carol" // Customer Care agent
	Consultant   = "tara"  // vendor staff with an individual grant on acme expiring in 30 days

	Acme      = "acme"  // the Acme site
	AcmeAdmin = "bill"  // acme Site Administrator, in the entitlement pilot
	Standard  = "sally" // acme standard member, in the entitlement pilot
	Viewer    = "joan"  // acme View Only member
	Requester = "dave"  // asked to join acme as standard; pending

	Integrator = "integrator" // partner organisation with a look grant on acme
	PartnerPam = "pam"        // integrator member: gets the organisation's look
	PartnerPet = "pete"       // integrator member: individual cc narrows the organisation's look

	Reseller = "reseller" // partner linked for data access: support on, manage vendor-side only
	Rita     = "rita"     // reseller member
	MSP      = "msp"      // partner (under reseller) with manage consented by both sides
	Max      = "max"      // msp member

	District     = "district"       // school district group
	AlmondSchool = "almond_school"  // school in the district
	BirchSchool  = "birch_school"   // school in the district
	Classroom    = "almond_class_3" // classroom group inside almond_school (depth 2)
	Valley       = "valley"         // the school district's site
	ValleyAdmin  = "dan"            // valley admin, in no group
	SuperCust    = "sue"            // super customer: group read access over the district
	AlmondStaff  = "amy"            // almond_school staff
	BirchStaff   = "ben"            // birch_school staff
	ClassTeacher = "cara"           // almond_class_3 teacher

	SoldProduct   = "router_x200"    // sold to acme
	InstallBase   = "router_x200_hq" // install base item of router_x200 at acme
	IBOutsider    = "olga"           // install base authorized consumer from outside acme
	IBNonMember   = "nina"           // install base authorized contact who is no acme member
	ServiceOrg    = "fieldfix"       // service organisation on the install base item
	FieldEngineer = "finn"           // fieldfix member
	SupportLead   = "support_lead"   // custom role: case_read + case_write
	SupportGroup  = "acme_support"   // group bound to support_lead on acme
	Lead          = "leo"            // acme viewer in acme_support
)

// Options configures Load.
type Options struct {
	// Now is the clock for expiries (time.Now when nil).
	Now func() time.Time
	// Progress, when set, is told the name of each story as it loads.
	Progress func(story string)
}

// ErrNotEmpty reports a store that already has a platform administrator.
var ErrNotEmpty = errors.New("the demo loads into an empty store")

// Summary counts what Load did.
type Summary struct {
	Stories int
	Changes int
	// Last is the revision of the last change written, so a reader of the store's history
	// can tell when it has seen the whole demo.
	Last access.Token
}

// loader runs changes and counts them, stopping at the first error.
type loader struct {
	ctx     context.Context
	c       *access.Client
	now     time.Time
	changes int
	last    access.Token
	err     error
}

func (l *loader) do(what string, fn func() (access.Token, error)) {
	if l.err != nil {
		return
	}
	tok, err := fn()
	if err != nil {
		l.err = fmt.Errorf("demo: %s: %w", what, err)
		return
	}
	l.changes++
	if tok != "" {
		l.last = tok
	}
}

func as(user, reason string) access.Actor { return access.As(user).Because("demo: " + reason) }

// Load writes the demo data set through c. It needs an empty store (no platform
// administrator yet) and returns ErrNotEmpty otherwise.
func Load(ctx context.Context, c *access.Client, opts Options) (Summary, error) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	l := &loader{ctx: ctx, c: c, now: now()}
	tok, err := c.Bootstrap(ctx, VendorAdmin, "demo: vendor administrator")
	if err != nil {
		if errors.Is(err, access.ErrConflict) {
			return Summary{}, fmt.Errorf("%w: the platform already has an administrator (start a fresh server with `accessctl serve --demo`)", ErrNotEmpty)
		}
		return Summary{}, fmt.Errorf("demo: bootstrapping the platform: %w", err)
	}
	l.changes, l.last = 1, tok
	stories := []struct {
		name string
		load func(*loader)
	}{
		{"platform: vendor administrator, Customer Care, consultant", platform},
		{"site roles on acme: admin, standard, viewer, a pending request", site},
		{"entitlement rollout pilot on acme", rollout},
		{"partner levels: integrator organisation and individual grants, an expiring consultant", partners},
		{"partner data access: support and two-sided manage consent", dataAccess},
		{"school district groups and a super customer", district},
		{"products, install base, related parties and a custom role", products},
		{"cases on acme", acmeCases},
	}
	for _, s := range stories {
		if opts.Progress != nil {
			opts.Progress(s.name)
		}
		s.load(l)
		if l.err != nil {
			return Summary{}, l.err
		}
	}
	return Summary{Stories: len(stories), Changes: l.changes, Last: l.last}, nil
}

func platform(l *loader) {
	l.do("adding Customer Care", func() (access.Token, error) {
		return l.c.AddPlatformRole(l.ctx, as(VendorAdmin, "Customer Care agent"), CustomerCare, access.PlatformCustomerCare)
	})
	l.do("adding vendor staff", func() (access.Token, error) {
		return l.c.AddPlatformRole(l.ctx, as(VendorAdmin, "consultant"), Consultant, access.PlatformStaff)
	})
}

// join files a request as the user and has approver approve it.
func join(l *loader, account, user string, role access.Role, approver string) {
	l.do("requesting "+string(role)+" on "+account+" for "+user, func() (access.Token, error) {
		return l.c.RequestAccess(l.ctx, as(user, "joining my site"), account, role)
	})
	l.do("approving "+user+" on "+account, func() (access.Token, error) {
		return l.c.Approve(l.ctx, as(approver, "known contact"), account, user)
	})
}

func site(l *loader) {
	l.do("creating acme", func() (access.Token, error) {
		return l.c.CreateAccount(l.ctx, as(CustomerCare, "new customer"), Acme, AcmeAdmin)
	})
	join(l, Acme, Standard, access.RoleStandard, AcmeAdmin)
	join(l, Acme, Viewer, access.RoleViewer, AcmeAdmin)
	join(l, Acme, Lead, access.RoleViewer, AcmeAdmin)
	l.do("dave asks to join acme", func() (access.Token, error) {
		return l.c.RequestAccess(l.ctx, as(Requester, "new engineer at acme"), Acme, access.RoleStandard)
	})
}

func rollout(l *loader) {
	for _, u := range []string{AcmeAdmin, Standard} {
		l.do("adding "+u+" to the entitlement pilot", func() (access.Token, error) {
			return l.c.AddRolloutParticipant(l.ctx, as(VendorAdmin, "entitlement view pilot"), access.EntitlementRollout.ID, u)
		})
	}
}

func partners(l *loader) {
	l.do("creating the integrator", func() (access.Token, error) {
		return l.c.CreatePartner(l.ctx, as(VendorAdmin, "integrator programme"), Integrator, "")
	})
	for _, u := range []string{PartnerPam, PartnerPet} {
		l.do("adding "+u+" to the integrator", func() (access.Token, error) {
			return l.c.AddPartnerMember(l.ctx, as(VendorAdmin, "partner staff"), Integrator, u)
		})
	}
	l.do("granting the integrator look on acme", func() (access.Token, error) {
		return l.c.GrantPartner(l.ctx, as(AcmeAdmin, "integrator follows our cases"), Acme, access.PartnerOrg(Integrator), access.LevelLook, time.Time{})
	})
	l.do("narrowing pete to cc on acme", func() (access.Token, error) {
		return l.c.GrantPartner(l.ctx, as(AcmeAdmin, "pete only on cases he is added to"), Acme, access.Individual(PartnerPet), access.LevelCC, time.Time{})
	})
	l.do("granting the consultant update on acme for 30 days", func() (access.Token, error) {
		return l.c.GrantPartner(l.ctx, as(AcmeAdmin, "on-site consultancy"), Acme, access.Individual(Consultant), access.LevelUpdate, l.now.Add(30*24*time.Hour))
	})
}

func dataAccess(l *loader) {
	l.do("creating the reseller", func() (access.Token, error) {
		return l.c.CreatePartner(l.ctx, as(VendorAdmin, "reseller programme"), Reseller, "")
	})
	l.do("creating the msp under the reseller", func() (access.Token, error) {
		return l.c.CreatePartner(l.ctx, as(VendorAdmin, "managed service provider"), MSP, Reseller)
	})
	l.do("adding rita to the reseller", func() (access.Token, error) {
		return l.c.AddPartnerMember(l.ctx, as(VendorAdmin, "partner staff"), Reseller, Rita)
	})
	l.do("adding max to the msp", func() (access.Token, error) {
		return l.c.AddPartnerMember(l.ctx, as(VendorAdmin, "partner staff"), MSP, Max)
	})
	for _, p := range []string{Reseller, MSP} {
		l.do("linking "+p+" to acme", func() (access.Token, error) {
			return l.c.LinkPartner(l.ctx, as(VendorAdmin, "partner services contract"), Acme, p)
		})
		l.do("vendor consents to manage for "+p, func() (access.Token, error) {
			return l.c.SetVendorManage(l.ctx, as(VendorAdmin, "partner has manage privileges"), Acme, p, true)
		})
	}
	l.do("acme consents to manage for the msp", func() (access.Token, error) {
		return l.c.SetCustomerManage(l.ctx, as(AcmeAdmin, "msp runs our service"), Acme, MSP, true)
	})
}

func district(l *loader) {
	for _, g := range []string{District, AlmondSchool, BirchSchool, Classroom} {
		l.do("creating group "+g, func() (access.Token, error) {
			return l.c.CreateGroup(l.ctx, as(CustomerCare, "school district onboarding"), g)
		})
	}
	for _, n := range [][2]string{{AlmondSchool, District}, {BirchSchool, District}, {Classroom, AlmondSchool}} {
		l.do("nesting "+n[0]+" in "+n[1], func() (access.Token, error) {
			return l.c.NestGroup(l.ctx, as(CustomerCare, "district structure"), n[0], n[1])
		})
	}
	for _, m := range [][2]string{{AlmondSchool, AlmondStaff}, {BirchSchool, BirchStaff}, {Classroom, ClassTeacher}} {
		l.do("adding "+m[1]+" to "+m[0], func() (access.Token, error) {
			return l.c.AddGroupMember(l.ctx, as(CustomerCare, "school staff"), m[0], m[1])
		})
	}
	l.do("giving sue read access over the district", func() (access.Token, error) {
		return l.c.SetGroupReadAccess(l.ctx, as(CustomerCare, "district IT lead"), SuperCust, District)
	})
	l.do("creating valley", func() (access.Token, error) {
		return l.c.CreateAccount(l.ctx, as(CustomerCare, "school district site"), Valley, ValleyAdmin)
	})
	join(l, Valley, SuperCust, access.RoleViewer, ValleyAdmin)
	for _, u := range []string{AlmondStaff, BirchStaff, ClassTeacher} {
		join(l, Valley, u, access.RoleStandard, ValleyAdmin)
	}
	for _, cs := range []struct{ id, by string }{{"201", AlmondStaff}, {"202", BirchStaff}, {"203", ClassTeacher}, {"204", ValleyAdmin}} {
		l.do("opening case "+cs.id, func() (access.Token, error) {
			return l.c.CreateCase(l.ctx, as(cs.by, "projector broken"), access.NewCase{ID: cs.id, Account: Valley})
		})
	}
	l.do("closing case 202", func() (access.Token, error) {
		return l.c.CloseCase(l.ctx, as(BirchStaff, "fixed"), "202")
	})
}

func products(l *loader) {
	l.do("recording the sold product", func() (access.Token, error) {
		return l.c.CreateSoldProduct(l.ctx, as(CustomerCare, "order 7781"), SoldProduct, Acme)
	})
	l.do("recording the install base item", func() (access.Token, error) {
		return l.c.CreateInstallBase(l.ctx, as(CustomerCare, "installed at HQ"), InstallBase, Acme, SoldProduct)
	})
	l.do("creating the service organisation", func() (access.Token, error) {
		return l.c.CreateServiceOrg(l.ctx, as(VendorAdmin, "field service contractor"), ServiceOrg)
	})
	l.do("adding finn to fieldfix", func() (access.Token, error) {
		return l.c.AddServiceOrgMember(l.ctx, as(VendorAdmin, "field engineer"), ServiceOrg, FieldEngineer)
	})
	sp := ref.Object{Type: "sold_product", ID: SoldProduct}
	ib := ref.Object{Type: "install_base", ID: InstallBase}
	assign := []struct {
		object ref.Object
		role   string
		party  ref.Object
	}{
		{sp, "sold_product_authorized_contact", ref.Object{Type: "user", ID: Standard}},
		{ib, "install_base_authorized_contact", ref.Object{Type: "user", ID: Viewer}},
		{ib, "install_base_authorized_contact", ref.Object{Type: "user", ID: IBNonMember}},
		{ib, "install_base_authorized_consumer", ref.Object{Type: "user", ID: IBOutsider}},
		{ib, "install_base_service_organization", ref.Object{Type: "service_org", ID: ServiceOrg}},
	}
	for _, a := range assign {
		l.do("assigning "+a.role+" to "+a.party.String(), func() (access.Token, error) {
			role, err := access.ParseFunctionalRole(a.role)
			if err != nil {
				return "", err
			}
			return l.c.AssignFunctionalRole(l.ctx, as(AcmeAdmin, "product contacts"), a.object, role, a.party)
		})
	}
	l.do("defining support_lead", func() (access.Token, error) {
		return l.c.DefineRole(l.ctx, as(VendorAdmin, "support lead bundle"), SupportLead, []access.Privilege{access.PrivCaseRead, access.PrivCaseWrite})
	})
	l.do("creating acme_support", func() (access.Token, error) {
		return l.c.CreateGroup(l.ctx, as(CustomerCare, "acme support team"), SupportGroup)
	})
	l.do("adding leo to acme_support", func() (access.Token, error) {
		return l.c.AddGroupMember(l.ctx, as(CustomerCare, "acme support team"), SupportGroup, Lead)
	})
	l.do("binding support_lead on acme to acme_support", func() (access.Token, error) {
		return l.c.BindRole(l.ctx, as(AcmeAdmin, "support team reads and updates every case"), SupportLead,
			ref.Object{Type: "account", ID: Acme}, ref.Subject{Object: ref.Object{Type: "group", ID: SupportGroup}, Relation: "member"})
	})
}

func acmeCases(l *loader) {
	cases := []struct {
		nc access.NewCase
		by string
	}{
		{access.NewCase{ID: "101", Account: Acme}, Standard},
		{access.NewCase{ID: "102", Account: Acme}, Viewer},
		{access.NewCase{ID: "103", Account: Acme}, Standard},
		{access.NewCase{ID: "104", Account: Acme, InstallBase: InstallBase}, Viewer},
		{access.NewCase{ID: "105", Account: Acme, SoldProduct: SoldProduct, InstallBase: InstallBase}, IBOutsider},
	}
	for _, cs := range cases {
		l.do("opening case "+cs.nc.ID, func() (access.Token, error) {
			return l.c.CreateCase(l.ctx, as(cs.by, "support request"), cs.nc)
		})
	}
	l.do("closing case 103", func() (access.Token, error) {
		return l.c.CloseCase(l.ctx, as(Standard, "solution accepted"), "103")
	})
	l.do("making the consultant primary contact of case 101", func() (access.Token, error) {
		return l.c.AddCaseContact(l.ctx, as(AcmeAdmin, "consultant drives this one"), "101", Consultant, true)
	})
	l.do("adding pete to case 102", func() (access.Token, error) {
		return l.c.AddCaseContact(l.ctx, as(AcmeAdmin, "pete helps on this case"), "102", PartnerPet, false)
	})
}
