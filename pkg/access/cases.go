package access

import (
	"context"
	"fmt"
	"iter"

	"github.com/accessgraph/accessgraph/pkg/reach"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// NewCase describes a case to open.
type NewCase struct {
	// ID is the case number; required.
	ID string
	// Account is the Support ID of the customer; required.
	Account string
	// SoldProduct and InstallBase, when set, must belong to the account.
	SoldProduct string
	InstallBase string
}

// CreateCase opens a case as the acting user. The actor needs create_case on the most
// specific object named: the install base item, else the sold product, else the account.
// A customer-side actor becomes the reporter; a partner creating on the customer's behalf
// becomes the primary partner contact instead, so their access ends with their grant.
func (c *Client) CreateCase(ctx context.Context, actor Actor, nc NewCase) (Token, error) {
	a, err := actor.object()
	if err != nil {
		return "", err
	}
	cs, err := objectOf("case", nc.ID)
	if err != nil {
		return "", err
	}
	acct, err := c.accountOf(ctx, nc.Account)
	if err != nil {
		return "", err
	}
	m := &mutation{}
	target := acct
	if nc.SoldProduct != "" {
		sp, err := c.ownedBy(ctx, "sold_product", nc.SoldProduct, acct)
		if err != nil {
			return "", err
		}
		m.create(relationship(cs, "sold_product", subj(sp)))
		target = sp
	}
	if nc.InstallBase != "" {
		ib, err := c.ownedBy(ctx, "install_base", nc.InstallBase, acct)
		if err != nil {
			return "", err
		}
		if nc.SoldProduct != "" {
			sp := subj(ref.Object{Type: "sold_product", ID: nc.SoldProduct})
			ok, err := c.exists(ctx, filterFor(ib, "sold_product", &sp))
			if err != nil {
				return "", err
			}
			if !ok {
				return "", fmt.Errorf("%w: %s is not an instance of sold_product:%s", ErrInvalidArgument, ib, nc.SoldProduct)
			}
		}
		if nc.SoldProduct == "" {
			// Record the item's product too, so the product's related parties see the case.
			products, err := c.subjectsOf(ctx, ib, "sold_product")
			if err != nil {
				return "", err
			}
			if len(products) > 0 {
				m.create(relationship(cs, "sold_product", subj(ref.Object{Type: "sold_product", ID: products[0]})))
			}
		}
		target = ib
		m.create(relationship(cs, "install_base", subj(ib)))
	}
	if err := c.require(ctx, a, "create_case", target); err != nil {
		return "", err
	}
	member, err := c.checkAllowed(ctx, subj(a), "member", acct)
	if err != nil {
		return "", err
	}
	partner := false
	if !member {
		if partner, err = c.checkAllowed(ctx, subj(a), "partner_create", acct); err != nil {
			return "", err
		}
	}
	if partner {
		m.create(relationship(cs, "primary_partner_contact", subj(a)))
		m.touch(relationship(acct, "partner_managed_case", subj(cs)))
	} else {
		m.create(relationship(cs, "reporter", subj(a)))
	}
	m.create(relationship(cs, "account", subj(acct)))
	m.create(relationship(cs, "open", wildcard("user")))
	m.mustNotMatch(existsFilter(cs, "account"))
	tok, err := c.write(ctx, a, actor.Reason, "case.create", m)
	if isPreconditionFailure(err) {
		return "", fmt.Errorf("creating %s: %w: it already exists", cs, ErrConflict)
	}
	return tok, engineError("creating "+cs.String(), err)
}

// ownedBy validates an object id and checks that it belongs to the account.
func (c *Client) ownedBy(ctx context.Context, typ, id string, acct ref.Object) (ref.Object, error) {
	o, err := objectOf(typ, id)
	if err != nil {
		return ref.Object{}, err
	}
	s := subj(acct)
	ok, err := c.exists(ctx, filterFor(o, "account", &s))
	if err != nil {
		return ref.Object{}, err
	}
	if !ok {
		// One answer whether the item belongs to another account or does not exist at all:
		// naming ids must not reveal other tenants' items.
		return ref.Object{}, fmt.Errorf("%w: %s is not one of %s's", ErrNotFound, o, acct)
	}
	return o, nil
}

// caseOf validates a case id and returns the case and its account.
func (c *Client) caseOf(ctx context.Context, caseID string) (ref.Object, ref.Object, error) {
	cs, err := objectOf("case", caseID)
	if err != nil {
		return ref.Object{}, ref.Object{}, err
	}
	accts, err := c.subjectsOf(ctx, cs, "account")
	if err != nil {
		return ref.Object{}, ref.Object{}, err
	}
	if len(accts) == 0 {
		return ref.Object{}, ref.Object{}, fmt.Errorf("%w: %s does not exist", ErrNotFound, cs)
	}
	return cs, ref.Object{Type: "account", ID: accts[0]}, nil
}

// CloseCase closes an open case; it becomes read-only. Needs update on the case.
func (c *Client) CloseCase(ctx context.Context, actor Actor, caseID string) (Token, error) {
	return c.setCaseOpen(ctx, actor, caseID, false)
}

// ReopenCase reopens a closed case. Whoever could update it while open may reopen it.
func (c *Client) ReopenCase(ctx context.Context, actor Actor, caseID string) (Token, error) {
	return c.setCaseOpen(ctx, actor, caseID, true)
}

func (c *Client) setCaseOpen(ctx context.Context, actor Actor, caseID string, open bool) (Token, error) {
	a, err := actor.object()
	if err != nil {
		return "", err
	}
	cs, err := objectOf("case", caseID)
	if err != nil {
		return "", err
	}
	// Authorise before saying anything about the case, even whether it exists: reopen (the
	// editors, open or closed) is what both directions need; closing also needs update,
	// checked below.
	if err := c.require(ctx, a, "reopen", cs); err != nil {
		return "", err
	}
	isOpen, err := c.exists(ctx, filterFor(cs, "open", nil))
	if err != nil {
		return "", err
	}
	m := &mutation{}
	everyone := wildcard("user")
	if open {
		if isOpen {
			return "", fmt.Errorf("reopening %s: %w: it is open", cs, ErrConflict)
		}
		m.create(relationship(cs, "open", everyone))
		m.mustNotMatch(filterFor(cs, "open", nil))
	} else {
		if !isOpen {
			return "", fmt.Errorf("closing %s: %w: it is already closed", cs, ErrConflict)
		}
		if err := c.require(ctx, a, "update", cs); err != nil {
			return "", err
		}
		m.remove(relationship(cs, "open", everyone))
		m.mustMatch(filterFor(cs, "open", nil))
	}
	op := map[bool]string{true: "case.reopen", false: "case.close"}[open]
	tok, err := c.write(ctx, a, actor.Reason, op, m)
	if isPreconditionFailure(err) {
		return "", fmt.Errorf("%s: %w: the case changed status meanwhile", op, ErrConflict)
	}
	return tok, engineError(op+" "+cs.String(), err)
}

// AddCaseContact adds a partner contact to a case: as an additional contact (any partner
// level on the case's account) or as the primary point of contact (update or higher),
// replacing the previous primary partner contact. Needs manage_related_parties on the case.
func (c *Client) AddCaseContact(ctx context.Context, actor Actor, caseID, user string, primary bool) (Token, error) {
	a, err := actor.object()
	if err != nil {
		return "", err
	}
	u, err := objectOf("user", user)
	if err != nil {
		return "", err
	}
	cs, err := objectOf("case", caseID)
	if err != nil {
		return "", err
	}
	// Authorised first: a case that does not exist is refused like one the actor may not touch.
	if err := c.require(ctx, a, "manage_related_parties", cs); err != nil {
		return "", err
	}
	_, acct, err := c.caseOf(ctx, caseID)
	if err != nil {
		return "", err
	}
	needed, what := "partner_any", "a partner grant (any level)"
	if primary {
		needed, what = "partner_update", "partner level update or higher"
	}
	ok, err := c.checkAllowed(ctx, subj(u), needed, acct)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("adding %s to %s: %w: the contact needs %s on %s", u, cs, ErrPermissionDenied, what, acct)
	}
	m := &mutation{}
	if primary {
		previous, err := c.subjectsOf(ctx, cs, "primary_partner_contact")
		if err != nil {
			return "", err
		}
		for _, p := range previous {
			if p != user {
				m.remove(relationship(cs, "primary_partner_contact", userSubject(p)))
			}
		}
		m.touch(relationship(cs, "primary_partner_contact", subj(u)))
		m.touch(relationship(acct, "partner_managed_case", subj(cs)))
	} else {
		m.touch(relationship(cs, "partner_contact", subj(u)))
	}
	tok, err := c.write(ctx, a, actor.Reason, "case.contact", m)
	return tok, engineError(fmt.Sprintf("adding %s to %s", u, cs), err)
}

