package access

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/ref"
)

// Level is a partner permission level, from cc (least) to full_admin (most).
type Level string

// Partner levels, lowest first.
const (
	LevelCC           Level = "cc"
	LevelLook         Level = "look"
	LevelUpdate       Level = "update"
	LevelCreate       Level = "create"
	LevelServiceAdmin Level = "service_admin"
	LevelFullAdmin    Level = "full_admin"
)

// Levels lists the partner levels, lowest first.
var Levels = []Level{LevelCC, LevelLook, LevelUpdate, LevelCreate, LevelServiceAdmin, LevelFullAdmin}

// ParseLevel reads a level name.
func ParseLevel(s string) (Level, error) {
	l := Level(s)
	if !slices.Contains(Levels, l) {
		return "", fmt.Errorf("%w: unknown partner level %q (cc, look, update, create, service_admin, full_admin)", ErrInvalidArgument, s)
	}
	return l, nil
}

// AtLeast reports whether l is o or higher.
func (l Level) AtLeast(o Level) bool { return slices.Index(Levels, l) >= slices.Index(Levels, o) }

// Grantee is who a partner grant is for: a whole partner organisation or one individual.
// Build it with PartnerOrg or Individual.
type Grantee struct {
	Partner string
	User    string
}

// PartnerOrg names every member of a partner organisation.
func PartnerOrg(partnerID string) Grantee { return Grantee{Partner: partnerID} }

// Individual names one person (a partner contact or vendor staff).
func Individual(userID string) Grantee { return Grantee{User: userID} }

// ParseGrantee reads partner:ID or user:ID.
func ParseGrantee(s string) (Grantee, error) {
	o, err := ref.Parse(s)
	if err != nil {
		return Grantee{}, err
	}
	switch o.Type {
	case "partner":
		return PartnerOrg(o.ID), nil
	case "user":
		return Individual(o.ID), nil
	}
	return Grantee{}, fmt.Errorf("%w: a partner grant is for partner:ID or user:ID, not %s", ErrInvalidArgument, o)
}

// String returns partner:ID or user:ID.
func (g Grantee) String() string {
	if g.Partner != "" {
		return "partner:" + g.Partner
	}
	return "user:" + g.User
}

func (g Grantee) validate() error {
	switch {
	case g.Partner != "" && g.User != "":
		return fmt.Errorf("%w: a grant is for a partner organisation or an individual, not both", ErrInvalidArgument)
	case g.Partner != "":
		return ref.ValidateID("partner", g.Partner)
	case g.User != "":
		return ref.ValidateID("user", g.User)
	}
	return fmt.Errorf("%w: no grantee: name partner:ID or user:ID", ErrInvalidArgument)
}

// grantSubject is who the grant relation points at: every member, or the person.
func (g Grantee) grantSubject() ref.Subject {
	if g.Partner != "" {
		return ref.Subject{Object: ref.Object{Type: "partner", ID: g.Partner}, Relation: "member"}
	}
	return userSubject(g.User)
}

// requestSubject is who a partner request relation points at.
func (g Grantee) requestSubject() ref.Subject {
	if g.Partner != "" {
		return subj(ref.Object{Type: "partner", ID: g.Partner})
	}
	return userSubject(g.User)
}

func (g Grantee) grantRelation(l Level) string {
	if g.Partner != "" {
		return "org_" + string(l)
	}
	return "individual_" + string(l)
}

func requestRelation(l Level) string { return "partner_request_" + string(l) }

// PartnerGrant is one active grant on an account.
type PartnerGrant struct {
	Account string
	Grantee Grantee
	Level   Level
	// ExpiresAt is zero for a grant without expiry.
	ExpiresAt time.Time
}

// PartnerRequest is a pending request from a partner for a level.
type PartnerRequest struct {
	Account   string
	Grantee   Grantee
	Level     Level
	ExpiresAt time.Time
}

