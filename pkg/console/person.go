package console

import (
	"net/http"
	"strconv"

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
}

type personData struct {
	User     string
	Subject  string
	Rows     []reached
	Total    int
	Page     int
	PrevPage int
	NextPage int
}

func (c *console) person(rq *request) error {
	user := rq.r.PathValue("id")
	subject := ref.Subject{Object: ref.Object{Type: "user", ID: user}}
	page, _ := strconv.Atoi(rq.r.URL.Query().Get("page"))
	page = max(page, 1)
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
	d := personData{User: user, Subject: subject.String(), Total: len(all), Page: page}
	from := min((page-1)*PersonPageSize, len(all))
	to := min(from+PersonPageSize, len(all))
	for _, row := range all[from:to] {
		e, err := api.Explain(rq.ctx, subject, row.Permission, row.Object, access.Full())
		if err != nil {
			return err
		}
		row.Paths = e.Paths
		for _, p := range e.Paths {
			if expiring(p.Text) {
				row.Expiring = true
			}
		}
		d.Rows = append(d.Rows, row)
	}
	if page > 1 {
		d.PrevPage = page - 1
	}
	if to < len(all) {
		d.NextPage = page + 1
	}
	return rq.render(http.StatusOK, "person", "user:"+user, d, nil)
}
