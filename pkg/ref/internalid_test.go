package ref_test

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/ref"
)

// idAlphabet is every character SpiceDB allows in an object id, the separator included.
const idAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_-=+|"

// randomPart draws a short id. Short parts over a few letters, with the separator often,
// make the collisions a joined id could have (a|b + c against a + b|c) frequent.
func randomPart(r *rand.Rand) string {
	var b strings.Builder
	for n := 1 + r.IntN(4); n > 0; n-- {
		switch x := r.IntN(10); {
		case x < 3:
			b.WriteString(ref.Separator)
		case x < 7:
			b.WriteByte("ab"[r.IntN(2)])
		default:
			b.WriteByte(idAlphabet[r.IntN(len(idAlphabet))])
		}
	}
	return b.String()
}

// Property, over 10,000 random tuples of each kind: the builder of an internal id refuses a
// tuple exactly when one of its parts contains the separator (the parts are otherwise valid),
// no two distinct accepted tuples build the same id, and splitting an id gives back exactly
// the tuple it was built from.
func TestInternalIDsAreInjective(t *testing.T) {
	t.Parallel()
	const n = 10_000
	r := rand.New(rand.NewPCG(1, 2))
	bindable := []string{"account", "sold_product", "install_base"}

	type binding struct {
		object ref.Object
		role   string
	}
	bindings := map[string]binding{}
	refused := 0
	v := violations{t: t}
	for i := 0; i < n; i++ {
		b := binding{ref.Object{Type: bindable[r.IntN(len(bindable))], ID: randomPart(r)}, randomPart(r)}
		if i%10 == 0 { // the attack's shape: the object's id ends in what another role begins with
			b = binding{ref.Object{Type: "account", ID: "acme" + ref.Separator + randomPart(r)}, randomPart(r)}
		}
		hasSep := strings.Contains(b.object.ID, ref.Separator) || strings.Contains(b.role, ref.Separator)
		id, err := ref.RoleBindingID(b.object, b.role)
		if err != nil {
			refused++
			if !hasSep {
				t.Fatalf("RoleBindingID(%v, %q) refused parts without the separator: %v", b.object, b.role, err)
			}
			if !errors.Is(err, ref.ErrInvalid) || !strings.Contains(err.Error(), `may not contain "|"`) {
				t.Fatalf("RoleBindingID(%v, %q): error %v does not name the separator", b.object, b.role, err)
			}
			continue
		}
		if hasSep {
			v.add("accepted", "RoleBindingID(%v, %q) = %q: accepted a part containing the separator", b.object, b.role, id)
		}
		if prev, ok := bindings[id]; ok && prev != b {
			v.add("collision", "role bindings %v and %v share the id %q", prev, b, id)
		}
		bindings[id] = b
		object, role, err := ref.ParseRoleBindingID(id)
		if err != nil || object != b.object || role != b.role {
			v.add("split", "ParseRoleBindingID(%q) = %v, %q, %v; want %v, %q", id, object, role, err, b.object, b.role)
		}
	}
	t.Logf("role bindings: %d tuples, %d refused, %d distinct ids; violations %v", n, refused, len(bindings), v.count)

	type link struct{ account, partner string }
	links := map[string]link{}
	refused = 0
	v = violations{t: t}
	for i := 0; i < n; i++ {
		l := link{randomPart(r), randomPart(r)}
		if i%10 == 0 {
			l.account = "acme" + ref.Separator + randomPart(r)
		}
		hasSep := strings.Contains(l.account, ref.Separator) || strings.Contains(l.partner, ref.Separator)
		id, err := ref.PartnerLinkID(l.account, l.partner)
		if err != nil {
			refused++
			if !hasSep {
				t.Fatalf("PartnerLinkID(%q, %q) refused parts without the separator: %v", l.account, l.partner, err)
			}
			if !errors.Is(err, ref.ErrInvalid) || !strings.Contains(err.Error(), `may not contain "|"`) {
				t.Fatalf("PartnerLinkID(%q, %q): error %v does not name the separator", l.account, l.partner, err)
			}
			continue
		}
		if hasSep {
			v.add("accepted", "PartnerLinkID(%q, %q) = %q: accepted a part containing the separator", l.account, l.partner, id)
		}
		if prev, ok := links[id]; ok && prev != l {
			v.add("collision", "partner links %v and %v share the id %q", prev, l, id)
		}
		links[id] = l
		account, partner, err := ref.ParsePartnerLinkID(id)
		if err != nil || account != l.account || partner != l.partner {
			v.add("split", "ParsePartnerLinkID(%q) = %q, %q, %v; want %q, %q", id, account, partner, err, l.account, l.partner)
		}
	}
	t.Logf("partner links: %d tuples, %d refused, %d distinct ids; violations %v", n, refused, len(links), v.count)
}

