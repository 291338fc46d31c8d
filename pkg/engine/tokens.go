package engine

import (
	"sync"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/zedtoken"
)

// tokenTracker remembers the newest revision this process has written. With an embedded
// server it can decode and order tokens; against a remote server tokens are opaque, so it
// only remembers the last one returned.
type tokenTracker struct {
	holder zedtoken.RevisionHolder // nil when tokens cannot be decoded

	mu        sync.Mutex
	latest    *v1.ZedToken
	latestRev datastore.Revision
}

func newTokenTracker(holder zedtoken.RevisionHolder) *tokenTracker {
	return &tokenTracker{holder: holder}
}

func (t *tokenTracker) revision(token *v1.ZedToken) datastore.Revision {
	if t.holder == nil || token.GetToken() == "" {
		return nil
	}
	decoded, err := zedtoken.DecodeRevision(token, t.holder)
	if err != nil || decoded.Status != zedtoken.StatusValid {
		return nil
	}
	return decoded.Revision
}

func (t *tokenTracker) observe(token *v1.ZedToken) {
	if token.GetToken() == "" {
		return
	}
	rev := t.revision(token)
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.latest == nil:
	case rev != nil && t.latestRev != nil && !rev.GreaterThan(t.latestRev):
		return
	}
	t.latest, t.latestRev = token, rev
}

func (t *tokenTracker) freshest(token *v1.ZedToken) *v1.ZedToken {
	t.mu.Lock()
	latest, latestRev := t.latest, t.latestRev
	t.mu.Unlock()
	if token.GetToken() == "" {
		return latest
	}
	rev := t.revision(token)
	if rev != nil && latestRev != nil && latestRev.GreaterThan(rev) {
		return latest
	}
	return token
}
