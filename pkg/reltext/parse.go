package reltext

import (
	"fmt"
	"strings"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accessgraph/accessgraph/pkg/ref"
	"github.com/accessgraph/accessgraph/schema"
)

// ExcerptWidth is about how much of a relationship an error message quotes.
const ExcerptWidth = 80

// Error is relationship text that cannot be used: the reason, and where in the text it
// starts. Every Error wraps ref.ErrInvalid.
type Error struct {
	// Text is the text as given.
	Text string
	// Column is the 1-based byte offset in Text of the part at fault.
	Column int
	// Err is the reason, in the words the domain commands use for the same reference.
	Err error
}

func (e *Error) Error() string {
	return fmt.Sprintf("relationship %q: %v", ref.Excerpt(e.Text, e.Column-1, ExcerptWidth), e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Use says what a parsed relationship is for, which decides what is checked.
type Use int

const (
	// ForWrite: a relationship a person writes. Every part is checked against the schema,
	// expiry included; wildcard subjects are refused (they grant to everyone and are written
	// by the domain layer only).
	ForWrite Use = iota
	// ForImport: as ForWrite, but wildcard subjects are accepted (an export restores the
	// domain layer's wildcards).
	ForImport
	// ForDelete: as ForWrite, but the expiry is not compared with the schema (a delete
	// matches the relationship whatever its expiry).
	ForDelete
)

// Parse reads one relationship in tuple notation and checks it against the schema as a write
// would: every type, id and relation, whether the relation takes that kind of subject, and
// the expiry. Wildcard subjects (user:*) are accepted only when allowWildcard is set.
func Parse(s string, allowWildcard bool) (*v1.Relationship, error) {
	if allowWildcard {
		return ParseFor(s, ForImport)
	}
	return ParseFor(s, ForWrite)
}

// ParseFor reads one relationship in tuple notation,
// RESOURCE#RELATION@SUBJECT[expiration:RFC3339], checked for use. Leading and trailing
// spaces are ignored. It is the one reader of relationship text typed or imported by
// people: each part is checked by pkg/ref, so a malformed reference gets the message the
// domain commands give for it, and an *Error says which column is at fault.
func ParseFor(s string, use Use) (*v1.Relationship, error) {
	p := parser{text: s}
	rel, err := p.parse(use)
	if err != nil {
		return nil, &Error{Text: s, Column: p.col + 1, Err: err}
	}
	return rel, nil
}

// parser keeps the offset of the part being checked, for the error's column.
type parser struct {
	text string
	col  int
}

// at marks the part starting at offset off of text as the one being checked.
func (p *parser) at(off int) { p.col = off }

func (p *parser) parse(use Use) (*v1.Relationship, error) {
	start := len(p.text) - len(strings.TrimLeft(p.text, " \t"))
	s := strings.TrimRight(p.text[start:], " \t\r")
	p.at(start)
	if s == "" {
		return nil, fmt.Errorf("%w: empty: write RESOURCE#RELATION@SUBJECT, for example account:acme#admin@user:bill", ref.ErrInvalid)
	}
	at := strings.IndexByte(s, '@')
	if at < 0 {
		p.at(start + len(s))
		return nil, fmt.Errorf("%w: no @SUBJECT: write RESOURCE#RELATION@SUBJECT, for example account:acme#admin@user:bill", ref.ErrInvalid)
	}
	resource, rest := s[:at], s[at+1:]
	subject, suffix := rest, ""
	if i := strings.IndexByte(rest, '['); i >= 0 {
		subject, suffix = rest[:i], rest[i:]
	}
	if i := strings.IndexByte(subject, '@'); i >= 0 {
		p.at(start + at + 1 + i)
		return nil, fmt.Errorf("%w: more than one @: a relationship is RESOURCE#RELATION@SUBJECT", ref.ErrInvalid)
	}

	// The resource: TYPE:ID#RELATION.
	object, relation, hasRel := strings.Cut(resource, "#")
	if !hasRel {
		p.at(start + len(resource))
		return nil, fmt.Errorf("%w: the resource %q names no relation: write RESOURCE#RELATION@SUBJECT, for example account:acme#admin@user:bill", ref.ErrInvalid, ref.Excerpt(resource, 0, ExcerptWidth))
	}
	res, err := ref.Parse(object)
	if err != nil {
		return nil, err
	}
	p.at(start + len(object) + 1)
	if err := ref.ValidateRelation(res.Type, relation); err != nil {
		return nil, err
	}

	// The subject: TYPE:ID, TYPE:ID#RELATION or TYPE:* (a wildcard).
	subjAt := start + at + 1
	p.at(subjAt)
	kind, subj, err := parseSubject(subject, use == ForImport)
	if err != nil {
		return nil, err
	}

	// The suffix: nothing, or [expiration:RFC3339].
	p.at(subjAt + len(subject))
	expires, err := parseSuffix(suffix)
	if err != nil {
		return nil, err
	}
	kind.Expiring = expires != nil
	p.at(subjAt)
	if err := ref.ValidateSubjectKind(res.Type, relation, kind, use == ForDelete); err != nil {
		return nil, err
	}
	rel := &v1.Relationship{
		Resource: &v1.ObjectReference{ObjectType: res.Type, ObjectId: res.ID},
		Relation: relation,
		Subject:  subj,
	}
	if expires != nil {
		rel.OptionalExpiresAt = timestamppb.New(*expires)
	}
	return rel, nil
}

func parseSubject(s string, allowWildcard bool) (schema.Subject, *v1.SubjectReference, error) {
	if s == "" {
		return schema.Subject{}, nil, fmt.Errorf("%w: the subject is empty: write RESOURCE#RELATION@TYPE:ID, for example account:acme#admin@user:bill", ref.ErrInvalid)
	}
	objPart, _, _ := strings.Cut(s, "#")
	if typ, id, ok := strings.Cut(objPart, ":"); ok && id == "*" {
		if !allowWildcard {
			return schema.Subject{}, nil, fmt.Errorf("%w: %q is a wildcard subject, which grants to everyone and cannot be written by hand: use `accessctl feature release` to open a rollout to every user", ref.ErrInvalid, ref.Excerpt(s, 0, ExcerptWidth))
		}
		if objPart != s {
			return schema.Subject{}, nil, fmt.Errorf("%w: the wildcard subject %q names a relation; write %s:*", ref.ErrInvalid, ref.Excerpt(s, 0, ExcerptWidth), typ)
		}
		if _, err := ref.New(typ, "wildcard"); err != nil {
			return schema.Subject{}, nil, err
		}
		return schema.Subject{Type: typ, Wildcard: true},
			&v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: typ, ObjectId: "*"}}, nil
	}
	sub, err := ref.ParseSubject(s)
	if err != nil {
		return schema.Subject{}, nil, err
	}
	return schema.Subject{Type: sub.Type, Relation: sub.Relation},
		&v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: sub.Type, ObjectId: sub.ID}, OptionalRelation: sub.Relation}, nil
}

