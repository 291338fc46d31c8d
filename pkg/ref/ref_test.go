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
