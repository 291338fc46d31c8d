package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/ref"
)

// Holder is one user who holds a permission, with the kinds of path that give it.
type Holder struct {
	// User is the user id, or "*" when every user holds it (a wildcard, such as a rollout
	// released to everyone); Except then lists the users it excludes.
	User   string
	Except []string
	// Kinds are the kinds of every path that grants it, sorted (role:admin first).
	Kinds []PathKind
	// Paths are those paths in words.
	Paths []Path
	// Truncated reports paths cut short by the auditor's bounds.
	Truncated bool
}

// WhoCan streams every user holding permission on resource, in user id order, each with
// the kinds of path that give it. Holders come from SpiceDB's LookupSubjects (read fresh);
// each holder's paths from traced checks at the revision of that lookup.
func (a *Auditor) WhoCan(ctx context.Context, resource ref.Object, permission string) iter.Seq2[Holder, error] {
	return func(yield func(Holder, error) bool) {
		if err := validateQuestion(resource, permission); err != nil {
			yield(Holder{}, err)
			return
		}
		subjects, token, err := a.lookupSubjects(ctx, resource, permission)
		if err != nil {
			yield(Holder{}, err)
			return
		}
		s, err := a.newSession(token)
		if err != nil {
			yield(Holder{}, err)
			return
		}
		for _, sub := range subjects {
			h := Holder{User: sub.GetSubject().GetSubjectObjectId()}
			if h.User == "*" {
				for _, ex := range sub.GetExcludedSubjects() {
					h.Except = append(h.Except, ex.GetSubjectObjectId())
				}
				slices.Sort(h.Except)
				h.Kinds = []PathKind{KindEveryone}
				if !yield(h, nil) {
					return
				}
				continue
			}
			r := s.resolver(ctx, ref.Subject{Object: ref.Object{Type: "user", ID: h.User}}, false)
			top := r.node(resource, permission)
			h.Paths = r.allPaths(top)
			h.Truncated = r.truncated
			if r.err != nil {
				yield(Holder{}, fmt.Errorf("explaining %s for user:%s: %w", resource, h.User, r.err))
				return
			}
			for _, p := range h.Paths {
				h.Kinds = append(h.Kinds, p.Kind)
			}
			h.Kinds = sortKinds(h.Kinds)
			if !yield(h, nil) {
				return
			}
		}
	}
}

// lookupSubjects returns the users holding permission, sorted and deduplicated, and the
// revision they were looked up at.
func (a *Auditor) lookupSubjects(ctx context.Context, resource ref.Object, permission string) ([]*v1.LookupSubjectsResponse, string, error) {
	stream, err := a.engine.Permissions().LookupSubjects(ctx, &v1.LookupSubjectsRequest{
		Consistency: a.fresh(), Resource: objectRef(resource), Permission: permission, SubjectObjectType: "user",
	})
	if err != nil {
		return nil, "", engineError("looking up who holds "+permission+" on "+resource.String(), err)
	}
	var out []*v1.LookupSubjectsResponse
	token := ""
	seen := map[string]bool{}
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, "", engineError("looking up who holds "+permission+" on "+resource.String(), err)
		}
		token = resp.GetLookedUpAt().GetToken()
		s := resp.GetSubject()
		if s.GetPermissionship() != v1.LookupPermissionship_LOOKUP_PERMISSIONSHIP_HAS_PERMISSION || seen[s.GetSubjectObjectId()] {
			continue
		}
		seen[s.GetSubjectObjectId()] = true
		out = append(out, resp)
	}
	if token == "" {
		// Nobody holds it; any revision will do for an empty answer.
		if tok := a.engine.FreshestToken(nil); tok != nil {
			token = tok.GetToken()
		}
	}
	slices.SortFunc(out, func(x, y *v1.LookupSubjectsResponse) int {
		return strings.Compare(x.GetSubject().GetSubjectObjectId(), y.GetSubject().GetSubjectObjectId())
	})
	return out, token, nil
}

// Subject is the holder as every listing names a user: user:ID (user:* for a wildcard).
func (h Holder) Subject() string { return "user:" + h.User }

// exceptSubjects names the users a wildcard excludes the same way.
func (h Holder) exceptSubjects() []string {
	out := make([]string, len(h.Except))
	for i, u := range h.Except {
		out[i] = "user:" + u
	}
	return out
}

// WriteHoldersText writes holders as an aligned table: user, kinds, first path.
func WriteHoldersText(w io.Writer, holders []Holder) error {
	var b strings.Builder
	width := len("USER")
	for _, h := range holders {
		width = max(width, len(h.Subject()))
	}
	fmt.Fprintf(&b, "%-*s  %s\n", width, "USER", "KINDS")
	for _, h := range holders {
		kinds := make([]string, len(h.Kinds))
		for i, k := range h.Kinds {
			kinds[i] = string(k)
		}
		line := strings.Join(kinds, ", ")
		if h.User == "*" && len(h.Except) > 0 {
			line += " (except " + strings.Join(h.exceptSubjects(), ", ") + ")"
		}
		fmt.Fprintf(&b, "%-*s  %s\n", width, h.Subject(), line)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteHoldersJSON writes holders as an indented JSON array.
func WriteHoldersJSON(w io.Writer, holders []Holder) error {
	out := make([]any, 0, len(holders))
	for _, h := range holders {
		out = append(out, HolderJSON(h))
	}
	return writeJSON(w, out)
}

// HolderJSON is one holder as WriteHoldersJSON writes it, for printing holders as they come.
func HolderJSON(h Holder) any {
	type holderJSON struct {
		User      string     `json:"user"`
		Except    []string   `json:"except,omitempty"`
		Kinds     []PathKind `json:"kinds"`
		Paths     []Path     `json:"paths,omitempty"`
		Truncated bool       `json:"truncated,omitempty"`
	}
	return holderJSON{h.Subject(), h.exceptSubjects(), h.Kinds, h.Paths, h.Truncated}
}
