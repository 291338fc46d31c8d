package audit

import (
	"math/rand/v2"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/ref"
)

// Explanations split role_binding and partner_link ids back into the parts the domain layer
// built them from (ref.RoleBindingID, ref.PartnerLinkID), exactly; an id those builders would
// not have made, such as one with a "|" inside a part, is shown whole and never misread as
// belonging to another account.
func TestPhrasesSplitInternalIDsExactly(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	part := func() string {
		const chars = "abAB09/_-=+"
		b := make([]byte, 1+r.IntN(5))
		for i := range b {
			b[i] = chars[r.IntN(len(chars))]
		}
		return string(b)
	}
	for i := 0; i < 1000; i++ {
		object := ref.Object{Type: []string{"account", "sold_product", "install_base"}[r.IntN(3)], ID: part()}
		role := part()
		id, err := ref.RoleBindingID(object, role)
		if err != nil {
			t.Fatal(err)
		}
		if o, got := bindingParts(id); o != object || got != role {
			t.Fatalf("bindingParts(%q) = %v, %q; want %v, %q", id, o, got, object, role)
		}
		account, partner := part(), part()
		if id, err = ref.PartnerLinkID(account, partner); err != nil {
			t.Fatal(err)
		}
		if a, p := linkParts(id); a != (ref.Object{Type: "account", ID: account}) || p != (ref.Object{Type: "partner", ID: partner}) {
			t.Fatalf("linkParts(%q) = %v, %v; want account:%s, partner:%s", id, a, p, account, partner)
		}
	}

	for _, id := range []string{"account|acme|x|r", "acme_case_creators", "account|acme", "ticket|1|r"} {
		if o, role := bindingParts(id); o != (ref.Object{Type: "role_binding", ID: id}) || role != id {
			t.Errorf("bindingParts(%q) = %v, %q; want the id shown whole", id, o, role)
		}
	}
	for _, id := range []string{"acme|x|p", "acme", "|p"} {
		if a, p := linkParts(id); a != (ref.Object{Type: "account", ID: id}) || p != (ref.Object{Type: "partner", ID: "?"}) {
			t.Errorf("linkParts(%q) = %v, %v; want the id shown whole", id, a, p)
		}
	}
}
