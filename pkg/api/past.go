package api

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/auditlog"
)

// PastGraphs answers "as of" requests: the domain and audit layers over the access graph as
// it stood at a past moment, and the function that releases them once the answer is made.
type PastGraphs func(ctx context.Context, at audit.AsOf) (access.Service, audit.Service, func(), error)

// RebuiltFrom answers "as of" requests from the audit log l: the graph rebuilt at the
// moment for each request, with the audit layer's clock at that moment's time, so expiry
// flags read as they would have then.
func RebuiltFrom(l auditlog.Log) PastGraphs {
	return func(ctx context.Context, at audit.AsOf) (access.Service, audit.Service, func(), error) {
		g, err := audit.Rebuild(ctx, l, at)
		if err != nil {
			return nil, nil, nil, err
		}
		c := access.New(g.Engine)
		return c, g.Auditor(c), func() { _ = g.Close() }, nil
	}
}

// ErrNoPast reports an "as of" request to a server that keeps no durable audit log.
var ErrNoPast = fmt.Errorf("%w: this server keeps no durable audit log, so it cannot answer as of a past time", access.ErrInvalidArgument)

// graphs picks the layers a request is answered by: the present, or the past at its `at`.
// With a past time the consistency is Fresh on the rebuilt graph, which reads at least as
// fresh as the rebuild's own writes: a token of the live server means nothing to it, and
// Full may read before the rebuild's last write (SpiceDB does not promise read-your-writes
// for it).
type graphs struct {
	access access.Service
	audit  audit.Service
	past   PastGraphs
}

func (g graphs) at(ctx context.Context, ts *timestamppb.Timestamp, rev string, cons access.Consistency) (access.Service, audit.Service, access.Consistency, func(), error) {
	m, err := asOf(ts, rev)
	if err != nil {
		return nil, nil, cons, nil, err
	}
	if m.IsZero() {
		return g.access, g.audit, cons, func() {}, nil
	}
	if g.past == nil {
		return nil, nil, cons, nil, ErrNoPast
	}
	a, au, done, err := g.past(ctx, m)
	if err != nil {
		return nil, nil, cons, nil, err
	}
	return a, au, access.Fresh(), done, nil
}

// asOf reads a request's at and at_revision: at most one of them.
func asOf(ts *timestamppb.Timestamp, rev string) (audit.AsOf, error) {
	var m audit.AsOf
	if ts != nil {
		if err := ts.CheckValid(); err != nil {
			return m, fmt.Errorf("%w: at: %v", access.ErrInvalidArgument, err)
		}
		m.Time = ts.AsTime()
	}
	if rev != "" {
		if ts != nil {
			return m, fmt.Errorf("%w: set at or at_revision, not both", access.ErrInvalidArgument)
		}
		m.Revision = access.Token(rev)
	}
	return m, nil
}
