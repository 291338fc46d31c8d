package access

import (
	"context"
	"fmt"

	"github.com/accessgraph/accessgraph/pkg/ref"
)

// CreateGroup registers a user group (user category). Customer Care and platform administrators.
func (c *Client) CreateGroup(ctx context.Context, actor Actor, groupID string) (Token, error) {
	g, err := objectOf("group", groupID)
	if err != nil {
		return "", err
	}
	return c.register(ctx, actor, g, "onboard_customers", "group.create", &mutation{})
}

// groupChange resolves the actor and group of a group change and authorises it.
func (c *Client) groupChange(ctx context.Context, actor Actor, groupID string) (ref.Object, ref.Object, error) {
	a, err := actor.object()
	if err != nil {
		return ref.Object{}, ref.Object{}, err
	}
	g, err := objectOf("group", groupID)
	if err != nil {
		return ref.Object{}, ref.Object{}, err
	}
	if err := c.require(ctx, a, "onboard_customers", Platform); err != nil {
		return ref.Object{}, ref.Object{}, err
	}
	return a, g, c.mustExist(ctx, g, "platform")
}

// AddGroupMember puts a user in a group. Membership is stored in both directions in one
// write: downwards for role bindings to the group, upwards so a case's reporter leads to the
// super customers who may read it.
func (c *Client) AddGroupMember(ctx context.Context, actor Actor, groupID, user string) (Token, error) {
	return c.setGroupMember(ctx, actor, groupID, user, true)
}

// RemoveGroupMember takes a user out of a group.
func (c *Client) RemoveGroupMember(ctx context.Context, actor Actor, groupID, user string) (Token, error) {
	return c.setGroupMember(ctx, actor, groupID, user, false)
}

func (c *Client) setGroupMember(ctx context.Context, actor Actor, groupID, user string, add bool) (Token, error) {
	u, err := objectOf("user", user)
	if err != nil {
		return "", err
	}
	a, g, err := c.groupChange(ctx, actor, groupID)
	if err != nil {
		return "", err
	}
	m := &mutation{}
	if add {
		m.touch(relationship(g, "direct_member", subj(u)))
		m.touch(relationship(u, "member_of", subj(g)))
		m.mustMatch(existsFilter(g, "platform"))
	} else {
		m.remove(relationship(g, "direct_member", subj(u)))
		m.remove(relationship(u, "member_of", subj(g)))
	}
	tok, err := c.write(ctx, a, actor.Reason, "group.member", m)
	return tok, engineError(fmt.Sprintf("changing members of %s", g), err)
}

// NestGroup puts group child inside group parent (a school inside its district). A nesting
// that would make a group contain itself is refused with ErrCycle.
func (c *Client) NestGroup(ctx context.Context, actor Actor, childID, parentID string) (Token, error) {
	child, err := objectOf("group", childID)
	if err != nil {
		return "", err
	}
	a, parent, err := c.groupChange(ctx, actor, parentID)
	if err != nil {
		return "", err
	}
	if err := c.mustExist(ctx, child, "platform"); err != nil {
		return "", err
	}
	if child == parent {
		return "", fmt.Errorf("nesting %s in itself: %w", child, ErrCycle)
	}
	c.groupNesting.Lock()
	defer c.groupNesting.Unlock()
	// parent inside child (at any depth) would close a loop.
	loop, err := c.checkAllowed(ctx, subj(child), "contained_in", parent)
	if err != nil {
		return "", err
	}
	if loop {
		return "", fmt.Errorf("nesting %s in %s: %w: %s already contains %s", child, parent, ErrCycle, child, parent)
	}
	m := &mutation{}
	m.touch(relationship(child, "parent", subj(parent)))
	m.touch(relationship(parent, "direct_member", ref.Subject{Object: child, Relation: "member"}))
	// The reverse edge must not appear concurrently (the two-group loop, from another process).
	m.mustNotMatch(filterFor(parent, "parent", &ref.Subject{Object: child}))
	tok, err := c.write(ctx, a, actor.Reason, "group.nest", m)
	if isPreconditionFailure(err) {
		return "", fmt.Errorf("nesting %s in %s: %w: %s was just nested in %s", child, parent, ErrCycle, parent, child)
	}
	if err != nil {
		return "", engineError(fmt.Sprintf("nesting %s in %s", child, parent), err)
	}
	// A longer loop closed by another process at the same moment: undo ours.
	if loop, cerr := c.checkAllowed(ctx, subj(parent), "contained_in", parent); cerr == nil && loop {
		undo := &mutation{}
		undo.remove(relationship(child, "parent", subj(parent)))
		undo.remove(relationship(parent, "direct_member", ref.Subject{Object: child, Relation: "member"}))
		_, _ = c.write(ctx, a, "undo nesting that closed a cycle", "group.unnest", undo)
		return "", fmt.Errorf("nesting %s in %s: %w: a concurrent change closed a loop; nothing was kept", child, parent, ErrCycle)
	}
	return tok, nil
}

