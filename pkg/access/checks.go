package access

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/reach"
	"github.com/accessgraph/accessgraph/pkg/ref"
	"github.com/accessgraph/accessgraph/pkg/spice"
)

// Decision is the answer to one check.
type Decision struct {
	Allowed bool
	// CheckedAt is the revision the answer was computed at.
	CheckedAt Token
}

// CheckItem is one question of a bulk check.
type CheckItem struct {
	Subject    ref.Subject
	Permission string
	Resource   ref.Object
}

// String renders the question as "SUBJECT PERMISSION RESOURCE".
func (i CheckItem) String() string {
	return i.Subject.String() + " " + i.Permission + " " + i.Resource.String()
}

func (i CheckItem) validate() error {
	if i.Subject.Object.IsZero() || i.Resource.IsZero() {
		return fmt.Errorf("%w: a check needs a subject and a resource", ErrInvalidArgument)
	}
	if err := ref.ValidatePermission(i.Resource.Type, i.Permission); err != nil {
		return err
	}
	if _, err := ref.New(i.Subject.Type, i.Subject.ID); err != nil {
		return err
	}
	_, err := ref.New(i.Resource.Type, i.Resource.ID)
	return err
}

// Check answers "can subject do permission on resource". Unknown types and permissions are
// errors, never a silent no.
func (c *Client) Check(ctx context.Context, subject ref.Subject, permission string, resource ref.Object, cons Consistency) (Decision, error) {
	item := CheckItem{Subject: subject, Permission: permission, Resource: resource}
	if err := item.validate(); err != nil {
		return Decision{}, err
	}
	if d, ok := c.indexedCheck(ctx, item); ok {
		return d, nil
	}
	resp, err := c.engine.Permissions().CheckPermission(ctx, &v1.CheckPermissionRequest{
		Consistency: c.consistency(cons),
		Resource:    objectRef(resource),
		Permission:  permission,
		Subject:     subjectRef(subject),
	})
	if err != nil {
		return Decision{}, engineError("checking "+item.String(), err)
	}
	return Decision{
		Allowed:   resp.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION,
		CheckedAt: Token(resp.GetCheckedAt().GetToken()),
	}, nil
}

// indexedCheck answers a user's check on a case from the engine's case reachability
// index, whose answer is at least as fresh as every consistency asks (it contains every
// write committed before the call); ok is false when SpiceDB must be asked.
func (c *Client) indexedCheck(ctx context.Context, item CheckItem) (Decision, bool) {
	idx := c.engine.Reach()
	if idx == nil || item.Resource.Type != "case" || item.Subject.Type != "user" || item.Subject.Relation != "" || !reach.Supports(item.Permission) {
		return Decision{}, false
	}
	allowed, at, err := idx.Check(ctx, item.Permission, item.Subject.ID, item.Resource.ID)
	if err != nil {
		return Decision{}, false
	}
	return Decision{Allowed: allowed, CheckedAt: Token(at.GetToken())}, true
}

// CheckMany answers many checks in one round trip, in order. An item that fails is
// reported in its own error and does not fail the others.
func (c *Client) CheckMany(ctx context.Context, items []CheckItem, cons Consistency) ([]Decision, []error, error) {
	decisions := make([]Decision, len(items))
	errs := make([]error, len(items))
	var reqItems []*v1.CheckBulkPermissionsRequestItem
	var index []int
	for i, it := range items {
		if err := it.validate(); err != nil {
			errs[i] = err
			continue
		}
		reqItems = append(reqItems, &v1.CheckBulkPermissionsRequestItem{
			Resource: objectRef(it.Resource), Permission: it.Permission, Subject: subjectRef(it.Subject),
		})
		index = append(index, i)
	}
	const chunk = 1000
	for start := 0; start < len(reqItems); start += chunk {
		end := min(start+chunk, len(reqItems))
		resp, err := c.engine.Permissions().CheckBulkPermissions(ctx, &v1.CheckBulkPermissionsRequest{
			Consistency: c.consistency(cons),
			Items:       reqItems[start:end],
		})
		if err != nil {
			return nil, nil, engineError(fmt.Sprintf("checking %d items", end-start), err)
		}
		for j, pair := range resp.GetPairs() {
			i := index[start+j]
			if perr := pair.GetError(); perr != nil {
				errs[i] = fmt.Errorf("checking %s: %s", items[i], perr.GetMessage())
				continue
			}
			decisions[i] = Decision{
				Allowed:   pair.GetItem().GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION,
				CheckedAt: Token(resp.GetCheckedAt().GetToken()),
			}
		}
	}
	return decisions, errs, nil
}

