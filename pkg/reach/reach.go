// Package reach answers which cases a person can view, and which a super customer reads
// through nested groups, and whether a person can view one case, from an index of the
// cases' relationships kept up to date from SpiceDB's change stream, instead of one SpiceDB
// lookup over every case or a check that walks every branch of case#view. What is not a
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
	// anchorDeps holds, for each relation SpiceDB's part of an answer reads, the anchors
	// that read it (nil: unknown, every change counts for every anchor). anchorsAt holds,
	// by anchor, the newest revision at or before at that changed a relation the anchor
	// reads. SpiceDB answers an anchor at its anchorsAt, the same answer as at at, so its
	// caches serve the anchor across revisions that changed nothing it reads: a change to
	// an account's admins leaves the products' and partner levels' answers cached.
	anchorDeps map[string]anchorSet
	anchorsAt  [anchorCount]*v1.ZedToken
	anchorsSet [anchorCount]time.Time // when each last moved; zero after a load
	// answers are SpiceDB's answers to checks' questions, by anchor, at its anchorsAt,
	// emptied whenever that moves; under their own lock, since questions are answered under
	// the read lock.
	answers [anchorCount]answerMemo
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

// Supports reports whether Cases and Check answer permission on case.
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

// ErrCycle is the ErrUnanswered of a user whose groups reach a cycle of nesting, and of
// every check while group nesting holds a cycle anywhere.
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
	var ids []string
	at, err := x.atHead(ctx, func() (*v1.ZedToken, error) {
		found, at, err := x.answerLocked(ctx, l, user)
		ids = sortedKeys(found)
		return at, err
	})
	if err != nil {
		return nil, nil, err
	}
	return ids, at, nil
}

// Check reports whether user holds permission (one Supports lists) on case caseID, and
// the revision it was read at, which contains every write committed before the call. The
// case's own relationships are the index's; when they do not decide, SpiceDB is asked
// what lies beyond the case (the case's accounts, product and item) in one check, its
// answers reused at the same revision (askAnchors). Errors as for Cases.
func (x *Index) Check(ctx context.Context, permission, user, caseID string) (bool, *v1.ZedToken, error) {
	allowed, at, err := x.check(ctx, permission, user, caseID)
	if err != nil {
		x.declined.Add(1)
	} else {
		x.answered.Add(1)
	}
	return allowed, at, err
}

func (x *Index) check(ctx context.Context, permission, user, caseID string) (bool, *v1.ZedToken, error) {
	l, ok := listings[permission]
	if !ok {
		return false, nil, fmt.Errorf("%w: case#%s is not indexed", ErrUnanswered, permission)
	}
	var allowed bool
	at, err := x.atHead(ctx, func() (*v1.ZedToken, error) {
		granted, asks, cyclic := x.state.caseCheck(user, caseID, l)
		if cyclic {
			return nil, fmt.Errorf("%w (user %s, or group nesting elsewhere, which a check can meet)", ErrCycle, user)
		}
		if !granted && len(asks) > 0 {
			var err error
			if granted, err = x.askAnchors(ctx, user, asks); err != nil {
				return nil, err
			}
		}
		allowed = granted
		return x.at, nil
	})
	return allowed, at, err
}

