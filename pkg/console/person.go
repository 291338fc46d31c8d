package console

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// reach is what the person page asks about: each kind of object a person can reach, by the
// permission that means reaching it.
var reach = []struct{ Type, Permission, Label string }{
	{"account", "member", "member of account"},
	{"account", "view_all_cases", "sees every case of account"},
	{"case", "view", "case"},
	{"sold_product", "view", "product"},
	{"install_base", "view", "install base item"},
}

// PersonPageSize is how many objects one page of a person's reach lists (each is explained).
const PersonPageSize = 25

// reached is one object a person reaches, and how.
type reached struct {
	Label      string
	Object     ref.Object
	Permission string
	Paths      []audit.Path
	Expiring   bool
	// Account is the account the object belongs to as the paths name it; empty when no
	// path passes through it (a related party or reporter of a case, say).
	Account string
}

// accountGroup is one account's rows on a page of a person's reach.
type accountGroup struct {
	Account string
	Rows    []reached
}

type personData struct {
	User    string
	Subject string
	Kind    string
	Kinds   []audit.PathKind
	Groups  []accountGroup
	// Total is how many objects the person reaches (every kind of path); Shown is how many
	// rows this page lists.
	Total    int
	Shown    int
	Page     int
	PrevPage int
	NextPage int
}

func (c *console) person(rq *request) error {
	user := rq.r.PathValue("id")
	subject := ref.Subject{Object: ref.Object{Type: "user", ID: user}}
	q := rq.r.URL.Query()
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(page, 1)
	kind := q.Get("kind")
	if kind != "" && !slices.Contains(allKinds, audit.PathKind(kind)) {
		return fmt.Errorf("%w: kind %q: choose one of the kinds of path the filter lists, or none", access.ErrInvalidArgument, kind)
	}
	api := rq.client()
	var all []reached
	for _, r := range reach {
		for o, err := range api.LookupResources(rq.ctx, subject, r.Permission, r.Type, access.Full()) {
			if err != nil {
				return err
			}
			all = append(all, reached{Label: r.Label, Object: o, Permission: r.Permission})
		}
	}
	if len(all) == 0 {
		if err := rq.exists(subject.Object); err != nil {
			return err
		}
	}
	d := personData{User: user, Subject: subject.String(), Kind: kind, Kinds: allKinds, Total: len(all), Page: page}
	explain := func(row reached) (reached, error) {
		e, err := api.Explain(rq.ctx, subject, row.Permission, row.Object, access.Full())
		if err != nil {
			return row, err
		}
		row.Paths = e.Paths
		row.Account = accountOf(row.Object, e.Paths)
		for _, p := range e.Paths {
			if expiring(p.Text) {
				row.Expiring = true
			}
		}
		return row, nil
	}
	var rows []reached
	if kind == "" {
		// Without a filter the page is a slice of the lookup: only its rows are explained.
		from := min((page-1)*PersonPageSize, len(all))
		to := min(from+PersonPageSize, len(all))
		for _, row := range all[from:to] {
			row, err := explain(row)
			if err != nil {
				return err
			}
			rows = append(rows, row)
		}
		if to < len(all) {
			d.NextPage = page + 1
		}
	} else {
		// A filter needs each object's paths: explain in order until the page is full and
		// one more match shows there is a next page.
		skip := (page - 1) * PersonPageSize
		for _, row := range all {
			row, err := explain(row)
			if err != nil {
				return err
			}
			row.Paths = slices.DeleteFunc(row.Paths, func(p audit.Path) bool { return string(p.Kind) != kind })
			if len(row.Paths) == 0 {
				continue
			}
			if skip > 0 {
				skip--
				continue
			}
			if len(rows) == PersonPageSize {
				d.NextPage = page + 1
				break
			}
			rows = append(rows, row)
		}
	}
	d.Groups, d.Shown = groupByAccount(rows), len(rows)
	if page > 1 {
		d.PrevPage = page - 1
	}
	return rq.render(http.StatusOK, "person", "user:"+user, d, nil)
}

// accountOf is the account o belongs to as the explanation's paths say: o itself for an
// account, else the account its own account relationship names.
func accountOf(o ref.Object, paths []audit.Path) string {
	if o.Type == "account" {
		return o.ID
	}
	prefix := o.String() + "#account@account:"
	for _, p := range paths {
		for _, r := range p.Relationships {
			if rest, ok := strings.CutPrefix(r, prefix); ok {
				if i := strings.IndexAny(rest, "[# "); i >= 0 {
					rest = rest[:i]
				}
				return rest
			}
		}
	}
	return ""
}

// groupByAccount gathers rows by account in the order the accounts first appear, the rows
// whose paths name no account last.
func groupByAccount(rows []reached) []accountGroup {
	var groups []accountGroup
	index := map[string]int{}
	var none []reached
	for _, r := range rows {
		if r.Account == "" {
			none = append(none, r)
			continue
		}
		i, ok := index[r.Account]
		if !ok {
			i = len(groups)
			index[r.Account] = i
			groups = append(groups, accountGroup{Account: r.Account})
		}
		groups[i].Rows = append(groups[i].Rows, r)
	}
	if len(none) > 0 {
		groups = append(groups, accountGroup{Rows: none})
	}
	return groups
}
