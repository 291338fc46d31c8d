package access

import (
	"context"
	"fmt"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/ref"
)

// PlatformRole is a vendor-side role on platform:main.
type PlatformRole string

// Vendor-side roles.
const (
	PlatformAdministrator PlatformRole = "administrator"
	PlatformCustomerCare  PlatformRole = "customer_care"
	PlatformStaff         PlatformRole = "staff"
)

func (r PlatformRole) valid() error {
	switch r {
	case PlatformAdministrator, PlatformCustomerCare, PlatformStaff:
		return nil
	}
	return fmt.Errorf("%w: unknown platform role %q (administrator, customer_care, staff)", ErrInvalidArgument, string(r))
}

// Bootstrap makes user the first platform administrator. It succeeds only while the
// platform has no administrator, so it cannot be used to take over a running portal.
func (c *Client) Bootstrap(ctx context.Context, user string, reason string) (Token, error) {
	u, err := objectOf("user", user)
	if err != nil {
		return "", err
	}
	m := &mutation{}
	m.create(relationship(Platform, string(PlatformAdministrator), subj(u)))
	m.mustNotMatch(filterFor(Platform, string(PlatformAdministrator), nil))
	tok, err := c.write(ctx, u, reason, "platform.bootstrap", m)
	if isPreconditionFailure(err) {
		return "", fmt.Errorf("bootstrapping %s: %w: the platform already has an administrator; ask one to add you", Platform, ErrConflict)
	}
	return tok, engineError("bootstrapping the platform", err)
}

// AddPlatformRole gives user a vendor-side role. Platform administrators only.
func (c *Client) AddPlatformRole(ctx context.Context, actor Actor, user string, role PlatformRole) (Token, error) {
	return c.setPlatformRole(ctx, actor, user, role, true)
}

// RemovePlatformRole takes a vendor-side role away. Platform administrators only; an
// administrator cannot remove their own administrator role.
func (c *Client) RemovePlatformRole(ctx context.Context, actor Actor, user string, role PlatformRole) (Token, error) {
	return c.setPlatformRole(ctx, actor, user, role, false)
}

func (c *Client) setPlatformRole(ctx context.Context, actor Actor, user string, role PlatformRole, add bool) (Token, error) {
	a, err := actor.object()
	if err != nil {
		return "", err
	}
	if err := role.valid(); err != nil {
		return "", err
	}
	u, err := objectOf("user", user)
	if err != nil {
		return "", err
	}
	if !add && role == PlatformAdministrator && u == a {
		return "", fmt.Errorf("removing %s from platform administrators: %w: ask another administrator", u, ErrLastAdmin)
	}
	if err := c.require(ctx, a, "administer", Platform); err != nil {
		return "", err
	}
	doing := fmt.Sprintf("changing %s of %s", role, u)
	return retryConflicts(ctx, doing, func() (Token, error) {
		m := &mutation{}
		m.set(relationship(Platform, string(role), subj(u)), add)
		if !add && role == PlatformAdministrator {
			if err := c.guardLastPlatformAdmin(ctx, u, m); err != nil {
				return "", err
			}
		}
		return c.write(ctx, a, actor.Reason, "platform.role", m)
	})
}

// guardLastPlatformAdmin makes removing an administrator conditional on another one still
// being there when the write commits, so two administrators removing each other at the same
// time cannot leave the platform with none (which would reopen Bootstrap to anyone).
func (c *Client) guardLastPlatformAdmin(ctx context.Context, leaving ref.Object, m *mutation) error {
	admins, err := c.subjectsOf(ctx, Platform, string(PlatformAdministrator))
	if err != nil {
		return err
	}
	for _, other := range admins {
		if other != leaving.ID {
			o := userSubject(other)
			m.mustMatch(filterFor(Platform, string(PlatformAdministrator), &o))
			return nil
		}
	}
	return fmt.Errorf("removing %s from platform administrators: %w: the platform must keep one; add another administrator first", leaving, ErrLastAdmin)
}

// AddRolloutParticipant adds one user to a feature rollout. Platform administrators only.
func (c *Client) AddRolloutParticipant(ctx context.Context, actor Actor, feature, user string) (Token, error) {
	return c.setParticipant(ctx, actor, feature, user, true)
}

// RemoveRolloutParticipant removes one user from a feature rollout.
func (c *Client) RemoveRolloutParticipant(ctx context.Context, actor Actor, feature, user string) (Token, error) {
	return c.setParticipant(ctx, actor, feature, user, false)
}

func (c *Client) setParticipant(ctx context.Context, actor Actor, feature, user string, add bool) (Token, error) {
	u, err := objectOf("user", user)
	if err != nil {
		return "", err
	}
	return c.setRollout(ctx, actor, feature, subj(u), add, "feature.participant")
}

// ReleaseToEveryone opens (or, with open false, closes) a rollout to every user in one
// relationship, leaving the per-user participants as they are.
func (c *Client) ReleaseToEveryone(ctx context.Context, actor Actor, feature string, open bool) (Token, error) {
	return c.setRollout(ctx, actor, feature, wildcard("user"), open, "feature.release")
}

// setRollout adds or removes one participant subject of a rollout. The wildcard is only
// ever passed by ReleaseToEveryone, never taken from input.
func (c *Client) setRollout(ctx context.Context, actor Actor, feature string, participant ref.Subject, on bool, op string) (Token, error) {
	f, err := objectOf("feature", feature)
	if err != nil {
		return "", err
	}
	a, err := c.authorize(ctx, actor, "administer", Platform)
	if err != nil {
		return "", err
	}
	m := &mutation{}
	m.set(relationship(f, "participant", participant), on)
	tok, err := c.write(ctx, a, actor.Reason, op, m)
	return tok, engineError(fmt.Sprintf("changing participants of %s", f), err)
}

// CreateAccount creates a site with its Support ID, under the platform and the entitlement
// rollout, optionally with a first administrator. Customer Care and platform administrators only.
func (c *Client) CreateAccount(ctx context.Context, actor Actor, supportID, firstAdmin string) (Token, error) {
	acct, err := objectOf("account", supportID)
	if err != nil {
		return "", err
	}
	m := &mutation{}
	if firstAdmin != "" {
		u, err := objectOf("user", firstAdmin)
		if err != nil {
			return "", err
		}
		m.create(relationship(acct, "admin", subj(u)))
	}
	m.create(relationship(acct, "entitlement_rollout", subj(EntitlementRollout)))
	return c.register(ctx, actor, acct, "onboard_customers", "account.create", m)
}

// accountOf validates a Support ID and checks that the account exists.
func (c *Client) accountOf(ctx context.Context, supportID string) (ref.Object, error) {
	acct, err := objectOf("account", supportID)
	if err != nil {
		return ref.Object{}, err
	}
	if err := c.mustExist(ctx, acct, "platform"); err != nil {
		return ref.Object{}, err
	}
	return acct, nil
}

// mustExist checks that an object has its defining relationship.
func (c *Client) mustExist(ctx context.Context, o ref.Object, definingRelation string) error {
	ok, err := c.exists(ctx, filterFor(o, definingRelation, nil))
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: %s does not exist", ErrNotFound, o)
	}
	return nil
}

// existsFilter is a precondition that keeps an object from vanishing under a write.
func existsFilter(o ref.Object, definingRelation string) *v1.RelationshipFilter {
	return filterFor(o, definingRelation, nil)
}
