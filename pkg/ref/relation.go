package ref

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/accessgraph/accessgraph/schema"
)

// ValidateRelation checks that relation is a stored relation of typ: one a relationship can
// be written to. A permission is computed from relations, so naming one is refused with the
// type's relations listed.
func ValidateRelation(typ, relation string) error {
	def, ok := schema.Lookup(typ)
	if !ok {
		return fmt.Errorf("%w: unknown object type %q (known: %s)", ErrInvalid, printable(typ), strings.Join(Types(), ", "))
	}
	switch {
	case def.HasRelation(relation):
		return nil
	case relation == "":
		return fmt.Errorf("%w: the relation of %s is empty: write %s:ID#RELATION (its relations: %s)", ErrInvalid, typ, typ, strings.Join(def.Relations, ", "))
	case def.HasPermission(relation):
		return fmt.Errorf("%w: %s#%s is a permission, computed from relations, so no relationship can be written to it: write one of the relations of %s (%s)", ErrInvalid, typ, relation, typ, strings.Join(def.Relations, ", "))
	}
	return fmt.Errorf("%w: %s has no relation %q (its relations: %s)", ErrInvalid, typ, printable(relation), strings.Join(def.Relations, ", "))
}

// ValidateSubjectKind checks that relation of typ takes a relationship to the subject kind
// want, as SpiceDB will when the relationship is written: the subject's type, its relation,
// whether it is a wildcard, and whether it carries an expiry must match one the schema
// allows. With anyExpiry the expiry is not compared (a delete matches the relationship
// whatever its expiry). typ and relation must be valid (ValidateRelation).
func ValidateSubjectKind(typ, relation string, want schema.Subject, anyExpiry bool) error {
	def, ok := schema.Lookup(typ)
	if !ok {
		return fmt.Errorf("%w: unknown object type %q (known: %s)", ErrInvalid, printable(typ), strings.Join(Types(), ", "))
	}
	flipped := want
	flipped.Expiring = !want.Expiring
	switch {
	case def.Allows(relation, want), anyExpiry && def.Allows(relation, flipped):
		return nil
	case def.Allows(relation, flipped) && want.Expiring:
		return fmt.Errorf("%w: %s#%s takes %s without an expiry: remove the [expiration:...]", ErrInvalid, typ, relation, subjectKind(want))
	case def.Allows(relation, flipped):
		return fmt.Errorf("%w: %s#%s takes %s only with an expiry: add [expiration:RFC3339], for example [expiration:2030-01-01T00:00:00Z]", ErrInvalid, typ, relation, subjectKind(want))
	}
	var takes []string
	for _, s := range def.Accepts[relation] {
		takes = append(takes, s.String())
	}
	return fmt.Errorf("%w: %s#%s does not take %s (it takes: %s)", ErrInvalid, typ, relation, subjectKind(want), strings.Join(takes, ", "))
}

// subjectKind names a subject kind without its expiry: user, partner#member, user:*.
func subjectKind(s schema.Subject) string {
	s.Expiring = false
	return s.String()
}

// Excerpt shortens s to at most about width bytes for an error message, keeping the part
// around byte offset at (0-based; negative for the start) and marking each cut end with
// "...". Callers format it with %q, which escapes control characters.
func Excerpt(s string, at, width int) string {
	if len(s) <= width {
		return s
	}
	start := 0
	if at > width/2 {
		start = at - width/2
	}
	if start+width > len(s) {
		start = len(s) - width
	}
	end := start + width
	for start > 0 && !utf8.RuneStart(s[start]) {
		start-- // never split a character
	}
	for end < len(s) && !utf8.RuneStart(s[end]) {
		end++
	}
	out := s[start:end]
	if start > 0 {
		out = "..." + out
	}
	if end < len(s) {
		out += "..."
	}
	return out
}
