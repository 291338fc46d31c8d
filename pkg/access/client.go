// Package access is the domain layer: sites, partners, data access, groups, cases, products
// and custom roles, as Go calls in the portal's words. Every change is authorised against
// the acting user, carries actor and reason, and returns a revision token.
package access

import (
	"context"
	"fmt"
	"iter"
	"sync"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/ref"
	"github.com/accessgraph/accessgraph/pkg/spice"
)

// Token is a revision token returned by every change. Reading with AtLeast(token) sees
// that change and everything before it.
type Token string

// Actor is the user making a change, and why. Reason lands in the audit trail.
type Actor struct {
	User   string
	Reason string
}

// As names the acting user.
func As(userID string) Actor { return Actor{User: userID} }

// Because adds a reason for the audit trail.
func (a Actor) Because(reason string) Actor { a.Reason = reason; return a }

func (a Actor) object() (ref.Object, error) {
	if a.User == "" {
		return ref.Object{}, fmt.Errorf("%w: no acting user: every change needs one", ErrInvalidArgument)
	}
	if err := ref.ValidateID("acting user", a.User); err != nil {
		return ref.Object{}, err
	}
	return ref.Object{Type: "user", ID: a.User}, nil
}

// DefaultRequestTTL is how long join and partner requests stay pending.
const DefaultRequestTTL = 30 * 24 * time.Hour

// Platform is the one vendor object every account belongs to.
var Platform = ref.Object{Type: "platform", ID: "main"}

// EntitlementRollout is the feature that gates software downloads and licence keys.
var EntitlementRollout = ref.Object{Type: "feature", ID: "entitlement_view"}

// Client is the domain API over one engine. It is safe for concurrent use; build it with New.
type Client struct {
	engine     *engine.Engine
	requestTTL time.Duration
	now        func() time.Time

	// groupNesting serialises nesting changes in this process, so two opposite nestings
	// cannot both pass the cycle check; a re-check after writing covers other processes.
	groupNesting sync.Mutex
}

// Option configures a Client.
type Option func(*Client)

// WithRequestTTL sets how long pending join and partner requests last (default 30 days).
func WithRequestTTL(d time.Duration) Option { return func(c *Client) { c.requestTTL = d } }