// RemoveCaseContact removes a partner contact (additional or primary) from a case.
func (c *Client) RemoveCaseContact(ctx context.Context, actor Actor, caseID, user string) (Token, error) {
	a, err := actor.object()
	if err != nil {
		return "", err
	}
	u, err := objectOf("user", user)
	if err != nil {
		return "", err
	}
	cs, err := objectOf("case", caseID)
	if err != nil {
		return "", err
	}
	if err := c.require(ctx, a, "manage_related_parties", cs); err != nil {
		return "", err
	}
	_, acct, err := c.caseOf(ctx, caseID)
	if err != nil {
		return "", err
	}
	m := &mutation{}
	m.remove(relationship(cs, "partner_contact", subj(u)))
	s := subj(u)
	primary, err := c.exists(ctx, filterFor(cs, "primary_partner_contact", &s))
	if err != nil {
		return "", err
	}
	if primary {
		m.remove(relationship(cs, "primary_partner_contact", subj(u)))
		m.remove(relationship(acct, "partner_managed_case", subj(cs)))
	}
	tok, err := c.write(ctx, a, actor.Reason, "case.contact", m)
	return tok, engineError(fmt.Sprintf("removing %s from %s", u, cs), err)
}

// CaseStatus filters case listings.
type CaseStatus string

