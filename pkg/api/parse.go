package api

import (
	"fmt"
	"iter"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// DefaultMaxListItems bounds the items one listing response holds (Options.MaxListItems).
const DefaultMaxListItems = 10000

// parser reads a request's fields from the wire's public vocabulary, keeping the first
// error, which names the field.
type parser struct{ err error }

func (p *parser) fail(field string, err error) {
	if p.err == nil {
		p.err = fmt.Errorf("%s: %w", field, err)
	}
}

// id reads TYPE:ID of the given type and returns the ID; empty stays empty (the domain
// layer says when it is required).
func (p *parser) id(field, s, typ string) string {
	if s == "" {
		return ""
	}
	o, err := ref.ParseOfType(s, typ)
	if err != nil {
		p.fail(field, err)
	}
	return o.ID
}

func (p *parser) object(field, s string) ref.Object {
	if s == "" {
		return ref.Object{}
	}
	o, err := ref.Parse(s)
	if err != nil {
		p.fail(field, err)
	}
	return o
}

func (p *parser) subject(field, s string) ref.Subject {
	if s == "" {
		return ref.Subject{}
	}
	o, err := ref.ParseSubject(s)
	if err != nil {
		p.fail(field, err)
	}
	return o
}

type actorRequest interface {
	GetActor() string
	GetReason() string
}

// actor reads the acting user (user:ID) and the reason.
func (p *parser) actor(m actorRequest) access.Actor {
	return access.Actor{User: p.id("actor", m.GetActor(), "user"), Reason: m.GetReason()}
}

func (p *parser) grantee(s string) access.Grantee {
	if s == "" {
		return access.Grantee{}
	}
	g, err := access.ParseGrantee(s)
	if err != nil {
		p.fail("grantee", err)
	}
	return g
}

func (p *parser) level(s string) access.Level {
	l, err := access.ParseLevel(s)
	if err != nil {
		p.fail("level", err)
	}
	return l
}

func (p *parser) role(s string) access.Role {
	r, err := access.ParseRole(s)
	if err != nil {
		p.fail("role", err)
	}
	return r
}

func (p *parser) functionalRole(s string) access.FunctionalRole {
	r, err := access.ParseFunctionalRole(s)
	if err != nil {
		p.fail("role", err)
	}
	return r
}

func (p *parser) privileges(names []string) []access.Privilege {
	if len(names) == 0 {
		return nil
	}
	privs, err := access.ParsePrivileges(strings.Join(names, ","))
	if err != nil {
		p.fail("privileges", err)
	}
	return privs
}

func (p *parser) consistency(name, token string) access.Consistency {
	c, err := access.ParseConsistency(name, access.Token(token))
	if err != nil {
		p.fail("consistency", err)
	}
	return c
}

func (p *parser) status(s string) access.CaseStatus {
	switch access.CaseStatus(s) {
	case "":
		return access.StatusAll
	case access.StatusAll, access.StatusOpen, access.StatusClosed:
		return access.CaseStatus(s)
	}
	p.fail("status", fmt.Errorf("%w: unknown case status %q (all, open, closed)", access.ErrInvalidArgument, s))
	return ""
}

func timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func timeOf(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}

// collect drains a listing, refusing one longer than max with an error wrapping
// access.ErrLimit.
func collect[T any](seq iter.Seq2[T, error], max int) ([]T, error) {
	var out []T
	for v, err := range seq {
		if err != nil {
			return nil, err
		}
		if len(out) == max {
			return nil, fmt.Errorf("%w: the listing has more than %d items, the most one response holds", access.ErrLimit, max)
		}
		out = append(out, v)
	}
	return out, nil
}

func objectStrings(objs []ref.Object) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.String()
	}
	return out
}
