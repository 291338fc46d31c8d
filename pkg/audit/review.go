package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// DefaultExpiringWithin is how far ahead AccessReview flags expiring grants by default.
const DefaultExpiringWithin = 30 * 24 * time.Hour

// ReviewOptions tunes AccessReview. The zero value is usable.
type ReviewOptions struct {
	// ExpiringWithin flags grants that expire within this long. Zero means
	// DefaultExpiringWithin; a negative value turns the flag off.
	ExpiringWithin time.Duration
}

// Review is everyone with access to one account, its cases and its products, grouped the
// way an auditor reviews them, with the findings that need attention.
type Review struct {
	Account string
	// ReviewedAt is the revision every part of the review was read at.
	ReviewedAt access.Token
	// GeneratedAt is when the review was made (the auditor's clock).
	GeneratedAt time.Time

	// Members are the account's contacts with their role, admins first.
	Members []MemberAccess
	// CustomerCare are the vendor's Customer Care agents: they see the contacts, remove
	// them, and decide join requests when the account has no admin.
	CustomerCare []string
	// Partners are the partner grants to organisations and to individuals who are not
	// vendor staff.
	Partners []GrantAccess
	// VendorStaff are the individual grants to vendor staff (consultants, technical
	// account managers).
	VendorStaff []GrantAccess
	// DataAccess are the partner data-access agreements (section 3 of the model).
	DataAccess []DataAccessEntry
	// SuperCustomers are users with group read access over a group containing the
	// reporter of one of the account's cases.
	SuperCustomers []SuperCustomer
	// RelatedParties are functional roles and partner case contacts on the account's
	// cases, sold products and install base items.
	RelatedParties []RelatedPartyEntry
	// CustomRoles are the custom role bindings on the account and its products.
	CustomRoles []RoleBindingEntry
	// Flags are the findings: grants expiring soon, individual grants overriding an
	// organisation grant, partners without members, an account without admin, former
	// members still reaching the cases they reported, manage consent given by one side only.
	Flags []Flag
}

// MemberAccess is one contact and their role.
type MemberAccess struct {
	User string      `json:"user"`
	Role access.Role `json:"role"`
}

// GrantAccess is one partner grant.
type GrantAccess struct {
	// Grantee is partner:ID (an organisation grant) or user:ID (an individual grant).
	Grantee string `json:"grantee"`
	// Kind is "organisation" or "individual".
	Kind  string       `json:"kind"`
	Level access.Level `json:"level"`
	// ExpiresAt is zero for a grant without expiry.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// Members are, for an organisation grant, the partner's members (who hold it, unless
	// they have an individual grant of their own).
	Members []string `json:"members,omitempty"`
}

// DataAccessEntry is one partner's data-access agreement with the account.
type DataAccessEntry struct {
	Partner string `json:"partner"`
	// Support: read-only dashboard, reports and user activity.
	Support bool `json:"support"`
	// VendorManage and CustomerManage are the two consents; Manage holds when both do.
	VendorManage   bool     `json:"vendor_manage"`
	CustomerManage bool     `json:"customer_manage"`
	Manage         bool     `json:"manage"`
	Members        []string `json:"members"`
}

// SuperCustomer is a user with group read access reaching the account's cases.
type SuperCustomer struct {
	User  string `json:"user"`
	Group string `json:"group"`
	// Reporters are the account's case reporters inside the group; Cases their cases.
	Reporters []string `json:"reporters"`
	Cases     []string `json:"cases"`
}

// RelatedPartyEntry is one functional role or case contact on an object of the account.
type RelatedPartyEntry struct {
	// Object is the case, sold product or install base item.
	Object string `json:"object"`
	// Role is the functional role (install_base_authorized_contact, ...) or
	// case_partner_contact / case_primary_partner_contact.
	Role string `json:"role"`
	// Party is the user, account or service organisation holding it.
	Party string `json:"party"`
	// Members are, for a service organisation or an authorized account, its people.
	Members []string `json:"members,omitempty"`
}

