package console

import (
	"errors"
	"net/http"
	"strings"

	"github.com/accessgraph/accessgraph/pkg/principal"
)

type signinData struct {
	Next string
}

func (c *console) signinForm(w http.ResponseWriter, r *http.Request) {
	_ = c.write(w, http.StatusOK, "signin", pageData{Title: "Sign in", Data: signinData{Next: localPath(r.URL.Query().Get("next"))}})
}

// signin resolves the key by asking the domain API who it is (WhoAmI), so the key is
// checked by the same resolver as every API call and a wrong one is counted and logged as
// the API's refusals are.
func (c *console) signin(w http.ResponseWriter, r *http.Request) {
	next := localPath(r.PostFormValue("next"))
	if err := sameSite(r); err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	key := strings.TrimSpace(r.PostFormValue("key"))
	again := func(status int, msg string) {
		_ = c.write(w, status, "signin", pageData{Title: "Sign in", Error: msg, Data: signinData{Next: next}})
	}
	if key == "" {
		again(http.StatusUnauthorized, "no key: paste the key of your principal (accessctl key create prints it)")
		return
	}
	api, err := c.apiClient(key)
	if err != nil {
		again(http.StatusInternalServerError, err.Error())
		return
	}
	who, err := api.WhoAmI(withPeer(r.Context(), r.RemoteAddr))
	if err != nil {
		if errors.Is(err, principal.ErrUnauthenticated) {
			again(http.StatusUnauthorized, "wrong key: it is unknown, expired or revoked; check it or ask an operator for a new one")
			return
		}
		again(http.StatusServiceUnavailable, "cannot check the key now: "+err.Error())
		return
	}
	ss := c.sessions.create(key, who)
	setCookie(w, r, ss.id, 0)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *console) signout(rq *request) error {
	c.sessions.remove(rq.ss.id)
	setCookie(rq.w, rq.r, "", -1)
	http.Redirect(rq.w, rq.r, "/signin", http.StatusSeeOther)
	return nil
}
