package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// WriteChangeText writes one change: a header line (time, actor, operation, reason, then
// "(by KIND:NAME)" when the server recorded the authenticated principal and "(claimed
// ACTOR)" for an actor a raw write only claimed) and one indented line per relationship. Times are UTC with milliseconds; a time marked "~"
// is when the change was received rather than committed.
func WriteChangeText(w io.Writer, c Change) error {
	var b strings.Builder
	mark := ""
	if !c.TimeFromRevision {
		mark = "~"
	}
	fmt.Fprintf(&b, "%s%s  %s  %s  %q", mark, c.Time.UTC().Format("2006-01-02T15:04:05.000Z"), orDash(c.Actor), orDash(c.Operation), c.Reason)
	if c.Principal != "" {
		fmt.Fprintf(&b, "  (by %s)", c.Principal)
	}
	if c.ClaimedActor != "" {
		fmt.Fprintf(&b, "  (claimed %s)", c.ClaimedActor)
	}
	b.WriteString("\n")
	for _, u := range c.Updates {
		line := fmt.Sprintf("    %-6s %s", u.Operation, u.Relationship)
		if !u.ExpiresAt.IsZero() {
			line += " (expires " + u.ExpiresAt.Format(time.RFC3339) + ")"
		}
		b.WriteString(line + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// changeJSON is the JSON form of a change.
type changeJSON struct {
	Revision         string         `json:"revision"`
	Time             time.Time      `json:"time"`
	TimeFromRevision bool           `json:"time_from_revision"`
	Actor            string         `json:"actor"`
	Reason           string         `json:"reason"`
	Operation        string         `json:"operation"`
	Principal        string         `json:"principal,omitempty"`
	ClaimedActor     string         `json:"claimed_actor,omitempty"`
	Metadata         map[string]any `json:"metadata,omitempty"`
	Updates          []updateJSON   `json:"updates"`
	ChainPosition    int64          `json:"chain_position,omitempty"`
	ChainHash        string         `json:"chain_hash,omitempty"`
}

type updateJSON struct {
	Operation    string    `json:"operation"`
	Relationship string    `json:"relationship"`
	ExpiresAt    time.Time `json:"expires_at,omitzero"`
}

// MarshalJSON uses lower-case field names and SpiceDB notation for relationships.
func (c Change) MarshalJSON() ([]byte, error) {
	out := changeJSON{string(c.Revision), c.Time, c.TimeFromRevision, c.Actor, c.Reason, c.Operation, c.Principal, c.ClaimedActor, c.Metadata, []updateJSON{}, c.ChainPosition, c.ChainHash}
	for _, u := range c.Updates {
		out.Updates = append(out.Updates, updateJSON{u.Operation, u.Relationship, u.ExpiresAt})
	}
	return marshalJSON(out)
}

// WriteChangeJSON writes one change as one line of JSON (JSON Lines), so a stream of
// changes can be appended to a file and read back line by line.
func WriteChangeJSON(w io.Writer, c Change) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(c)
}

// ChangeCSVHeader names the columns of ChangeCSVRows.
var ChangeCSVHeader = []string{
	"revision", "time", "time_from_revision", "actor", "principal", "claimed_actor", "operation", "reason",
	"chain_position", "chain_hash", "update", "relationship", "expires_at",
}

// ChangeCSVRows is a change as CSV rows for evidence export: one row per relationship
// written or deleted, each repeating the change's columns (one row with empty update
// columns for a change that touched none). Times are RFC 3339 in UTC with nanoseconds.
func ChangeCSVRows(c Change) [][]string {
	head := []string{
		string(c.Revision), c.Time.UTC().Format(time.RFC3339Nano), strconv.FormatBool(c.TimeFromRevision),
		c.Actor, c.Principal, c.ClaimedActor, c.Operation, c.Reason, "", c.ChainHash,
	}
	if c.ChainPosition != 0 {
		head[8] = strconv.FormatInt(c.ChainPosition, 10)
	}
	if len(c.Updates) == 0 {
		return [][]string{append(head, "", "", "")}
	}
	rows := make([][]string, 0, len(c.Updates))
	for _, u := range c.Updates {
		expires := ""
		if !u.ExpiresAt.IsZero() {
			expires = u.ExpiresAt.UTC().Format(time.RFC3339Nano)
		}
		rows = append(rows, append(slices.Clone(head), u.Operation, u.Relationship, expires))
	}
	return rows
}
