package access

import (
	"context"
	"fmt"

	"github.com/accessgraph/accessgraph/pkg/ref"
)

// DataAccess is the data-access agreement between an account and a partner.
type DataAccess struct {
	Account string
	Partner string
	// Support: read-only dashboard, reports and user activity (on by default when linked).
	Support bool
	// VendorManage and CustomerManage are the two consents manage needs.
	VendorManage   bool
	CustomerManage bool
}

// Manage reports whether both sides consented to manage.
func (d DataAccess) Manage() bool { return d.VendorManage && d.CustomerManage }

// partnerLinkOf is the partner_link between an account and a partner. Its id,
// ACCOUNT|PARTNER, is built only by ref.PartnerLinkID, which refuses parts containing "|",
// so no two agreements share an id and pkg/audit splits it back exactly (ref.ParsePartnerLinkID).
func partnerLinkOf(acct ref.Object, partnerID string) (ref.Object, error) {
	id, err := ref.PartnerLinkID(acct.ID, partnerID)
	if err != nil {
		return ref.Object{}, err
	}
	return ref.Object{Type: "partner_link", ID: id}, nil
}

// LinkPartner links a partner to a customer for data access, with support access on.
// Vendor side: platform administrators only. Linking again leaves the consents as they are.
func (c *Client) LinkPartner(ctx context.Context, actor Actor, supportID, partnerID string) (Token, error) {
	a, err := actor.object()
	if err != nil {
		return "", err
	}
	p, err := objectOf("partner", partnerID)
	if err != nil {
		return "", err
	}
	acct, err := c.accountOf(ctx, supportID)
	if err != nil {
		return "", err
	}
	if err := c.mustExist(ctx, p, "platform"); err != nil {
		return "", err
	}
	if err := c.require(ctx, a, "administer", Platform); err != nil {
		return "", err
	}
	link, err := partnerLinkOf(acct, partnerID)
	if err != nil {
		return "", err
	}
	already, err := c.exists(ctx, filterFor(link, "partner", nil))
	if err != nil {
		return "", err
	}
	if already {
		return "", fmt.Errorf("linking %s to %s: %w: already linked", p, acct, ErrConflict)
	}
	members := ref.Subject{Object: p, Relation: "member"}
	m := &mutation{}
	m.touch(relationship(link, "partner", subj(p)))
	m.touch(relationship(link, "support_enabled", members))
	m.touch(relationship(acct, "partner_link", subj(link)))
	tok, err := c.write(ctx, a, actor.Reason, "dataaccess.link", m)
	return tok, engineError(fmt.Sprintf("linking %s to %s", p, acct), err)
}

// UnlinkPartner ends the agreement and every access it gives. Vendor side.
func (c *Client) UnlinkPartner(ctx context.Context, actor Actor, supportID, partnerID string) (Token, error) {
	a, acct, link, err := c.linkFor(ctx, actor, supportID, partnerID)
	if err != nil {
		return "", err
	}
	if err := c.require(ctx, a, "administer", Platform); err != nil {
		return "", err
	}
	members := ref.Subject{Object: ref.Object{Type: "partner", ID: partnerID}, Relation: "member"}
	m := &mutation{}
	m.remove(relationship(acct, "partner_link", subj(link)))
	for _, rel := range []string{"support_enabled", "vendor_manage", "customer_manage"} {
		m.remove(relationship(link, rel, members))
	}
	m.remove(relationship(link, "partner", subj(ref.Object{Type: "partner", ID: partnerID})))
	tok, err := c.write(ctx, a, actor.Reason, "dataaccess.unlink", m)
	return tok, engineError(fmt.Sprintf("unlinking partner:%s from %s", partnerID, acct), err)
}

// SetSupportAccess lets the customer revoke (enabled false) or re-enable support access.
// Customer side: the account's admins.
func (c *Client) SetSupportAccess(ctx context.Context, actor Actor, supportID, partnerID string, enabled bool) (Token, error) {
	return c.setConsent(ctx, actor, supportID, partnerID, "support_enabled", "manage_partners", enabled)
}

