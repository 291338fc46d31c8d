package reltext_test

import (
	"errors"
	"strings"
	"testing"
	"unicode"

	"github.com/authzed/spicedb/pkg/tuple"
	"google.golang.org/protobuf/proto"

	"github.com/accessgraph/accessgraph/pkg/ref"
	"github.com/accessgraph/accessgraph/pkg/reltext"
)

// relSeeds are relationships and filters as people type them, and hostile variants:
// wildcards, caveats, expiries, missing parts, unknown types and relations, control
// characters, non-ASCII, over-long ids.
var relSeeds = []string{
	"account:acme#admin@user:bill",
	"group:district#member@user:sally",
	"group:district#member@group:north#member",
	"account:acme#admin@user:bill[expiration:2030-01-01T00:00:00Z]",
	"account:acme#individual_look@user:tara[expiration:2030-01-01T00:00:00Z]",
	"account:acme#individual_look@user:tara[expiration:2030-01-01T00:00:00.123456Z]",
	"account:acme#individual_look@user:tara[expiration:2030-01-01T00:00:00+01:00]",
	"account:acme#individual_look@user:tara[expiration:2030-01-01T00:00",
	"account:acme#individual_look@user:tara[expir",
	"account:acme#join_request_admin@user:tara",
	"account:acme#org_look@partner:integrator#member",
	"account:acme#org_look@partner:integrator",
	"account:acme#view_members@user:bill",
	"account:x#viewer@user:",
	"account:x#viewer@:x",
	"account:x#viewer@us er:x",
	"account:x#viewer@user:x#y",
	"account:x#viewer@user:bi\x00ll",
	"role:r#case_read@user:*",
	"group:g#direct_member@group:h#member",
	"account:acme#admin@user:bill[somecaveat]",
	"account:acme#admin@user:bill[somecaveat:{\"a\":1}]",
	"feature:beta#rollout@user:*",
	"  account:acme#admin@user:bill  ",
	"account:acme#admin",
	"account:acme",
	"account",
	"account#admin",
	"account:acme#nope@user:bill",
	"nope:acme#admin@user:bill",
	"account:acme#admin@nope:bill",
	"account:*#admin@user:bill",
	"account:acme#admin@user:bi\x1bll",
	"account:acme#admin@user:bill\n",
	"account:ac\u202eme#admin@user:bill",
	"account:acmé#admin@user:bill",
	"account:" + strings.Repeat("a", 1025) + "#admin@user:bill",
	"account:acme#admin@@user:bill",
	"account:acme##admin@user:bill",
	"account::acme#admin@user:bill",
	":#@:",
	"",
}

// printable reports whether msg is safe to print on a terminal: no control character other
// than newline and tab, no bidirectional override.
func printable(msg string) bool {
	return strings.IndexFunc(msg, func(r rune) bool {
		return r != '\n' && r != '\t' && (unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r))
	}) < 0
}

// FuzzParse: Parse never panics; it refuses with ErrInvalid and a printable message, or
// returns a relationship of known types and valid ids, without a caveat, with a wildcard
// subject only when allowed, which Format renders to text that parses back to the same
// relationship.
func FuzzParse(f *testing.F) {
	for _, s := range relSeeds {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, in string, allowWildcard bool) {
		rel, err := reltext.Parse(in, allowWildcard)
		if err != nil {
			if !errors.Is(err, ref.ErrInvalid) {
				t.Fatalf("Parse(%q): error %v is not ErrInvalid", in, err)
			}
			if !printable(err.Error()) {
				t.Fatalf("Parse(%q): error carries a raw control character: %q", in, err)
			}
			return
		}
		if rel.GetOptionalCaveat() != nil {
			t.Fatalf("Parse(%q) accepted a caveat", in)
		}
		res, subj := rel.GetResource(), rel.GetSubject().GetObject()
		if _, err := ref.New(res.GetObjectType(), res.GetObjectId()); err != nil {
			t.Fatalf("Parse(%q) accepted resource %v: %v", in, res, err)
		}
		if subj.GetObjectId() == "*" {
			if !allowWildcard {
				t.Fatalf("Parse(%q) accepted a wildcard subject without allowWildcard", in)
			}
		} else if _, err := ref.New(subj.GetObjectType(), subj.GetObjectId()); err != nil {
			t.Fatalf("Parse(%q) accepted subject %v: %v", in, subj, err)
		}
		text := reltext.Format(rel)
		again, err := reltext.Parse(text, allowWildcard)
		if err != nil || !proto.Equal(again, rel) {
			t.Fatalf("Parse(%q) = %v, formatted %q, which parses to %v, %v", in, rel, text, again, err)
		}
		// What we accept, SpiceDB's own parser reads as the same relationship: our reader
		// is stricter, never different.
		theirs, err := tuple.ParseV1Rel(strings.Trim(in, " \t\r"))
		if err != nil || !proto.Equal(theirs, rel) {
			t.Fatalf("Parse(%q) = %v, but SpiceDB reads %v, %v", in, rel, theirs, err)
		}
		// A delete reads the same relationship (wildcards are written by the domain layer only).
		if subj.GetObjectId() != "*" {
			if del, err := reltext.ParseFor(in, reltext.ForDelete); err != nil || !proto.Equal(del, rel) {
				t.Fatalf("ParseFor(%q, ForDelete) = %v, %v; Parse gave %v", in, del, err, rel)
			}
		}
	})
}

// FuzzParseFilter: ParseFilter never panics; it refuses with ErrInvalid and a printable
// message, or returns a filter of a known type (and valid id and relation when given) that
// renders back to exactly the input.
func FuzzParseFilter(f *testing.F) {
	for _, s := range relSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		flt, err := reltext.ParseFilter(in)
		if err != nil {
			if !errors.Is(err, ref.ErrInvalid) {
				t.Fatalf("ParseFilter(%q): error %v is not ErrInvalid", in, err)
			}
			if !printable(err.Error()) {
				t.Fatalf("ParseFilter(%q): error carries a raw control character: %q", in, err)
			}
			return
		}
		id := flt.ID
		if id == "" {
			id = "x"
		}
		if _, err := ref.New(flt.Type, id); err != nil {
			t.Fatalf("ParseFilter(%q) = %+v, whose type or id is invalid: %v", in, flt, err)
		}
		if flt.Relation != "" {
			if err := ref.ValidatePermission(flt.Type, flt.Relation); err != nil {
				t.Fatalf("ParseFilter(%q) = %+v, whose relation is invalid: %v", in, flt, err)
			}
		}
		back := flt.Type
		if flt.ID != "" {
			back += ":" + flt.ID
		}
		if flt.Relation != "" {
			back += "#" + flt.Relation
		}
		if back != in {
			t.Fatalf("ParseFilter(%q) = %+v, which renders as %q", in, flt, back)
		}
	})
}
