// Package reach answers which cases a super customer reads through nested groups from an
// index kept up to date from SpiceDB's change stream, instead of a SpiceDB lookup. An
// answer is SpiceDB's answer at the index's revision, and that revision contains every
// write committed before the question was asked; when the index cannot promise that, it
// says so and the caller asks SpiceDB.
package reach

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/accessgraph/accessgraph/pkg/spice"
)

// Source is what the index reads: SpiceDB's API and the revisions of an embedded datastore.
type Source interface {
	Permissions() v1.PermissionsServiceClient
	Schemas() v1.SchemaServiceClient
	Watch() v1.WatchServiceClient
	// HeadToken is a token for the datastore's newest revision.
	HeadToken(ctx context.Context) (*v1.ZedToken, error)
	// Covers reports whether a read at a sees everything committed at b.
	Covers(a, b *v1.ZedToken) (covers, known bool)
	// ReadSchemaSince reads the schema at a revision that contains after's.
	ReadSchemaSince(ctx context.Context, after *v1.ZedToken) (*v1.ReadSchemaResponse, error)
}

// The relationships the index holds: everything case#group_view reads (see shape.go).
var watched = []*v1.RelationshipFilter{
	{ResourceType: "user", OptionalRelation: "member_of"},
	{ResourceType: "group", OptionalRelation: "parent"},
	{ResourceType: "group", OptionalRelation: "reader"},
	{ResourceType: "case", OptionalRelation: "reporter"},
	{ResourceType: "case", OptionalRelation: "open"},
}

// DefaultMaxWait is how long a question waits for the index to reach the datastore's head
// before the caller is told to ask SpiceDB. The change stream is usually a millisecond
// behind; a long wait means a large import is being applied.
const DefaultMaxWait = 250 * time.Millisecond

// Index is the derived reachability of case#group_view. It is safe for concurrent use;
// build it with Start and Stop it when done.
type Index struct {
	src     Source
	log     *zap.Logger
	maxWait time.Duration
	cancel  context.CancelFunc
	done    chan struct{}

	answered, declined atomic.Int64

	mu sync.RWMutex
	// state is nil while the index is loading or after it gave up (a schema it does not
	// know); at is the revision state reflects.
	state *graph
	at    *v1.ZedToken
	// advanced is closed and replaced whenever at moves or the index stops answering.
	advanced chan struct{}
	reason   string // why state is nil, for Status

	stats Stats // under mu
}

// Stats describes the index's work since Start.
type Stats struct {
	// Relationships is how many relationships the index holds.
	Relationships int `json:"relationships"`
	// Loads counts complete loads; LastLoad is how long the last one took.
	Loads    int           `json:"loads"`
	LastLoad time.Duration `json:"last_load_ns"`
	// Answered and Declined count the questions answered and those left to SpiceDB.
	Answered int64 `json:"answered"`
	Declined int64 `json:"declined"`
}

// Stats returns the index's counters.
func (x *Index) Stats() Stats {
	x.mu.RLock()
	defer x.mu.RUnlock()
	st := x.stats
	st.Answered, st.Declined = x.answered.Load(), x.declined.Load()
	if x.state != nil {
		st.Relationships = x.state.size
	}
	return st
}

// Current waits until the index answers at the datastore's head revision as of the call,
// or ctx ends.
func (x *Index) Current(ctx context.Context) error {
	head, err := x.src.HeadToken(ctx)
	if err != nil {
		return err
	}
	for {
		x.mu.RLock()
		current := false
		if x.state != nil {
			covers, _ := x.src.Covers(x.at, head)
			current = covers
		}
		advanced, reason := x.advanced, x.reason
		x.mu.RUnlock()
		if current {
			return nil
		}
		select {
		case <-advanced:
		case <-ctx.Done():
			return fmt.Errorf("waiting for the group reachability index (%s): %w", cmp.Or(reason, "behind the head"), ctx.Err())
		}
	}
}

// Start loads the index in the background and keeps it up to date until Stop. Until it is
// loaded, every question is answered "ask SpiceDB".
func Start(src Source, log *zap.Logger) *Index {
	ctx, cancel := context.WithCancel(context.Background())
	x := &Index{
		src: src, log: log, maxWait: DefaultMaxWait, cancel: cancel,
		done: make(chan struct{}), advanced: make(chan struct{}), reason: "loading",
	}
	go x.run(ctx)
	return x
}

// Stop ends the index's change stream and waits for it.
func (x *Index) Stop() {
	x.cancel()
	<-x.done
}

