package access

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/accessgraph/accessgraph/pkg/ref"
)

// Privilege is a granular privilege, the building block of custom functional roles.
type Privilege string

// Granular privileges.
const (
	PrivCaseRead                     Privilege = "case_read"
	PrivCaseCreate                   Privilege = "case_create"
	PrivCaseWrite                    Privilege = "case_write"
	PrivCaseRelatedPartyWrite        Privilege = "case_related_party_write"
	PrivSoldProductRead              Privilege = "sold_product_read"
	PrivSoldProductContactRead       Privilege = "sold_product_contact_read"
	PrivSoldProductContactWrite      Privilege = "sold_product_contact_write"
	PrivSoldProductConsumerRead      Privilege = "sold_product_consumer_read"
	PrivSoldProductConsumerWrite     Privilege = "sold_product_consumer_write"
	PrivInstallBaseRead              Privilege = "install_base_read"
	PrivInstallBaseRelatedPartyRead  Privilege = "install_base_related_party_read"
	PrivInstallBaseRelatedPartyWrite Privilege = "install_base_related_party_write"
	PrivInstalledProductRead         Privilege = "installed_product_read"
)

// Privileges lists every granular privilege.
var Privileges = []Privilege{
	PrivCaseRead, PrivCaseCreate, PrivCaseWrite, PrivCaseRelatedPartyWrite,
	PrivSoldProductRead, PrivSoldProductContactRead, PrivSoldProductContactWrite,
	PrivSoldProductConsumerRead, PrivSoldProductConsumerWrite,
	PrivInstallBaseRead, PrivInstallBaseRelatedPartyRead, PrivInstallBaseRelatedPartyWrite,
	PrivInstalledProductRead,
}

// ParsePrivileges reads a comma-separated list of privileges.
func ParsePrivileges(s string) ([]Privilege, error) {
	var out []Privilege
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !slices.Contains(Privileges, Privilege(p)) {
			return nil, fmt.Errorf("%w: unknown privilege %q", ErrInvalidArgument, p)
		}
		if !slices.Contains(out, Privilege(p)) {
			out = append(out, Privilege(p))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: a role needs at least one privilege", ErrInvalidArgument)
	}
	return out, nil
}

// DefineRole creates or redefines a custom functional role as exactly the given bundle of
// privileges. No schema change: the role is data. Platform administrators only.
func (c *Client) DefineRole(ctx context.Context, actor Actor, roleID string, privileges []Privilege) (Token, error) {
	a, err := actor.object()
	if err != nil {
		return "", err
	}
	r, err := objectOf("role", roleID)
	if err != nil {
		return "", err
	}
	if len(privileges) == 0 {
		return "", fmt.Errorf("%w: %s needs at least one privilege", ErrInvalidArgument, r)
	}
	for _, p := range privileges {
		if !slices.Contains(Privileges, p) {
			return "", fmt.Errorf("%w: unknown privilege %q", ErrInvalidArgument, string(p))
		}
	}
	if err := c.require(ctx, a, "administer", Platform); err != nil {
		return "", err
	}
	m := &mutation{}
	m.touch(relationship(r, "platform", subj(Platform)))
	for _, p := range Privileges {
		rel := relationship(r, string(p), wildcard("user"))
		if slices.Contains(privileges, p) {
			m.touch(rel)
		} else {
			m.remove(rel)
		}
	}
	tok, err := c.write(ctx, a, actor.Reason, "role.define", m)
	return tok, engineError("defining "+r.String(), err)
}

// RolePrivileges returns the privileges a custom role bundles.
func (c *Client) RolePrivileges(ctx context.Context, roleID string) ([]Privilege, error) {
	r, err := objectOf("role", roleID)
	if err != nil {
		return nil, err
	}
	if err := c.mustExist(ctx, r, "platform"); err != nil {
		return nil, err
	}
	var out []Privilege
	for _, p := range Privileges {
		ok, err := c.exists(ctx, filterFor(r, string(p), nil))
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, p)
		}
	}
	return out, nil
}

// CustomRoles lists the defined custom roles.
func (c *Client) CustomRoles(ctx context.Context) ([]string, error) {
	var out []string
	for rel, err := range c.readRelationships(ctx, filterByType("role", "platform", nil)) {
		if err != nil {
			return nil, err
		}
		out = append(out, rel.GetResource().GetObjectId())
	}
	return out, nil
}

// RoleBinding is a custom role bound on one object to its grantees.
type RoleBinding struct {
	Role     string
	Object   ref.Object
	Grantees []ref.Subject
}