// CreatePartner registers a partner organisation, optionally under a parent partner.
// Platform administrators only.
func (c *Client) CreatePartner(ctx context.Context, actor Actor, partnerID, parentID string) (Token, error) {
	p, err := objectOf("partner", partnerID)
	if err != nil {
		return "", err
	}
	m := &mutation{}
	if parentID != "" {
		parent, err := objectOf("partner", parentID)
		if err != nil {
			return "", err
		}
		if parent == p {
			return "", fmt.Errorf("%w: %s cannot be its own parent", ErrInvalidArgument, p)
		}
		if err := c.mustExist(ctx, parent, "platform"); err != nil {
			return "", err
		}
		m.create(relationship(p, "parent", subj(parent)))
		m.mustMatch(existsFilter(parent, "platform"))
	}
	return c.register(ctx, actor, p, "administer", "partner.create", m)
}

// AddPartnerMember adds a contact to a partner organisation. Platform administrators only.
func (c *Client) AddPartnerMember(ctx context.Context, actor Actor, partnerID, user string) (Token, error) {
	return c.setMembership(ctx, actor, "partner", partnerID, "member", user, true)
}

// RemovePartnerMember removes a contact from a partner organisation; their organisation
// grants stop at once.
func (c *Client) RemovePartnerMember(ctx context.Context, actor Actor, partnerID, user string) (Token, error) {
	return c.setMembership(ctx, actor, "partner", partnerID, "member", user, false)
}

// setMembership adds or removes a user on a vendor-registered object (partner, service org).
func (c *Client) setMembership(ctx context.Context, actor Actor, typ, id, relation, user string, add bool) (Token, error) {
	a, err := actor.object()
	if err != nil {
		return "", err
	}
	o, err := objectOf(typ, id)
	if err != nil {
		return "", err
	}
	u, err := objectOf("user", user)
	if err != nil {
		return "", err
	}
	if err := c.require(ctx, a, "administer", Platform); err != nil {
		return "", err
	}
	if err := c.mustExist(ctx, o, "platform"); err != nil {
		return "", err
	}
	m := &mutation{}
	m.set(relationship(o, relation, subj(u)), add)
	m.mustMatch(existsFilter(o, "platform"))
	tok, err := c.write(ctx, a, actor.Reason, typ+".member", m)
	return tok, engineError(fmt.Sprintf("changing members of %s", o), err)
}

// GrantPartner grants (or changes) a partner level on an account, for a whole organisation
// or one individual, optionally until expiresAt. Only the account's admins may
// (manage_partners): a partner at any level cannot grant anyone.
func (c *Client) GrantPartner(ctx context.Context, actor Actor, supportID string, grantee Grantee, level Level, expiresAt time.Time) (Token, error) {
	a, err := actor.object()
	if err != nil {
		return "", err
	}
	if err := grantee.validate(); err != nil {
		return "", err
	}
	if _, err := ParseLevel(string(level)); err != nil {
		return "", err
	}
	if !expiresAt.IsZero() && !expiresAt.After(c.now()) {
		return "", fmt.Errorf("%w: expiry %s is in the past", ErrInvalidArgument, expiresAt.UTC().Format(time.RFC3339))
	}
	acct, err := c.accountOf(ctx, supportID)
	if err != nil {
		return "", err
	}
	if grantee.Partner != "" {
		if err := c.mustExist(ctx, ref.Object{Type: "partner", ID: grantee.Partner}, "platform"); err != nil {
			return "", err
		}
	}
	if err := c.require(ctx, a, "manage_partners", acct); err != nil {
		return "", err
	}
	m := &mutation{}
	c.replaceGrant(m, acct, grantee, level, expiresAt)
	tok, err := c.write(ctx, a, actor.Reason, "partner.grant", m)
	return tok, engineError(fmt.Sprintf("granting %s %s on %s", grantee, level, acct), err)
}

// replaceGrant removes the grantee's other levels and writes the new one.
func (c *Client) replaceGrant(m *mutation, acct ref.Object, g Grantee, level Level, expiresAt time.Time) {
	for _, l := range Levels {
		if l != level {
			m.remove(relationship(acct, g.grantRelation(l), g.grantSubject()))
		}
	}
	m.touch(expiring(relationship(acct, g.grantRelation(level), g.grantSubject()), expiresAt))
}

