package auditlog_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/auditlog"
	"github.com/accessgraph/accessgraph/pkg/engine"
)

// recordedBy reads, after Settle, the revisions of the entries recorded at or before t,
// the way an "as of t" rebuild does: oldest first, stopping at the first entry after t.
func recordedBy(ctx context.Context, l auditlog.Log, t time.Time) ([]string, error) {
	if err := l.Settle(ctx); err != nil {
		return nil, err
	}
	var revs []string
	for e, err := range l.Entries(ctx, auditlog.Filter{}) {
		if err != nil {
			return nil, err
		}
		if e.RecordedAt.After(t) {
			break
		}
		revs = append(revs, e.Revision)
	}
	return revs, nil
}

// testSettledAsOfNeverChanges appends from several writers at once while readers ask what
// was recorded by "now": every answer must equal what the finished log says was recorded
// by that time, and times must never run backwards along the chain. Without the time taken
// under the append lock and Settle, an entry stamped before a question but stored after it
// would change the answer afterwards.
func testSettledAsOfNeverChanges(t *testing.T, l auditlog.Log) {
	ctx := context.Background()
	const writers, perWriter = 4, 60
	var wg sync.WaitGroup
	done := make(chan struct{})
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			for i := range perWriter {
				e := auditlog.RandomEntry(rng, i, time.Now())
				e.Revision = fmt.Sprintf("w%d-%d", w, i)
				if _, err := l.Append(ctx, e); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	type answer struct {
		at   time.Time
		revs []string
	}
	var answers []answer
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			select {
			case <-done:
				return
			default:
			}
			at := time.Now()
			revs, err := recordedBy(ctx, l, at)
			if err != nil {
				t.Error(err)
				return
			}
			answers = append(answers, answer{at, revs})
		}
	}()
	wg.Wait()
	close(done)
	<-readerDone
	if t.Failed() {
		return
	}
	var prev time.Time
	n := 0
	for e, err := range l.Entries(ctx, auditlog.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if e.RecordedAt.Before(prev) {
			t.Errorf("entry %d recorded at %s, before the entry ahead of it (%s)", e.Seq, e.RecordedAt, prev)
		}
		prev = e.RecordedAt
		n++
	}
	if n != writers*perWriter {
		t.Fatalf("the log holds %d entries, want %d", n, writers*perWriter)
	}
	if len(answers) < 10 {
		t.Fatalf("only %d questions were asked while appending: the test proves nothing", len(answers))
	}
	partial := 0
	for _, a := range answers {
		final, err := recordedBy(ctx, l, a.at)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(final) != fmt.Sprint(a.revs) {
			t.Fatalf("as of %s: asked during the appends, %d entries; asked afterwards, %d", a.at.Format(time.RFC3339Nano), len(a.revs), len(final))
		}
		if len(a.revs) > 0 && len(a.revs) < n {
			partial++
		}
	}
	if partial == 0 {
		t.Fatalf("none of the %d questions fell while the log was growing", len(answers))
	}
	t.Logf("%d questions during %d appends, %d while the log was growing: none changed afterwards", len(answers), n, partial)
}

func TestSettledAsOfNeverChangesLocal(t *testing.T) {
	t.Parallel()
	e, err := engine.StartEmbedded(context.Background(), engine.EmbeddedConfig{DatastoreURI: engine.LocalURI(filepath.Join(t.TempDir(), "data"))})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	testSettledAsOfNeverChanges(t, auditlog.NewLocalLog(e.LocalStore()))
}

func TestSettledAsOfNeverChangesPostgres(t *testing.T) {
	uri := database(t)
	store, err := auditlog.Open(context.Background(), uri)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	testSettledAsOfNeverChanges(t, store)
}
