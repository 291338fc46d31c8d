package access

import (
	"context"
	"errors"
	"io"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/ref"
)

// Known reports whether any relationship names o, as a resource or as a subject. Nothing is
// known of an object no relationship names: every check on it is denied, and the usual
// cause is a mistyped id, which callers can then say instead of a bare "denied".
func (c *Client) Known(ctx context.Context, o ref.Object, cons Consistency) (bool, error) {
	for _, filter := range []*v1.RelationshipFilter{
		{ResourceType: o.Type, OptionalResourceId: o.ID},
		{OptionalSubjectFilter: &v1.SubjectFilter{SubjectType: o.Type, OptionalSubjectId: o.ID}},
	} {
		found, err := c.anyMatch(ctx, filter, cons)
		if err != nil || found {
			return found, engineError("looking up "+o.String(), err)
		}
	}
	return false, nil
}

// anyMatch reports whether a relationship matches filter, reading at most one.
func (c *Client) anyMatch(ctx context.Context, filter *v1.RelationshipFilter, cons Consistency) (bool, error) {
	ctx, cancel := context.WithCancel(ctx) // ends the stream after its first answer
	defer cancel()
	stream, err := c.engine.Permissions().ReadRelationships(ctx, &v1.ReadRelationshipsRequest{
		Consistency: c.consistency(cons), RelationshipFilter: filter, OptionalLimit: 1,
	})
	if err != nil {
		return false, err
	}
	if _, err := stream.Recv(); err != nil {
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}
