package ref_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/accessgraph/accessgraph/pkg/ref"
)

// fuzzSeeds are references good and bad: every type, the characters ids allow, and the
// shapes that must be refused (wildcard, whitespace, control characters, relations where
// an object is expected, unknown types, over-long ids, non-ASCII).
var fuzzSeeds = []string{
	"user:sally", "case:42", "account:ACME-01", "partner_link:acme|integrator",
	"role_binding:install_base|router_hq|field_engineer", "group:district#member",
	"partner:integrator#member", "feature:entitlement_view", "platform:main",
	"user:a/b_c|d-e=f+g", "user:a/b_c-d=f+g", "account:acme|x", "role:x|r", "partner:|", "sold_product:router", "install_base:router_hq", "service_org:fieldfix",
	"", ":", "user:", ":sally", "user:*", "user:*#member", "*:*", "user: sally", "user:sally ",
	"user:sal\tly", "user:sal\x00ly", "user:bill\x1b[31m", "user:sally\n", "user:sálly", "user:☃",
	"User:sally", "usr:sally", "user:sally#", "user:sally#member", "group:g#owner", "group:g##member",
	"user:a:b", "user::", "group:x#member#member", "user:" + strings.Repeat("a", 1025),
	"user:" + strings.Repeat("a", 1024), "user:\u2028", "user:\u00a0", "user:a\u200bb",
}

// idAllowed is the character set an accepted id of the type may use: "|" only in the ids of
// internal types, whose ids are public ids joined with it.
func idAllowed(typ, id string) bool {
	chars := "/_-=+"
	if ref.IsInternal(typ) {
		chars = "/_|-=+"
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(chars, r)
		if !ok {
			return false
		}
	}
	return id != "" && len(id) <= ref.MaxIDLength
}

// checkObject asserts what must hold of every accepted object.
func checkObject(t *testing.T, in string, o ref.Object) {
	t.Helper()
	if o.ID == "*" || strings.Contains(o.ID, "*") {
		t.Fatalf("%q: accepted a wildcard id %q", in, o.ID)
	}
	if strings.IndexFunc(o.ID, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		t.Fatalf("%q: accepted an id with whitespace or a control character: %q", in, o.ID)
	}
	if !idAllowed(o.Type, o.ID) {
		t.Fatalf("%q: accepted id %q outside the documented character set or length", in, o.ID)
	}
	if !slices.Contains(ref.Types(), o.Type) {
		t.Fatalf("%q: accepted unknown type %q", in, o.Type)
	}
}

// checkRefusal asserts what must hold of every refusal: it is ErrInvalid, and its message
// carries no raw control character (it may be printed on a terminal).
func checkRefusal(t *testing.T, in string, err error) {
	t.Helper()
	if !errors.Is(err, ref.ErrInvalid) {
		t.Fatalf("%q: error %v is not ErrInvalid", in, err)
	}
	msg := err.Error()
	if !utf8.ValidString(msg) {
		t.Fatalf("%q: error message is not valid UTF-8: %q", in, msg)
	}
	if i := strings.IndexFunc(msg, func(r rune) bool { return unicode.IsControl(r) || !unicode.IsPrint(r) && r != ' ' }); i >= 0 {
		t.Fatalf("%q: error message carries a raw control or invisible character: %q", in, msg)
	}
}

// FuzzParse: Parse never panics; whatever it accepts is a known type with an id of the
// documented character set (never the wildcard, whitespace or a control character), and
// round-trips exactly through String; whatever it refuses is ErrInvalid with a printable
// message.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		o, err := ref.Parse(in)
		if err != nil {
			checkRefusal(t, in, err)
			return
		}
		checkObject(t, in, o)
		if o.String() != in {
			t.Fatalf("Parse(%q) = %v, which renders as %q", in, o, o.String())
		}
		again, err := ref.Parse(o.String())
		if err != nil || again != o {
			t.Fatalf("Parse(%q) = %v; parsing its String() gives %v, %v", in, o, again, err)
		}
		if typed, err := ref.ParseOfType(in, o.Type); err != nil || typed != o {
			t.Fatalf("ParseOfType(%q, %q) = %v, %v; want %v", in, o.Type, typed, err, o)
		}
	})
}

// FuzzParseSubject: the same for subjects, whose optional relation must be one the type
// defines; an accepted subject round-trips through String.
func FuzzParseSubject(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ref.ParseSubject(in)
		if err != nil {
			checkRefusal(t, in, err)
			return
		}
		checkObject(t, in, s.Object)
		if strings.ContainsAny(s.Relation, "*#: \t\n") {
			t.Fatalf("ParseSubject(%q) accepted relation %q", in, s.Relation)
		}
		if strings.Contains(in, "#") && s.Relation == "" {
			t.Fatalf("ParseSubject(%q) dropped the relation", in)
		}
		if s.String() != in {
			t.Fatalf("ParseSubject(%q) = %v, which renders as %q", in, s, s.String())
		}
		again, err := ref.ParseSubject(s.String())
		if err != nil || again != s {
			t.Fatalf("ParseSubject(%q) = %v; parsing its String() gives %v, %v", in, s, again, err)
		}
		if s.Relation == "" {
			if o, err := ref.Parse(in); err != nil || o != s.Object {
				t.Fatalf("ParseSubject(%q) accepted a plain object that Parse refuses or reads differently: %v, %v", in, o, err)
			}
		}
	})
}

