package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// HistoryPageSize is how many changes one page of the timeline shows.
const HistoryPageSize = 50

type historyData struct {
	Account, Object, Actor, Operation, From, To string
	Changes                                     []audit.Change
	Page, PrevPage, NextPage                    int
}

// entryLink is one page as it stood just after a change.
type entryLink struct{ Label, URL string }

// asOfEntry links a change to the pages its relationships touch, as of the change's time:
// the page of the first resource it changed and, for a user subject, that person's page.
func asOfEntry(ch audit.Change) []entryLink {
	if ch.Time.IsZero() || len(ch.Updates) == 0 {
		return nil
	}
	at := url.Values{"at": {ch.Time.UTC().Format(time.RFC3339Nano)}}.Encode()
	u := ch.Updates[0]
	links := []entryLink{{Label: u.Resource.String(), URL: link(u.Resource) + "?" + at}}
	if u.Subject.Object.Type == "user" && u.Subject.Relation == "" && u.Subject.Object.ID != "*" {
		links = append(links, entryLink{Label: u.Subject.Object.String(), URL: link(u.Subject.Object) + "?" + at})
	}
	return links
}

func (c *console) history(rq *request) error {
	q := rq.r.URL.Query()
	d := historyData{Account: q.Get("account"), Object: q.Get("object"), Actor: q.Get("actor"), Operation: q.Get("operation"), From: q.Get("from"), To: q.Get("to")}
	d.Page, _ = strconv.Atoi(q.Get("page"))
	d.Page = max(d.Page, 1)
	f := audit.HistoryFilter{Actor: d.Actor, Operation: d.Operation}
	var err error
	if d.Account != "" {
		if f.Account, err = ref.ParseOfType("account:"+d.Account, "account"); err != nil {
			return fmt.Errorf("%w: account %q: give the account's id, e.g. acme", access.ErrInvalidArgument, d.Account)
		}
	}
	if d.Object != "" {
		if f.Object, err = ref.Parse(d.Object); err != nil {
			return fmt.Errorf("%w: subject or object %q: write it as TYPE:ID, e.g. user:bill", access.ErrInvalidArgument, d.Object)
		}
	}
	if d.From != "" {
		if f.From, err = parseAt(d.From); err != nil {
			return err
		}
	}
	if d.To != "" {
		if f.To, err = parseAt(d.To); err != nil {
			return err
		}
	}
	skip, n := (d.Page-1)*HistoryPageSize, 0
	for ch, err := range rq.api.History(rq.ctx, f) {
		if err != nil {
			return err
		}
		n++
		if n <= skip {
			continue
		}
		if len(d.Changes) == HistoryPageSize {
			d.NextPage = d.Page + 1
			break
		}
		d.Changes = append(d.Changes, ch)
	}
	if d.Page > 1 {
		d.PrevPage = d.Page - 1
	}
	return rq.render(http.StatusOK, "history", "History", d, nil)
}
