package console

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// searchTypes are the kinds of object the search finds, in the words the page shows.
var searchTypes = []struct{ Type, Label string }{
	{"user", "user"}, {"account", "account"}, {"partner", "partner"}, {"group", "group"},
	{"case", "case"}, {"sold_product", "product"}, {"install_base", "install base"},
}

// hit is one object the search found.
type hit struct {
	Object ref.Object
	Label  string
}

type searchData struct {
	Query string
	Type  string
	Types any
	Hits  []hit
	Done  bool
}

// link is the console page of an object: a user's person page, any other's object page.
func link(o ref.Object) string {
	if o.Type == "user" {
		return "/person/" + pathEscape(o.ID)
	}
	return "/objects/" + pathEscape(o.Type) + "/" + pathEscape(o.ID)
}

func (c *console) search(rq *request) error {
	q := rq.r.URL.Query()
	d := searchData{Query: strings.TrimSpace(q.Get("q")), Type: q.Get("type"), Types: searchTypes}
	if d.Query == "" {
		return rq.render(http.StatusOK, "search", "Search", d, nil)
	}
	d.Done = true
	for _, st := range searchTypes {
		if d.Type != "" && d.Type != st.Type {
			continue
		}
		o := ref.Object{Type: st.Type, ID: d.Query}
		known, err := rq.api.Known(rq.ctx, o, access.Full())
		if err != nil {
			return err
		}
		if known {
			d.Hits = append(d.Hits, hit{Object: o, Label: st.Label})
		}
	}
	var pageErr error
	if len(d.Hits) == 0 {
		pageErr = fmt.Errorf("nothing has the id %q: check the id (ids are exact and case-sensitive)", d.Query)
	}
	return rq.render(http.StatusOK, "search", "Search", d, pageErr)
}

// exists returns an error naming o and the fix when the graph does not know it. A caller
// who may not ask (a user principal: Known shows others' data) is given the benefit of the
// doubt: the page then shows what it found, which is nothing.
func (rq *request) exists(o ref.Object) error {
	known, err := rq.client().Known(rq.ctx, o, access.Full())
	if err != nil {
		if statusOf(err) == http.StatusForbidden {
			return nil
		}
		return err
	}
	if !known {
		return fmt.Errorf("%w: no %s %q: check the id (search finds any object by id)", access.ErrNotFound, o.Type, o.ID)
	}
	return nil
}