// atHead runs answer under the read lock once the index holds a revision that contains
// the datastore's head as of the call, so the index stays at the revision SpiceDB's part
// of the answer is read at. It returns ErrUnanswered when the index is not answering, or
// is behind for longer than its wait.
func (x *Index) atHead(ctx context.Context, answer func() (*v1.ZedToken, error)) (*v1.ZedToken, error) {
	head, err := x.src.HeadToken(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: reading the head revision: %w", ErrUnanswered, err)
	}
	var timer *time.Timer // started at the first wait: most questions find the index current
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		x.mu.RLock()
		if x.state == nil {
			reason := x.reason
			x.mu.RUnlock()
			return nil, fmt.Errorf("%w: %s", ErrUnanswered, reason)
		}
		covers, known := x.src.Covers(x.at, head)
		if !known {
			x.mu.RUnlock()
			return nil, fmt.Errorf("%w: revisions cannot be ordered", ErrUnanswered)
		}
		if covers {
			at, err := answer()
			x.mu.RUnlock()
			return at, err
		}
		advanced := x.advanced
		x.mu.RUnlock()
		if timer == nil {
			timer = time.NewTimer(x.maxWait)
		}
		select {
		case <-advanced:
		case <-timer.C:
			return nil, fmt.Errorf("%w: the change stream is more than %s behind", ErrUnanswered, x.maxWait)
		case <-ctx.Done():
			return nil, ctx.Err()
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

// viewAnchors asks SpiceDB for what case#view reads beyond the cases' own relationships,
// each anchor at its own dated revision (anchorsAt), in parallel; x.mu is read-locked.
// Lookups whose answer cannot add a case are skipped: partner levels for a user who is
// nobody's partner contact, products when no case names one.
func (x *Index) viewAnchors(ctx context.Context, user string) (viewAnchors, error) {
	g := x.state
	var a viewAnchors
	lookups := []anchor{viewAllCases}
	if len(g.edges["case#sold_product"]) > 0 {
		lookups = append(lookups, soldProductReader)
	}
	if len(g.edges["case#install_base"]) > 0 {
		lookups = append(lookups, installBaseReader)
	}
	if len(g.edges["case#partner_contact"][user]) > 0 {
		lookups = append(lookups, partnerAny)
	}
	if len(g.edges["case#primary_partner_contact"][user]) > 0 {
		lookups = append(lookups, partnerUpdate)
	}
	errs := make([]error, len(lookups))
	var wg sync.WaitGroup
	for i, l := range lookups {
		wg.Go(func() {
			errs[i] = x.atAnchorsRevision(ctx, x.anchorsAt[l], func(at *v1.ZedToken) (err error) {
				a[l], err = x.lookupAt(ctx, at, l.resourceType(), l.permission(), user)
				return err
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		if ctx.Err() != nil {
			return viewAnchors{}, ctx.Err()
		}
		return viewAnchors{}, fmt.Errorf("%w: %w", ErrUnanswered, err)
	}
	return a, nil
}

// anchorsRevision is the revision to ask SpiceDB about the anchors in s in one request:
// the newest of their anchorsAt, at which each answers as at its own (nothing it reads
// changed between them), or the index's own when they cannot be ordered; x.mu is
// read-locked.
func (x *Index) anchorsRevision(s anchorSet) *v1.ZedToken {
	var at *v1.ZedToken
	for a := range anchorCount {
		if !s.has(a) {
			continue
		}
		if at == nil {
			at = x.anchorsAt[a]
			continue
		}
		covers, known := x.src.Covers(at, x.anchorsAt[a])
		if !known {
			return x.at
		}
		if !covers {
			at = x.anchorsAt[a]
		}
	}
	if at == nil {
		return x.at
	}
	return at
}

// atAnchorsRevision calls ask at revision at, a dated revision of SpiceDB's part of an
// answer; x.mu is read-locked. When SpiceDB has discarded that revision (nothing it reads
// changed for longer than the datastore keeps history, and no write since moved the index)
// it asks again at the index's own revision, the head. ctx's error wins.
func (x *Index) atAnchorsRevision(ctx context.Context, at *v1.ZedToken, ask func(at *v1.ZedToken) error) error {
	err := ask(at)
	if err != nil && spice.IsStaleRevision(err) && ctx.Err() == nil {
		err = ask(x.at)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
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

// askAnchors reports whether user holds any of asks, SpiceDB's answers at their anchors'
// dated revisions (anchorsRevision, or the index's own when SpiceDB has discarded it); x.mu
// is read-locked. Answers already given since an anchor's revision last moved are reused;
// the others are asked in one check when there is one (most cases name one account and
// nothing else), else one bulk check. A conditional answer or an item's error is
// ErrUnanswered.
func (x *Index) askAnchors(ctx context.Context, user string, asks []anchorAsk) (bool, error) {
	var unknown []anchorAsk
	for _, a := range asks {
		allowed, known := x.answers[a.anchor].get(user, a)
		if known && allowed {
			return true, nil
		}
		if !known {
			unknown = append(unknown, a)
		}
	}
	if len(unknown) == 0 {
		return false, nil
	}
	allowed, err := x.askSpiceDB(ctx, user, unknown)
	if err != nil {
		if ctx.Err() != nil {
			return false, err
		}
		return false, fmt.Errorf("%w: %w", ErrUnanswered, err)
	}
	any := false
	for i, a := range unknown {
		x.answers[a.anchor].put(user, a, allowed[i])
		any = any || allowed[i]
	}
	return any, nil
}

// askSpiceDB asks SpiceDB whether user holds each of asks, at their anchors' revision;
// x.mu is read-locked. A conditional answer or an item's error is an error.
func (x *Index) askSpiceDB(ctx context.Context, user string, asks []anchorAsk) ([]bool, error) {
	subject := &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: user}}
	perms := make([]v1.CheckPermissionResponse_Permissionship, len(asks))
	errs := make([]string, len(asks))
	var anchors anchorSet
	for _, a := range asks {
		anchors |= 1 << a.anchor
	}
	err := x.atAnchorsRevision(ctx, x.anchorsRevision(anchors), func(at *v1.ZedToken) error {
		if len(asks) == 1 {
			// Cheaper than a bulk check of one item.
			a := asks[0]
			resp, err := x.src.Permissions().CheckPermission(ctx, &v1.CheckPermissionRequest{
				Consistency: spice.AtExactSnapshot(at.GetToken()),
				Resource:    &v1.ObjectReference{ObjectType: a.anchor.resourceType(), ObjectId: a.id}, Permission: a.anchor.permission(), Subject: subject,
			})
			perms[0] = resp.GetPermissionship()
			return err
		}
		items := make([]*v1.CheckBulkPermissionsRequestItem, len(asks))
		for i, a := range asks {
			items[i] = &v1.CheckBulkPermissionsRequestItem{
				Resource: &v1.ObjectReference{ObjectType: a.anchor.resourceType(), ObjectId: a.id}, Permission: a.anchor.permission(), Subject: subject,
			}
		}
		resp, err := x.src.Permissions().CheckBulkPermissions(ctx, &v1.CheckBulkPermissionsRequest{
			Consistency: spice.AtExactSnapshot(at.GetToken()), Items: items,
		})
		if err != nil {
			return err
		}
		if len(resp.GetPairs()) != len(items) {
			return fmt.Errorf("SpiceDB answered %d of %d checks", len(resp.GetPairs()), len(items))
		}
		for i, pair := range resp.GetPairs() {
			perms[i], errs[i] = pair.GetItem().GetPermissionship(), pair.GetError().GetMessage()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("checking what lies beyond the case for user:%s: %w", user, err)
	}
	allowed := make([]bool, len(asks))
	for i, a := range asks {
		switch {
		case errs[i] != "":
			return nil, fmt.Errorf("checking %s:%s#%s of user:%s: %s", a.anchor.resourceType(), a.id, a.anchor.permission(), user, errs[i])
		case perms[i] == v1.CheckPermissionResponse_PERMISSIONSHIP_CONDITIONAL_PERMISSION:
			return nil, fmt.Errorf("%s:%s#%s of user:%s is conditional", a.anchor.resourceType(), a.id, a.anchor.permission(), user)
		}
		allowed[i] = perms[i] == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION
	}
	return allowed, nil
}

// answerMemo holds SpiceDB's answers to checks' questions at one revision of the lookups.
// An answer is reused for at most answerTTL, so that even a grant whose expiry reached no
// write (the expiry reaper removes grants before they lapse) is not honoured longer than
// SpiceDB's own caches would.
type answerMemo struct {
	mu sync.Mutex
	m  map[memoKey]memoAnswer
}

type memoKey struct {
	ask  anchorAsk
	user string
}

type memoAnswer struct {
	allowed bool
	at      time.Time
}

const (
	answerTTL     = time.Second
	answerMemoCap = 1 << 16 // answers held; emptied when full
)

func (m *answerMemo) get(user string, a anchorAsk) (allowed, known bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	got, ok := m.m[memoKey{a, user}]
	if !ok || time.Since(got.at) >= answerTTL {
		return false, false
	}
	return got.allowed, true
}

func (m *answerMemo) put(user string, a anchorAsk, allowed bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil || len(m.m) >= answerMemoCap {
		m.m = make(map[memoKey]memoAnswer)
	}
	m.m[memoKey{a, user}] = memoAnswer{allowed: allowed, at: time.Now()}
}

func (m *answerMemo) clear() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m = nil
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
	g.settle()
	x.mu.Lock()
	// Read only once the state is set below.
	x.anchorDeps = deps
	for a := range anchorCount {
		x.anchorsAt[a], x.anchorsSet[a] = head, time.Time{}
		x.answers[a].clear()
	}
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
	var changed anchorSet
	if x.anchorDeps == nil {
		changed = everyAnchor
	}
	for _, u := range updates {
		rel := u.GetRelationship()
		key := rel.GetResource().GetObjectType() + "#" + rel.GetRelation()
		changed |= x.anchorDeps[key]
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
	x.state.settle()
	if through.GetToken() != "" {
		// Moved at least every anchorsRefresh, so it stays well inside the history the
		// datastore keeps while writes go on.
		now := time.Now()
		for a := range anchorCount {
			if changed.has(a) || now.Sub(x.anchorsSet[a]) >= anchorsRefresh {
				x.anchorsAt[a], x.anchorsSet[a] = through, now
				x.answers[a].clear()
			}
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
	x.state, x.at, x.reason = nil, nil, reason
	for a := range anchorCount {
		x.anchorsAt[a] = nil
		x.answers[a].clear()
	}
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
