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

// Role is a member's role on an account.
type Role string

// Site roles.
const (
	RoleAdmin    Role = "admin"
	RoleStandard Role = "standard"
	RoleViewer   Role = "viewer"
)

// Roles lists the site roles, highest first.
var Roles = []Role{RoleAdmin, RoleStandard, RoleViewer}

// ParseRole reads a role name.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if !slices.Contains(Roles, r) {
		return "", fmt.Errorf("%w: unknown role %q (admin, standard, viewer)", ErrInvalidArgument, s)
	}
	return r, nil
}

func (r Role) requestRelation() string { return "join_request_" + string(r) }

// Member is a contact of an account with their role.
type Member struct {
	User string
	Role Role
}

// JoinRequest is a pending request to join an account, or to change role on it.
type JoinRequest struct {
	Account   string
	User      string
	Role      Role
	ExpiresAt time.Time
}

// RequestAccess asks to join the account with the given Support ID in a role, or, for a
// member, to change role. It grants nothing until approved, and replaces the requester's
// earlier pending request on that account.
func (c *Client) RequestAccess(ctx context.Context, actor Actor, supportID string, role Role) (Token, error) {
	a, err := actor.object()
	if err != nil {
		return "", err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return "", err
	}
	acct, err := c.accountOf(ctx, supportID)
	if err != nil {
		return "", err
	}
	current, err := c.roleOf(ctx, acct, a.ID)
	if err != nil {
		return "", err
	}
	if current == role {
		return "", fmt.Errorf("requesting %s on %s: %w: %s already has that role", role, acct, ErrInvalidArgument, a)
	}
	m := &mutation{}
	for _, r := range Roles {
		if r != role {
			m.remove(relationship(acct, r.requestRelation(), subj(a)))
		}
	}
	m.touch(expiring(relationship(acct, role.requestRelation(), subj(a)), c.now().Add(c.requestTTL)))
	m.mustMatch(existsFilter(acct, "platform"))
	tok, err := c.write(ctx, a, actor.Reason, "member.request", m)
	return tok, engineError(fmt.Sprintf("requesting %s on %s", role, acct), err)
}

// standing is what one read says of a user on an account: their role ("" when they are
// not a member) and their pending request, if any.
type standing struct {
	role       Role
	request    *JoinRequest
	requestRel *v1.Relationship
}

// standingOf reads every relationship of the user on the account at once.
func (c *Client) standingOf(ctx context.Context, acct ref.Object, user string) (standing, error) {
	u := userSubject(user)
	rels, err := c.collect(ctx, filterFor(acct, "", &u))
	if err != nil {
		return standing{}, err
	}
	var s standing
	// Roles are tried in their order, as a member holds one role and at most one request.
	for _, r := range Roles {
		for _, rel := range rels {
			switch rel.GetRelation() {
			case string(r):
				if s.role == "" {
					s.role = r
				}
			case r.requestRelation():
				if s.request == nil {
					s.request, s.requestRel = &JoinRequest{Account: acct.ID, User: user, Role: r}, rel
					if exp := rel.GetOptionalExpiresAt(); exp != nil {
						s.request.ExpiresAt = exp.AsTime()
					}
				}
			}
		}
	}
	return s, nil
}

// roleOf returns the user's role on the account, or "" when they are not a member.
func (c *Client) roleOf(ctx context.Context, acct ref.Object, user string) (Role, error) {
	s, err := c.standingOf(ctx, acct, user)
	return s.role, err
}

// pendingRequest returns the user's pending join request on the account.
func (c *Client) pendingRequest(ctx context.Context, acct ref.Object, user string) (*JoinRequest, *v1.Relationship, error) {
	s, err := c.standingOf(ctx, acct, user)
	return s.request, s.requestRel, err
}

// PendingRequests lists an account's pending join and role-change requests. Visible to the
// request's approvers and to whoever may view the members.
func (c *Client) PendingRequests(ctx context.Context, actor Actor, supportID string) ([]JoinRequest, error) {
	a, err := actor.object()
	if err != nil {
		return nil, err
	}
	acct, err := c.accountOf(ctx, supportID)
	if err != nil {
		return nil, err
	}
	if err := c.requireApprover(ctx, a, acct, "view_members"); err != nil {
		return nil, err
	}
	var out []JoinRequest
	for _, r := range Roles {
		for rel, err := range c.readRelationships(ctx, filterFor(acct, r.requestRelation(), nil)) {
			if err != nil {
				return nil, err
			}
			jr := JoinRequest{Account: acct.ID, User: rel.GetSubject().GetObject().GetObjectId(), Role: r}
			if exp := rel.GetOptionalExpiresAt(); exp != nil {
				jr.ExpiresAt = exp.AsTime()
			}
			out = append(out, jr)
		}
	}
	slices.SortFunc(out, func(x, y JoinRequest) int { return cmpString(x.User, y.User) })
	return out, nil
}