// New returns a Client that talks to SpiceDB through e.
func New(e *engine.Engine, opts ...Option) *Client {
	c := &Client{engine: e, requestTTL: DefaultRequestTTL, now: time.Now}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Engine returns the engine the client talks through.
func (c *Client) Engine() *engine.Engine { return c.engine }

// Consistency says how fresh a read must be (pkg/engine's choices).
type Consistency = engine.Consistency

// Fresh reads at least as fresh as every change made through this process: the caller sees
// its own writes and expiry clean-up. With the embedded server it also sees every write,
// delete and import another client made through that server once it was acknowledged.
// It is the zero value and the default.
func Fresh() Consistency { return engine.Fresh() }

// AtLeast reads at least as fresh as the token (and this process's own later writes). Use
// it to read after a change made elsewhere.
func AtLeast(t Token) Consistency { return engine.AtLeast(string(t)) }

// Full reads the newest data: on an embedded engine, everything committed before the
// call. A remote SpiceDB's fully consistent read does not guarantee seeing a write that
// committed concurrently (SpiceDB coalesces head-revision lookups): prefer AtLeast with
// the write's token there.
func Full() Consistency { return engine.Full() }

// Fastest reads from cache where possible; results may be a few seconds stale, so a revoked
// or expired grant can still show for that long. For dashboards, never for enforcement after a change.
func Fastest() Consistency { return engine.Fastest() }

// ParseConsistency reads "fresh", "full", "fastest" or "at-least" (which needs a token).
func ParseConsistency(name string, token Token) (Consistency, error) {
	return engine.ParseConsistency(name, string(token))
}

func (c *Client) consistency(cons Consistency) *v1.Consistency { return c.engine.Consistency(cons) }

// checkAllowed answers one check with fresh consistency.
func (c *Client) checkAllowed(ctx context.Context, subject ref.Subject, permission string, resource ref.Object) (bool, error) {
	resp, err := c.engine.Permissions().CheckPermission(ctx, &v1.CheckPermissionRequest{
		Consistency: c.consistency(Fresh()),
		Resource:    objectRef(resource),
		Permission:  permission,
		Subject:     subjectRef(subject),
	})
	if err != nil {
		return false, engineError(fmt.Sprintf("checking %s on %s", permission, resource), err)
	}
	return resp.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION, nil
}

// require authorises a change: the actor must hold permission on resource.
func (c *Client) require(ctx context.Context, actor ref.Object, permission string, resource ref.Object) error {
	ok, err := c.checkAllowed(ctx, ref.Subject{Object: actor}, permission, resource)
	if err != nil {
		return err
	}
	if !ok {
		return &DeniedError{Actor: actor, Permission: permission, Resource: resource}
	}
	return nil
}

// authorize resolves the acting user and requires permission on resource.
func (c *Client) authorize(ctx context.Context, actor Actor, permission string, resource ref.Object) (ref.Object, error) {
	a, err := actor.object()
	if err != nil {
		return ref.Object{}, err
	}
	return a, c.require(ctx, a, permission, resource)
}

// register creates an object the vendor keeps a record of (its platform relationship), with
// the extra updates in m, refusing one that already exists.
func (c *Client) register(ctx context.Context, actor Actor, o ref.Object, permission, op string, m *mutation) (Token, error) {
	a, err := c.authorize(ctx, actor, permission, Platform)
	if err != nil {
		return "", err
	}
	m.create(relationship(o, "platform", subj(Platform)))
	m.mustNotMatch(existsFilter(o, "platform"))
	tok, err := c.write(ctx, a, actor.Reason, op, m)
	if isPreconditionFailure(err) {
		return "", fmt.Errorf("creating %s: %w: it already exists", o, ErrConflict)
	}
	return tok, engineError("creating "+o.String(), err)
}

// mutation is one write: updates applied atomically if every precondition holds.
type mutation struct {
	updates       []*v1.RelationshipUpdate
	preconditions []*v1.Precondition
}

func (m *mutation) touch(r *v1.Relationship) {
	m.updates = append(m.updates, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: r})
}

func (m *mutation) create(r *v1.Relationship) {
	m.updates = append(m.updates, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_CREATE, Relationship: r})
}

func (m *mutation) remove(r *v1.Relationship) {
	m.updates = append(m.updates, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_DELETE, Relationship: r})
}

// set touches r when on is true and deletes it otherwise.
func (m *mutation) set(r *v1.Relationship, on bool) {
	if on {
		m.touch(r)
	} else {
		m.remove(r)
	}
}

func (m *mutation) mustMatch(f *v1.RelationshipFilter) {
	m.preconditions = append(m.preconditions, &v1.Precondition{Operation: v1.Precondition_OPERATION_MUST_MATCH, Filter: f})
}

func (m *mutation) mustNotMatch(f *v1.RelationshipFilter) {
	m.preconditions = append(m.preconditions, &v1.Precondition{Operation: v1.Precondition_OPERATION_MUST_NOT_MATCH, Filter: f})
}

// write applies a mutation with the actor and reason as transaction metadata.
func (c *Client) write(ctx context.Context, actor ref.Object, reason, operation string, m *mutation) (Token, error) {
	if len(m.updates) == 0 {
		return Token(c.latestToken()), nil
	}
	meta, err := spice.Change{Actor: actor.String(), Reason: reason, Operation: operation}.Metadata()
	if err != nil {
		return "", fmt.Errorf("%s: %w", operation, err)
	}
	tok, err := c.engine.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{
		Updates:                     m.updates,
		OptionalPreconditions:       m.preconditions,
		OptionalTransactionMetadata: meta,
	})
	if err != nil {
		return "", err
	}
	return Token(tok.GetToken()), nil
}