// RevokePartner removes a grantee's grant on an account. It takes effect for the very next
// check made with the returned token (or with Fresh consistency in this process).
func (c *Client) RevokePartner(ctx context.Context, actor Actor, supportID string, grantee Grantee) (Token, error) {
	a, err := actor.object()
	if err != nil {
		return "", err
	}
	if err := grantee.validate(); err != nil {
		return "", err
	}
	acct, err := c.accountOf(ctx, supportID)
	if err != nil {
		return "", err
	}
	if err := c.require(ctx, a, "manage_partners", acct); err != nil {
		return "", err
	}
	current, err := c.grantOf(ctx, acct, grantee)
	if err != nil {
		return "", err
	}
	if current == nil {
		return "", fmt.Errorf("revoking %s on %s: %w: no grant", grantee, acct, ErrNotFound)
	}
	m := &mutation{}
	for _, l := range Levels {
		m.remove(relationship(acct, grantee.grantRelation(l), grantee.grantSubject()))
	}
	tok, err := c.write(ctx, a, actor.Reason, "partner.revoke", m)
	return tok, engineError(fmt.Sprintf("revoking %s on %s", grantee, acct), err)
}

// grantOf returns the grantee's current grant on the account, or nil.
func (c *Client) grantOf(ctx context.Context, acct ref.Object, g Grantee) (*PartnerGrant, error) {
	s := g.grantSubject()
	for _, l := range Levels {
		rels, err := c.collect(ctx, filterFor(acct, g.grantRelation(l), &s))
		if err != nil {
			return nil, err
		}
		if len(rels) > 0 {
			pg := &PartnerGrant{Account: acct.ID, Grantee: g, Level: l}
			if exp := rels[0].GetOptionalExpiresAt(); exp != nil {
				pg.ExpiresAt = exp.AsTime()
			}
			return pg, nil
		}
	}
	return nil, nil
}

// PartnerGrants streams an account's active partner grants, organisations first. Visible to
// the account's admins and whoever may view its members.
func (c *Client) PartnerGrants(ctx context.Context, actor Actor, supportID string) iter.Seq2[PartnerGrant, error] {
	return func(yield func(PartnerGrant, error) bool) {
		acct, err := c.authorizeAccountRead(ctx, actor, supportID, "view_members")
		if err != nil {
			yield(PartnerGrant{}, err)
			return
		}
		for _, prefix := range []string{"org_", "individual_"} {
			for _, l := range Levels {
				for rel, err := range c.readRelationships(ctx, filterFor(acct, prefix+string(l), nil)) {
					if err != nil {
						yield(PartnerGrant{}, err)
						return
					}
					g := Individual(rel.GetSubject().GetObject().GetObjectId())
					if prefix == "org_" {
						g = PartnerOrg(rel.GetSubject().GetObject().GetObjectId())
					}
					pg := PartnerGrant{Account: acct.ID, Grantee: g, Level: l}
					if exp := rel.GetOptionalExpiresAt(); exp != nil {
						pg.ExpiresAt = exp.AsTime()
					}
					if !yield(pg, nil) {
						return
					}
				}
			}
		}
	}
}

// authorizeAccountRead resolves an account and requires the actor to hold permission on it.
func (c *Client) authorizeAccountRead(ctx context.Context, actor Actor, supportID, permission string) (ref.Object, error) {
	a, err := actor.object()
	if err != nil {
		return ref.Object{}, err
	}
	acct, err := c.accountOf(ctx, supportID)
	if err != nil {
		return ref.Object{}, err
	}
	return acct, c.require(ctx, a, permission, acct)
}

