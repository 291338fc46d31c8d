package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"

	"github.com/accessgraph/accessgraph/pkg/principal"
)

// cookieName is the session cookie's name. It holds a random session id only, never the key.
const cookieName = "accessgraph_console"

// DefaultIdle is how long a session lasts without a request.
const DefaultIdle = 8 * time.Hour

// session is one signed-in browser. The key stays in memory on the server so every call
// is resolved afresh by the API: a revoked key ends the session on its next request.
type session struct {
	id      string
	key     string
	who     principal.Principal
	csrf    string
	expires time.Time
}

// sessions maps session ids to sessions, in memory.
type sessions struct {
	mu   sync.Mutex
	byID map[string]*session
	idle time.Duration
	now  func() time.Time
}

func newSessions(idle time.Duration, now func() time.Time) *sessions {
	return &sessions{byID: map[string]*session{}, idle: idle, now: now}
}

// random256 is 256 random bits, URL-safe.
func random256() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *sessions) create(key string, who principal.Principal) *session {
	ss := &session{id: random256(), key: key, who: who, csrf: random256()}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for id, old := range s.byID { // drop the expired, so memory stays bounded by live sessions
		if now.After(old.expires) {
			delete(s.byID, id)
		}
	}
	ss.expires = now.Add(s.idle)
	s.byID[ss.id] = ss
	return ss
}

// get returns the request's live session, extending its idle expiry.
func (s *sessions) get(r *http.Request) (*session, bool) {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.byID[c.Value]
	if !ok {
		return nil, false
	}
	now := s.now()
	if now.After(ss.expires) {
		delete(s.byID, ss.id)
		return nil, false
	}
	ss.expires = now.Add(s.idle)
	return ss, true
}

func (s *sessions) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, id)
}

// validCSRF compares the form's token with the session's in constant time.
func (ss *session) validCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(ss.csrf)) == 1
}

// setCookie sets the session cookie: HttpOnly, SameSite=Strict, Secure over TLS.
func setCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
}
