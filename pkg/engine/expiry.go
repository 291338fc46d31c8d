package engine

import (
	"context"
	"errors"
	"io"
	"slices"
	"sync"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/accessgraph/accessgraph/pkg/reltext"
	"github.com/accessgraph/accessgraph/pkg/spice"
	"github.com/accessgraph/accessgraph/schema"
)

// ExpiryLead is how long before its expiry a grant is removed. SpiceDB can keep
// answering from its caches (per revision) with a relationship that has just expired, so grants
// are deleted slightly early instead: a grant may end up to ExpiryLead before its expiry.
// When the reaper gets to a grant only after its expiry, it still writes a new revision,
// which retires the cached answers; see ExpiryOvershootBound.
const ExpiryLead = 250 * time.Millisecond

// ExpiryOvershootBound is the documented bound on how long after its expiry a grant may
// still be honoured by reads through this engine at its newest revision (access.Fresh(),
// or at least as fresh as any token it returned). The reaper normally removes a grant
// ExpiryLead before its expiry; when it is late (a loaded machine, a slow datastore round
// trip), it writes as soon as it gets to the grant, and its deletions never wait for a scan.
const ExpiryOvershootBound = time.Second

const (
	// expiryRetryDelay spaces out attempts after an error (the datastore or a remote
	// SpiceDB is unreachable).
	expiryRetryDelay = 500 * time.Millisecond
	// expiryGiveUpAfter stops retrying that long after the expiry: by then SpiceDB's own
	// cache has moved on and a restarted server has no cache to retire.
	expiryGiveUpAfter = time.Minute
	// minExpiryHorizon is the least look-ahead of the reaper: a relationship is scheduled
	// once it expires within the horizon. The horizon must exceed ExpiryLead plus the
	// time between two scans and the length of a scan, or a scan could first see a
	// relationship when it is already due, or already expired and invisible; a minute leaves
	// room for short sweep intervals and long scans.
	minExpiryHorizon = time.Minute
)

