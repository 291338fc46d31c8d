// Package reach answers which cases a person can view, and which a super customer reads
// through nested groups, from an index of the cases' relationships kept up to date from
// SpiceDB's change stream, instead of one SpiceDB lookup over every case. What is not a
// case's own relationship (the accounts whose cases a person views, the products and items
// whose cases they read, partner levels) is asked of SpiceDB at the index's revision. An
// answer is SpiceDB's answer at that revision, and the revision contains every write
// committed before the question was asked; when the index cannot promise that, it says so
// and the caller asks SpiceDB.
package reach

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
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

// The relationships the index holds: the case's own relationships case#view reads, and
// the groups case#group_view walks (see shape.go).
var watched = watchedRelations()

func watchedRelations() []*v1.RelationshipFilter {
	keys := append(slices.Sorted(maps.Keys(edgeRelations)), "case#open")
	out := make([]*v1.RelationshipFilter, 0, len(keys))
	for _, key := range keys {
		typ, relation, _ := strings.Cut(key, "#")
		out = append(out, &v1.RelationshipFilter{ResourceType: typ, OptionalRelation: relation})
	}
	return out
}

// anchorsRefresh bounds how long a view listing's SpiceDB lookups keep being made at the
// same revision while other writes go on: one cache miss a minute, against a datastore
// history of hours.
const anchorsRefresh = time.Minute

// DefaultMaxWait is how long a question waits for the index to reach the datastore's head
// before the caller is told to ask SpiceDB. The change stream is usually a millisecond
// behind; a long wait means a large import is being applied.
const DefaultMaxWait = 250 * time.Millisecond

// Index is the derived reachability of case#view and case#group_view. It is safe for concurrent use;
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
	// anchorDeps are the relations SpiceDB's part of a view listing reads (nil: unknown,
	// every change counts); anchorsAt is the newest revision at or before at that changed
	// one of them. SpiceDB answers that part at anchorsAt, the same answer as at at, so
	// its caches serve it across revisions that changed nothing it reads.
	anchorDeps map[string]bool
	anchorsAt  *v1.ZedToken
	anchorsSet time.Time // when anchorsAt last moved; zero after a load
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
			return fmt.Errorf("waiting for the case reachability index (%s): %w", cmp.Or(reason, "behind the head"), ctx.Err())
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
	_, ok := listings[permission]
	return ok
}

// listing is a case permission the index answers.
type listing struct {
	view   bool // case#view and its status filters; otherwise case#group_view's
	status caseStatus
}

var listings = map[string]listing{
	"view":              {view: true, status: anyStatus},
	"view_open":         {view: true, status: openOnly},
	"view_closed":       {view: true, status: closedOnly},
	"group_view":        {status: anyStatus},
	"group_view_open":   {status: openOnly},
	"group_view_closed": {status: closedOnly},
}

// ErrUnanswered is returned when the index cannot answer as fresh as the datastore's head
// within its wait: the caller asks SpiceDB.
var ErrUnanswered = errors.New("the case reachability index cannot answer now")

// ErrCycle is the ErrUnanswered of a user whose groups reach a cycle of nesting.
var ErrCycle = fmt.Errorf("%w: the groups below those the user reads contain a cycle", ErrUnanswered)

// Cases returns the ids of the cases user holds permission on (view, view_open,
// view_closed, group_view, group_view_open or group_view_closed), sorted, and the revision
// they were read at, which contains every write committed before the call. It returns
// ErrUnanswered (wrapped, with the reason) when the index is loading, stopped, behind for
// longer than its wait, the groups the user reads form a cycle, or SpiceDB's part of a
// view listing is conditional or fails.
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
	l, ok := listings[permission]
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
			// Answered under the read lock, so the index stays at the revision SpiceDB's
			// part of the answer is read at.
			found, at, err := x.answerLocked(ctx, l, user)
			x.mu.RUnlock()
			if err != nil {
				return nil, nil, err
			}
			return sortedKeys(found), at, nil
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

// answerLocked answers a listing at the index's revision; x.mu is read-locked.
func (x *Index) answerLocked(ctx context.Context, l listing, user string) (set, *v1.ZedToken, error) {
	found := set{}
	if !l.view {
		if x.state.groupCases(user, l.status, found) {
			return nil, nil, fmt.Errorf("%w (user %s)", ErrCycle, user)
		}
		return found, x.at, nil
	}
	anchors, err := x.viewAnchors(ctx, user)
	if err != nil {
		return nil, nil, err
	}
	if x.state.visibleCases(user, anchors, l.status, found) {
		return nil, nil, fmt.Errorf("%w (user %s)", ErrCycle, user)
	}
	return found, x.at, nil
}

