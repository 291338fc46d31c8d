package keys_test

import (
	"errors"
	"strings"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/principal/keys"
	"github.com/accessgraph/accessgraph/pkg/spice"
)

func TestGeneratedKeysAreLongAndDistinct(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 100 {
		k, err := keys.Generate()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(k, keys.KeyPrefix) || len(k) != len(keys.KeyPrefix)+52 || seen[k] {
			t.Fatalf("key %q: want %s and 52 base32 characters, never repeated", k, keys.KeyPrefix)
		}
		seen[k] = true
		if h := keys.Hash(k); !keys.IsHash(h) || keys.ID(h) != h[:keys.IDLength] {
			t.Fatalf("hash %q of a key", h)
		}
	}
}

func TestCheckNames(t *testing.T) {
	t.Parallel()
	for name, ok := range map[string]bool{"ops-alice": true, "bill_laptop": true, "A1": true, "": false, "-x": false, "a:b": false, "a/b": false, strings.Repeat("a", 64): false} {
		if err := keys.CheckName(name); (err == nil) != ok {
			t.Errorf("CheckName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}

// TestCheckWriteAcceptsOnlyTheRegistrysShape: every way a raw write could plant or bend a
// credential is refused; the registry's own writes pass.
func TestCheckWriteAcceptsOnlyTheRegistrysShape(t *testing.T) {
	t.Parallel()
	hash := keys.Hash("agk_known")
	cred := func(id, kind, name string) *v1.Relationship {
		return &v1.Relationship{Resource: &v1.ObjectReference{ObjectType: keys.CredentialType, ObjectId: id}, Relation: kind, Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: keys.PrincipalType, ObjectId: name}}}
	}
	up := func(op v1.RelationshipUpdate_Operation, r *v1.Relationship) *v1.RelationshipUpdate {
		return &v1.RelationshipUpdate{Operation: op, Relationship: r}
	}
	const create, touch, del = v1.RelationshipUpdate_OPERATION_CREATE, v1.RelationshipUpdate_OPERATION_TOUCH, v1.RelationshipUpdate_OPERATION_DELETE
	actsAs := &v1.Relationship{Resource: &v1.ObjectReference{ObjectType: keys.PrincipalType, ObjectId: "bill-laptop"}, Relation: keys.ActsAs, Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "bill"}}}
	account := &v1.Relationship{Resource: &v1.ObjectReference{ObjectType: "account", ObjectId: "acme"}, Relation: "admin", Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "bill"}}}
	caveated := cred(keys.IssuePlaceholder, "operator", "x")
	caveated.OptionalCaveat = &v1.ContextualizedCaveat{CaveatName: "c"}
	cases := []struct {
		name    string
		op      string
		updates []*v1.RelationshipUpdate
		ok      bool
	}{
		{"issue an operator key", keys.OpCreate, []*v1.RelationshipUpdate{up(create, cred(keys.IssuePlaceholder, "operator", "ops"))}, true},
		{"issue a user key", keys.OpCreate, []*v1.RelationshipUpdate{up(create, cred(keys.IssuePlaceholder, "user", "bill-laptop")), up(touch, actsAs)}, true},
		{"revoke", keys.OpRevoke, []*v1.RelationshipUpdate{up(del, cred(hash, "operator", "ops"))}, true},
		{"rotate", keys.OpRotate, []*v1.RelationshipUpdate{up(create, cred(keys.IssuePlaceholder, "operator", "ops")), up(del, cred(hash, "operator", "ops"))}, true},
		{"plant a known key", keys.OpCreate, []*v1.RelationshipUpdate{up(create, cred(hash, "operator", "mallory"))}, false},
		{"touch a known key", keys.OpRotate, []*v1.RelationshipUpdate{up(touch, cred(hash, "operator", "mallory"))}, false},
		{"touch the placeholder", keys.OpCreate, []*v1.RelationshipUpdate{up(touch, cred(keys.IssuePlaceholder, "operator", "x"))}, false},
		{"no registry operation", "member.approve", []*v1.RelationshipUpdate{up(create, cred(keys.IssuePlaceholder, "operator", "ops"))}, false},
		{"unknown kind", keys.OpCreate, []*v1.RelationshipUpdate{up(create, cred(keys.IssuePlaceholder, "root", "ops"))}, false},
		{"bad id", keys.OpRevoke, []*v1.RelationshipUpdate{up(del, cred("abc", "operator", "ops"))}, false},
		{"caveat", keys.OpCreate, []*v1.RelationshipUpdate{up(create, caveated)}, false},
		{"mixed with the model", keys.OpCreate, []*v1.RelationshipUpdate{up(create, cred(keys.IssuePlaceholder, "operator", "ops")), up(touch, account)}, false},
		{"empty", keys.OpCreate, nil, false},
	}
	for _, c := range cases {
		meta, _ := spice.Change{Operation: c.op}.Metadata()
		err := keys.CheckWrite(&v1.WriteRelationshipsRequest{Updates: c.updates, OptionalTransactionMetadata: meta})
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, keys.ErrNotRegistryWrite)) {
			t.Errorf("%s: %v, want ok=%v", c.name, err, c.ok)
		}
	}
}
