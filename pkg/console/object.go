package console

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// permissions are the questions the object page offers for each type, the first the default.
var permissions = map[string][]string{
	"account":      {"view_all_cases", "update_all_cases", "member", "view_members", "manage_members", "manage_partners"},
	"case":         {"view", "update", "manage_related_parties"},
	"sold_product": {"view", "view_related_parties", "manage_related_parties"},
	"install_base": {"view", "view_related_parties", "manage_related_parties"},
	"group":        {"member", "read_member_cases"},
	"partner":      {"member"},
}

type objectData struct {
	Object      ref.Object
	Permission  string
	Permissions []string
	Kind        string
	Kinds       []audit.PathKind
	Holders     []audit.Holder
}

// allKinds are the kinds of path the filter offers, in audit's order.
var allKinds = []audit.PathKind{
	audit.KindAdmin, audit.KindStandard, audit.KindViewer, audit.KindCustomerCare, audit.KindPartnerOrg,
	audit.KindPartnerIndividual, audit.KindVendorStaff, audit.KindDataAccess, audit.KindGroupRead,
	audit.KindFunctionalRole, audit.KindCustomRole, audit.KindReporter, audit.KindEveryone, audit.KindOther,
}

func (c *console) object(rq *request) error {
	o := ref.Object{Type: rq.r.PathValue("type"), ID: rq.r.PathValue("id")}
	q := rq.r.URL.Query()
	d := objectData{Object: o, Permission: q.Get("permission"), Permissions: permissions[o.Type], Kind: q.Get("kind"), Kinds: allKinds}
	if d.Kind != "" && !slices.Contains(allKinds, audit.PathKind(d.Kind)) {
		return fmt.Errorf("%w: kind %q: choose one of the kinds of path the filter lists, or none", access.ErrInvalidArgument, d.Kind)
	}
	if d.Permission == "" && len(d.Permissions) > 0 {
		d.Permission = d.Permissions[0]
	}
	for h, err := range rq.client().WhoCan(rq.ctx, o, d.Permission) {
		if err != nil {
			return err
		}
		if d.Kind != "" {
			if !slices.Contains(h.Kinds, audit.PathKind(d.Kind)) {
				continue
			}
			h.Paths = slices.DeleteFunc(h.Paths, func(p audit.Path) bool { return string(p.Kind) != d.Kind })
		}
		d.Holders = append(d.Holders, h)
	}
	if len(d.Holders) == 0 {
		if err := rq.exists(o); err != nil {
			return err
		}
	}
	return rq.render(http.StatusOK, "object", o.String(), d, nil)
}
