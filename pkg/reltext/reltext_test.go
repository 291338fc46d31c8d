package reltext_test

import (
	"errors"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/ref"
	"github.com/accessgraph/accessgraph/pkg/reltext"
)

func TestParseFilter(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want reltext.Filter
		bad  bool
	}{
		{in: "account", want: reltext.Filter{Type: "account"}},
		{in: "account:acme", want: reltext.Filter{Type: "account", ID: "acme"}},
		{in: "account#admin", want: reltext.Filter{Type: "account", Relation: "admin"}},
		{in: "account:acme#admin", want: reltext.Filter{Type: "account", ID: "acme", Relation: "admin"}},
		{in: "account#", bad: true},
		{in: "account:acme#", bad: true},
		{in: "account:*", bad: true},
		{in: "nosuchtype", bad: true},
		{in: "account#nosuchrelation", bad: true},
	} {
		got, err := reltext.ParseFilter(tc.in)
		switch {
		case tc.bad && !errors.Is(err, ref.ErrInvalid):
			t.Errorf("ParseFilter(%q) = %+v, %v; want ErrInvalid", tc.in, got, err)
		case !tc.bad && (err != nil || got != tc.want):
			t.Errorf("ParseFilter(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}