// roleBindingOf is the role_binding that binds roleID on object. Its id, TYPE|ID|ROLE, is
// built only by ref.RoleBindingID, which refuses parts containing "|", so no two bindings
// share an id and pkg/audit splits it back exactly (ref.ParseRoleBindingID).
func roleBindingOf(object ref.Object, roleID string) (ref.Object, error) {
	id, err := ref.RoleBindingID(object, roleID)
	if err != nil {
		return ref.Object{}, err
	}
	return ref.Object{Type: "role_binding", ID: id}, nil
}

// BindRole binds a custom role on an account, sold product or install base item to a user
// or to every member of a group (group:ID#member). Only the owning account's admins may:
// a partner never re-delegates.
func (c *Client) BindRole(ctx context.Context, actor Actor, roleID string, object ref.Object, grantee ref.Subject) (Token, error) {
	return c.setBinding(ctx, actor, roleID, object, grantee, true)
}

// UnbindRole removes a grantee from a role binding.
func (c *Client) UnbindRole(ctx context.Context, actor Actor, roleID string, object ref.Object, grantee ref.Subject) (Token, error) {
	return c.setBinding(ctx, actor, roleID, object, grantee, false)
}

func (c *Client) setBinding(ctx context.Context, actor Actor, roleID string, object ref.Object, grantee ref.Subject, add bool) (Token, error) {
	a, err := actor.object()
	if err != nil {
		return "", err
	}
	r, err := objectOf("role", roleID)
	if err != nil {
		return "", err
	}
	switch {
	case grantee.Type == "user" && grantee.Relation == "":
	case grantee.Type == "group" && grantee.Relation == "member":
	default:
		return "", fmt.Errorf("%w: a role is bound to user:ID or group:ID#member, not %s", ErrInvalidArgument, grantee)
	}
	if err := ref.ValidateID(grantee.Type, grantee.ID); err != nil {
		return "", err
	}
	if err := bindable(object); err != nil {
		return "", err
	}
	// Asked of the object itself, before anything about it shows: a refusal names only what
	// the caller named, never the account that owns an item, and an item that does not exist
	// is refused like one the caller may not touch.
	if err := c.require(ctx, a, "bind_roles", object); err != nil {
		return "", err
	}
	if err := c.mustExist(ctx, r, "platform"); err != nil {
		return "", err
	}
	binding, err := roleBindingOf(object, roleID)
	if err != nil {
		return "", err
	}
	m := &mutation{}
	if add {
		m.touch(relationship(binding, "role", subj(r)))
		m.touch(relationship(binding, "grantee", grantee))
		m.touch(relationship(object, "role_binding", subj(binding)))
	} else {
		m.remove(relationship(binding, "grantee", grantee))
	}
	tok, err := c.write(ctx, a, actor.Reason, "role."+map[bool]string{true: "bind", false: "unbind"}[add], m)
	return tok, engineError(fmt.Sprintf("binding %s on %s to %s", r, object, grantee), err)
}

// bindable checks that custom roles can be bound on object: an account, a sold product or
// an install base item, with a valid id.
func bindable(object ref.Object) error {
	if _, err := ref.New(object.Type, object.ID); err != nil {
		return err
	}
	switch object.Type {
	case "account", "sold_product", "install_base":
		return nil
	}
	return fmt.Errorf("%w: custom roles are bound on an account, sold_product or install_base, not %s", ErrInvalidArgument, object)
}

// RoleBindings lists the custom roles bound on an object with their grantees.
func (c *Client) RoleBindings(ctx context.Context, actor Actor, object ref.Object) ([]RoleBinding, error) {
	a, err := actor.object()
	if err != nil {
		return nil, err
	}
	if err := bindable(object); err != nil {
		return nil, err
	}
	if err := c.require(ctx, a, "view_role_bindings", object); err != nil {
		return nil, err
	}
	bindings, err := c.subjectsOf(ctx, object, "role_binding")
	if err != nil {
		return nil, err
	}
	var out []RoleBinding
	for _, id := range bindings {
		b := ref.Object{Type: "role_binding", ID: id}
		roles, err := c.subjectsOf(ctx, b, "role")
		if err != nil {
			return nil, err
		}
		rb := RoleBinding{Object: object}
		if len(roles) > 0 {
			rb.Role = roles[0]
		}
		rels, err := c.collect(ctx, filterFor(b, "grantee", nil))
		if err != nil {
			return nil, err
		}
		for _, rel := range rels {
			s := rel.GetSubject()
			rb.Grantees = append(rb.Grantees, ref.Subject{Object: ref.Object{Type: s.GetObject().GetObjectType(), ID: s.GetObject().GetObjectId()}, Relation: s.GetOptionalRelation()})
		}
		out = append(out, rb)
	}
	return out, nil
}
