package engine

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/accessgraph/accessgraph/schema"
)

// ExpiryLead is how long before its expiry a grant is removed. SpiceDB v1.56 can keep
// answering from its dispatch cache with a relationship that has just expired, so grants
// are deleted slightly early instead: a grant may end up to ExpiryLead before its expiry,
// never after.
const ExpiryLead = 250 * time.Millisecond

// expiryReaper deletes relationships with an expiry just before they expire. It learns of
// them from writes made through the engine and from periodic scans of every relation that
// accepts an expiry, which also covers writes made by other processes.
type expiryReaper struct {
	engine   *Engine
	interval time.Duration
	horizon  time.Duration
	targets  []relationTarget

	mu      sync.Mutex
	pending map[string]scheduled

	cancel context.CancelFunc
	done   chan struct{}
}

type relationTarget struct{ resourceType, relation string }

type scheduled struct {
	rel       *v1.Relationship
	expiresAt time.Time
}

func startExpiryReaper(e *Engine, interval time.Duration) *expiryReaper {
	if interval <= 0 {
		interval = 30 * time.Second
	}
	r := &expiryReaper{
		engine:   e,
		interval: interval,
		horizon:  2 * interval,
		pending:  map[string]scheduled{},
		done:     make(chan struct{}),
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
	go r.run(ctx)
	return r
}

func (r *expiryReaper) stop() {
	r.cancel()
	<-r.done
}

func relationshipKey(rel *v1.Relationship) string {
	s := rel.GetSubject()
	key := rel.GetResource().GetObjectType() + ":" + rel.GetResource().GetObjectId() + "#" + rel.GetRelation() +
		"@" + s.GetObject().GetObjectType() + ":" + s.GetObject().GetObjectId()
	if s.GetOptionalRelation() != "" {
		key += "#" + s.GetOptionalRelation()
	}
	return key
}

// noteUpdates schedules the expiring relationships a write just created or touched, and
// forgets deleted ones.
func (r *expiryReaper) noteUpdates(updates []*v1.RelationshipUpdate) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, u := range updates {
		key := relationshipKey(u.GetRelationship())
		if u.GetOperation() == v1.RelationshipUpdate_OPERATION_DELETE || u.GetRelationship().GetOptionalExpiresAt() == nil {
			delete(r.pending, key)
			continue
		}
		at := u.GetRelationship().GetOptionalExpiresAt().AsTime()
		if time.Until(at) <= r.horizon {
			r.pending[key] = scheduled{rel: u.GetRelationship(), expiresAt: at}
		}
	}
}

func (r *expiryReaper) run(ctx context.Context) {
	defer close(r.done)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var lastScan time.Time
	for {
		if time.Since(lastScan) >= r.interval {
			r.scan(ctx)
			lastScan = time.Now()
		}
		r.reapDue(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (r *expiryReaper) scan(ctx context.Context) {
	limit := time.Now().Add(r.horizon)
	for _, t := range r.targets {
		var cursor *v1.Cursor
		// Full consistency: the sweep must see writes other clients made; a cursor needs the
		// first page's exact arguments.
		consistency := fullyConsistent
		for {
			stream, err := r.engine.Permissions().ReadRelationships(ctx, &v1.ReadRelationshipsRequest{
				Consistency:        consistency,
				RelationshipFilter: &v1.RelationshipFilter{ResourceType: t.resourceType, OptionalRelation: t.relation},
				OptionalLimit:      1000,
				OptionalCursor:     cursor,
			})
			if err != nil {
				break
			}
			n := 0
			for {
				resp, err := stream.Recv()
				if err != nil {
					if !errors.Is(err, io.EOF) {
						n = 0
					}
					break
				}
				n++
				cursor = resp.GetAfterResultCursor()
				rel := resp.GetRelationship()
				if exp := rel.GetOptionalExpiresAt(); exp != nil && exp.AsTime().Before(limit) {
					r.mu.Lock()
					r.pending[relationshipKey(rel)] = scheduled{rel: rel, expiresAt: exp.AsTime()}
					r.mu.Unlock()
				}
			}
			if n < 1000 {
				break
			}
		}
	}
}

func (r *expiryReaper) reapDue(ctx context.Context) {
	now := time.Now()
	var due []scheduled
	r.mu.Lock()
	for key, s := range r.pending {
		if !s.expiresAt.Add(-ExpiryLead).After(now) {
			due = append(due, s)
			delete(r.pending, key)
		}
	}
	r.mu.Unlock()
	for _, s := range due {
		r.remove(ctx, s)
	}
}

// remove deletes one relationship if it still carries the expiry it was scheduled with; a
// grant renewed in the meantime is left alone.
func (r *expiryReaper) remove(ctx context.Context, s scheduled) {
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
	stream, err := r.engine.Permissions().ReadRelationships(ctx, &v1.ReadRelationshipsRequest{Consistency: fullyConsistent, RelationshipFilter: filter})
	if err != nil {
		return
	}
	current, err := stream.Recv()
	// Datastores round expiries (PostgreSQL keeps microseconds), so compare loosely.
	if err != nil || current.GetRelationship().GetOptionalExpiresAt() == nil ||
		current.GetRelationship().GetOptionalExpiresAt().AsTime().Sub(s.expiresAt).Abs() >= time.Millisecond {
		return
	}
	meta, _ := structpb.NewStruct(map[string]any{"actor": "system:expiry", "reason": "grant reached its expiry", "operation": "grant.expire"})
	_, _ = r.engine.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{
		Updates: []*v1.RelationshipUpdate{{Operation: v1.RelationshipUpdate_OPERATION_DELETE, Relationship: current.GetRelationship()}},
		OptionalPreconditions: []*v1.Precondition{{
			Operation: v1.Precondition_OPERATION_MUST_MATCH,
			Filter:    filter,
		}},
		OptionalTransactionMetadata: meta,
	})
}

var fullyConsistent = &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}}
