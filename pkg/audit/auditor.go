package audit

import (
	"context"
	"iter"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/ref"
	"github.com/accessgraph/accessgraph/pkg/spice"
)

// Auditor answers audit questions over one domain client. It only reads. It is safe for
// concurrent use; build it with New.
type Auditor struct {
	client *access.Client
	engine *engine.Engine
	now    func() time.Time

	maxNodes    int
	expandDepth int
	idleTimeout time.Duration
	// log, when set, is the durable audit log History reads before the change stream.
	log *LogHistory
	// expiryShift is how far the graph's expiries lie after the real ones (a PastGraph's).
	expiryShift time.Duration
}

// Option configures an Auditor.
type Option func(*Auditor)

// WithClock sets the clock used for expiry flags in access reviews (time.Now by default).
func WithClock(now func() time.Time) Option { return func(a *Auditor) { a.now = now } }

// withExpiryShift reads every expiry d earlier than the graph holds it: a PastGraph holds
// them moved forward so the engine's present clock evaluates them as at the past time.
func withExpiryShift(d time.Duration) Option { return func(a *Auditor) { a.expiryShift = d } }

// WithMaxNodes bounds how many sub-questions one explanation may ask SpiceDB (default
// 5,000). An explanation that reaches the bound says so in Explanation.Truncated.
func WithMaxNodes(n int) Option { return func(a *Auditor) { a.maxNodes = n } }

// WithExpandDepth bounds how many usersets deep Expand follows (default 50, SpiceDB's own
// dispatch depth). Deeper usersets are left as leaves marked truncated.
func WithExpandDepth(n int) Option { return func(a *Auditor) { a.expandDepth = n } }

// WithHistoryIdleTimeout sets how long History waits for more changes on a datastore whose
// revisions it cannot order (PostgreSQL) before deciding it has caught up (default 1s).
func WithHistoryIdleTimeout(d time.Duration) Option { return func(a *Auditor) { a.idleTimeout = d } }

// New returns an Auditor reading through c.
func New(c *access.Client, opts ...Option) *Auditor {
	a := &Auditor{client: c, engine: c.Engine(), now: time.Now, maxNodes: 5000, expandDepth: 50, idleTimeout: time.Second}
	for _, o := range opts {
		o(a)
	}
	return a
}

// exact pins every read of one answer to the revision of its first read.
func exact(token string) *v1.Consistency { return spice.AtExactSnapshot(token) }

// fresh is access.Fresh as a SpiceDB consistency: at least as fresh as every write this
// process made.
func (a *Auditor) fresh() *v1.Consistency { return a.engine.Fresh(nil) }

// readRelationships streams the relationships matching filter at one revision, page by
// page, with their real expiries.
func (a *Auditor) readRelationships(ctx context.Context, cons *v1.Consistency, filter *v1.RelationshipFilter) iter.Seq2[*v1.Relationship, error] {
	rels := spice.ReadRelationships(ctx, a.engine.Permissions(), cons, filter)
	if a.expiryShift == 0 {
		return rels
	}
	return func(yield func(*v1.Relationship, error) bool) {
		for r, err := range rels {
			if exp := r.GetOptionalExpiresAt(); exp != nil {
				r.OptionalExpiresAt = timestamppb.New(exp.AsTime().Add(-a.expiryShift))
			}
			if !yield(r, err) {
				return
			}
		}
	}
}

// collect reads every relationship matching filter.
func (a *Auditor) collect(ctx context.Context, cons *v1.Consistency, filter *v1.RelationshipFilter) ([]*v1.Relationship, error) {
	var out []*v1.Relationship
	for r, err := range a.readRelationships(ctx, cons, filter) {
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// relFilter matches relation on one object (or every object of the type when id is
// empty), optionally for one subject (id "" means any id of that type).
func relFilter(resource ref.Object, relation string, subject *ref.Subject) *v1.RelationshipFilter {
	f := &v1.RelationshipFilter{ResourceType: resource.Type, OptionalResourceId: resource.ID, OptionalRelation: relation}
	if subject != nil {
		f.OptionalSubjectFilter = &v1.SubjectFilter{SubjectType: subject.Type, OptionalSubjectId: subject.ID}
		f.OptionalSubjectFilter.OptionalRelation = &v1.SubjectFilter_RelationFilter{Relation: subject.Relation}
	}
	return f
}

func objectRef(o ref.Object) *v1.ObjectReference {
	return &v1.ObjectReference{ObjectType: o.Type, ObjectId: o.ID}
}

func subjectRef(s ref.Subject) *v1.SubjectReference {
	return &v1.SubjectReference{Object: objectRef(s.Object), OptionalRelation: s.Relation}
}

func fromObjectRef(o *v1.ObjectReference) ref.Object {
	return ref.Object{Type: o.GetObjectType(), ID: o.GetObjectId()}
}

func fromSubjectRef(s *v1.SubjectReference) ref.Subject {
	return ref.Subject{Object: fromObjectRef(s.GetObject()), Relation: s.GetOptionalRelation()}
}

// engineError classifies a gRPC failure (pkg/spice), so callers can test it with
// errors.Is(err, access.ErrInvalidArgument) and the like.
func engineError(doing string, err error) error { return spice.Classify(doing, err) }

// validateQuestion checks a resource and permission the way the domain layer does: an
// unknown type, permission or a malformed id is an error, never a silent no.
func validateQuestion(resource ref.Object, permission string) error {
	if _, err := ref.New(resource.Type, resource.ID); err != nil {
		return err
	}
	return ref.ValidatePermission(resource.Type, permission)
}