// violations counts failures of a property by kind and reports the first few of each.
type violations struct {
	t     *testing.T
	count map[string]int
}

func (v *violations) add(kind, format string, args ...any) {
	v.t.Helper()
	if v.count == nil {
		v.count = map[string]int{}
	}
	if v.count[kind]++; v.count[kind] <= 3 {
		v.t.Errorf(format, args...)
	}
}

// The builders refuse what is not a public id of a public type, and the splitters refuse
// what the builders would not have built, so an id written by hand is never misread.
func TestInternalIDBuildersAndSplitters(t *testing.T) {
	t.Parallel()
	if id, err := ref.RoleBindingID(ref.Object{Type: "install_base", ID: "router_hq"}, "field_engineer"); err != nil || id != "install_base|router_hq|field_engineer" {
		t.Fatalf("RoleBindingID = %q, %v", id, err)
	}
	if id, err := ref.PartnerLinkID("acme", "integrator"); err != nil || id != "acme|integrator" {
		t.Fatalf("PartnerLinkID = %q, %v", id, err)
	}
	for _, c := range []struct {
		object ref.Object
		role   string
	}{
		{ref.Object{Type: "account", ID: "acme|x"}, "r"},
		{ref.Object{Type: "account", ID: "acme"}, "x|r"},
		{ref.Object{Type: "role_binding", ID: "account|acme|r"}, "r"},
		{ref.Object{Type: "partner_link", ID: "a"}, "r"},
		{ref.Object{Type: "ticket", ID: "1"}, "r"},
		{ref.Object{Type: "account", ID: ""}, "r"},
		{ref.Object{Type: "account", ID: "acme"}, "*"},
		{ref.Object{Type: "account", ID: strings.Repeat("a", 1000)}, strings.Repeat("r", 20)},
	} {
		if id, err := ref.RoleBindingID(c.object, c.role); !errors.Is(err, ref.ErrInvalid) {
			t.Errorf("RoleBindingID(%v, %q) = %q, %v; want ErrInvalid", c.object, c.role, id, err)
		}
	}
	for _, c := range [][2]string{{"acme|x", "p"}, {"acme", "x|p"}, {"", "p"}, {"acme", "*"}, {strings.Repeat("a", 1000), strings.Repeat("p", 30)}} {
		if id, err := ref.PartnerLinkID(c[0], c[1]); !errors.Is(err, ref.ErrInvalid) {
			t.Errorf("PartnerLinkID(%q, %q) = %q, %v; want ErrInvalid", c[0], c[1], id, err)
		}
	}
	for _, id := range []string{"", "acme_case_creators", "account|acme", "account|acme|x|r", "ticket|1|r", "account||r", "role_binding|a|r"} {
		if o, r, err := ref.ParseRoleBindingID(id); !errors.Is(err, ref.ErrInvalid) {
			t.Errorf("ParseRoleBindingID(%q) = %v, %q, %v; want ErrInvalid", id, o, r, err)
		}
	}
	for _, id := range []string{"", "acme", "acme|x|p", "|p", "acme|"} {
		if a, p, err := ref.ParsePartnerLinkID(id); !errors.Is(err, ref.ErrInvalid) {
			t.Errorf("ParsePartnerLinkID(%q) = %q, %q, %v; want ErrInvalid", id, a, p, err)
		}
	}
}
