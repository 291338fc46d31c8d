package audit

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/auditlog"
	"github.com/accessgraph/accessgraph/pkg/principal/keys"
	"github.com/accessgraph/accessgraph/pkg/ref"
	"github.com/accessgraph/accessgraph/pkg/reltext"
	"github.com/accessgraph/accessgraph/pkg/spice"
	"github.com/accessgraph/accessgraph/schema"
)

// HistoryFilter selects changes. The zero value selects every change the datastore holds.
type HistoryFilter struct {
	// Object keeps the relationships whose resource or subject is this object (a change
	// touching it keeps only those relationships). Zero keeps everything.
	Object ref.Object
	// Actor keeps the changes made by this actor: "user:bill", "bill" (a user) or
	// "system:expiry" (the expiry sweep). Empty keeps everyone's.
	Actor string
	// Principal keeps the changes the server recorded as made by this authenticated
	// principal, KIND:NAME (for example "operator:ops-alice"). Empty keeps everyone's.
	Principal string
	// Since starts after the change that returned this token. Empty starts at the oldest
	// change the datastore still holds, which only the memory datastore can name; other
	// datastores need a token.
	Since access.Token
	// Operation keeps the changes of one domain operation ("partner.grant",
	// "member.approve", "expiry.sweep"...). Empty keeps every operation.
	Operation string
	// From and To keep the changes whose Time is at or after From and before To; zero
	// bounds nothing.
	From, To time.Time
	// Account keeps what touched an account's access: relationships on the account and on
	// the objects it owns (partner links, custom-role bindings, cases, sold products and
	// install base items), by every ownership link the history holds, whatever its order.
	// Not with Object; History only (Follow refuses it).
	Account ref.Object
}

// keepsWhole reports whether a change passes the filter's operation and time range.
func (f HistoryFilter) keepsWhole(c Change) bool {
	if f.Operation != "" && c.Operation != f.Operation {
		return false
	}
	if !f.From.IsZero() && c.Time.Before(f.From) {
		return false
	}
	if !f.To.IsZero() && !c.Time.Before(f.To) {
		return false
	}
	return true
}

// Change is one write transaction: who, when, why, and the relationships it touched.
type Change struct {
	// Revision is the change's revision token: pass it as HistoryFilter.Since to resume.
	Revision access.Token
	// Time is when the change committed when the revision says so (memory, CockroachDB and
	// PostgreSQL revisions do), else when this process received it; TimeFromRevision says which.
	Time             time.Time
	TimeFromRevision bool
	// Actor, Reason and Operation are the transaction metadata the domain layer writes
	// ("user:bill", "known contact", "member.approve"); empty when a write carried none.
	Actor     string
	Reason    string
	Operation string
	// Principal is the authenticated principal the server recorded as making the change,
	// KIND:NAME; empty for changes made by the server itself (expiry sweep, start-up) or
	// recorded before the server proved identity.
	Principal string
	// ClaimedActor is an actor a raw write claimed: the server keeps it only as a claim,
	// never as Actor.
	ClaimedActor string
	// Metadata is all of the transaction metadata.
	Metadata map[string]any
	// Updates are the relationships written or deleted, after the object filter.
	Updates []Update
	// ChainPosition and ChainHash place a change read from the durable audit log in its
	// hash chain (see auditlog.Verify); zero for the change stream.
	ChainPosition int64
	ChainHash     string
}

// Update is one relationship written or deleted.
type Update struct {
	// Operation is "create", "touch" or "delete".
	Operation    string
	Relationship string // resource#relation@subject
	Resource     ref.Object
	Relation     string
	Subject      ref.Subject
	// ExpiresAt is the relationship's expiry, or zero.
	ExpiresAt time.Time
}