// Approver is someone who may decide a request, and why.
type Approver struct {
	User string
	// Via is "admin", "partner full_admin" or "customer care".
	Via string
}

// Approvers lists who may decide a user's request on an account: the holders of
// manage_members (admins and full_admin partners), and Customer Care when the account has
// no admin. Visible to the requester and to whoever may view the members.
func (c *Client) Approvers(ctx context.Context, actor Actor, supportID, user string) ([]Approver, error) {
	a, err := actor.object()
	if err != nil {
		return nil, err
	}
	if err := ref.ValidateID("user", user); err != nil {
		return nil, err
	}
	acct, err := objectOf("account", supportID)
	if err != nil {
		return nil, err
	}
	// Authorise before anything about the account shows (even whether it exists): the
	// requester may see who decides their own pending request; anyone else, or a requester
	// with nothing pending, needs to see the account's members.
	req, _, err := c.pendingRequest(ctx, acct, user)
	if err != nil {
		return nil, err
	}
	if a.ID != user || req == nil {
		if err := c.require(ctx, a, "view_members", acct); err != nil {
			return nil, err
		}
	}
	if err := c.mustExist(ctx, acct, "platform"); err != nil {
		return nil, err
	}
	admins, err := c.subjectsOf(ctx, acct, "admin")
	if err != nil {
		return nil, err
	}
	// Nobody approves their own request, and partners never approve an admin request.
	var out []Approver
	for _, u := range admins {
		if u != user {
			out = append(out, Approver{User: u, Via: "admin"})
		}
	}
	if req == nil || req.Role != RoleAdmin {
		managers, err := c.lookupSubjectIDs(ctx, acct, "manage_members")
		if err != nil {
			return nil, err
		}
		for _, u := range managers {
			if !slices.Contains(admins, u) && u != user {
				out = append(out, Approver{User: u, Via: "partner full_admin"})
			}
		}
	}
	if len(admins) == 0 {
		care, err := c.lookupSubjectIDs(ctx, acct, "care")
		if err != nil {
			return nil, err
		}
		for _, u := range care {
			if u != user {
				out = append(out, Approver{User: u, Via: "customer care"})
			}
		}
	}
	return out, nil
}

// requireApprover authorises deciding requests: manage_members, or Customer Care when the
// account has no admin. fallback, when set, is another permission that also suffices.
func (c *Client) requireApprover(ctx context.Context, a, acct ref.Object, fallback string) error {
	ok, err := c.checkAllowed(ctx, ref.Subject{Object: a}, "manage_members", acct)
	if err != nil || ok {
		return err
	}
	if fallback != "" {
		if ok, err := c.checkAllowed(ctx, ref.Subject{Object: a}, fallback, acct); err != nil || ok {
			return err
		}
	}
	care, err := c.checkAllowed(ctx, ref.Subject{Object: a}, "care", acct)
	if err != nil {
		return err
	}
	if care {
		hasAdmin, err := c.exists(ctx, filterFor(acct, "admin", nil))
		if err != nil {
			return err
		}
		if !hasAdmin {
			return nil
		}
		return fmt.Errorf("%w: %s has administrators, so its requests go to them, not to Customer Care", ErrPermissionDenied, acct)
	}
	return &DeniedError{Actor: a, Permission: "manage_members", Resource: acct}
}

// Approve approves a user's pending request: the requested role replaces their current
// one in the same transaction that closes the request. A request is decided once.
func (c *Client) Approve(ctx context.Context, actor Actor, supportID, user string) (Token, error) {
	return c.decide(ctx, actor, supportID, user, true)
}

// Deny denies a user's pending request.
func (c *Client) Deny(ctx context.Context, actor Actor, supportID, user string) (Token, error) {
	return c.decide(ctx, actor, supportID, user, false)
}