// SetVendorManage records the vendor's side of the manage consent. Vendor side.
func (c *Client) SetVendorManage(ctx context.Context, actor Actor, supportID, partnerID string, enabled bool) (Token, error) {
	return c.setConsent(ctx, actor, supportID, partnerID, "vendor_manage", "administer", enabled)
}

// SetCustomerManage records the customer's side of the manage consent. Customer side.
func (c *Client) SetCustomerManage(ctx context.Context, actor Actor, supportID, partnerID string, enabled bool) (Token, error) {
	return c.setConsent(ctx, actor, supportID, partnerID, "customer_manage", "manage_partners", enabled)
}

func (c *Client) setConsent(ctx context.Context, actor Actor, supportID, partnerID, relation, permission string, enabled bool) (Token, error) {
	a, acct, link, err := c.linkFor(ctx, actor, supportID, partnerID)
	if err != nil {
		return "", err
	}
	target := acct
	if permission == "administer" {
		target = Platform
	}
	if err := c.require(ctx, a, permission, target); err != nil {
		return "", err
	}
	members := ref.Subject{Object: ref.Object{Type: "partner", ID: partnerID}, Relation: "member"}
	m := &mutation{}
	m.set(relationship(link, relation, members), enabled)
	m.mustMatch(filterFor(link, "partner", nil))
	tok, err := c.write(ctx, a, actor.Reason, "dataaccess."+relation, m)
	if isPreconditionFailure(err) {
		return "", fmt.Errorf("changing %s for partner:%s on %s: %w: the link was removed meanwhile", relation, partnerID, acct, ErrConflict)
	}
	return tok, engineError(fmt.Sprintf("changing %s for partner:%s on %s", relation, partnerID, acct), err)
}

func (c *Client) linkFor(ctx context.Context, actor Actor, supportID, partnerID string) (ref.Object, ref.Object, ref.Object, error) {
	a, err := actor.object()
	if err != nil {
		return ref.Object{}, ref.Object{}, ref.Object{}, err
	}
	if err := ref.ValidateID("partner", partnerID); err != nil {
		return ref.Object{}, ref.Object{}, ref.Object{}, err
	}
	acct, err := c.accountOf(ctx, supportID)
	if err != nil {
		return ref.Object{}, ref.Object{}, ref.Object{}, err
	}
	link, err := partnerLinkOf(acct, partnerID)
	if err != nil {
		return ref.Object{}, ref.Object{}, ref.Object{}, err
	}
	ok, err := c.exists(ctx, filterFor(link, "partner", nil))
	if err != nil {
		return ref.Object{}, ref.Object{}, ref.Object{}, err
	}
	if !ok {
		return ref.Object{}, ref.Object{}, ref.Object{}, fmt.Errorf("%w: partner:%s is not linked to %s (the vendor links it first)", ErrNotFound, partnerID, acct)
	}
	return a, acct, link, nil
}

// DataAccessAgreements lists an account's data-access agreements. Account admins and vendor.
func (c *Client) DataAccessAgreements(ctx context.Context, actor Actor, supportID string) ([]DataAccess, error) {
	a, err := actor.object()
	if err != nil {
		return nil, err
	}
	acct, err := c.accountOf(ctx, supportID)
	if err != nil {
		return nil, err
	}
	if err := c.require(ctx, a, "manage_partners", acct); err != nil {
		if vendor, verr := c.checkAllowed(ctx, subj(a), "administer", Platform); verr != nil || !vendor {
			return nil, err
		}
	}
	links, err := c.subjectsOf(ctx, acct, "partner_link")
	if err != nil {
		return nil, err
	}
	var out []DataAccess
	for _, id := range links {
		link := ref.Object{Type: "partner_link", ID: id}
		partners, err := c.subjectsOf(ctx, link, "partner")
		if err != nil {
			return nil, err
		}
		if len(partners) == 0 {
			continue
		}
		d := DataAccess{Account: acct.ID, Partner: partners[0]}
		for rel, dst := range map[string]*bool{"support_enabled": &d.Support, "vendor_manage": &d.VendorManage, "customer_manage": &d.CustomerManage} {
			ok, err := c.exists(ctx, filterFor(link, rel, nil))
			if err != nil {
				return nil, err
			}
			*dst = ok
		}
		out = append(out, d)
	}
	return out, nil
}
