package audit

import (
	"context"
	"iter"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/auditlog"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// Service is the audit API as an interface: *Auditor serves it in process; pkg/client
// serves it over the network, from an access server. Results and errors are the same
// either way.
type Service interface {
	Explain(ctx context.Context, subject ref.Subject, permission string, resource ref.Object, cons access.Consistency) (Explanation, error)
	Expand(ctx context.Context, resource ref.Object, permission string) (Tree, error)
	WhoCan(ctx context.Context, resource ref.Object, permission string) iter.Seq2[Holder, error]
	AccessReview(ctx context.Context, actor access.Actor, supportID string, opts ReviewOptions) (Review, error)
	History(ctx context.Context, filter HistoryFilter) iter.Seq2[Change, error]
	// VerifyHistory checks the durable audit log against its hash chain, and against cp
	// when it is not nil, and where it can the relationships the log implies against the
	// stored ones (VerifyState); HistoryCheckpoint is the chain's head. Both fail with
	// ErrNoDurableLog where the server keeps no durable log.
	VerifyHistory(ctx context.Context, cp *auditlog.Checkpoint) (auditlog.Verification, error)
	HistoryCheckpoint(ctx context.Context) (auditlog.Checkpoint, error)
	// Provenance names, for each relationship, the change that created it as of at (the
	// present when zero), from the durable audit log (ErrNoDurableLog without one).
	Provenance(ctx context.Context, relationships []string, at AsOf) (map[string]Origin, error)
}

var _ Service = (*Auditor)(nil)