func (c *Client) decide(ctx context.Context, actor Actor, supportID, user string, approve bool) (Token, error) {
	a, err := actor.object()
	if err != nil {
		return "", err
	}
	if err := ref.ValidateID("user", user); err != nil {
		return "", err
	}
	acct, err := c.accountOf(ctx, supportID)
	if err != nil {
		return "", err
	}
	if err := c.requireApprover(ctx, a, acct, ""); err != nil {
		return "", err
	}
	verb := map[bool]string{true: "approving", false: "denying"}[approve]
	return retryConflicts(ctx, verb+" a request on "+acct.String(), func() (Token, error) {
		st, err := c.standingOf(ctx, acct, user)
		if err != nil {
			return "", err
		}
		req, rel := st.request, st.requestRel
		if req == nil {
			return "", fmt.Errorf("%s the request of user:%s on %s: %w: there is no pending request (it was decided, withdrawn or expired)", verb, user, acct, ErrNotFound)
		}
		if approve {
			if err := c.requireRoleGrantor(ctx, a, acct, user, req.Role); err != nil {
				return "", err
			}
		}
		m := &mutation{}
		m.remove(rel)
		pending := userSubject(user)
		m.mustMatch(filterFor(acct, req.Role.requestRelation(), &pending))
		op := "member.deny"
		if approve {
			op = "member.approve"
			if err := c.assignRole(ctx, a, acct, user, st.role, req.Role, m); err != nil {
				return "", err
			}
		}
		tok, err := c.write(ctx, a, actor.Reason, op, m)
		if isPreconditionFailure(err) {
			// Either someone decided first (no retry helps) or another admin changed.
			if still, _, perr := c.pendingRequest(ctx, acct, user); perr == nil && still == nil {
				return "", fmt.Errorf("%s the request of user:%s on %s: %w", verb, user, acct, ErrAlreadyDecided)
			}
			return "", err
		}
		return tok, err
	})
}

// requireRoleGrantor refuses approvals that would let an approver raise themselves or hand
// out the admin role without being an admin: nobody approves their own request, and only an
// account admin or Customer Care makes someone an admin.
func (c *Client) requireRoleGrantor(ctx context.Context, a, acct ref.Object, user string, role Role) error {
	if a.Type == "user" && a.ID == user {
		return fmt.Errorf("approving the request of user:%s on %s: %w: nobody approves their own request; another approver must decide it", user, acct, ErrPermissionDenied)
	}
	if role == RoleAdmin {
		return c.requireAdminGrantor(ctx, a, acct, user)
	}
	return nil
}

// requireAdminGrantor allows the admin role to be given only by an account admin or by
// Customer Care. A full_admin partner manages contacts but must not mint admins: the admin
// role carries manage_partners and would outlive the partner's own grant (no re-delegation).
func (c *Client) requireAdminGrantor(ctx context.Context, a, acct ref.Object, user string) error {
	isAdmin, err := c.exists(ctx, filterFor(acct, string(RoleAdmin), &ref.Subject{Object: a}))
	if err != nil || isAdmin {
		return err
	}
	isCare, err := c.checkAllowed(ctx, ref.Subject{Object: a}, "care", acct)
	if err != nil || isCare {
		return err
	}
	return fmt.Errorf("making user:%s an admin of %s: %w: only the account's admins or Customer Care give the admin role; partners manage contacts but cannot create admins", user, acct, ErrPermissionDenied)
}

// assignRole adds to m the updates that give user the role, and the last-admin guard when
// an admin is demoted. Customer Care may leave an account without an admin.
func (c *Client) assignRole(ctx context.Context, a, acct ref.Object, user string, current, role Role, m *mutation) error {
	u := userSubject(user)
	for _, r := range Roles {
		if r != role && r == current {
			m.remove(relationship(acct, string(r), u))
		}
	}
	m.touch(relationship(acct, string(role), u))
	if current == RoleAdmin && role != RoleAdmin {
		return c.guardLastAdmin(ctx, a, acct, user, m)
	}
	return nil
}

// guardLastAdmin makes the write conditional on another admin still being there, so two
// concurrent demotions of the last two admins cannot both succeed.
func (c *Client) guardLastAdmin(ctx context.Context, a, acct ref.Object, leaving string, m *mutation) error {
	isCare, err := c.checkAllowed(ctx, ref.Subject{Object: a}, "care", acct)
	if err != nil {
		return err
	}
	if isCare {
		return nil
	}
	admins, err := c.subjectsOf(ctx, acct, "admin")
	if err != nil {
		return err
	}
	for _, other := range admins {
		if other != leaving {
			o := userSubject(other)
			m.mustMatch(filterFor(acct, "admin", &o))
			return nil
		}
	}
	return fmt.Errorf("removing admin role of user:%s on %s: %w: promote another admin first, or ask Customer Care", leaving, acct, ErrLastAdmin)
}