// viewAnchors asks SpiceDB, at the index's revision, for what case#view reads beyond the
// cases' own relationships; x.mu is read-locked. Lookups whose answer cannot add a case are
// skipped: partner levels for a user who is nobody's partner contact, products when no case
// names one.
func (x *Index) viewAnchors(ctx context.Context, user string) (viewAnchors, error) {
	g := x.state
	var a viewAnchors
	type lookup struct {
		resourceType, permission string
		into                     *set
	}
	lookups := []lookup{{"account", "view_all_cases", &a.viewAllAccounts}}
	if len(g.edges["case#sold_product"]) > 0 {
		lookups = append(lookups, lookup{"sold_product", "case_reader", &a.soldProducts})
	}
	if len(g.edges["case#install_base"]) > 0 {
		lookups = append(lookups, lookup{"install_base", "case_reader", &a.installBases})
	}
	if len(g.edges["case#partner_contact"][user]) > 0 {
		lookups = append(lookups, lookup{"account", "partner_any", &a.partnerAnyAccounts})
	}
	if len(g.edges["case#primary_partner_contact"][user]) > 0 {
		lookups = append(lookups, lookup{"account", "partner_update", &a.partnerUpdateAccounts})
	}
	run := func(at *v1.ZedToken) error {
		errs := make([]error, len(lookups))
		var wg sync.WaitGroup
		for i, l := range lookups {
			wg.Go(func() { *l.into, errs[i] = x.lookupAt(ctx, at, l.resourceType, l.permission, user) })
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	err := run(x.anchorsAt)
	if err != nil && spice.IsStaleRevision(err) && ctx.Err() == nil {
		// Nothing they read changed for longer than the datastore keeps history, and no
		// write since moved the index: ask at the index's own revision, the head.
		err = run(x.at)
	}
	if ctx.Err() != nil {
		return viewAnchors{}, ctx.Err()
	}
	if err != nil {
		return viewAnchors{}, fmt.Errorf("%w: %w", ErrUnanswered, err)
	}
	return a, nil
}

// lookupAt is SpiceDB's LookupResources at exactly revision at, which answers as the
// index's revision does; x.mu is read-locked. A conditional answer is an error: the index
// answers only what is certain.
func (x *Index) lookupAt(ctx context.Context, at *v1.ZedToken, resourceType, permission, user string) (set, error) {
	out := set{}
	for resp, err := range spice.LookupResources(ctx, x.src.Permissions(), &v1.LookupResourcesRequest{
		Consistency:        spice.AtExactSnapshot(at.GetToken()),
		ResourceObjectType: resourceType,
		Permission:         permission,
		Subject:            &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: user}},
	}) {
		if err != nil {
			return nil, fmt.Errorf("looking up %s#%s of user:%s: %w", resourceType, permission, user, err)
		}
		if resp.GetPermissionship() != v1.LookupPermissionship_LOOKUP_PERMISSIONSHIP_HAS_PERMISSION {
			return nil, fmt.Errorf("%s:%s#%s of user:%s is conditional", resourceType, resp.GetResourceObjectId(), permission, user)
		}
		out[resp.GetResourceObjectId()] = struct{}{}
	}
	return out, nil
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
			x.log.Info("case reachability index off; listings ask SpiceDB", zap.Error(err))
			if werr := x.awaitSchemaChange(ctx); werr != nil && ctx.Err() == nil {
				x.log.Warn("case reachability index: watching for schema changes", zap.Error(werr))
				sleep(ctx, backoff)
			}
			continue
		}
		x.log.Warn("case reachability index interrupted; reloading", zap.Error(err), zap.Duration("after", backoff))
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
	deps, err := anchorDependencies(current.GetSchemaText())
	if err != nil {
		x.log.Info("case reachability index: every change counts for view listings", zap.Error(err))
		deps = nil
	}
	filters := slices.Clone(watched)
	if deps != nil {
		for _, key := range slices.Sorted(maps.Keys(deps)) {
			if _, held := edgeRelations[key]; held || key == "case#open" {
				continue
			}
			typ, relation, _ := strings.Cut(key, "#")
			filters = append(filters, &v1.RelationshipFilter{ResourceType: typ, OptionalRelation: relation})
		}
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
	x.mu.Lock()
	x.anchorDeps, x.anchorsAt, x.anchorsSet = deps, head, time.Time{} // read only once the state is set below
	x.mu.Unlock()
	x.setState(g, head, "")
	x.mu.Lock()
	x.stats.Loads++
	x.stats.LastLoad = time.Since(started)
	x.mu.Unlock()
	x.log.Debug("case reachability index loaded", zap.Int("relationships", g.size), zap.Duration("took", time.Since(started)))
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for resp, err := range spice.Watch(wctx, x.src.Watch(), &v1.WatchRequest{
		OptionalStartCursor:         head,
		OptionalRelationshipFilters: filters,
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
	anchorsChanged := x.anchorDeps == nil
	for _, u := range updates {
		rel := u.GetRelationship()
		key := rel.GetResource().GetObjectType() + "#" + rel.GetRelation()
		if x.anchorDeps[key] {
			anchorsChanged = true
		}
		if _, held := edgeRelations[key]; !held && key != "case#open" {
			continue // read by SpiceDB's part of a view listing only
		}
		var err error
		switch u.GetOperation() {
		case v1.RelationshipUpdate_OPERATION_CREATE, v1.RelationshipUpdate_OPERATION_TOUCH:
			err = x.state.apply(rel, true)
		case v1.RelationshipUpdate_OPERATION_DELETE:
			err = x.state.apply(rel, false)
		default:
			err = fmt.Errorf("unknown change operation %v", u.GetOperation())
		}
		if err != nil {
			x.stopAnsweringLocked(err.Error())
			return err
		}
	}
	if through.GetToken() != "" {
		// Moved at least every anchorsRefresh, so it stays well inside the history the
		// datastore keeps while writes go on.
		if anchorsChanged || time.Since(x.anchorsSet) >= anchorsRefresh {
			x.anchorsAt, x.anchorsSet = through, time.Now()
		}
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
	x.state, x.at, x.anchorsAt, x.reason = nil, nil, nil, reason
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
