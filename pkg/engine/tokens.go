package engine

import (
	"context"
	"sync"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/spicedb/pkg/datalayer"
	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/zedtoken"
)

// revisionSource is what an embedded datastore offers the tracker: token decoding and its
// head revision.
type revisionSource interface {
	zedtoken.RevisionHolder
	HeadRevision(ctx context.Context) (datastore.RevisionWithSchemaHash, error)
}

// coverTimeout bounds how long the tracker waits for the datastore's head to contain two
// concurrent writes.
const coverTimeout = 2 * time.Second

// tokenTracker remembers the newest revision this process has written. With an embedded
// server it can decode and order tokens; against a remote server tokens are opaque, so it
// only remembers the last one returned.
//
// Revisions of concurrent transactions may be unordered (PostgreSQL snapshots: neither
// contains the other). Keeping either one would let a "fresh" read miss the other write, so
// the tracker then moves to the datastore's head revision once it contains both.
type tokenTracker struct {
	source revisionSource // nil when tokens cannot be decoded

	mu        sync.Mutex
	latest    *v1.ZedToken
	latestRev datastore.Revision
}

func newTokenTracker(source revisionSource) *tokenTracker {
	return &tokenTracker{source: source}
}

func (t *tokenTracker) revision(token *v1.ZedToken) datastore.Revision {
	if t.source == nil || token.GetToken() == "" {
		return nil
	}
	decoded, err := zedtoken.DecodeRevision(token, t.source)
	if err != nil || decoded.Status != zedtoken.StatusValid {
		return nil
	}
	return decoded.Revision
}

// contains reports whether a reader at revision a sees everything committed at b.
func contains(a, b datastore.Revision) bool { return a.Equal(b) || a.GreaterThan(b) }

func (t *tokenTracker) observe(token *v1.ZedToken) {
	if token.GetToken() == "" {
		return
	}
	rev := t.revision(token)
	t.mu.Lock()
	switch {
	case t.latest == nil, rev == nil, t.latestRev == nil, rev.GreaterThan(t.latestRev):
		t.latest, t.latestRev = token, rev
		t.mu.Unlock()
		return
	case contains(t.latestRev, rev):
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	t.cover(rev)
}

// observeHead observes the datastore's head revision: for a write that returns no token
// (an import), read after it committed. Without a datastore to ask, it does nothing.
func (t *tokenTracker) observeHead(ctx context.Context) {
	if t.source == nil {
		return
	}
	head, err := t.source.HeadRevision(ctx)
	if err != nil {
		return
	}
	token, err := zedtoken.NewFromRevision(ctx, head.Revision, datalayer.SchemaHash(head.SchemaHash), t.source)
	if err != nil {
		return
	}
	t.observe(token)
}

func (t *tokenTracker) freshest(token *v1.ZedToken) *v1.ZedToken {
	t.mu.Lock()
	latest, latestRev := t.latest, t.latestRev
	t.mu.Unlock()
	if token.GetToken() == "" {
		return latest
	}
	rev := t.revision(token)
	switch {
	case rev == nil || latestRev == nil || contains(rev, latestRev):
		return token
	case latestRev.GreaterThan(rev):
		return latest
	}
	if covered := t.cover(rev); covered != nil {
		return covered
	}
	return token
}

// cover makes the tracked revision one that contains both rev and the tracked one, by
// waiting for the datastore's head to contain them, and returns its token (nil when the head
// did not catch up within coverTimeout; the tracked revision is then left as it was).
func (t *tokenTracker) cover(rev datastore.Revision) *v1.ZedToken {
	ctx, cancel := context.WithTimeout(context.Background(), coverTimeout)
	defer cancel()
	for {
		head, err := t.source.HeadRevision(ctx)
		if err == nil {
			t.mu.Lock()
			latestRev := t.latestRev
			t.mu.Unlock()
			if contains(head.Revision, rev) && (latestRev == nil || contains(head.Revision, latestRev)) {
				token, terr := zedtoken.NewFromRevision(ctx, head.Revision, datalayer.SchemaHash(head.SchemaHash), t.source)
				if terr == nil {
					t.mu.Lock()
					// Another write may have been observed meanwhile: the head must contain it too.
					moved := t.latestRev != nil && !contains(head.Revision, t.latestRev)
					if !moved {
						t.latest, t.latestRev = token, head.Revision
					}
					t.mu.Unlock()
					if !moved {
						return token
					}
					continue
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Millisecond):
		}
	}
}

// head returns a token for the datastore's head revision, or an error when there is no
// datastore to ask.
func (t *tokenTracker) head(ctx context.Context) (*v1.ZedToken, error) {
	if t.source == nil {
		return nil, errNoRevisions
	}
	head, err := t.source.HeadRevision(ctx)
	if err != nil {
		return nil, err
	}
	return zedtoken.NewFromRevision(ctx, head.Revision, datalayer.SchemaHash(head.SchemaHash), t.source)
}

// covers reports whether a read at a sees everything committed at b; known is false when
// either token cannot be decoded.
func (t *tokenTracker) covers(a, b *v1.ZedToken) (covers, known bool) {
	ra, rb := t.revision(a), t.revision(b)
	if ra == nil || rb == nil {
		return false, false
	}
	return contains(ra, rb), true
}