// ChangeRole changes a member's role. Holders of manage_members and Customer Care; only
// Customer Care may demote the last admin.
func (c *Client) ChangeRole(ctx context.Context, actor Actor, supportID, user string, role Role) (Token, error) {
	a, err := actor.object()
	if err != nil {
		return "", err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return "", err
	}
	if err := ref.ValidateID("user", user); err != nil {
		return "", err
	}
	acct, err := c.accountOf(ctx, supportID)
	if err != nil {
		return "", err
	}
	// Customer Care may change roles on any account, even to leave it without an admin.
	if err := c.requireApprover(ctx, a, acct, "care"); err != nil {
		return "", err
	}
	return retryConflicts(ctx, "changing the role of user:"+user+" on "+acct.String(), func() (Token, error) {
		current, err := c.roleOf(ctx, acct, user)
		if err != nil {
			return "", err
		}
		if current == "" {
			return "", fmt.Errorf("changing the role of user:%s on %s: %w: not a member (they must request access first)", user, acct, ErrNotFound)
		}
		if role == RoleAdmin && current != RoleAdmin {
			if err := c.requireAdminGrantor(ctx, a, acct, user); err != nil {
				return "", err
			}
		}
		m := &mutation{}
		if err := c.assignRole(ctx, a, acct, user, current, role, m); err != nil {
			return "", err
		}
		return c.write(ctx, a, actor.Reason, "member.role", m)
	})
}

// RemoveMember removes a contact from an account. Customer Care only: admins change roles
// but cannot remove contacts.
func (c *Client) RemoveMember(ctx context.Context, actor Actor, supportID, user string) (Token, error) {
	a, err := actor.object()
	if err != nil {
		return "", err
	}
	if err := ref.ValidateID("user", user); err != nil {
		return "", err
	}
	acct, err := c.accountOf(ctx, supportID)
	if err != nil {
		return "", err
	}
	if err := c.require(ctx, a, "remove_members", acct); err != nil {
		return "", err
	}
	current, err := c.roleOf(ctx, acct, user)
	if err != nil {
		return "", err
	}
	if current == "" {
		return "", fmt.Errorf("removing user:%s from %s: %w: not a member", user, acct, ErrNotFound)
	}
	m := &mutation{}
	m.remove(relationship(acct, string(current), userSubject(user)))
	tok, err := c.write(ctx, a, actor.Reason, "member.remove", m)
	return tok, engineError(fmt.Sprintf("removing user:%s from %s", user, acct), err)
}

// Leave removes the acting user from an account. The last admin cannot leave.
func (c *Client) Leave(ctx context.Context, actor Actor, supportID string) (Token, error) {
	a, err := actor.object()
	if err != nil {
		return "", err
	}
	acct, err := c.accountOf(ctx, supportID)
	if err != nil {
		return "", err
	}
	return retryConflicts(ctx, "leaving "+acct.String(), func() (Token, error) {
		current, err := c.roleOf(ctx, acct, a.ID)
		if err != nil {
			return "", err
		}
		if current == "" {
			return "", fmt.Errorf("leaving %s: %w: %s is not a member", acct, ErrNotFound, a)
		}
		m := &mutation{}
		m.remove(relationship(acct, string(current), subj(a)))
		if current == RoleAdmin {
			if err := c.guardLastAdmin(ctx, a, acct, a.ID, m); err != nil {
				return "", err
			}
		}
		return c.write(ctx, a, actor.Reason, "member.leave", m)
	})
}

// Members streams an account's contacts with their roles, admins first. Requires view_members.
func (c *Client) Members(ctx context.Context, actor Actor, supportID string) iter.Seq2[Member, error] {
	return func(yield func(Member, error) bool) {
		a, err := actor.object()
		if err != nil {
			yield(Member{}, err)
			return
		}
		acct, err := c.accountOf(ctx, supportID)
		if err != nil {
			yield(Member{}, err)
			return
		}
		if err := c.require(ctx, a, "view_members", acct); err != nil {
			yield(Member{}, err)
			return
		}
		for _, r := range Roles {
			for rel, err := range c.readRelationships(ctx, filterFor(acct, string(r), nil)) {
				if err != nil {
					yield(Member{}, err)
					return
				}
				if !yield(Member{User: rel.GetSubject().GetObject().GetObjectId(), Role: r}, nil) {
					return
				}
			}
		}
	}
}

// subjectsOf returns the subject ids of one relation of an object.
func (c *Client) subjectsOf(ctx context.Context, o ref.Object, relation string) ([]string, error) {
	rels, err := c.collect(ctx, filterFor(o, relation, nil))
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(rels))
	for _, r := range rels {
		out = append(out, r.GetSubject().GetObject().GetObjectId())
	}
	return out, nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