// LookupResources streams every resource of a type on which subject has permission,
// paging through SpiceDB with cursors until the end: there is no silent cap.
func (c *Client) LookupResources(ctx context.Context, subject ref.Subject, permission, resourceType string, cons Consistency) iter.Seq2[ref.Object, error] {
	return func(yield func(ref.Object, error) bool) {
		if err := ref.ValidatePermission(resourceType, permission); err != nil {
			yield(ref.Object{}, err)
			return
		}
		if _, err := ref.New(subject.Type, subject.ID); err != nil {
			yield(ref.Object{}, err)
			return
		}
		// The consistency is computed once: every page repeats the first request's
		// arguments (SpiceDB refuses a cursor otherwise), and the cursor pins the revision.
		// SpiceDB may return a resource once per path that reaches it.
		answers := spice.LookupResources(ctx, c.engine.Permissions(), &v1.LookupResourcesRequest{
			Consistency:        c.consistency(cons),
			ResourceObjectType: resourceType,
			Permission:         permission,
			Subject:            subjectRef(subject),
		})
		seen := map[string]struct{}{}
		for resp, err := range answers {
			if err != nil {
				yield(ref.Object{}, err)
				return
			}
			if resp.GetPermissionship() != v1.LookupPermissionship_LOOKUP_PERMISSIONSHIP_HAS_PERMISSION {
				continue
			}
			if _, dup := seen[resp.GetResourceObjectId()]; dup {
				continue
			}
			seen[resp.GetResourceObjectId()] = struct{}{}
			if !yield(ref.Object{Type: resourceType, ID: resp.GetResourceObjectId()}, nil) {
				return
			}
		}
	}
}

// LookupSubjects streams every subject of a type that has permission on resource. A
// wildcard grant (a rollout released to everyone) comes back as ID "*".
func (c *Client) LookupSubjects(ctx context.Context, resource ref.Object, permission, subjectType string, cons Consistency) iter.Seq2[ref.Object, error] {
	return func(yield func(ref.Object, error) bool) {
		if err := ref.ValidatePermission(resource.Type, permission); err != nil {
			yield(ref.Object{}, err)
			return
		}
		if _, err := ref.New(resource.Type, resource.ID); err != nil {
			yield(ref.Object{}, err)
			return
		}
		if _, err := ref.New(subjectType, "probe"); err != nil {
			yield(ref.Object{}, err)
			return
		}
		stream, err := c.engine.Permissions().LookupSubjects(ctx, &v1.LookupSubjectsRequest{
			Consistency:       c.consistency(cons),
			Resource:          objectRef(resource),
			Permission:        permission,
			SubjectObjectType: subjectType,
		})
		if err != nil {
			yield(ref.Object{}, engineError("looking up subjects of "+resource.String(), err))
			return
		}
		seen := map[string]struct{}{}
		for {
			resp, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(ref.Object{}, engineError("looking up subjects of "+resource.String(), err))
				return
			}
			s := resp.GetSubject()
			if s.GetPermissionship() != v1.LookupPermissionship_LOOKUP_PERMISSIONSHIP_HAS_PERMISSION {
				continue
			}
			if _, dup := seen[s.GetSubjectObjectId()]; dup {
				continue
			}
			seen[s.GetSubjectObjectId()] = struct{}{}
			if !yield(ref.Object{Type: subjectType, ID: s.GetSubjectObjectId()}, nil) {
				return
			}
		}
	}
}

// lookupSubjectIDs returns the user ids holding permission on resource, sorted, without wildcards.
func (c *Client) lookupSubjectIDs(ctx context.Context, resource ref.Object, permission string) ([]string, error) {
	var out []string
	for o, err := range c.LookupSubjects(ctx, resource, permission, "user", Fresh()) {
		if err != nil {
			return nil, err
		}
		if o.ID != "*" {
			out = append(out, o.ID)
		}
	}
	slices.Sort(out)
	return out, nil
}