// expiryReaper deletes relationships with an expiry just before they expire. It learns of
// them from writes made through the engine and from periodic scans of every relation that
// accepts an expiry, which also covers writes made by other processes. Scans and deletions
// run on separate goroutines, so a long scan never delays a deletion.
type expiryReaper struct {
	engine   *Engine
	interval time.Duration
	horizon  time.Duration
	targets  []relationTarget

	mu      sync.Mutex
	pending map[string]scheduled
	// wake tells the deletion goroutine that something new was scheduled, possibly due
	// sooner than what it is waiting for.
	wake chan struct{}

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type relationTarget struct{ resourceType, relation string }

type scheduled struct {
	rel       *v1.Relationship
	expiresAt time.Time
	// due is when to act: ExpiryLead before the expiry, or later when retrying after an error.
	due time.Time
}

func startExpiryReaper(e *Engine, interval time.Duration) *expiryReaper {
	if interval <= 0 {
		interval = 30 * time.Second
	}
	r := &expiryReaper{
		engine:   e,
		interval: interval,
		horizon:  max(2*interval, minExpiryHorizon),
		pending:  map[string]scheduled{},
		wake:     make(chan struct{}, 1),
	}
	if defs, err := schema.Definitions(); err == nil {
		for _, d := range defs {
			for _, rel := range d.Expiring {
				r.targets = append(r.targets, relationTarget{d.Name, rel})
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.wg.Add(2)
	go func() { defer r.wg.Done(); r.scanLoop(ctx) }()
	go func() { defer r.wg.Done(); r.reapLoop(ctx) }()
	return r
}

func (r *expiryReaper) stop() {
	r.cancel()
	r.wg.Wait()
}

func relationshipKey(rel *v1.Relationship) string { return reltext.FormatKey(rel) }

func newScheduled(rel *v1.Relationship, expiresAt time.Time) scheduled {
	return scheduled{rel: rel, expiresAt: expiresAt, due: expiresAt.Add(-ExpiryLead)}
}

func (r *expiryReaper) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// noteUpdates schedules the expiring relationships a write just created or touched, and
// forgets deleted ones.
func (r *expiryReaper) noteUpdates(updates []*v1.RelationshipUpdate) {
	added := false
	r.mu.Lock()
	for _, u := range updates {
		key := relationshipKey(u.GetRelationship())
		if u.GetOperation() == v1.RelationshipUpdate_OPERATION_DELETE || u.GetRelationship().GetOptionalExpiresAt() == nil {
			delete(r.pending, key)
			continue
		}
		at := u.GetRelationship().GetOptionalExpiresAt().AsTime()
		if time.Until(at) <= r.horizon {
			r.pending[key] = newScheduled(u.GetRelationship(), at)
			added = true
		} else {
			delete(r.pending, key) // renewed beyond the horizon: a later scan schedules it
		}
	}
	r.mu.Unlock()
	if added {
		r.poke()
	}
}

// scanLoop rescans the expiring relations every interval.
func (r *expiryReaper) scanLoop(ctx context.Context) {
	tick := time.NewTicker(r.interval)
	defer tick.Stop()
	for {
		r.scan(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (r *expiryReaper) scan(ctx context.Context) {
	limit := time.Now().Add(r.horizon)
	found := false
	for _, t := range r.targets {
		// Full consistency: the sweep must see writes other clients made. A failed read ends
		// this relation's sweep; the next scan tries again.
		filter := &v1.RelationshipFilter{ResourceType: t.resourceType, OptionalRelation: t.relation}
		for rel, err := range spice.ReadRelationships(ctx, r.engine.Permissions(), spice.FullyConsistent(), filter) {
			if err != nil {
				break
			}
			if exp := rel.GetOptionalExpiresAt(); exp != nil && exp.AsTime().Before(limit) {
				key := relationshipKey(rel)
				r.mu.Lock()
				// A relationship already scheduled keeps its entry: it may be waiting for
				// a retry, or come from a newer write than this scan saw.
				if _, ok := r.pending[key]; !ok {
					r.pending[key] = newScheduled(rel, exp.AsTime())
					found = true
				}
				r.mu.Unlock()
			}
		}
	}
	if found {
		r.poke()
	}
}

// reapLoop removes each scheduled relationship when it falls due, sleeping until the next
// one or until something new is scheduled.
func (r *expiryReaper) reapLoop(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := r.reapDue(ctx)
		wait := time.Hour
		if !next.IsZero() {
			wait = max(time.Until(next), 0)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-timer.C:
		}
	}
}

// reapDue removes every relationship that is due and returns when the next one falls due
// (zero if none is scheduled).
func (r *expiryReaper) reapDue(ctx context.Context) time.Time {
	now := time.Now()
	var due []scheduled
	r.mu.Lock()
	for key, s := range r.pending {
		if !s.due.After(now) {
			due = append(due, s)
			delete(r.pending, key)
		}
	}
	r.mu.Unlock()
	// One at a time, soonest first. Concurrent removals would be faster for a batch, but on
	// PostgreSQL two overlapping writes get incomparable revisions, and the engine's token
	// tracker keeps only one of them, so reads at its newest token could miss a removal.
	slices.SortFunc(due, func(a, b scheduled) int { return a.due.Compare(b.due) })
	for _, s := range due {
		if ctx.Err() != nil {
			break
		}
		if err := r.remove(ctx, s); err != nil && ctx.Err() == nil {
			r.retryLater(s)
		}
	}
	var next time.Time
	r.mu.Lock()
	for _, s := range r.pending {
		if next.IsZero() || s.due.Before(next) {
			next = s.due
		}
	}
	r.mu.Unlock()
	return next
}

// retryLater schedules another attempt after an error, unless a newer write scheduled the
// relationship again meanwhile or the expiry is long past.
func (r *expiryReaper) retryLater(s scheduled) {
	if time.Since(s.expiresAt) > expiryGiveUpAfter {
		return
	}
	s.due = time.Now().Add(expiryRetryDelay)
	key := relationshipKey(s.rel)
	r.mu.Lock()
	if _, ok := r.pending[key]; !ok {
		r.pending[key] = s
	}
	r.mu.Unlock()
}

// expiryMetadata is recorded with every change the reaper makes, for the audit trail.
func expiryMetadata(reason string) *structpb.Struct {
	meta, _ := spice.Change{Actor: ExpiryActor, Reason: reason, Operation: ExpiryOperation}.Metadata()
	return meta
}

// The actor and operation the expiry reaper records with every change it makes.
const (
	ExpiryActor     = "system:expiry"
	ExpiryOperation = "grant.expire"
)

// remove deletes one relationship that carries the expiry it was scheduled with; a grant
// renewed in the meantime is left alone. It always ends with a write unless the grant was
// renewed: SpiceDB keeps answering an expired relationship out of its dispatch cache for
// as long as reads stay at the revision they were computed at, and only a new revision
// retires those answers. So when the reaper is late and the relationship has already expired
// (SpiceDB no longer returns it, and a delete guarded by "it must still exist" would be
// refused), it still writes: a delete guarded by "no live relationship matches", which also
// removes the expired row and cannot remove a renewal made meanwhile. It returns an error
// only when it could not reach SpiceDB, so that the caller tries again.
func (r *expiryReaper) remove(ctx context.Context, s scheduled) error {
	rel := s.rel
	filter := &v1.RelationshipFilter{
		ResourceType:       rel.GetResource().GetObjectType(),
		OptionalResourceId: rel.GetResource().GetObjectId(),
		OptionalRelation:   rel.GetRelation(),
		OptionalSubjectFilter: &v1.SubjectFilter{
			SubjectType:       rel.GetSubject().GetObject().GetObjectType(),
			OptionalSubjectId: rel.GetSubject().GetObject().GetObjectId(),
			OptionalRelation:  &v1.SubjectFilter_RelationFilter{Relation: rel.GetSubject().GetOptionalRelation()},
		},
	}
	current, err := r.readOne(ctx, filter)
	if err != nil {
		return err
	}
	if current != nil {
		// Datastores round expiries (PostgreSQL keeps microseconds), so compare loosely.
		exp := current.GetOptionalExpiresAt()
		if exp == nil || exp.AsTime().Sub(s.expiresAt).Abs() >= time.Millisecond {
			return nil // renewed, or made permanent: that write made its own revision
		}
		// No precondition: if the grant expires before this write lands, the delete must
		// still be written, since the write itself is what retires cached answers.
		return r.write(ctx, &v1.WriteRelationshipsRequest{
			Updates:                     []*v1.RelationshipUpdate{{Operation: v1.RelationshipUpdate_OPERATION_DELETE, Relationship: withoutExpiry(current)}},
			OptionalTransactionMetadata: expiryMetadata("grant reached its expiry"),
		})
	}
	// Already expired (or removed by another client): write a revision anyway.
	err = r.write(ctx, &v1.WriteRelationshipsRequest{
		Updates: []*v1.RelationshipUpdate{{Operation: v1.RelationshipUpdate_OPERATION_DELETE, Relationship: withoutExpiry(rel)}},
		OptionalPreconditions: []*v1.Precondition{{
			Operation: v1.Precondition_OPERATION_MUST_NOT_MATCH,
			Filter:    filter,
		}},
		OptionalTransactionMetadata: expiryMetadata("grant reached its expiry before it could be removed; retiring cached answers"),
	})
	if status.Code(err) == codes.FailedPrecondition {
		return nil // a live relationship appeared: a renewal, which made its own revision
	}
	return err
}

// write makes one of the reaper's writes and records its token, so that reads at the
// engine's newest revision see it. It bypasses Engine.WriteRelationships on purpose: that
// would forget the relationship's schedule, possibly dropping the entry of a renewal noted
// while this write was in flight.
func (r *expiryReaper) write(ctx context.Context, req *v1.WriteRelationshipsRequest) error {
	resp, err := r.engine.Permissions().WriteRelationships(ctx, req)
	if err != nil {
		return err
	}
	r.engine.ObserveToken(resp.GetWrittenAt())
	return nil
}

// readOne returns the live relationship matching filter, or nil if there is none.
func (r *expiryReaper) readOne(ctx context.Context, filter *v1.RelationshipFilter) (*v1.Relationship, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := r.engine.Permissions().ReadRelationships(ctx, &v1.ReadRelationshipsRequest{Consistency: spice.FullyConsistent(), RelationshipFilter: filter})
	if err != nil {
		return nil, err
	}
	resp, err := stream.Recv()
	switch {
	case errors.Is(err, io.EOF):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return resp.GetRelationship(), nil
}

func withoutExpiry(rel *v1.Relationship) *v1.Relationship {
	c := proto.Clone(rel).(*v1.Relationship)
	c.OptionalExpiresAt = nil
	return c
}
