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

// ValidateID checks that id is a usable object id: SpiceDB's character set and length, never
// the wildcard. ids are case-sensitive.
func ValidateID(kind, id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: %s id is empty", ErrInvalid, kind)
	case id == "*":
		return fmt.Errorf("%w: %s id %q is the wildcard, which cannot be used here", ErrInvalid, kind, id)
	case len(id) > MaxIDLength:
		return fmt.Errorf("%w: %s id is %d characters long, the limit is %d", ErrInvalid, kind, len(id), MaxIDLength)
	case !validIDChars(id):
		return fmt.Errorf("%w: %s id %q may only contain letters, digits and / _ | - = +", ErrInvalid, kind, printable(id))
	}
	return nil
}

// New returns a validated reference to an object of a type the schema defines.
func New(typ, id string) (Object, error) {
	if _, ok := schema.Lookup(typ); !ok {
		return Object{}, fmt.Errorf("%w: unknown object type %q (known: %s)", ErrInvalid, printable(typ), strings.Join(Types(), ", "))
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
	return fmt.Errorf("%w: %s has no permission %q (it has: %s)", ErrInvalid, typ, printable(permission), strings.Join(def.Permissions, ", "))
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
