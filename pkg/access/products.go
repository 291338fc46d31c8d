package access

import (
	"context"
	"fmt"
	"slices"

	"github.com/accessgraph/accessgraph/pkg/ref"
)

// CreateSoldProduct records a product sold to an account. Customer Care and platform administrators.
func (c *Client) CreateSoldProduct(ctx context.Context, actor Actor, productID, supportID string) (Token, error) {
	return c.createOwned(ctx, actor, "sold_product", productID, supportID, "")
}

// CreateInstallBase records an install base item owned by an account, optionally as an
// instance of one of the account's sold products.
func (c *Client) CreateInstallBase(ctx context.Context, actor Actor, itemID, supportID, soldProductID string) (Token, error) {
	return c.createOwned(ctx, actor, "install_base", itemID, supportID, soldProductID)
}

func (c *Client) createOwned(ctx context.Context, actor Actor, typ, id, supportID, soldProductID string) (Token, error) {
	a, err := actor.object()
	if err != nil {
		return "", err
	}
	o, err := objectOf(typ, id)
	if err != nil {
		return "", err
	}
	acct, err := c.accountOf(ctx, supportID)
	if err != nil {
		return "", err
	}
	m := &mutation{}
	if soldProductID != "" {
		sp, err := c.ownedBy(ctx, "sold_product", soldProductID, acct)
		if err != nil {
			return "", err
		}
		m.create(relationship(o, "sold_product", subj(sp)))
		m.touch(relationship(sp, "install_base", subj(o)))
	}
	if err := c.require(ctx, a, "onboard_customers", Platform); err != nil {
		return "", err
	}
	m.create(relationship(o, "account", subj(acct)))
	m.mustNotMatch(existsFilter(o, "account"))
	tok, err := c.write(ctx, a, actor.Reason, typ+".create", m)
	if isPreconditionFailure(err) {
		return "", fmt.Errorf("creating %s: %w: it already exists", o, ErrConflict)
	}
	return tok, engineError("creating "+o.String(), err)
}

// CreateServiceOrg registers a service organisation. Platform administrators only.
func (c *Client) CreateServiceOrg(ctx context.Context, actor Actor, orgID string) (Token, error) {
	o, err := objectOf("service_org", orgID)
	if err != nil {
		return "", err
	}
	return c.register(ctx, actor, o, "administer", "service_org.create", &mutation{})
}

// AddServiceOrgMember adds a person to a service organisation. Platform administrators only.
func (c *Client) AddServiceOrgMember(ctx context.Context, actor Actor, orgID, user string) (Token, error) {
	return c.setMembership(ctx, actor, "service_org", orgID, "direct_member", user, true)
}

// RemoveServiceOrgMember removes a person from a service organisation.
func (c *Client) RemoveServiceOrgMember(ctx context.Context, actor Actor, orgID, user string) (Token, error) {
	return c.setMembership(ctx, actor, "service_org", orgID, "direct_member", user, false)
}

// FunctionalRole is a predefined related-party role on a case, sold product or install base item.
type FunctionalRole struct {
	// Name is the role's public name, such as "install_base_authorized_contact".
	Name string
	// On is the object type the role is assigned on.
	On string
	// Relation is the schema relation that stores it.
	Relation string
	// PartyType is the type of party it is assigned to: user, account or service_org.
	PartyType string
	// ManagedBy is the permission on the object needed to assign or remove the role.
	ManagedBy string
}

// FunctionalRoles lists the predefined functional roles.
var FunctionalRoles = []FunctionalRole{
	{"case_authorized_contact", "case", "authorized_contact", "user", "manage_related_parties"},
	{"case_authorized_consumer", "case", "authorized_consumer", "user", "manage_related_parties"},
	{"case_authorized_contributor", "case", "authorized_contributor", "user", "manage_related_parties"},
	{"sold_product_authorized_contact", "sold_product", "authorized_contact", "user", "manage_related_parties"},
	{"sold_product_authorized_consumer", "sold_product", "authorized_consumer", "user", "manage_consumers"},
	{"install_base_authorized_contact", "install_base", "authorized_contact", "user", "manage_related_parties"},
	{"install_base_authorized_consumer", "install_base", "authorized_consumer", "user", "manage_related_parties"},
	{"install_base_authorized_contributor", "install_base", "authorized_contributor", "user", "manage_related_parties"},
	{"install_base_authorized_member", "install_base", "authorized_member", "user", "manage_related_parties"},
	{"install_base_authorized_account", "install_base", "authorized_account", "account", "manage_related_parties"},
	{"install_base_service_organization", "install_base", "service_organization", "service_org", "manage_related_parties"},
}

// ParseFunctionalRole finds a functional role by name.
func ParseFunctionalRole(name string) (FunctionalRole, error) {
	for _, r := range FunctionalRoles {
		if r.Name == name {
			return r, nil
		}
	}
	names := make([]string, 0, len(FunctionalRoles))
	for _, r := range FunctionalRoles {
		names = append(names, r.Name)
	}
	return FunctionalRole{}, fmt.Errorf("%w: unknown functional role %q (one of: %v)", ErrInvalidArgument, name, names)
}

// RelatedParty is a party holding a functional role on an object.
type RelatedParty struct {
	Role  string
	Party ref.Object
}