// History streams the changes after filter.Since (or from the oldest change held) up to the
// newest change at the time of the call, oldest first, then ends.
//
// History comes from SpiceDB's Watch API and is bounded by what the datastore keeps: the
// memory datastore keeps changes for the life of the process (within its garbage-collection
// window), PostgreSQL and CockroachDB for their GC window (24 hours by default in SpiceDB,
// CockroachDB's gc.ttlseconds). An Auditor built WithDurableLog reads the durable audit log
// first and the change stream after it, so its history reaches back to the log's start.
func (a *Auditor) History(ctx context.Context, filter HistoryFilter) iter.Seq2[Change, error] {
	if !filter.Account.IsZero() {
		var seed iter.Seq2[Update, error]
		if a.log != nil {
			seed = baseUpdates(ctx, a.log.store)
		}
		return scopeToAccount(filter, a.log != nil, seed, func(f HistoryFilter) iter.Seq2[Change, error] { return a.History(ctx, f) })
	}
	if a.log != nil {
		return a.durable(ctx, filter, false)
	}
	return a.watch(ctx, filter, false)
}

// Follow streams changes after filter.Since (or from now) as they happen, until ctx is
// cancelled, which ends the stream without an error.
func (a *Auditor) Follow(ctx context.Context, filter HistoryFilter) iter.Seq2[Change, error] {
	if !filter.Account.IsZero() {
		return errorSeq(errFollowAccount)
	}
	if a.log != nil && filter.Since != "" {
		return a.durable(ctx, filter, true)
	}
	return a.watch(ctx, filter, true)
}

// headToken is the newest revision: everything committed so far.
func (a *Auditor) headToken(ctx context.Context) (string, error) {
	resp, err := a.engine.Permissions().ExpandPermissionTree(ctx, &v1.ExpandPermissionTreeRequest{
		Consistency: spice.FullyConsistent(),
		Resource:    objectRef(access.Platform), Permission: "administrator",
	})
	if err != nil {
		return "", engineError("reading the newest revision", err)
	}
	return resp.GetExpandedAt().GetToken(), nil
}

func (a *Auditor) watch(ctx context.Context, filter HistoryFilter, follow bool) iter.Seq2[Change, error] {
	return func(yield func(Change, error) bool) {
		_, actor, err := validateHistoryFilter(filter)
		if err != nil {
			yield(Change{}, err)
			return
		}
		head, err := a.headToken(ctx)
		if err != nil {
			yield(Change{}, err)
			return
		}
		start := string(filter.Since)
		switch {
		case start == "" && follow:
			start = head
		case start == "":
			origin, ok := originToken(head)
			if !ok {
				yield(Change{}, fmt.Errorf("%w: this datastore cannot name its oldest change: give a start token (HistoryFilter.Since)", access.ErrInvalidArgument))
				return
			}
			start = origin
		}
		if !follow {
			if c, ok := compareTokens(start, head); ok && c >= 0 {
				return // nothing after the start
			}
		}
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream, err := a.engine.Watch().Watch(wctx, &v1.WatchRequest{
			OptionalStartCursor: &v1.ZedToken{Token: start},
			OptionalUpdateKinds: []v1.WatchKind{v1.WatchKind_WATCH_KIND_INCLUDE_RELATIONSHIP_UPDATES, v1.WatchKind_WATCH_KIND_INCLUDE_CHECKPOINTS},
		})
		if err != nil {
			yield(Change{}, engineError("watching changes", err))
			return
		}
		type received struct {
			resp *v1.WatchResponse
			at   time.Time
			err  error
		}
		ch := make(chan received)
		go func() {
			for {
				resp, err := stream.Recv()
				select {
				case ch <- received{resp, time.Now(), err}:
				case <-wctx.Done():
					return
				}
				if err != nil {
					return
				}
			}
		}()
		_, ordered := compareTokens(head, head)
		for {
			var idle <-chan time.Time
			if !follow && !ordered {
				idle = time.After(a.idleTimeout)
			}
			var got received
			select {
			case got = <-ch:
			case <-idle:
				return // caught up, as far as an unordered datastore can tell
			case <-ctx.Done():
				if !follow {
					yield(Change{}, ctx.Err())
				}
				return
			}
			if got.err != nil {
				if follow && (ctx.Err() != nil || status.Code(got.err) == codes.Canceled || errors.Is(got.err, context.Canceled)) {
					return
				}
				yield(Change{}, engineError("watching changes", got.err))
				return
			}
			resp := got.resp
			if len(resp.GetUpdates()) > 0 {
				c := toChange(resp, got.at)
				if filter.keepsWhole(c) && keepChange(&c, filter.Object, actor, filter.Principal, filter.Operation != "") && !yield(c, nil) {
					return
				}
			}
			if !follow {
				if c, ok := compareTokens(resp.GetChangesThrough().GetToken(), head); ok && c >= 0 {
					return
				}
			}
		}
	}
}