// Status reports whether the index answers, and why not when it does not.
func (x *Index) Status() (ready bool, reason string) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.state != nil, x.reason
}

// Supports reports whether Cases answers permission on case.
func Supports(permission string) bool {
	_, ok := statusOf[permission]
	return ok
}

var statusOf = map[string]caseStatus{
	"group_view":        anyStatus,
	"group_view_open":   openOnly,
	"group_view_closed": closedOnly,
}

// ErrUnanswered is returned when the index cannot answer as fresh as the datastore's head
// within its wait: the caller asks SpiceDB.
var ErrUnanswered = errors.New("the group reachability index cannot answer now")

// ErrCycle is the ErrUnanswered of a user whose groups reach a cycle of nesting.
var ErrCycle = fmt.Errorf("%w: the groups below those the user reads contain a cycle", ErrUnanswered)

// Cases returns the ids of the cases user holds permission on (group_view,
// group_view_open or group_view_closed), sorted, and the revision they were read at, which
// contains every write committed before the call. It returns ErrUnanswered (wrapped, with
// the reason) when the index is loading, stopped, behind for longer than its wait, or the
// groups the user reads form a cycle.
func (x *Index) Cases(ctx context.Context, permission, user string) ([]string, *v1.ZedToken, error) {
	ids, at, err := x.cases(ctx, permission, user)
	if err != nil {
		x.declined.Add(1)
	} else {
		x.answered.Add(1)
	}
	return ids, at, err
}