func (c *Client) latestToken() string {
	if tok := c.engine.FreshestToken(nil); tok != nil {
		return tok.GetToken()
	}
	return ""
}

// readRelationships streams every relationship matching the filter, page by page, at one
// consistency computed before the first page.
func (c *Client) readRelationships(ctx context.Context, filter *v1.RelationshipFilter) iter.Seq2[*v1.Relationship, error] {
	return spice.ReadRelationships(ctx, c.engine.Permissions(), c.consistency(Fresh()), filter)
}

// collect reads every relationship matching the filter into a slice.
func (c *Client) collect(ctx context.Context, filter *v1.RelationshipFilter) ([]*v1.Relationship, error) {
	return spice.CollectRelationships(ctx, c.engine.Permissions(), c.consistency(Fresh()), filter)
}

// exists reports whether any relationship matches the filter.
func (c *Client) exists(ctx context.Context, filter *v1.RelationshipFilter) (bool, error) {
	for _, err := range c.readRelationships(ctx, filter) {
		if err != nil {
			return false, err
		}
		return true, nil
	}
	return false, nil
}

func objectRef(o ref.Object) *v1.ObjectReference {
	return &v1.ObjectReference{ObjectType: o.Type, ObjectId: o.ID}
}

func subjectRef(s ref.Subject) *v1.SubjectReference {
	return &v1.SubjectReference{Object: objectRef(s.Object), OptionalRelation: s.Relation}
}

func relationship(resource ref.Object, relation string, subject ref.Subject) *v1.Relationship {
	return &v1.Relationship{Resource: objectRef(resource), Relation: relation, Subject: subjectRef(subject)}
}

func expiring(r *v1.Relationship, at time.Time) *v1.Relationship {
	if !at.IsZero() {
		r.OptionalExpiresAt = timestamppb.New(at)
	}
	return r
}

func wildcard(typ string) ref.Subject { return ref.Subject{Object: ref.Object{Type: typ, ID: "*"}} }

func userSubject(id string) ref.Subject { return ref.Subject{Object: ref.Object{Type: "user", ID: id}} }

func subj(o ref.Object) ref.Subject { return ref.Subject{Object: o} }

// filterFor matches relation on one resource, optionally for one subject.
func filterFor(resource ref.Object, relation string, subject *ref.Subject) *v1.RelationshipFilter {
	f := &v1.RelationshipFilter{ResourceType: resource.Type, OptionalResourceId: resource.ID, OptionalRelation: relation}
	if subject != nil {
		f.OptionalSubjectFilter = &v1.SubjectFilter{
			SubjectType:       subject.Type,
			OptionalSubjectId: subject.ID,
			OptionalRelation:  &v1.SubjectFilter_RelationFilter{Relation: subject.Relation},
		}
	}
	return f
}

// filterByType matches relation on every object of a type, optionally for one subject.
func filterByType(resourceType, relation string, subject *ref.Subject) *v1.RelationshipFilter {
	f := filterFor(ref.Object{Type: resourceType}, relation, subject)
	f.OptionalResourceId = ""
	return f
}

// objectOf validates an id of a known type.
func objectOf(typ, id string) (ref.Object, error) { return ref.New(typ, id) }

// retryConflicts runs fn again while a precondition it relied on changed underneath it.
func retryConflicts(ctx context.Context, doing string, fn func() (Token, error)) (Token, error) {
	const attempts = 8
	var lastErr error
	for i := 0; i < attempts; i++ {
		tok, err := fn()
		if err == nil || !isPreconditionFailure(err) {
			return tok, engineError(doing, err)
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(time.Duration(i+1) * 5 * time.Millisecond):
		}
	}
	return "", engineError(doing+" (gave up after concurrent changes)", lastErr)
}