// FuzzNew: New(type, id) accepts exactly a known type with a valid id, agrees with
// ValidateID, and agrees with Parse on the joined form.
func FuzzNew(f *testing.F) {
	f.Add("user", "sally")
	f.Add("user", "*")
	f.Add("case", "")
	f.Add("nope", "x")
	f.Add("user", "a:b")
	f.Add("user", "a#b")
	f.Add("account", "acme|x")
	f.Add("partner_link", "acme|x")
	f.Fuzz(func(t *testing.T, typ, id string) {
		o, err := ref.New(typ, id)
		if err != nil {
			checkRefusal(t, typ+":"+id, err)
			return
		}
		checkObject(t, typ+":"+id, o)
		if verr := ref.ValidateID(typ, id); verr != nil {
			t.Fatalf("New(%q, %q) accepted what ValidateID refuses: %v", typ, id, verr)
		}
		if p, perr := ref.Parse(o.String()); perr != nil || p != o {
			t.Fatalf("New(%q, %q) = %v, but Parse of its String() gives %v, %v", typ, id, o, p, perr)
		}
	})
}

// FuzzInternalIDs: RoleBindingID and PartnerLinkID either refuse their parts or build an id
// that ParseRoleBindingID and ParsePartnerLinkID split back into exactly those parts; a part
// containing the separator is always refused, and every refusal is ErrInvalid with a
// printable message. Splitting never panics, and what it accepts rebuilds the same id.
func FuzzInternalIDs(f *testing.F) {
	f.Add("account", "acme", "auditor", "acme", "integrator")
	f.Add("account", "acme|x", "r", "acme|x", "p")
	f.Add("account", "acme", "x|r", "acme", "x|p")
	f.Add("install_base", "router_hq", "field_engineer", "", "p")
	f.Add("role_binding", "account|acme|r", "r", "*", "*")
	f.Add("ticket", "1", "r", "a\x00", "b c")
	f.Fuzz(func(t *testing.T, typ, id, role, account, partner string) {
		object := ref.Object{Type: typ, ID: id}
		bid, err := ref.RoleBindingID(object, role)
		if err != nil {
			checkRefusal(t, typ+":"+id+" "+role, err)
		} else {
			if strings.Contains(id, ref.Separator) || strings.Contains(role, ref.Separator) || ref.IsInternal(typ) {
				t.Fatalf("RoleBindingID(%v, %q) = %q: accepted a part with the separator", object, role, bid)
			}
			if o, r, perr := ref.ParseRoleBindingID(bid); perr != nil || o != object || r != role {
				t.Fatalf("RoleBindingID(%v, %q) = %q, which splits into %v, %q, %v", object, role, bid, o, r, perr)
			}
		}
		lid, err := ref.PartnerLinkID(account, partner)
		if err != nil {
			checkRefusal(t, account+" "+partner, err)
		} else {
			if strings.Contains(account, ref.Separator) || strings.Contains(partner, ref.Separator) {
				t.Fatalf("PartnerLinkID(%q, %q) = %q: accepted a part with the separator", account, partner, lid)
			}
			if a, p, perr := ref.ParsePartnerLinkID(lid); perr != nil || a != account || p != partner {
				t.Fatalf("PartnerLinkID(%q, %q) = %q, which splits into %q, %q, %v", account, partner, lid, a, p, perr)
			}
		}
		// Splitting arbitrary text: whatever is accepted is rebuilt into the same id.
		for _, s := range []string{id, role, account + ref.Separator + partner, typ + ref.Separator + id + ref.Separator + role} {
			if o, r, perr := ref.ParseRoleBindingID(s); perr == nil {
				if again, err := ref.RoleBindingID(o, r); err != nil || again != s {
					t.Fatalf("ParseRoleBindingID(%q) = %v, %q, which rebuilds as %q, %v", s, o, r, again, err)
				}
			} else {
				checkRefusal(t, s, perr)
			}
			if a, p, perr := ref.ParsePartnerLinkID(s); perr == nil {
				if again, err := ref.PartnerLinkID(a, p); err != nil || again != s {
					t.Fatalf("ParsePartnerLinkID(%q) = %q, %q, which rebuilds as %q, %v", s, a, p, again, err)
				}
			} else {
				checkRefusal(t, s, perr)
			}
		}
	})
}
