package console

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/principal"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

type accountRequests struct {
	Account  string
	Joins    []access.JoinRequest
	Partners []access.PartnerRequest
}

type approvalsData struct {
	// As is the user the page acts as: a user principal's own, or the one an operator,
	// service or auditor names.
	As        string
	MayDecide bool
	Accounts  []accountRequests
}

// actingUser is who decides: a user principal itself, else the form's or query's "as".
func (rq *request) actingUser(as string) string {
	if rq.ss.who.Kind == principal.User {
		return rq.ss.who.User
	}
	return as
}

func (c *console) approvals(rq *request) error {
	d := approvalsData{As: rq.actingUser(rq.r.URL.Query().Get("as")), MayDecide: rq.ss.who.MayChange()}
	if d.As == "" {
		return rq.render(http.StatusOK, "approvals", "Approvals", d, nil)
	}
	me := ref.Subject{Object: ref.Object{Type: "user", ID: d.As}}
	actor := access.As(d.As)
	for acct, err := range rq.api.LookupResources(rq.ctx, me, "manage_members", "account", access.Full()) {
		if err != nil {
			return err
		}
		ar := accountRequests{Account: acct.ID}
		if ar.Joins, err = rq.api.PendingRequests(rq.ctx, actor, acct.ID); err != nil {
			return err
		}
		// Partner requests are decided by those who manage the account's partners; a member
		// manager who does not is shown none rather than refused.
		if ar.Partners, err = rq.api.PendingPartnerRequests(rq.ctx, actor, acct.ID); err != nil && statusOf(err) != http.StatusForbidden {
			return err
		}
		if len(ar.Joins)+len(ar.Partners) > 0 {
			d.Accounts = append(d.Accounts, ar)
		}
	}
	return rq.render(http.StatusOK, "approvals", "Approvals", d, nil)
}

// decide approves or denies one request through the domain API, which authorises it by the
// access rules and records it in history with the reason.
func (c *console) decide(rq *request) error {
	f := rq.r.PostForm
	as := rq.actingUser(f.Get("as"))
	if as == "" {
		return fmt.Errorf("%w: no acting user: name the administrator you act as", access.ErrInvalidArgument)
	}
	actor := access.As(as).Because("decided in the access console")
	acct, approve := f.Get("account"), f.Get("decision") == "approve"
	if f.Get("decision") != "approve" && f.Get("decision") != "deny" {
		return fmt.Errorf("%w: decision %q: approve or deny", access.ErrInvalidArgument, f.Get("decision"))
	}
	var err error
	switch {
	case f.Get("user") != "" && approve:
		_, err = rq.api.Approve(rq.ctx, actor, acct, f.Get("user"))
	case f.Get("user") != "":
		_, err = rq.api.Deny(rq.ctx, actor, acct, f.Get("user"))
	case f.Get("grantee") != "":
		g, gerr := access.ParseGrantee(f.Get("grantee"))
		if gerr != nil {
			return fmt.Errorf("%w: grantee %q: %v", access.ErrInvalidArgument, f.Get("grantee"), gerr)
		}
		if approve {
			_, err = rq.api.ApprovePartnerRequest(rq.ctx, actor, acct, g)
		} else {
			_, err = rq.api.DenyPartnerRequest(rq.ctx, actor, acct, g)
		}
	default:
		return fmt.Errorf("%w: no request named: give user or grantee", access.ErrInvalidArgument)
	}
	if err != nil {
		return err
	}
	next := "/approvals"
	if rq.ss.who.Kind != principal.User {
		next += "?as=" + url.QueryEscape(as)
	}
	http.Redirect(rq.w, rq.r, next, http.StatusSeeOther)
	return nil
}
