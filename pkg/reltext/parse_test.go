package reltext_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/ref"
	"github.com/accessgraph/accessgraph/pkg/reltext"
)

// Every malformed part of a relationship gets the message pkg/ref gives for that part (the
// one the domain commands print), and the column where the part starts.
func TestParseForNamesThePartAndColumn(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", ref.MaxIDLength+1)
	tests := []struct {
		in     string
		use    reltext.Use
		column int
		msg    string
	}{
		{"account:x#viewer@user:", reltext.ForWrite, 18, "invalid argument: user id is empty"},
		{"account:x#viewer@:x", reltext.ForWrite, 18, `invalid argument: unknown object type ""`},
		{"account:x#viewer@us er:x", reltext.ForWrite, 18, `invalid argument: unknown object type "us er"`},
		{"account:x#viewer@user:x#y", reltext.ForWrite, 18, `invalid argument: user has no relation or permission "y"`},
		{"account:x#viewer@user:" + long, reltext.ForWrite, 18, "invalid argument: user id is 1025 characters long, the limit is 1024"},
		{"account:x#viewer@user:bi\x00ll", reltext.ForWrite, 18, `invalid argument: user id "bi\x00ll" may only contain letters, digits and / _ - = +`},
		{"acount:x#viewer@user:bill", reltext.ForWrite, 1, `invalid argument: unknown object type "acount"`},
		{"account:#viewer@user:bill", reltext.ForWrite, 1, "invalid argument: account id is empty"},
		{"account:x#nonsense@user:bill", reltext.ForWrite, 11, `invalid argument: account has no relation "nonsense" (its relations: platform, admin, standard, viewer,`},
		{"account:x#view_members@user:bill", reltext.ForWrite, 11, "invalid argument: account#view_members is a permission, computed from relations"},
		{"account:x#@user:bill", reltext.ForWrite, 11, "invalid argument: the relation of account is empty"},
		{"account:x@user:bill", reltext.ForWrite, 10, `invalid argument: the resource "account:x" names no relation`},
		{"account:x#viewer", reltext.ForWrite, 17, "invalid argument: no @SUBJECT"},
		{"account:x#viewer@", reltext.ForWrite, 18, "invalid argument: the subject is empty"},
		{"account:x#viewer@user:a@user:b", reltext.ForWrite, 24, "invalid argument: more than one @"},
		{"account:x#viewer@partner:p", reltext.ForWrite, 18, "invalid argument: account#viewer does not take partner (it takes: user)"},
		{"account:x#org_look@partner:p", reltext.ForWrite, 20, "invalid argument: account#org_look does not take partner (it takes: partner#member, partner#member with expiration)"},
		{"account:x#viewer@user:bill[expiration:2030-01-01T00:00:00Z]", reltext.ForWrite, 18, "invalid argument: account#viewer takes user without an expiry: remove the [expiration:...]"},
		{"account:x#join_request_admin@user:bill", reltext.ForWrite, 30, "invalid argument: account#join_request_admin takes user only with an expiry"},
		{"account:x#individual_look@user:bill[expiration:2030-01-01T00:00:00+01:00]", reltext.ForWrite, 36, `invalid argument: expiry "2030-01-01T00:00:00+01:00" is not an RFC 3339 time in UTC`},
		{"account:x#individual_look@user:bill[expiration:2030-01-01T0", reltext.ForWrite, 36, "is not closed with ]: the line may have been cut short"},
		{"account:x#individual_look@user:bill[", reltext.ForWrite, 36, "is not closed with ]: the line may have been cut short"},
		{"account:x#individual_look@user:bill[somecaveat]", reltext.ForWrite, 36, "is a caveat, and the accessgraph schema has none"},
		{"feature:f#participant@user:*", reltext.ForWrite, 23, "is a wildcard subject, which grants to everyone and cannot be written by hand"},
		{"feature:f#participant@user:*#member_of", reltext.ForImport, 23, "the wildcard subject \"user:*#member_of\" names a relation"},
		{"account:x#viewer@user:*", reltext.ForImport, 18, "invalid argument: account#viewer does not take user:* (it takes: user)"},
		{"", reltext.ForWrite, 1, "invalid argument: empty"},
	}
	for _, tt := range tests {
		_, err := reltext.ParseFor(tt.in, tt.use)
		var pe *reltext.Error
		if !errors.As(err, &pe) || !errors.Is(err, ref.ErrInvalid) {
			t.Errorf("ParseFor(%q): %v is not an invalid-argument *reltext.Error", tt.in, err)
			continue
		}
		if pe.Column != tt.column || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("ParseFor(%q) = column %d, %q; want column %d, %q", tt.in, pe.Column, err, tt.column, tt.msg)
		}
		if len(err.Error()) > 1000 { // an excerpt, a reason and at most one list of names
			t.Errorf("ParseFor(%q): the message is %d bytes long: %.200q", tt.in, len(err.Error()), err)
		}
	}
	// A delete matches a relationship whatever its expiry; a write must match the schema's.
	if _, err := reltext.ParseFor("account:x#viewer@user:bill[expiration:2030-01-01T00:00:00Z]", reltext.ForDelete); err != nil {
		t.Errorf("delete with an expiry: %v", err)
	}
	if _, err := reltext.ParseFor("account:x#join_request_admin@user:bill", reltext.ForDelete); err != nil {
		t.Errorf("delete without the expiry: %v", err)
	}
}

// The excerpt of a long relationship is bounded and shows the part at fault.
func TestErrorQuotesAnExcerpt(t *testing.T) {
	t.Parallel()
	in := "account:x#viewer@user:" + strings.Repeat("b", 3<<20) + "!"
	_, err := reltext.ParseFor(in, reltext.ForWrite)
	if err == nil || len(err.Error()) > 600 {
		t.Fatalf("error of %d bytes: %.300q", len(err.Error()), err)
	}
	if !strings.HasPrefix(err.Error(), `relationship "account:x#viewer@user:bbbb`) || !strings.Contains(err.Error(), `bbb..."`) {
		t.Errorf("excerpt: %.300q", err)
	}
}
