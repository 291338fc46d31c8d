package console

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
)

// reviewColumns are the review table's columns, by the name ?sort= takes.
var reviewColumns = []string{"section", "subject", "access", "object", "expires", "detail"}

type reviewData struct {
	Account string
	As      string
	Sort    string
	Columns []string
	Rows    []audit.ReviewRow
	Flags   int
	Asked   bool
}

// sortRows orders the rows by a column, stably, so rows equal in it keep the review's order.
func sortRows(rows []audit.ReviewRow, column string) error {
	key := map[string]func(audit.ReviewRow) string{
		"section": func(r audit.ReviewRow) string { return r.Section },
		"subject": func(r audit.ReviewRow) string { return r.Subject },
		"access":  func(r audit.ReviewRow) string { return r.Access },
		"object":  func(r audit.ReviewRow) string { return r.Object },
		"detail":  func(r audit.ReviewRow) string { return r.Detail },
	}[column]
	switch {
	case column == "":
		return nil
	case column == "expires":
		// Soonest expiry first; grants without one last.
		slices.SortStableFunc(rows, func(a, b audit.ReviewRow) int {
			if a.ExpiresAt.IsZero() || b.ExpiresAt.IsZero() {
				return cmp.Compare(boolInt(a.ExpiresAt.IsZero()), boolInt(b.ExpiresAt.IsZero()))
			}
			return a.ExpiresAt.Compare(b.ExpiresAt)
		})
		return nil
	case key == nil:
		return fmt.Errorf("%w: sort %q: sort by one of %s", access.ErrInvalidArgument, column, strings.Join(reviewColumns, ", "))
	}
	slices.SortStableFunc(rows, func(a, b audit.ReviewRow) int { return cmp.Compare(key(a), key(b)) })
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// review is an account's access review, run by the acting user as the API's AccessReview
// (a user key as itself; other kinds name the user with ?as=), in a sortable table or as
// the CSV and JSON the CLI writes.
func (c *console) review(rq *request) error {
	q := rq.r.URL.Query()
	d := reviewData{Account: rq.r.PathValue("id"), As: rq.actingUser(q.Get("as")), Sort: q.Get("sort"), Columns: reviewColumns}
	if d.As == "" {
		return rq.render(http.StatusOK, "review", "Access review of "+d.Account, d, nil)
	}
	rv, err := rq.client().AccessReview(rq.ctx, access.As(d.As), d.Account, audit.ReviewOptions{})
	if err != nil {
		return err
	}
	name := "access-review-" + url.PathEscape(d.Account)
	switch q.Get("format") {
	case "csv":
		rq.w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		rq.w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
		return audit.WriteReviewCSV(rq.w, rv)
	case "json":
		rq.w.Header().Set("Content-Type", "application/json")
		rq.w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.json"`)
		return audit.WriteReviewJSON(rq.w, rv)
	case "", "html":
	default:
		return fmt.Errorf("%w: format %q: csv or json (or none for the page)", access.ErrInvalidArgument, q.Get("format"))
	}
	d.Asked, d.Rows, d.Flags = true, rv.Rows(), len(rv.Flags)
	if err := sortRows(d.Rows, d.Sort); err != nil {
		return err
	}
	return rq.render(http.StatusOK, "review", "Access review of "+d.Account, d, nil)
}
