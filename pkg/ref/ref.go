// Package ref parses and validates object references in SpiceDB notation (user:sally, case:42).
package ref

import (
	"errors"
	"fmt"
	"strings"

	"github.com/accessgraph/accessgraph/schema"
)

// ErrInvalid reports a malformed reference, an unknown type, relation or permission.
var ErrInvalid = errors.New("invalid argument")

// MaxIDLength is the longest object id SpiceDB accepts.
const MaxIDLength = 1024

// validIDChars reports whether id uses only SpiceDB's object id characters
// [a-zA-Z0-9/_|\-=+]. A loop, not a regular expression: it runs for every id of every check.
// ValidateID further refuses Separator in the ids of public types.
func validIDChars(id string) bool {
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '/', c == '_', c == '|', c == '-', c == '=', c == '+':
		default:
			return false
		}
	}
	return true
}

// Object is a typed object, such as account:acme. The zero value is not a valid reference.
type Object struct {
	Type string
	ID   string
}

// String returns the reference in SpiceDB notation.
func (o Object) String() string { return o.Type + ":" + o.ID }

// IsZero reports whether the reference is unset.
func (o Object) IsZero() bool { return o.Type == "" && o.ID == "" }

// Subject is an object, or a set of subjects named by one of its relations (group:x#member).
type Subject struct {
	Object
	Relation string
}

// String returns the subject in SpiceDB notation.
func (s Subject) String() string {
	if s.Relation == "" {
		return s.Object.String()
	}
	return s.Object.String() + "#" + s.Relation
}

// Separator joins the parts of an internal id (see IsInternal). No id of a public type may
// contain it, so an internal id splits back into exactly the parts it was built from.
const Separator = "|"

// internalTypes are the types whose ids are built by joining public ids with Separator.
var internalTypes = []string{"partner_link", "role_binding"}

// IsInternal reports whether typ is an internal type: one whose ids the domain layer builds by
// joining public ids with Separator (partner_link ACCOUNT|PARTNER, role_binding TYPE|ID|ROLE).
// Only the ids of internal types may contain Separator.
func IsInternal(typ string) bool {
	for _, t := range internalTypes {
		if t == typ {
			return true
		}
	}
	return false
}

// InternalTypes lists the internal types.
func InternalTypes() []string { return append([]string(nil), internalTypes...) }

// ValidateID checks that id is a usable object id: SpiceDB's character set and length, never
// the wildcard. ids are case-sensitive. kind names the object in messages; it is the object
// type, or a word such as "acting user". Unless kind is an internal type (IsInternal), the id
// may not contain Separator: public ids are the parts internal ids are built from.
func ValidateID(kind, id string) error {
	internal := IsInternal(kind)
	switch {
	case id == "":
		return fmt.Errorf("%w: %s id is empty", ErrInvalid, kind)
	case id == "*":
		return fmt.Errorf("%w: %s id %q is the wildcard, which cannot be used here", ErrInvalid, kind, id)
	case len(id) > MaxIDLength:
		return fmt.Errorf("%w: %s id is %d characters long, the limit is %d", ErrInvalid, kind, len(id), MaxIDLength)
	case !validIDChars(id) && internal:
		return fmt.Errorf("%w: %s id %q may only contain letters, digits and / _ | - = +", ErrInvalid, kind, printable(id))
	case !validIDChars(id):
		return fmt.Errorf("%w: %s id %q may only contain letters, digits and / _ - = +", ErrInvalid, kind, printable(id))
	case !internal && strings.Contains(id, Separator):
		return fmt.Errorf("%w: %s id %q may not contain %q (it separates the parts of internal ids): choose an id without it", ErrInvalid, kind, printable(id), Separator)
	}
	return nil
}

// RoleBindingID returns the id of the role_binding that binds role on object: TYPE|ID|ROLE.
// object must be of a public type and role a valid role id, so no part contains Separator and
// ParseRoleBindingID gives back exactly (object, role). This is the only place the id is built.
func RoleBindingID(object Object, role string) (string, error) {
	if err := publicPart(object.Type, object.ID); err != nil {
		return "", err
	}
	if err := publicPart("role", role); err != nil {
		return "", err
	}
	id := object.Type + Separator + object.ID + Separator + role
	if len(id) > MaxIDLength {
		return "", fmt.Errorf("%w: role %q on %s: the role_binding id would be %d characters long, the limit is %d: choose shorter ids", ErrInvalid, printable(role), printable(object.String()), len(id), MaxIDLength)
	}
	return id, nil
}

// ParseRoleBindingID splits a role_binding id built by RoleBindingID into its object and role.
// It refuses an id that RoleBindingID would not have built, so the two are exact inverses.
func ParseRoleBindingID(id string) (Object, string, error) {
	parts := strings.Split(id, Separator)
	if len(parts) != 3 {
		return Object{}, "", fmt.Errorf("%w: role_binding id %q is not TYPE|ID|ROLE", ErrInvalid, printable(id))
	}
	object := Object{Type: parts[0], ID: parts[1]}
	if _, err := RoleBindingID(object, parts[2]); err != nil {
		return Object{}, "", fmt.Errorf("role_binding id %q: %w", printable(id), err)
	}
	return object, parts[2], nil
}

