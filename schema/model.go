package schema

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	core "github.com/authzed/spicedb/pkg/proto/core/v1"
	"github.com/authzed/spicedb/pkg/schemadsl/compiler"
	"github.com/authzed/spicedb/pkg/schemadsl/input"
)

// Definition describes one object type of the compiled schema.
type Definition struct {
	// Name is the object type, such as "account".
	Name string
	// Relations are the stored relations, in schema order.
	Relations []string
	// Permissions are the computed permissions, in schema order.
	Permissions []string
	// Expiring are the relations that accept relationships with an expiry.
	Expiring []string
	// SubjectTypes maps each relation to the subject types it accepts ("user", "partner#member", "user:*").
	SubjectTypes map[string][]string
	// Accepts maps each relation to the subjects it accepts, with whether each carries an expiry.
	Accepts map[string][]Subject
}

// Subject is one kind of subject a relation accepts: SpiceDB matches a relationship against
// these exactly, expiry included.
type Subject struct {
	Type     string // the subject's object type
	Relation string // the subject set's relation ("" for the object itself)
	Wildcard bool   // TYPE:*, every object of the type
	Expiring bool   // the relationship must carry an expiry ("with expiration")
}

// String renders the subject kind as the schema writes it: user, partner#member, user:*,
// user with expiration.
func (s Subject) String() string {
	out := s.Type
	switch {
	case s.Wildcard:
		out += ":*"
	case s.Relation != "":
		out += "#" + s.Relation
	}
	if s.Expiring {
		out += " with expiration"
	}
	return out
}

// Allows reports whether relation takes a relationship to the subject kind want, expiry
// included (a relation "user with expiration" takes only expiring relationships to users).
func (d Definition) Allows(relation string, want Subject) bool {
	return slices.Contains(d.Accepts[relation], want)
}

// HasRelation reports whether name is a stored relation of the type.
func (d Definition) HasRelation(name string) bool { return slices.Contains(d.Relations, name) }

// HasPermission reports whether name is a computed permission of the type.
func (d Definition) HasPermission(name string) bool { return slices.Contains(d.Permissions, name) }

var (
	compileOnce sync.Once
	compiled    []Definition
	byName      map[string]int // index into compiled: Lookup runs on every check
	compileErr  error
)

// Definitions returns the object types of the embedded schema. The schema is compiled once.
func Definitions() ([]Definition, error) {
	compileOnce.Do(func() {
		compiled, compileErr = Compile(Text)
		byName = make(map[string]int, len(compiled))
		for i, d := range compiled {
			byName[d.Name] = i
		}
	})
	return compiled, compileErr
}

// Lookup returns the definition of an object type.
func Lookup(typeName string) (Definition, bool) {
	defs, err := Definitions()
	if err != nil {
		return Definition{}, false
	}
	i, ok := byName[typeName]
	if !ok {
		return Definition{}, false
	}
	return defs[i], true
}

// Compile lists the object types of a schema text, such as the one a server has stored.
func Compile(text string) ([]Definition, error) {
	cs, err := compiler.Compile(compiler.InputSchema{Source: input.Source(FileName), SchemaString: text}, compiler.AllowUnprefixedObjectType())
	if err != nil {
		return nil, fmt.Errorf("compiling the schema: %w", err)
	}
	defs := make([]Definition, 0, len(cs.ObjectDefinitions))
	for _, nd := range cs.ObjectDefinitions {
		if strings.HasPrefix(nd.GetName(), ServerPrefix) {
			continue // the server's own definitions are not part of the access model
		}
		d := Definition{Name: nd.GetName(), SubjectTypes: map[string][]string{}, Accepts: map[string][]Subject{}}
		for _, rel := range nd.GetRelation() {
			if rel.GetUsersetRewrite() != nil {
				d.Permissions = append(d.Permissions, rel.GetName())
				continue
			}
			d.Relations = append(d.Relations, rel.GetName())
			expiring := false
			for _, allowed := range rel.GetTypeInformation().GetAllowedDirectRelations() {
				d.SubjectTypes[rel.GetName()] = append(d.SubjectTypes[rel.GetName()], allowedString(allowed))
				d.Accepts[rel.GetName()] = append(d.Accepts[rel.GetName()], allowedSubject(allowed))
				if allowed.GetRequiredExpiration() != nil {
					expiring = true
				}
			}
			if expiring {
				d.Expiring = append(d.Expiring, rel.GetName())
			}
		}
		defs = append(defs, d)
	}
	return defs, nil
}

func allowedString(a *core.AllowedRelation) string {
	switch {
	case a.GetPublicWildcard() != nil:
		return a.GetNamespace() + ":*"
	case a.GetRelation() != "" && a.GetRelation() != "...":
		return a.GetNamespace() + "#" + a.GetRelation()
	default:
		return a.GetNamespace()
	}
}

func allowedSubject(a *core.AllowedRelation) Subject {
	s := Subject{Type: a.GetNamespace(), Wildcard: a.GetPublicWildcard() != nil, Expiring: a.GetRequiredExpiration() != nil}
	if r := a.GetRelation(); r != "..." {
		s.Relation = r
	}
	return s
}
