package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/auditlog"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/reltext"
	"github.com/accessgraph/accessgraph/pkg/spice"
)

// The durable log claims to record every change to the relationships. VerifyState checks
// that claim: it replays the whole log into the relationships it implies and compares them
// with the ones the datastore holds at the revision of the log's head, read at exactly that
// snapshot, so a consumer still catching up is no difference. When the datastore no longer
// keeps that revision (older than its garbage-collection window: the log recorded nothing
// since), the current revision is read instead; a difference there is a change after the
// head that the log did not record, or one the consumer has yet to record, so it waits
// briefly for the log to move and compares again at its new head.
//
// Expiry: a read does not return a relationship whose expiry has passed, and the log keeps
// it until the expiry sweep's deletion is recorded. Only relationships unexpired a margin
// after the read finished are compared, on both sides; one held on both sides with
// different expiries is a difference, as is one held unexpired on one side only.
//
// The log knows nothing of relationships written before it began. VerifyState reads the
// datastore at the log's start revision: relationships stored then make the comparison
// impossible, and it says so. When that revision is too old to read, relationships no entry
// mentions may predate the log: they are counted in the note, not reported as differences.
//
// The server's key registry (definitions named with schema.ServerPrefix) is left out on
// both sides.

// expiryMargin is how far past the read an expiry must lie for the relationship to be
// compared: the datastore's clock may run ahead of this one.
const expiryMargin = 2 * time.Second

// stateCatchUp is how long VerifyState waits for the log to record changes it has not yet
// when it compares at the current revision.
const stateCatchUp = 2 * time.Second

// VerifyState compares the relationships the durable log l implies with the ones e's
// datastore holds, and records the outcome in v: StateChecked and StateNote, and a Problem
// for each of the first auditlog.MaxStateProblems differences (StateDifferences counts
// them all). v.Head is the chain's head as Verify read it. It fails only when ctx ends; a
// comparison that could not be made is a note.
func VerifyState(ctx context.Context, e *engine.Engine, l auditlog.Log, v *auditlog.Verification) error {
	err := verifyState(ctx, e, l, v)
	if err != nil && ctx.Err() == nil {
		v.StateChecked, v.StateNote = false, "not compared with the stored relationships: "+err.Error()
		return nil
	}
	return err
}

func verifyState(ctx context.Context, e *engine.Engine, l auditlog.Log, v *auditlog.Verification) error {
	v.StateChecked, v.StateNote, v.StateDifferences = false, "", 0
	start, err := l.StartRevision(ctx)
	if err != nil {
		return err
	}
	startKnown := false
	if start != "" {
		first, readable, err := firstStoredAt(ctx, e, start)
		if err != nil {
			return err
		}
		if readable && first != "" {
			v.StateNote = fmt.Sprintf("not compared with the stored relationships: the log began (revision %s) when relationships were already stored, which no entry records (%s among them)", start, first)
			return nil
		}
		startKnown = readable
	}
	head := v.Head
	for attempt := 0; ; attempt++ {
		c, err := compareState(ctx, e, l, head, startKnown)
		if err != nil {
			return err
		}
		if c.atHead || len(c.diffs) == 0 || attempt == 2 {
			c.record(v, start)
			return nil
		}
		// Compared at the current revision with differences: the consumer may be behind.
		moved, err := waitForNewHead(ctx, l, head)
		if err != nil {
			return err
		}
		if moved.Revision == head.Revision {
			c.record(v, start)
			return nil
		}
		head = moved
	}
}

// comparison is one comparison of the log with the stored relationships.
type comparison struct {
	head       auditlog.Checkpoint // the log's head replayed through ("" revision: empty log)
	atHead     bool                // read at the head's own revision, else at readAt
	readAt     string
	stored     int // relationships compared on the stored side
	diffs      []auditlog.Problem
	unmatched  []string // stored relationships no entry mentions, when the log's start is unknown
	startKnown bool
}