// RoleBindingEntry is one custom role bound on an object of the account.
type RoleBindingEntry struct {
	Object     string   `json:"object"`
	Role       string   `json:"role"`
	Privileges []string `json:"privileges"`
	Grantees   []string `json:"grantees"`
}

// FlagKind is the kind of a review finding.
type FlagKind string

// Review findings.
const (
	FlagExpiring        FlagKind = "expiring"          // a grant expires within ReviewOptions.ExpiringWithin
	FlagOverriding      FlagKind = "overriding"        // an individual grant replaces the person's organisation grant
	FlagEmptyPartner    FlagKind = "empty partner"     // a partner with a grant or agreement but no members
	FlagNoAdmin         FlagKind = "no admin"          // the account has no admin
	FlagFormerMember    FlagKind = "former member"     // someone no longer a member or partner still sees the cases they reported
	FlagOneSidedConsent FlagKind = "one-sided consent" // a partner's manage consent given by one side only
)

// Flag is one finding of a review.
type Flag struct {
	Kind    FlagKind `json:"kind"`
	Subject string   `json:"subject"`
	Message string   `json:"message"`
}

// AccessReview lists everyone with access to the account with the given Support ID, its
// cases and its products, and flags what needs attention. The actor must hold
// view_members on the account (its admins, full_admin partners and Customer Care);
// otherwise the error wraps access.ErrPermissionDenied. Everything is read at one revision.
func (a *Auditor) AccessReview(ctx context.Context, actor access.Actor, supportID string, opts ReviewOptions) (Review, error) {
	if actor.User == "" {
		return Review{}, fmt.Errorf("%w: no acting user: a review is made by someone", access.ErrInvalidArgument)
	}
	actorObj, err := ref.New("user", actor.User)
	if err != nil {
		return Review{}, err
	}
	acct, err := ref.New("account", supportID)
	if err != nil {
		return Review{}, err
	}
	d, err := a.client.Check(ctx, ref.Subject{Object: actorObj}, "view_members", acct, access.Fresh())
	if err != nil {
		return Review{}, err
	}
	rv := &reviewer{a: a, ctx: ctx, cons: exact(string(d.CheckedAt)), acct: acct}
	if exists := rv.subjects(acct, "platform"); rv.err == nil && len(exists) == 0 {
		return Review{}, fmt.Errorf("reviewing %s: %w: no such account", acct, access.ErrNotFound)
	}
	if !d.Allowed {
		return Review{}, &access.DeniedError{Actor: actorObj, Permission: "view_members", Resource: acct}
	}
	within := opts.ExpiringWithin
	if within == 0 {
		within = DefaultExpiringWithin
	}
	out := Review{Account: supportID, ReviewedAt: d.CheckedAt, GeneratedAt: a.now()}
	rv.members(&out)
	rv.grants(&out)
	rv.dataAccess(&out)
	rv.objects(&out)
	if rv.err != nil {
		return Review{}, fmt.Errorf("reviewing %s: %w", acct, rv.err)
	}
	rv.flags(&out, within)
	return out, rv.err
}

// reviewer reads one account at one revision, remembering the first error.
type reviewer struct {
	a    *Auditor
	ctx  context.Context
	cons *v1.Consistency
	acct ref.Object
	err  error

	reporters map[string][]string // reporter -> cases
}

func (rv *reviewer) read(f *v1.RelationshipFilter) []*v1.Relationship {
	if rv.err != nil {
		return nil
	}
	rels, err := rv.a.collect(rv.ctx, rv.cons, f)
	if err != nil {
		rv.err = err
	}
	return rels
}

// subjects lists the subjects of one relation, as ids for users and type:id otherwise.
func (rv *reviewer) subjects(o ref.Object, relation string) []string {
	var out []string
	for _, r := range rv.read(relFilter(o, relation, nil)) {
		out = append(out, subjectName(r.GetSubject()))
	}
	slices.Sort(out)
	return out
}