// Case status filters.
const (
	StatusAll    CaseStatus = "all"
	StatusOpen   CaseStatus = "open"
	StatusClosed CaseStatus = "closed"
)

// ParseCaseStatus reads all, open or closed.
func ParseCaseStatus(s string) (CaseStatus, error) {
	switch CaseStatus(s) {
	case "", StatusAll:
		return StatusAll, nil
	case StatusOpen, StatusClosed:
		return CaseStatus(s), nil
	}
	return "", fmt.Errorf("%w: unknown case status %q (all, open, closed)", ErrInvalidArgument, s)
}

// VisibleCases streams every case user can view, across all accounts (for a partner
// member: across all their customers). The actor must be the user or Customer Care.
func (c *Client) VisibleCases(ctx context.Context, actor Actor, user string, status CaseStatus) iter.Seq2[ref.Object, error] {
	perm := map[CaseStatus]string{StatusAll: "view", StatusOpen: "view_open", StatusClosed: "view_closed"}[status]
	return c.casesFor(ctx, actor, user, perm)
}

// GroupCases streams the cases user sees through group read access: the "all / open /
// closed group cases" views of a super customer.
func (c *Client) GroupCases(ctx context.Context, actor Actor, user string, status CaseStatus) iter.Seq2[ref.Object, error] {
	perm := map[CaseStatus]string{StatusAll: "group_view", StatusOpen: "group_view_open", StatusClosed: "group_view_closed"}[status]
	return c.casesFor(ctx, actor, user, perm)
}

func (c *Client) casesFor(ctx context.Context, actor Actor, user, perm string) iter.Seq2[ref.Object, error] {
	return func(yield func(ref.Object, error) bool) {
		if perm == "" {
			yield(ref.Object{}, fmt.Errorf("%w: unknown case status", ErrInvalidArgument))
			return
		}
		a, err := actor.object()
		if err != nil {
			yield(ref.Object{}, err)
			return
		}
		u, err := objectOf("user", user)
		if err != nil {
			yield(ref.Object{}, err)
			return
		}
		if u != a {
			if err := c.require(ctx, a, "act_as_customer_care", Platform); err != nil {
				yield(ref.Object{}, fmt.Errorf("listing the cases of %s: %w", u, err))
				return
			}
		}
		if ids, ok := c.indexedCases(ctx, u.ID, perm); ok {
			for _, id := range ids {
				if !yield(ref.Object{Type: "case", ID: id}, nil) {
					return
				}
			}
			return
		}
		for o, err := range c.LookupResources(ctx, subj(u), perm, "case", Fresh()) {
			if !yield(o, err) || err != nil {
				return
			}
		}
	}
}

// PartnerManagedCases streams the cases of an account whose primary point of contact is a
// partner. Needs view_all_cases on the account.
func (c *Client) PartnerManagedCases(ctx context.Context, actor Actor, supportID string) iter.Seq2[ref.Object, error] {
	return func(yield func(ref.Object, error) bool) {
		acct, err := c.authorizeAccountRead(ctx, actor, supportID, "view_all_cases")
		if err != nil {
			yield(ref.Object{}, err)
			return
		}
		for rel, err := range c.readRelationships(ctx, filterFor(acct, "partner_managed_case", nil)) {
			if err != nil {
				yield(ref.Object{}, err)
				return
			}
			if !yield(ref.Object{Type: "case", ID: rel.GetSubject().GetObject().GetObjectId()}, nil) {
				return
			}
		}
	}
}

// indexedCases answers a case listing from the engine's case reachability index when it
// can answer at least as fresh as Fresh() reads (every write committed before the call);
// ok is false when SpiceDB must be asked.
func (c *Client) indexedCases(ctx context.Context, user, perm string) (ids []string, ok bool) {
	idx := c.engine.Reach()
	if idx == nil || !reach.Supports(perm) {
		return nil, false
	}
	ids, _, err := idx.Cases(ctx, perm, user)
	return ids, err == nil
}