// UnnestGroup takes group child out of group parent.
func (c *Client) UnnestGroup(ctx context.Context, actor Actor, childID, parentID string) (Token, error) {
	child, err := objectOf("group", childID)
	if err != nil {
		return "", err
	}
	a, parent, err := c.groupChange(ctx, actor, parentID)
	if err != nil {
		return "", err
	}
	m := &mutation{}
	m.remove(relationship(child, "parent", subj(parent)))
	m.remove(relationship(parent, "direct_member", ref.Subject{Object: child, Relation: "member"}))
	tok, err := c.write(ctx, a, actor.Reason, "group.unnest", m)
	return tok, engineError(fmt.Sprintf("unnesting %s from %s", child, parent), err)
}

// SetGroupReadAccess gives user group read access over a group, replacing any they had:
// a user reads at most one group.
func (c *Client) SetGroupReadAccess(ctx context.Context, actor Actor, user, groupID string) (Token, error) {
	u, err := objectOf("user", user)
	if err != nil {
		return "", err
	}
	a, g, err := c.groupChange(ctx, actor, groupID)
	if err != nil {
		return "", err
	}
	// Compare-and-swap on the user's current group, so two concurrent changes cannot leave
	// them reading two groups.
	return retryConflicts(ctx, fmt.Sprintf("giving %s read access over %s", u, g), func() (Token, error) {
		current, err := c.groupReadAccess(ctx, u)
		if err != nil {
			return "", err
		}
		m := &mutation{}
		reader := subj(u)
		if current == "" {
			m.mustNotMatch(filterByType("group", "reader", &reader))
		} else {
			old := ref.Object{Type: "group", ID: current}
			m.mustMatch(filterFor(old, "reader", &reader))
			if current != groupID {
				m.remove(relationship(old, "reader", reader))
			}
		}
		m.touch(relationship(g, "reader", reader))
		m.mustMatch(existsFilter(g, "platform"))
		return c.write(ctx, a, actor.Reason, "group.read_access", m)
	})
}

// ClearGroupReadAccess removes a user's group read access.
func (c *Client) ClearGroupReadAccess(ctx context.Context, actor Actor, user string) (Token, error) {
	a, err := actor.object()
	if err != nil {
		return "", err
	}
	u, err := objectOf("user", user)
	if err != nil {
		return "", err
	}
	if err := c.require(ctx, a, "onboard_customers", Platform); err != nil {
		return "", err
	}
	current, err := c.groupReadAccess(ctx, u)
	if err != nil {
		return "", err
	}
	if current == "" {
		return "", fmt.Errorf("clearing group read access of %s: %w: they have none", u, ErrNotFound)
	}
	m := &mutation{}
	m.remove(relationship(ref.Object{Type: "group", ID: current}, "reader", subj(u)))
	tok, err := c.write(ctx, a, actor.Reason, "group.read_access", m)
	return tok, engineError(fmt.Sprintf("clearing group read access of %s", u), err)
}

// GroupReadAccess returns the group a user has read access over, or "". The actor must be
// that user, or Customer Care or a platform administrator (who manage groups).
func (c *Client) GroupReadAccess(ctx context.Context, actor Actor, user string) (string, error) {
	a, err := actor.object()
	if err != nil {
		return "", err
	}
	u, err := objectOf("user", user)
	if err != nil {
		return "", err
	}
	if a != u {
		if err := c.require(ctx, a, "onboard_customers", Platform); err != nil {
			return "", err
		}
	}
	return c.groupReadAccess(ctx, u)
}

// groupReadAccess returns the group a user has read access over, or "".
func (c *Client) groupReadAccess(ctx context.Context, u ref.Object) (string, error) {
	s := subj(u)
	for rel, err := range c.readRelationships(ctx, filterByType("group", "reader", &s)) {
		if err != nil {
			return "", err
		}
		return rel.GetResource().GetObjectId(), nil
	}
	return "", nil
}
