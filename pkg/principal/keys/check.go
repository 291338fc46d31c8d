package keys

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/principal"
	"github.com/accessgraph/accessgraph/pkg/spice"
	"github.com/accessgraph/accessgraph/schema"
)

// ErrNotRegistryWrite: a write touching the internal definitions that the registry would
// not make. The server refuses such writes from every client.
var ErrNotRegistryWrite = errors.New("not a key registry write")

// CheckWrite accepts only writes of the registry's shape: carrying a registry operation,
// touching only credentials (a kind, a principal; deleted by their 64-character hash, or
// created as IssuePlaceholder for the server to issue the key) and user bindings, with no
// caveats, and preconditions only on the registry. The server lets operators make
// such writes (accessctl key), and no others that name an accessgraph_server definition.
func CheckWrite(req *v1.WriteRelationshipsRequest) error {
	op := spice.ChangeFromMetadata(req.GetOptionalTransactionMetadata().AsMap()).Operation
	if !slices.Contains(Operations, op) {
		return fmt.Errorf("%w: operation %q is not one of %s", ErrNotRegistryWrite, op, strings.Join(Operations, ", "))
	}
	if len(req.GetUpdates()) == 0 {
		return fmt.Errorf("%w: no updates", ErrNotRegistryWrite)
	}
	for _, u := range req.GetUpdates() {
		if err := checkRel(u.GetRelationship()); err != nil {
			return err
		}
		// A client may remove credentials, never add one for a key it knows: a new
		// credential is always one the server issues.
		rel := u.GetRelationship()
		if rel.GetResource().GetObjectType() == CredentialType && u.GetOperation() != v1.RelationshipUpdate_OPERATION_DELETE && rel.GetResource().GetObjectId() != IssuePlaceholder {
			return fmt.Errorf("%w: a new credential must be issued by the server (credential id %q)", ErrNotRegistryWrite, IssuePlaceholder)
		}
		if rel.GetResource().GetObjectId() == IssuePlaceholder && u.GetOperation() != v1.RelationshipUpdate_OPERATION_CREATE {
			return fmt.Errorf("%w: an issued credential is created, not touched or deleted", ErrNotRegistryWrite)
		}
	}
	for _, p := range req.GetOptionalPreconditions() {
		if !strings.HasPrefix(p.GetFilter().GetResourceType(), schema.ServerPrefix) {
			return fmt.Errorf("%w: a precondition outside the registry", ErrNotRegistryWrite)
		}
	}
	return nil
}

func checkRel(rel *v1.Relationship) error {
	bad := func(why string) error { return fmt.Errorf("%w: %s", ErrNotRegistryWrite, why) }
	res, sub := rel.GetResource(), rel.GetSubject()
	switch {
	case rel.GetOptionalCaveat() != nil:
		return bad("caveated relationship")
	case sub.GetOptionalRelation() != "":
		return bad("subject relation")
	case res.GetObjectType() == CredentialType:
		if !IsHash(res.GetObjectId()) && res.GetObjectId() != IssuePlaceholder {
			return bad("credential id is not a key hash")
		}
		if _, err := principal.ParseKind(rel.GetRelation()); err != nil {
			return bad("credential relation is not a kind")
		}
		if sub.GetObject().GetObjectType() != PrincipalType || CheckName(sub.GetObject().GetObjectId()) != nil {
			return bad("credential subject is not a principal")
		}
	case res.GetObjectType() == PrincipalType:
		if rel.GetRelation() != ActsAs || sub.GetObject().GetObjectType() != "user" || CheckName(res.GetObjectId()) != nil {
			return bad("principal relationship other than acts_as@user")
		}
	default:
		return bad("relationship outside the registry")
	}
	return nil
}
