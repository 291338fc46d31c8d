package console

import (
	"fmt"
	"net/http"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

type whyData struct {
	Subject, Permission, Object string
	Asked                       bool
	Explanation                 audit.Explanation
	Graph                       *graph
}

func (c *console) why(rq *request) error {
	q := rq.r.URL.Query()
	d := whyData{Subject: q.Get("subject"), Permission: q.Get("permission"), Object: q.Get("object")}
	if d.Subject == "" || d.Permission == "" || d.Object == "" {
		return rq.render(http.StatusOK, "why", "Why or why not", d, nil)
	}
	sub, err := ref.ParseSubject(d.Subject)
	if err != nil {
		return fmt.Errorf("%w: subject %q: write it as user:ID", access.ErrInvalidArgument, d.Subject)
	}
	obj, err := ref.Parse(d.Object)
	if err != nil {
		return fmt.Errorf("%w: object %q: write it as TYPE:ID, e.g. case:42", access.ErrInvalidArgument, d.Object)
	}
	e, err := rq.client().Explain(rq.ctx, sub, d.Permission, obj, access.Full())
	if err != nil {
		return err
	}
	d.Asked, d.Explanation = true, e
	if e.Allowed {
		d.Graph = grantedGraph(e.Paths)
	} else {
		d.Graph = deniedGraph(sub.String(), obj.String(), e.Ways)
	}
	return rq.render(http.StatusOK, "why", "Why or why not", d, nil)
}
