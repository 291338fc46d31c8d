package spice

import (
	"fmt"

	"google.golang.org/protobuf/types/known/structpb"
)

// Keys of the transaction metadata every accessgraph write carries; SpiceDB's Watch and the
// durable audit log hand them back with each change.
const (
	KeyActor     = "actor"
	KeyReason    = "reason"
	KeyOperation = "operation"
	KeyPrincipal = "principal"
	// KeyClaimedActor keeps the actor a raw write claimed: the server moves a raw write's
	// actor here and records the authenticated principal instead.
	KeyClaimedActor = "claimed_actor"
)

// Change describes who made a write and why.
type Change struct {
	// Actor is the subject the change is made as: user:ID, or system:expiry.
	Actor string
	// Reason is the free text given for the audit trail.
	Reason string
	// Operation names the domain operation, for example member.approve or grant.expire.
	Operation string
	// Principal is the authenticated caller that asked for the change, when the server
	// proves identity; empty otherwise.
	Principal string
}

// Metadata encodes the change as SpiceDB transaction metadata. Empty fields other than the
// actor, reason and operation are left out.
func (c Change) Metadata() (*structpb.Struct, error) {
	fields := map[string]any{KeyActor: c.Actor, KeyReason: c.Reason, KeyOperation: c.Operation}
	if c.Principal != "" {
		fields[KeyPrincipal] = c.Principal
	}
	s, err := structpb.NewStruct(fields)
	if err != nil {
		return nil, fmt.Errorf("encoding change metadata: %w", err)
	}
	return s, nil
}

// ChangeFromMetadata decodes transaction metadata; keys it does not know are ignored, and
// values that are not strings read as empty.
func ChangeFromMetadata(m map[string]any) Change {
	str := func(k string) string { s, _ := m[k].(string); return s }
	return Change{Actor: str(KeyActor), Reason: str(KeyReason), Operation: str(KeyOperation), Principal: str(KeyPrincipal)}
}