// RequestPartnerLevel asks an account for a level: for the actor's organisation (the actor
// must be one of its members) or for the actor alone. An account admin decides.
func (c *Client) RequestPartnerLevel(ctx context.Context, actor Actor, supportID string, grantee Grantee, level Level) (Token, error) {
	a, err := actor.object()
	if err != nil {
		return "", err
	}
	if err := grantee.validate(); err != nil {
		return "", err
	}
	if _, err := ParseLevel(string(level)); err != nil {
		return "", err
	}
	acct, err := c.accountOf(ctx, supportID)
	if err != nil {
		return "", err
	}
	switch {
	case grantee.User != "" && grantee.User != a.ID:
		return "", fmt.Errorf("requesting %s on %s: %w: %s may request only for themselves or their organisation", level, acct, ErrPermissionDenied, a)
	case grantee.Partner != "":
		p := ref.Object{Type: "partner", ID: grantee.Partner}
		s := subj(a)
		member, err := c.exists(ctx, filterFor(p, "member", &s))
		if err != nil {
			return "", err
		}
		if !member {
			return "", &DeniedError{Actor: a, Permission: "member", Resource: p}
		}
	}
	m := &mutation{}
	for _, l := range Levels {
		if l != level {
			m.remove(relationship(acct, requestRelation(l), grantee.requestSubject()))
		}
	}
	m.touch(expiring(relationship(acct, requestRelation(level), grantee.requestSubject()), c.now().Add(c.requestTTL)))
	tok, err := c.write(ctx, a, actor.Reason, "partner.request", m)
	return tok, engineError(fmt.Sprintf("requesting %s on %s", level, acct), err)
}

// PendingPartnerRequests lists an account's pending partner requests. Account admins only.
func (c *Client) PendingPartnerRequests(ctx context.Context, actor Actor, supportID string) ([]PartnerRequest, error) {
	acct, err := c.authorizeAccountRead(ctx, actor, supportID, "manage_partners")
	if err != nil {
		return nil, err
	}
	var out []PartnerRequest
	for _, l := range Levels {
		rels, err := c.collect(ctx, filterFor(acct, requestRelation(l), nil))
		if err != nil {
			return nil, err
		}
		for _, r := range rels {
			g := Individual(r.GetSubject().GetObject().GetObjectId())
			if r.GetSubject().GetObject().GetObjectType() == "partner" {
				g = PartnerOrg(r.GetSubject().GetObject().GetObjectId())
			}
			pr := PartnerRequest{Account: acct.ID, Grantee: g, Level: l}
			if exp := r.GetOptionalExpiresAt(); exp != nil {
				pr.ExpiresAt = exp.AsTime()
			}
			out = append(out, pr)
		}
	}
	return out, nil
}

// ApprovePartnerRequest grants the requested level, closing the request in the same write.
func (c *Client) ApprovePartnerRequest(ctx context.Context, actor Actor, supportID string, grantee Grantee) (Token, error) {
	return c.decidePartner(ctx, actor, supportID, grantee, true)
}

// DenyPartnerRequest closes a partner request without granting anything.
func (c *Client) DenyPartnerRequest(ctx context.Context, actor Actor, supportID string, grantee Grantee) (Token, error) {
	return c.decidePartner(ctx, actor, supportID, grantee, false)
}

func (c *Client) decidePartner(ctx context.Context, actor Actor, supportID string, grantee Grantee, approve bool) (Token, error) {
	a, err := actor.object()
	if err != nil {
		return "", err
	}
	if err := grantee.validate(); err != nil {
		return "", err
	}
	acct, err := c.accountOf(ctx, supportID)
	if err != nil {
		return "", err
	}
	if err := c.require(ctx, a, "manage_partners", acct); err != nil {
		return "", err
	}
	s := grantee.requestSubject()
	var found *v1.Relationship
	var level Level
	for _, l := range Levels {
		rels, err := c.collect(ctx, filterFor(acct, requestRelation(l), &s))
		if err != nil {
			return "", err
		}
		if len(rels) > 0 {
			found, level = rels[0], l
			break
		}
	}
	verb := map[bool]string{true: "approving", false: "denying"}[approve]
	if found == nil {
		return "", fmt.Errorf("%s the request of %s on %s: %w: there is no pending request", verb, grantee, acct, ErrNotFound)
	}
	m := &mutation{}
	m.remove(found)
	m.mustMatch(filterFor(acct, requestRelation(level), &s))
	if approve {
		c.replaceGrant(m, acct, grantee, level, time.Time{})
	}
	op := map[bool]string{true: "partner.approve", false: "partner.deny"}[approve]
	tok, err := c.write(ctx, a, actor.Reason, op, m)
	if isPreconditionFailure(err) {
		return "", fmt.Errorf("%s the request of %s on %s: %w", verb, grantee, acct, ErrAlreadyDecided)
	}
	return tok, engineError(fmt.Sprintf("%s the request of %s on %s", verb, grantee, acct), err)
}
