package audit_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/auditlog"
	"github.com/accessgraph/accessgraph/pkg/ref"
	"github.com/accessgraph/accessgraph/pkg/reltext"
)

// TestRebuiltAtARevisionIsTheGraphJustAfterThatChange writes a generated series of
// changes, asks fixed questions of the live graph after each, and rebuilds the graph at
// the revision of every change's log entry: each rebuilt graph answers as the live one did
// right after that change. A revision the log does not hold, and a moment naming both a
// time and a revision, are refused.
func TestRebuiltAtARevisionIsTheGraphJustAfterThatChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, l := loggedServer(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 23))
	users := []string{"u0", "u1", "u2", "u3"}
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	templates := []func() string{
		func() string {
			return fmt.Sprintf("account:a0#%s@user:%s", pick([]string{"admin", "standard", "viewer"}), pick(users))
		},
		func() string { return fmt.Sprintf("case:c%d#account@account:a0", rng.IntN(3)) },
		func() string { return fmt.Sprintf("case:c%d#reporter@user:%s", rng.IntN(3), pick(users)) },
		func() string { return fmt.Sprintf("user:%s#member_of@group:g0", pick(users)) },
		func() string { return fmt.Sprintf("group:g0#reader@user:%s", pick(users)) },
		func() string { return fmt.Sprintf("case:c%d#open@user:*", rng.IntN(3)) },
	}
	var questions []pastQuestion
	for _, u := range users {
		questions = append(questions, pastQuestion{u, "member", ref.Object{Type: "account", ID: "a0"}})
		for c := range 3 {
			questions = append(questions, pastQuestion{u, "view", ref.Object{Type: "case", ID: fmt.Sprint("c", c)}}, pastQuestion{u, "update", ref.Object{Type: "case", ID: fmt.Sprint("c", c)}})
		}
	}
	ask := func(c *access.Client) []bool {
		out := make([]bool, len(questions))
		for i, q := range questions {
			d, err := c.Check(ctx, ref.Subject{Object: ref.Object{Type: "user", ID: q.user}}, q.permission, q.object, access.Fresh())
			if err != nil {
				t.Fatal(err)
			}
			out[i] = d.Allowed
		}
		return out
	}
	live := access.New(e.Engine)
	startSeq, err := l.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	held := map[string]bool{}
	var answers [][]bool
	const steps = 30
	for step := range steps {
		text := templates[rng.IntN(len(templates))]()
		rel, err := reltext.ParseKey(text)
		if err != nil {
			t.Fatal(err)
		}
		op := v1.RelationshipUpdate_OPERATION_TOUCH
		if held[text] {
			op = v1.RelationshipUpdate_OPERATION_DELETE
		}
		if _, err := e.Engine.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{Operation: op, Relationship: rel}}}); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		held[text] = op == v1.RelationshipUpdate_OPERATION_TOUCH
		answers = append(answers, ask(live))
	}
	waitForSeq(t, l, startSeq+steps)
	var revisions []string
	for en, err := range l.Entries(ctx, auditlog.Filter{AfterSeq: startSeq}) {
		if err != nil {
			t.Fatal(err)
		}
		revisions = append(revisions, en.Revision)
	}
	if len(revisions) != steps {
		t.Fatalf("the log holds %d entries after the start, want %d", len(revisions), steps)
	}
	compared := 0
	for k, rev := range revisions {
		g, err := audit.Rebuild(ctx, l, audit.AtRevision(access.Token(rev)))
		if err != nil {
			t.Fatalf("rebuild at revision %s (step %d): %v", rev, k, err)
		}
		if g.Through.Revision != rev {
			t.Errorf("step %d: rebuilt through %s, want %s", k, g.Through.Revision, rev)
		}
		got := ask(access.New(g.Engine))
		_ = g.Close()
		for i, q := range questions {
			compared++
			if got[i] != answers[k][i] {
				t.Errorf("just after step %d: %s %s %s: rebuilt %v, live then %v", k, q.user, q.permission, q.object, got[i], answers[k][i])
			}
		}
	}
	t.Logf("%d answers at %d revisions compared with the live graph's just after each", compared, len(revisions))

	if _, err := audit.Rebuild(ctx, l, audit.AtRevision("no-such-revision")); !errors.Is(err, access.ErrInvalidArgument) {
		t.Fatalf("a revision the log does not hold: %v", err)
	}
	if _, err := audit.Rebuild(ctx, l, audit.AsOf{Time: time.Now().Add(-time.Second), Revision: access.Token(revisions[0])}); !errors.Is(err, access.ErrInvalidArgument) {
		t.Fatalf("a time and a revision: %v", err)
	}
	// Provenance as of a revision sees only what was written by then.
	origins, err := audit.New(live, audit.WithDurableLog(l)).Provenance(ctx, slices.Collect(func(yield func(string) bool) {
		for text := range held {
			if !yield(text) {
				return
			}
		}
	}), audit.AtRevision(access.Token(revisions[0])))
	if err != nil {
		t.Fatal(err)
	}
	for rel, o := range origins {
		if o.ChainPosition > 0 && o.Revision != revisions[0] && slices.Index(revisions, o.Revision) > 0 {
			t.Errorf("provenance as of the first revision names %s from later revision %s", rel, o.Revision)
		}
	}
}