func compareState(ctx context.Context, e *engine.Engine, l auditlog.Log, head auditlog.Checkpoint, startKnown bool) (*comparison, error) {
	c := &comparison{head: head, startKnown: startKnown}
	var stored map[string]*v1.Relationship
	var err error
	// A prune's entry changed no relationship and names no datastore revision: compare at
	// the current one.
	if head.Revision != "" && !auditlog.IsPruneRevision(head.Revision) {
		stored, err = readStored(ctx, e, spice.AtExactSnapshot(head.Revision))
		switch {
		case err == nil:
			c.atHead, c.readAt = true, head.Revision
		case !spice.IsStaleRevision(err):
			return nil, err
		}
	}
	if !c.atHead {
		if c.readAt, err = currentRevision(ctx, e); err != nil {
			return nil, err
		}
		if stored, err = readStored(ctx, e, spice.AtExactSnapshot(c.readAt)); err != nil {
			return nil, err
		}
	}
	cutoff := time.Now().Add(expiryMargin)
	logged := map[string]*loggedRelationship{}
	if head.Revision != "" {
		reached := false
		st, err := replayLog(ctx, l, func(en auditlog.Entry) (bool, error) {
			if reached {
				return false, nil
			}
			reached = en.Revision == head.Revision
			return true, nil
		})
		if err != nil {
			return nil, err
		}
		logged = st.Rels
	}
	keys := make([]string, 0, len(logged)+len(stored))
	for k := range logged {
		keys = append(keys, k)
	}
	for k := range stored {
		if _, ok := logged[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, key := range keys {
		lr, sr := logged[key], stored[key]
		storedExp := storedExpiry(sr)
		logLive := lr != nil && lr.liveAt(cutoff)
		storedLive := sr != nil && (storedExp == nil || storedExp.After(cutoff))
		if storedLive {
			c.stored++
		}
		switch {
		case logLive && storedLive && sameExpiry(lr.ExpiresAt, storedExp):
		case logLive && sr != nil:
			c.diffs = append(c.diffs, lr.problem(fmt.Sprintf("the log says relationship %s was written at entry %d %s, but it is stored %s", key, lr.Entry.Position, expiryPhrase(lr.ExpiresAt), expiryPhrase(storedExp))))
		case logLive:
			c.diffs = append(c.diffs, lr.problem(fmt.Sprintf("the log says relationship %s was written at entry %d and never deleted, but it is not stored", key, lr.Entry.Position)))
		case !storedLive:
		case lr == nil && !startKnown:
			c.unmatched = append(c.unmatched, key)
		case lr == nil:
			c.diffs = append(c.diffs, auditlog.Problem{Detail: fmt.Sprintf("relationship %s is stored but no log entry wrote it", key)})
		case lr.Deleted:
			c.diffs = append(c.diffs, lr.problem(fmt.Sprintf("relationship %s is stored, but the log says entry %d deleted it and no later entry wrote it", key, lr.Entry.Position)))
		default:
			c.diffs = append(c.diffs, lr.problem(fmt.Sprintf("relationship %s is stored %s, but the log says it was written at entry %d %s", key, expiryPhrase(storedExp), lr.Entry.Position, expiryPhrase(lr.ExpiresAt))))
		}
	}
	return c, nil
}

// record writes the comparison's outcome into v.
func (c *comparison) record(v *auditlog.Verification, start string) {
	v.StateChecked = true
	v.StateDifferences = len(c.diffs)
	for i, p := range c.diffs {
		if i == auditlog.MaxStateProblems {
			v.Problems = append(v.Problems, auditlog.Problem{Detail: fmt.Sprintf("and %d more relationships differ between the log and the stored relationships", len(c.diffs)-i)})
			break
		}
		v.Problems = append(v.Problems, p)
	}
	var where string
	switch {
	case c.atHead:
		where = fmt.Sprintf("at the log's head (entry %d, revision %s)", c.head.Position, c.readAt)
	case c.head.Revision == "":
		where = fmt.Sprintf("at the current revision %s (the log is empty)", c.readAt)
	default:
		where = fmt.Sprintf("at the current revision %s: the log's head (entry %d, revision %s) is older than the history the datastore keeps, so a change since then that the log did not record is a difference", c.readAt, c.head.Position, c.head.Revision)
	}
	outcome := "they match"
	if len(c.diffs) > 0 {
		outcome = fmt.Sprintf("%d differ", len(c.diffs))
	}
	v.StateNote = fmt.Sprintf("compared with the %d unexpired relationships stored %s: %s", c.stored, where, outcome)
	if len(c.unmatched) > 0 {
		v.StateNote += fmt.Sprintf("; %d stored relationships no entry mentions (%s first) are not counted as differences: they may predate the log, whose start (revision %s) is older than the history the datastore keeps", len(c.unmatched), c.unmatched[0], start)
	}
}

func (r *loggedRelationship) problem(detail string) auditlog.Problem {
	return auditlog.Problem{Position: r.Entry.Position, Seq: r.Entry.Seq, Revision: r.Entry.Revision, Detail: detail}
}

func storedExpiry(rel *v1.Relationship) *time.Time {
	if rel.GetOptionalExpiresAt() == nil {
		return nil
	}
	t := rel.GetOptionalExpiresAt().AsTime()
	return &t
}

// sameExpiry compares two expiries to the microsecond (what SQL datastores keep).
func sameExpiry(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Truncate(time.Microsecond).Equal(b.Truncate(time.Microsecond))
}

func expiryPhrase(t *time.Time) string {
	if t == nil {
		return "without an expiry"
	}
	return "to expire at " + t.UTC().Format(time.RFC3339Nano)
}

// readStored reads every relationship the datastore holds at cons (which must name one
// revision: every type is read at it), by relationship key, the key registry left out.
func readStored(ctx context.Context, e *engine.Engine, cons *v1.Consistency) (map[string]*v1.Relationship, error) {
	out := map[string]*v1.Relationship{}
	err := eachStored(ctx, e, cons, func(rel *v1.Relationship) bool {
		out[reltext.FormatKey(rel)] = rel
		return true
	})
	return out, err
}

// eachStored calls each for every relationship at cons outside the key registry, type by
// type of the schema at that revision, until it returns false.
func eachStored(ctx context.Context, e *engine.Engine, cons *v1.Consistency, each func(*v1.Relationship) bool) error {
	sch, err := e.Schemas().ReflectSchema(ctx, &v1.ReflectSchemaRequest{Consistency: cons})
	if err != nil {
		err = spice.Classify("reading the schema", err)
		if errors.Is(err, spice.ErrNotFound) && !spice.IsStaleRevision(err) {
			return nil // no schema yet: no relationships
		}
		return err
	}
	for _, def := range sch.GetDefinitions() {
		if isServerObject(def.GetName()) {
			continue
		}
		for rel, err := range spice.ReadRelationships(ctx, e.Permissions(), cons, &v1.RelationshipFilter{ResourceType: def.GetName()}) {
			if err != nil {
				return err
			}
			if isServerObject(rel.GetSubject().GetObject().GetObjectType()) {
				continue
			}
			if !each(rel) {
				return nil
			}
		}
	}
	return nil
}

// firstStoredAt is the first relationship (outside the key registry) stored at revision, ""
// for none; readable is false when the datastore no longer keeps that revision.
func firstStoredAt(ctx context.Context, e *engine.Engine, revision string) (first string, readable bool, err error) {
	err = eachStored(ctx, e, spice.AtExactSnapshot(revision), func(rel *v1.Relationship) bool {
		first = reltext.FormatKey(rel)
		return false
	})
	if spice.IsStaleRevision(err) {
		return "", false, nil
	}
	return first, err == nil, err
}

// currentRevision is the datastore's newest revision.
func currentRevision(ctx context.Context, e *engine.Engine) (string, error) {
	resp, err := e.ReadSchemaSince(ctx, nil)
	if err != nil {
		return "", spice.Classify("reading the current revision", err)
	}
	return resp.GetReadAt().GetToken(), nil
}

// waitForNewHead waits up to stateCatchUp for the log's head to move past head, and returns
// the head then.
func waitForNewHead(ctx context.Context, l auditlog.Log, head auditlog.Checkpoint) (auditlog.Checkpoint, error) {
	deadline := time.Now().Add(stateCatchUp)
	for {
		h, err := l.Head(ctx)
		if err != nil || h.Revision != head.Revision || time.Now().After(deadline) {
			return h, err
		}
		select {
		case <-ctx.Done():
			return h, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