// subjectName renders a subject: "bill" for a user, "group:x#member" or "account:acme" otherwise.
func subjectName(s *v1.SubjectReference) string {
	sub := fromSubjectRef(s)
	if sub.Type == "user" && sub.Relation == "" {
		return sub.ID
	}
	return sub.String()
}

// owned lists the objects of a type that belong to the account.
func (rv *reviewer) owned(typ string) []ref.Object {
	acct := ref.Subject{Object: rv.acct}
	var out []ref.Object
	for _, r := range rv.read(relFilter(ref.Object{Type: typ}, "account", &acct)) {
		out = append(out, fromObjectRef(r.GetResource()))
	}
	slices.SortFunc(out, func(x, y ref.Object) int { return strings.Compare(x.ID, y.ID) })
	return out
}

func (rv *reviewer) members(out *Review) {
	for _, role := range access.Roles {
		for _, u := range rv.subjects(rv.acct, string(role)) {
			out.Members = append(out.Members, MemberAccess{User: u, Role: role})
		}
	}
	out.CustomerCare = rv.subjects(access.Platform, "customer_care")
}

func (rv *reviewer) grants(out *Review) {
	staff := map[string]bool{}
	for _, u := range rv.subjects(access.Platform, "staff") {
		staff[u] = true
	}
	for _, kind := range []string{"organisation", "individual"} {
		for _, level := range access.Levels {
			relation := map[string]string{"organisation": "org_", "individual": "individual_"}[kind] + string(level)
			for _, r := range rv.read(relFilter(rv.acct, relation, nil)) {
				g := GrantAccess{Kind: kind, Level: level}
				if exp := r.GetOptionalExpiresAt(); exp != nil {
					g.ExpiresAt = exp.AsTime().UTC()
				}
				sub := fromSubjectRef(r.GetSubject())
				g.Grantee = sub.Object.String()
				if kind == "organisation" {
					g.Members = rv.subjects(sub.Object, "member")
					out.Partners = append(out.Partners, g)
				} else if staff[sub.ID] {
					out.VendorStaff = append(out.VendorStaff, g)
				} else {
					out.Partners = append(out.Partners, g)
				}
			}
		}
	}
}

func (rv *reviewer) dataAccess(out *Review) {
	for _, id := range rv.subjects(rv.acct, "partner_link") {
		link, err := ref.Parse(id)
		if err != nil {
			continue
		}
		partners := rv.subjects(link, "partner")
		if len(partners) == 0 {
			continue
		}
		p, _ := ref.Parse(partners[0])
		e := DataAccessEntry{
			Partner:        partners[0],
			Support:        len(rv.subjects(link, "support_enabled")) > 0,
			VendorManage:   len(rv.subjects(link, "vendor_manage")) > 0,
			CustomerManage: len(rv.subjects(link, "customer_manage")) > 0,
			Members:        nonNil(rv.subjects(p, "member")),
		}
		e.Manage = e.VendorManage && e.CustomerManage
		out.DataAccess = append(out.DataAccess, e)
	}
}

// partyRole names the functional role (or case contact) stored in a relation of a type.
func partyRole(typ, relation string) (string, bool) {
	for _, r := range access.FunctionalRoles {
		if r.On == typ && r.Relation == relation {
			return r.Name, true
		}
	}
	switch typ + "#" + relation {
	case "case#partner_contact":
		return "case_partner_contact", true
	case "case#primary_partner_contact":
		return "case_primary_partner_contact", true
	}
	return "", false
}