const expiryPrefix = "[expiration:"

// parseSuffix reads what follows the subject: nothing, or [expiration:RFC3339]. A caveat is
// refused (the schema has none); so is an unclosed bracket, the mark of a line cut short.
func parseSuffix(s string) (*time.Time, error) {
	switch {
	case s == "":
		return nil, nil
	case !strings.HasSuffix(s, "]"):
		return nil, fmt.Errorf("%w: %q is not closed with ]: the line may have been cut short; an expiry is written [expiration:2030-01-01T00:00:00Z]", ref.ErrInvalid, ref.Excerpt(s, 0, ExcerptWidth))
	case !strings.HasPrefix(s, expiryPrefix):
		return nil, fmt.Errorf("%w: %q is a caveat, and the accessgraph schema has none; the only suffix is [expiration:RFC3339]", ref.ErrInvalid, ref.Excerpt(s, 0, ExcerptWidth))
	}
	value := s[len(expiryPrefix) : len(s)-1]
	// SpiceDB's own notation: RFC 3339 in UTC only ([\d\-\.:TZ]+), with optional fractions.
	t, err := time.Parse(time.RFC3339Nano, value)
	if err != nil || strings.Trim(value, "0123456789-.:TZ") != "" {
		return nil, fmt.Errorf("%w: expiry %q is not an RFC 3339 time in UTC, such as 2030-01-01T00:00:00Z", ref.ErrInvalid, ref.Excerpt(value, 0, ExcerptWidth))
	}
	return &t, nil
}