func (x *Index) cases(ctx context.Context, permission, user string) ([]string, *v1.ZedToken, error) {
	status, ok := statusOf[permission]
	if !ok {
		return nil, nil, fmt.Errorf("%w: case#%s is not indexed", ErrUnanswered, permission)
	}
	head, err := x.src.HeadToken(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: reading the head revision: %w", ErrUnanswered, err)
	}
	timer := time.NewTimer(x.maxWait)
	defer timer.Stop()
	for {
		x.mu.RLock()
		if x.state == nil {
			reason := x.reason
			x.mu.RUnlock()
			return nil, nil, fmt.Errorf("%w: %s", ErrUnanswered, reason)
		}
		covers, known := x.src.Covers(x.at, head)
		if !known {
			x.mu.RUnlock()
			return nil, nil, fmt.Errorf("%w: revisions cannot be ordered", ErrUnanswered)
		}
		if covers {
			ids, cyclic := x.state.cases(user, status)
			at := x.at
			x.mu.RUnlock()
			if cyclic {
				return nil, nil, fmt.Errorf("%w (user %s)", ErrCycle, user)
			}
			return ids, at, nil
		}
		advanced := x.advanced
		x.mu.RUnlock()
		select {
		case <-advanced:
		case <-timer.C:
			return nil, nil, fmt.Errorf("%w: the change stream is more than %s behind", ErrUnanswered, x.maxWait)
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
}

// run loads the index and follows the change stream, reloading after a schema change and
// resuming after an interruption, until Stop.
func (x *Index) run(ctx context.Context) {
	defer close(x.done)
	defer x.setState(nil, nil, "stopped")
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := x.follow(ctx)
		if ctx.Err() != nil {
			return
		}
		var unsupported unsupportedError
		if errors.As(err, &unsupported) {
			// A schema this index does not know: SpiceDB answers everything. Look again
			// after the next schema change.
			x.setState(nil, nil, err.Error())
			x.log.Info("group reachability index off; listings ask SpiceDB", zap.Error(err))
			if werr := x.awaitSchemaChange(ctx); werr != nil && ctx.Err() == nil {
				x.log.Warn("group reachability index: watching for schema changes", zap.Error(werr))
				sleep(ctx, backoff)
			}
			continue
		}
		x.log.Warn("group reachability index interrupted; reloading", zap.Error(err), zap.Duration("after", backoff))
		sleep(ctx, backoff)
		backoff = min(2*backoff, 10*time.Second)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// unsupportedError is a schema or a relationship the index does not model.
type unsupportedError struct{ why string }

func (e unsupportedError) Error() string { return e.why }

// follow loads a snapshot at the head and applies the change stream after it until the
// stream fails or reports a schema change (which returns nil: reload).
func (x *Index) follow(ctx context.Context) error {
	x.setState(nil, nil, "loading")
	head, err := x.src.HeadToken(ctx)
	if err != nil {
		return fmt.Errorf("reading the head revision: %w", err)
	}
	// The schema is checked after the head is read and the stream starts at the head: a
	// schema change before the head is seen by the check (it reads at a revision containing
	// the head's), one after it by the stream.
	current, err := x.src.ReadSchemaSince(ctx, head)
	if err != nil {
		return fmt.Errorf("reading the schema: %w", err)
	}
	if err := checkShape(current.GetSchemaText()); err != nil {
		return err
	}
	started := time.Now()
	g := newGraph()
	for _, filter := range watched {
		for rel, err := range spice.ExportRelationships(ctx, x.src.Permissions(), spice.AtExactSnapshot(head.GetToken()), filter) {
			if err != nil {
				return fmt.Errorf("loading %s#%s: %w", filter.GetResourceType(), filter.GetOptionalRelation(), err)
			}
			if err := g.apply(rel, true); err != nil {
				return err
			}
		}
	}
	x.setState(g, head, "")
	x.mu.Lock()
	x.stats.Loads++
	x.stats.LastLoad = time.Since(started)
	x.mu.Unlock()
	x.log.Debug("group reachability index loaded", zap.Int("relationships", g.size), zap.Duration("took", time.Since(started)))
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for resp, err := range spice.Watch(wctx, x.src.Watch(), &v1.WatchRequest{
		OptionalStartCursor:         head,
		OptionalRelationshipFilters: watched,
		OptionalUpdateKinds: []v1.WatchKind{
			v1.WatchKind_WATCH_KIND_INCLUDE_RELATIONSHIP_UPDATES,
			v1.WatchKind_WATCH_KIND_INCLUDE_SCHEMA_UPDATES,
			v1.WatchKind_WATCH_KIND_INCLUDE_CHECKPOINTS,
		},
	}, grpc.MaxCallRecvMsgSize(maxChangeBytes)) {
		if err != nil {
			return err
		}
		if resp.GetSchemaUpdated() {
			return errors.New("the schema changed")
		}
		if err := x.applyChanges(resp.GetUpdates(), resp.GetChangesThrough()); err != nil {
			return err
		}
	}
	return spice.ErrChangeStreamEnded
}

// maxChangeBytes bounds one message of the change stream: a bulk import commits up to a
// hundred thousand relationships a revision, and each revision is one message.
const maxChangeBytes = 1 << 30

// applyChanges applies one revision's changes and moves the index to it. On an error the
// index stops answering: a partly applied revision is never read.
func (x *Index) applyChanges(updates []*v1.RelationshipUpdate, through *v1.ZedToken) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, u := range updates {
		var err error
		switch u.GetOperation() {
		case v1.RelationshipUpdate_OPERATION_CREATE, v1.RelationshipUpdate_OPERATION_TOUCH:
			err = x.state.apply(u.GetRelationship(), true)
		case v1.RelationshipUpdate_OPERATION_DELETE:
			err = x.state.apply(u.GetRelationship(), false)
		default:
			err = fmt.Errorf("unknown change operation %v", u.GetOperation())
		}
		if err != nil {
			x.stopAnsweringLocked(err.Error())
			return err
		}
	}
	if through.GetToken() != "" {
		x.at = through
		close(x.advanced)
		x.advanced = make(chan struct{})
	}
	return nil
}

func (x *Index) setState(g *graph, at *v1.ZedToken, reason string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if g == nil {
		x.stopAnsweringLocked(reason)
		return
	}
	x.state, x.at, x.reason = g, at, ""
	close(x.advanced)
	x.advanced = make(chan struct{})
}

func (x *Index) stopAnsweringLocked(reason string) {
	x.state, x.at, x.reason = nil, nil, reason
	close(x.advanced)
	x.advanced = make(chan struct{})
}

// awaitSchemaChange blocks until the schema changes (or ctx ends).
func (x *Index) awaitSchemaChange(ctx context.Context) error {
	head, err := x.src.HeadToken(ctx)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for resp, err := range spice.Watch(wctx, x.src.Watch(), &v1.WatchRequest{
		OptionalStartCursor: head,
		OptionalUpdateKinds: []v1.WatchKind{v1.WatchKind_WATCH_KIND_INCLUDE_SCHEMA_UPDATES},
		// A type no schema defines: no relationship comes through, only schema changes.
		OptionalObjectTypes: []string{"accessgraph_reach/none"},
	}) {
		if err != nil {
			return err
		}
		if resp.GetSchemaUpdated() {
			return nil
		}
	}
	return spice.ErrChangeStreamEnded
}

// sortedKeys returns the keys of set, sorted.
func sortedKeys(set map[string]struct{}) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