// objects reviews the account's cases, sold products and install base items: their related
// parties, custom role bindings and the super customers over their reporters.
func (rv *reviewer) objects(out *Review) {
	rv.reporters = map[string][]string{}
	bindings := map[string]ref.Object{}
	for _, b := range rv.subjects(rv.acct, "role_binding") {
		bindings[b] = rv.acct
	}
	var objects []ref.Object
	for _, typ := range []string{"case", "sold_product", "install_base"} {
		objects = append(objects, rv.owned(typ)...)
	}
	for _, o := range objects {
		for _, r := range rv.read(relFilter(o, "", nil)) {
			rel := r.GetRelation()
			switch {
			case rel == "reporter":
				u := subjectName(r.GetSubject())
				rv.reporters[u] = append(rv.reporters[u], o.String())
			case rel == "role_binding":
				bindings[subjectName(r.GetSubject())] = o
			default:
				role, ok := partyRole(o.Type, rel)
				if !ok {
					continue
				}
				party := fromSubjectRef(r.GetSubject())
				e := RelatedPartyEntry{Object: o.String(), Role: role, Party: subjectName(r.GetSubject())}
				switch party.Type {
				case "service_org":
					e.Members = rv.subjects(party.Object, "direct_member")
				case "account":
					for _, role := range access.Roles {
						e.Members = append(e.Members, rv.subjects(party.Object, string(role))...)
					}
					slices.Sort(e.Members)
				}
				out.RelatedParties = append(out.RelatedParties, e)
			}
		}
	}
	for id, on := range bindings {
		b, err := ref.Parse(id)
		if err != nil {
			continue
		}
		e := RoleBindingEntry{Object: on.String(), Grantees: nonNil(rv.subjects(b, "grantee"))}
		if roles := rv.subjects(b, "role"); len(roles) > 0 {
			role, _ := ref.Parse(roles[0])
			e.Role = role.ID
			for _, r := range rv.read(relFilter(role, "", nil)) {
				if r.GetSubject().GetObject().GetObjectId() == "*" {
					e.Privileges = append(e.Privileges, r.GetRelation())
				}
			}
			slices.Sort(e.Privileges)
		}
		out.CustomRoles = append(out.CustomRoles, e)
	}
	slices.SortFunc(out.CustomRoles, func(x, y RoleBindingEntry) int {
		return strings.Compare(x.Object+"|"+x.Role, y.Object+"|"+y.Role)
	})
	rv.superCustomers(out)
}

func (rv *reviewer) superCustomers(out *Review) {
	type key struct{ user, group string }
	found := map[key]*SuperCustomer{}
	reporters := make([]string, 0, len(rv.reporters))
	for u := range rv.reporters {
		reporters = append(reporters, u)
	}
	slices.Sort(reporters)
	for _, reporter := range reporters {
		if rv.err != nil {
			return
		}
		readers, err := rv.lookupUsers(ref.Object{Type: "user", ID: reporter}, "read_cases")
		if err != nil {
			rv.err = err
			return
		}
		for _, reader := range readers {
			s := ref.Subject{Object: ref.Object{Type: "user", ID: reader}}
			for _, g := range rv.read(relFilter(ref.Object{Type: "group"}, "reader", &s)) {
				k := key{reader, fromObjectRef(g.GetResource()).String()}
				sc := found[k]
				if sc == nil {
					sc = &SuperCustomer{User: reader, Group: k.group}
					found[k] = sc
				}
				sc.Reporters = append(sc.Reporters, reporter)
				sc.Cases = append(sc.Cases, rv.reporters[reporter]...)
			}
		}
	}
	for _, sc := range found {
		slices.Sort(sc.Cases)
		out.SuperCustomers = append(out.SuperCustomers, *sc)
	}
	slices.SortFunc(out.SuperCustomers, func(x, y SuperCustomer) int {
		return strings.Compare(x.User+"|"+x.Group, y.User+"|"+y.Group)
	})
}

// lookupUsers lists the users holding permission on o at the review's revision.
func (rv *reviewer) lookupUsers(o ref.Object, permission string) ([]string, error) {
	stream, err := rv.a.engine.Permissions().LookupSubjects(rv.ctx, &v1.LookupSubjectsRequest{
		Consistency: rv.cons, Resource: objectRef(o), Permission: permission, SubjectObjectType: "user",
	})
	if err != nil {
		return nil, engineError("looking up "+permission+" on "+o.String(), err)
	}
	var out []string
	for {
		resp, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, engineError("looking up "+permission+" on "+o.String(), err)
		}
		if id := resp.GetSubject().GetSubjectObjectId(); id != "*" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out, nil
}
