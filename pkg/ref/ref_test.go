package ref_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/ref"
)

func TestParse(t *testing.T) {
	t.Parallel()
	good := map[string]ref.Object{
		"user:sally":          {Type: "user", ID: "sally"},
		"case:42":             {Type: "case", ID: "42"},
		"partner_link:acme|x": {Type: "partner_link", ID: "acme|x"},
		"account:ACME-01":     {Type: "account", ID: "ACME-01"},
	}
	for in, want := range good {
		got, err := ref.Parse(in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	bad := map[string]string{
		"":                                  "not a reference",
		"sally":                             "not a reference",
		"user:":                             "empty",
		"user:*":                            "wildcard",
		"usr:sally":                         "unknown object type",
		"user:sal ly":                       "may only contain",
		"user:sal\x00ly":                    "may only contain",
		"user:sal@ly":                       "may only contain",
		"user:sally#member":                 "names a relation",
		"user:" + strings.Repeat("a", 1025): "limit is 1024",
		"user:sálly":                        "may only contain",
		"User:sally":                        "unknown object type",
		"account:acme|x":                    `account id "acme|x" may not contain "|" (it separates the parts of internal ids): choose an id without it`,
		"user:a|b":                          `may not contain "|"`,
		"role:x|r":                          `may not contain "|"`,
		"partner:|":                         `may not contain "|"`,
		"user:sal ly|":                      "may only contain letters, digits and / _ - = +",
		"partner_link:acme x":               "may only contain letters, digits and / _ | - = +",
	}
	for in, want := range bad {
		_, err := ref.Parse(in)
		if !errors.Is(err, ref.ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) error = %v; want ErrInvalid mentioning %q", in, err, want)
		}
	}
}

func TestParseSubject(t *testing.T) {
	t.Parallel()
	s, err := ref.ParseSubject("group:district#member")
	if err != nil || s.String() != "group:district#member" {
		t.Fatalf("ParseSubject = %v, %v", s, err)
	}
	if _, err := ref.ParseSubject("group:district#owner"); !errors.Is(err, ref.ErrInvalid) {
		t.Fatalf("unknown relation accepted: %v", err)
	}
}

func TestValidatePermission(t *testing.T) {
	t.Parallel()
	if err := ref.ValidatePermission("case", "view"); err != nil {
		t.Fatal(err)
	}
	err := ref.ValidatePermission("case", "viw")
	if !errors.Is(err, ref.ErrInvalid) || !strings.Contains(err.Error(), `case has no permission "viw"`) {
		t.Fatalf("typo not reported clearly: %v", err)
	}
}

// "|" joins the parts of internal ids, so only the internal types accept it: every other type
// of the schema refuses it, through New, Parse, ParseSubject and ValidateID alike.
func TestSeparatorOnlyInInternalIDs(t *testing.T) {
	t.Parallel()
	internal := 0
	for _, typ := range ref.Types() {
		for _, id := range []string{"acme|x", "|", "|acme", "acme|", "a|b|c"} {
			_, newErr := ref.New(typ, id)
			_, parseErr := ref.Parse(typ + ":" + id)
			_, subjErr := ref.ParseSubject(typ + ":" + id)
			idErr := ref.ValidateID(typ, id)
			if ref.IsInternal(typ) {
				for _, err := range []error{newErr, parseErr, subjErr, idErr} {
					if err != nil {
						t.Errorf("internal type %s refuses id %q: %v", typ, id, err)
					}
				}
				continue
			}
			for _, err := range []error{newErr, parseErr, subjErr, idErr} {
				if !errors.Is(err, ref.ErrInvalid) || !strings.Contains(err.Error(), typ+` id "`+id+`" may not contain "|"`) {
					t.Errorf("public type %s, id %q: error %v; want ErrInvalid naming the id and the separator", typ, id, err)
				}
			}
		}
		if ref.IsInternal(typ) {
			internal++
		}
	}
	if want := len(ref.InternalTypes()); internal != want {
		t.Fatalf("%d of the internal types %v are schema types, want all %d", internal, ref.InternalTypes(), want)
	}
	// A word naming the id, not a type, is public too.
	if err := ref.ValidateID("acting user", "a|b"); !errors.Is(err, ref.ErrInvalid) {
		t.Fatalf(`ValidateID("acting user", "a|b") = %v; want ErrInvalid`, err)
	}
}

// The internal types are exactly the ones whose ids the schema says are composite.
func TestInternalTypesAreTheCompositeOnes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ typ, shape string }{{"partner_link", "ACCOUNT|PARTNER"}, {"role_binding", "TYPE|ID|ROLE"}} {
		if !ref.IsInternal(c.typ) {
			t.Errorf("%s (id %s) is not internal", c.typ, c.shape)
		}
	}
	if got := len(ref.InternalTypes()); got != 2 {
		t.Errorf("internal types %v; want partner_link and role_binding", ref.InternalTypes())
	}
}