func toChange(resp *v1.WatchResponse, received time.Time) Change {
	c := Change{Revision: access.Token(resp.GetChangesThrough().GetToken()), Time: received}
	if t, ok := tokenTime(string(c.Revision)); ok {
		c.Time, c.TimeFromRevision = t, true
	}
	if md := resp.GetOptionalTransactionMetadata(); md != nil {
		c.Metadata = md.AsMap()
		change := spice.ChangeFromMetadata(c.Metadata)
		c.Actor, c.Reason, c.Operation, c.Principal = change.Actor, change.Reason, change.Operation, change.Principal
		c.ClaimedActor, _ = c.Metadata[spice.KeyClaimedActor].(string)
	}
	for _, u := range resp.GetUpdates() {
		rel := u.GetRelationship()
		up := Update{
			Operation:    strings.ToLower(strings.TrimPrefix(u.GetOperation().String(), "OPERATION_")),
			Relationship: reltext.FormatKey(rel),
			Resource:     fromObjectRef(rel.GetResource()),
			Relation:     rel.GetRelation(),
			Subject:      fromSubjectRef(rel.GetSubject()),
		}
		if exp := rel.GetOptionalExpiresAt(); exp != nil {
			up.ExpiresAt = exp.AsTime().UTC()
		}
		c.Updates = append(c.Updates, up)
	}
	// SpiceDB does not promise an order within a transaction; sort for stable output.
	slices.SortStableFunc(c.Updates, func(x, y Update) int {
		return cmp.Or(strings.Compare(x.Relationship, y.Relationship), strings.Compare(x.Operation, y.Operation))
	})
	return c
}

// keepChange applies the filter, narrowing the updates to those touching the object.
// The relationships of the server's key registry (its internal accessgraph_server
// definitions) are never shown: they name key hashes, and accessctl key list shows the
// keys. A registry change itself is on the record: history asked for its operation
// (key.create, key.rotate, key.revoke: keyOperationAsked) lists it with the principal who
// made it and the reason naming the principal whose key it was. Other views leave it out, so
// that the access model's history is not interleaved with the key set at every start-up.
func keepChange(c *Change, object ref.Object, actor, principal string, keyOperationAsked bool) bool {
	if actor != "" && c.Actor != actor {
		return false
	}
	if principal != "" && c.Principal != principal {
		return false
	}
	if slices.Contains(keys.Operations, c.Operation) {
		c.Updates = nil
		return keyOperationAsked && object.IsZero()
	}
	var kept []Update
	for _, u := range c.Updates {
		if strings.HasPrefix(u.Resource.Type, schema.ServerPrefix) || strings.HasPrefix(u.Subject.Object.Type, schema.ServerPrefix) {
			continue
		}
		if object.IsZero() || u.Resource == object || u.Subject.Object == object {
			kept = append(kept, u)
		}
	}
	c.Updates = kept
	// A prune by the retention policy changes no relationship but is on the record.
	return len(kept) > 0 || object.IsZero() && c.Operation == auditlog.PruneOperation
}
