package audit

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/accessgraph/accessgraph/pkg/auditlog"
)

// Origin is the change that created a relationship: the newest write of it recorded in the
// durable audit log at or before the time asked about.
type Origin struct {
	Relationship string    `json:"relationship"`
	Time         time.Time `json:"time"`
	Actor        string    `json:"actor"`
	Principal    string    `json:"principal,omitempty"`
	Reason       string    `json:"reason"`
	Operation    string    `json:"operation"`
	Revision     string    `json:"revision"`
	// ChainPosition places the change in the log's hash chain.
	ChainPosition int64 `json:"chain_position"`
}

// Provenance implements Service: for each relationship (resource#relation@subject), the
// change that created it as of a moment (the present when zero), from the durable audit
// log. Relationships the log never saw written (older than the log) are absent from the map.
func (a *Auditor) Provenance(ctx context.Context, relationships []string, at AsOf) (map[string]Origin, error) {
	if a.log == nil {
		return nil, ErrNoDurableLog
	}
	return provenance(ctx, a.log.store, relationships, at)
}

// provenance reads the log once, oldest first, keeping for each wanted relationship its
// newest write (a delete forgets it, so a relationship written again later gets the later
// write) up to at.
func provenance(ctx context.Context, l auditlog.Log, relationships []string, at AsOf) (map[string]Origin, error) {
	wanted := make(map[string]bool, len(relationships))
	for _, r := range relationships {
		wanted[r] = true
	}
	out := map[string]Origin{}
	if len(wanted) == 0 {
		return out, nil
	}
	past, when, err := logBound(ctx, l, at)
	if err != nil {
		return nil, err
	}
	// A log pruned by retention keeps, for what the pruned entries left written, the entry
	// that wrote it; it knows nothing of a time before the last entry it removed.
	anchor, err := l.Anchor(ctx)
	if err != nil {
		return nil, err
	}
	if anchor != nil && !when.IsZero() && when.Before(anchor.RecordedAt) {
		return nil, prunedBefore(anchor, when)
	}
	for b, err := range l.Base(ctx) {
		if err != nil {
			return nil, err
		}
		if c, w := b.Change, b.Written; wanted[c.Relationship] {
			out[c.Relationship] = Origin{
				Relationship: c.Relationship, Time: w.RecordedAt, Actor: w.Actor, Principal: w.Principal,
				Reason: w.Reason, Operation: w.Operation, Revision: w.Revision, ChainPosition: w.Position,
			}
		}
	}
	for e, err := range l.Entries(ctx, auditlog.Filter{}) {
		if err != nil {
			return nil, err
		}
		if past(e) {
			break
		}
		for _, c := range e.Changes {
			if !wanted[c.Relationship] {
				continue
			}
			if c.Operation == "delete" {
				delete(out, c.Relationship)
				continue
			}
			out[c.Relationship] = Origin{
				Relationship: c.Relationship, Time: e.RecordedAt, Actor: e.Actor, Principal: e.Principal,
				Reason: e.Reason, Operation: e.Operation, Revision: e.Revision, ChainPosition: e.Position,
			}
		}
	}
	return out, nil
}

// PathRelationships lists the relationships of paths once each, in order.
func PathRelationships(paths []Path) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range paths {
		for _, r := range p.Relationships {
			if !seen[r] {
				seen[r] = true
				out = append(out, r)
			}
		}
	}
	return out
}

// WithOrigins returns the paths with each path's Origins filled from origins (one per
// relationship, in the same order; a zero Origin where none is known).
func WithOrigins(paths []Path, origins map[string]Origin) []Path {
	out := make([]Path, len(paths))
	for i, p := range paths {
		p.Origins = make([]Origin, len(p.Relationships))
		for j, r := range p.Relationships {
			if o, ok := origins[r]; ok {
				p.Origins[j] = o
			} else {
				p.Origins[j] = Origin{Relationship: r}
			}
		}
		out[i] = p
	}
	return out
}

// WriteOriginsText writes, under a path, one line per relationship with the change that
// created it: when, the actor, the principal that proved it, the operation and the reason.
func WriteOriginsText(w io.Writer, indent string, p Path) error {
	var b strings.Builder
	for _, o := range p.Origins {
		if o.Time.IsZero() {
			fmt.Fprintf(&b, "%s%s: created before the audit log began\n", indent, o.Relationship)
			continue
		}
		fmt.Fprintf(&b, "%s%s: %s by %s", indent, o.Relationship, o.Time.UTC().Format("2006-01-02T15:04:05Z"), orDash(o.Actor))
		if o.Principal != "" {
			fmt.Fprintf(&b, " (by %s)", o.Principal)
		}
		fmt.Fprintf(&b, ", %s %q, entry %d\n", orDash(o.Operation), o.Reason, o.ChainPosition)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