// PartnerLinkID returns the id of the partner_link between an account and a partner:
// ACCOUNT|PARTNER. Both must be valid public ids, so neither contains Separator and
// ParsePartnerLinkID gives back exactly (account, partner). This is the only place the id is built.
func PartnerLinkID(account, partner string) (string, error) {
	if err := publicPart("account", account); err != nil {
		return "", err
	}
	if err := publicPart("partner", partner); err != nil {
		return "", err
	}
	id := account + Separator + partner
	if len(id) > MaxIDLength {
		return "", fmt.Errorf("%w: account %q and partner %q: the partner_link id would be %d characters long, the limit is %d: choose shorter ids", ErrInvalid, printable(account), printable(partner), len(id), MaxIDLength)
	}
	return id, nil
}

// ParsePartnerLinkID splits a partner_link id built by PartnerLinkID into account and partner.
// It refuses an id that PartnerLinkID would not have built, so the two are exact inverses.
func ParsePartnerLinkID(id string) (account, partner string, err error) {
	parts := strings.Split(id, Separator)
	if len(parts) != 2 {
		return "", "", fmt.Errorf("%w: partner_link id %q is not ACCOUNT|PARTNER", ErrInvalid, printable(id))
	}
	if _, err := PartnerLinkID(parts[0], parts[1]); err != nil {
		return "", "", fmt.Errorf("partner_link id %q: %w", printable(id), err)
	}
	return parts[0], parts[1], nil
}

// publicPart checks one part of an internal id: an id of a public type the schema defines.
func publicPart(typ, id string) error {
	if _, ok := schema.Lookup(typ); !ok || IsInternal(typ) {
		return fmt.Errorf("%w: %q is not a public object type, so it cannot be part of an internal id", ErrInvalid, printable(typ))
	}
	return ValidateID(typ, id)
}

// New returns a validated reference to an object of a type the schema defines.
func New(typ, id string) (Object, error) {
	if _, ok := schema.Lookup(typ); !ok {
		return Object{}, fmt.Errorf("%w: unknown object type %q (known: %s)", ErrInvalid, printable(typ), strings.Join(PublicTypes(), ", "))
	}
	if err := ValidateID(typ, id); err != nil {
		return Object{}, err
	}
	return Object{Type: typ, ID: id}, nil
}

// Parse reads TYPE:ID.
func Parse(s string) (Object, error) {
	typ, id, ok := strings.Cut(s, ":")
	if !ok {
		return Object{}, fmt.Errorf("%w: %q is not a reference: write TYPE:ID, for example user:sally", ErrInvalid, printable(s))
	}
	if strings.Contains(id, "#") {
		return Object{}, fmt.Errorf("%w: %q names a relation; an object is TYPE:ID", ErrInvalid, printable(s))
	}
	return New(typ, id)
}

// ParseOfType reads TYPE:ID and requires the given type.
func ParseOfType(s, typ string) (Object, error) {
	o, err := Parse(s)
	if err != nil {
		return Object{}, err
	}
	if o.Type != typ {
		return Object{}, fmt.Errorf("%w: %s is a %s; a %s is needed here", ErrInvalid, o, o.Type, typ)
	}
	return o, nil
}

// ParseSubject reads TYPE:ID or TYPE:ID#RELATION.
func ParseSubject(s string) (Subject, error) {
	objPart, rel, hasRel := strings.Cut(s, "#")
	o, err := Parse(objPart)
	if err != nil {
		return Subject{}, err
	}
	if !hasRel {
		return Subject{Object: o}, nil
	}
	def, _ := schema.Lookup(o.Type)
	if !def.HasRelation(rel) && !def.HasPermission(rel) {
		return Subject{}, fmt.Errorf("%w: %s has no relation or permission %q", ErrInvalid, o.Type, printable(rel))
	}
	return Subject{Object: o, Relation: rel}, nil
}

// ValidatePermission checks that the type has the permission (or relation), naming both when not.
func ValidatePermission(typ, permission string) error {
	def, ok := schema.Lookup(typ)
	if !ok {
		return fmt.Errorf("%w: unknown object type %q", ErrInvalid, printable(typ))
	}
	if def.HasPermission(permission) || def.HasRelation(permission) {
		return nil
	}
	if public := PublicPermissions(typ); len(public) > 0 {
		return fmt.Errorf("%w: %s has no permission %q (it has: %s)", ErrInvalid, typ, printable(permission), strings.Join(public, ", "))
	}
	return fmt.Errorf("%w: %s has no permission %q (it has no public permissions)", ErrInvalid, typ, printable(permission))
}

// Types lists the object types the schema defines.
func Types() []string {
	defs, _ := schema.Definitions()
	out := make([]string, 0, len(defs))
	for _, d := range defs {
		out = append(out, d.Name)
	}
	return out
}

// printable shortens s for an error message. Callers format it with %q, which escapes
// control and invisible characters, so an error never carries raw terminal escapes.
func printable(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