// AssignFunctionalRole gives party a functional role on object. Needs
// manage_related_parties on the object.
func (c *Client) AssignFunctionalRole(ctx context.Context, actor Actor, object ref.Object, role FunctionalRole, party ref.Object) (Token, error) {
	return c.setFunctionalRole(ctx, actor, object, role, party, true)
}

// RemoveFunctionalRole takes a functional role away.
func (c *Client) RemoveFunctionalRole(ctx context.Context, actor Actor, object ref.Object, role FunctionalRole, party ref.Object) (Token, error) {
	return c.setFunctionalRole(ctx, actor, object, role, party, false)
}

func (c *Client) setFunctionalRole(ctx context.Context, actor Actor, object ref.Object, role FunctionalRole, party ref.Object, add bool) (Token, error) {
	a, err := actor.object()
	if err != nil {
		return "", err
	}
	// The canonical definition decides, whatever the caller's copy says.
	role, err = ParseFunctionalRole(role.Name)
	if err != nil {
		return "", err
	}
	if object.Type != role.On {
		return "", fmt.Errorf("%w: %s is assigned on a %s, not on %s", ErrInvalidArgument, role.Name, role.On, object)
	}
	if _, err := ref.New(object.Type, object.ID); err != nil {
		return "", err
	}
	if party.Type != role.PartyType {
		return "", fmt.Errorf("%w: %s is for a %s, not %s", ErrInvalidArgument, role.Name, role.PartyType, party)
	}
	if _, err := ref.New(party.Type, party.ID); err != nil {
		return "", err
	}
	if err := c.mustExist(ctx, object, "account"); err != nil {
		return "", err
	}
	if err := c.require(ctx, a, role.ManagedBy, object); err != nil {
		return "", err
	}
	if add {
		if err := c.refuseSelfNaming(ctx, a, object, role, party); err != nil {
			return "", err
		}
	}
	m := &mutation{}
	if add {
		switch party.Type {
		case "account":
			if err := c.mustExist(ctx, party, "platform"); err != nil {
				return "", err
			}
		case "service_org":
			if err := c.mustExist(ctx, party, "platform"); err != nil {
				return "", err
			}
		}
		m.touch(relationship(object, role.Relation, subj(party)))
	} else {
		m.remove(relationship(object, role.Relation, subj(party)))
	}
	tok, err := c.write(ctx, a, actor.Reason, "related_party."+map[bool]string{true: "assign", false: "remove"}[add], m)
	return tok, engineError(fmt.Sprintf("changing %s of %s on %s", role.Name, party, object), err)
}

// refuseSelfNaming keeps managing related parties from making the manager one: a related-party
// write privilege (a custom role, being a case's reporter) does not let its holder name
// themselves, an account they are a contact of, or a service organisation they work for. The
// owning account's admins, Customer Care and platform administrators may: they already hold
// everything a related party gets there.
func (c *Client) refuseSelfNaming(ctx context.Context, a, object ref.Object, role FunctionalRole, party ref.Object) error {
	includes := party == a
	switch party.Type {
	case "account", "service_org":
		var err error
		if includes, err = c.checkAllowed(ctx, ref.Subject{Object: a}, "member", party); err != nil {
			return err
		}
	}
	if !includes {
		return nil
	}
	owners, err := c.subjectsOf(ctx, object, "account")
	if err != nil {
		return err
	}
	for _, owner := range owners {
		acct := ref.Object{Type: "account", ID: owner}
		if isAdmin, err := c.exists(ctx, filterFor(acct, string(RoleAdmin), &ref.Subject{Object: a})); err != nil || isAdmin {
			return err
		}
		if care, err := c.checkAllowed(ctx, ref.Subject{Object: a}, "care", acct); err != nil || care {
			return err
		}
	}
	if vendor, err := c.checkAllowed(ctx, ref.Subject{Object: a}, "administer", Platform); err != nil || vendor {
		return err
	}
	return fmt.Errorf("naming %s %s on %s: %w: managing related parties does not make the manager one; ask an admin of the account or Customer Care", party, role.Name, object, ErrPermissionDenied)
}

// RelatedParties lists who holds functional roles on an object. Needs view on a case, or
// view_related_parties on a sold product or install base item.
func (c *Client) RelatedParties(ctx context.Context, actor Actor, object ref.Object) ([]RelatedParty, error) {
	a, err := actor.object()
	if err != nil {
		return nil, err
	}
	if _, err := ref.New(object.Type, object.ID); err != nil {
		return nil, err
	}
	perm := "view_related_parties"
	if object.Type == "case" {
		perm = "view"
	}
	if !slices.ContainsFunc(FunctionalRoles, func(r FunctionalRole) bool { return r.On == object.Type }) {
		return nil, fmt.Errorf("%w: %s has no related parties (case, sold_product or install_base)", ErrInvalidArgument, object)
	}
	if err := c.mustExist(ctx, object, "account"); err != nil {
		return nil, err
	}
	if err := c.require(ctx, a, perm, object); err != nil {
		return nil, err
	}
	var out []RelatedParty
	for _, r := range FunctionalRoles {
		if r.On != object.Type {
			continue
		}
		rels, err := c.collect(ctx, filterFor(object, r.Relation, nil))
		if err != nil {
			return nil, err
		}
		for _, rel := range rels {
			out = append(out, RelatedParty{Role: r.Name, Party: ref.Object{Type: rel.GetSubject().GetObject().GetObjectType(), ID: rel.GetSubject().GetObject().GetObjectId()}})
		}
	}
	return out, nil
}
