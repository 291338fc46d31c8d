package audit_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
)

var printGolden = flag.Bool("print-golden", false, "print the explanation texts instead of comparing them")

// explainCase is one golden explanation: the exact text WriteExplanationText produces.
type explainCase struct {
	name               string
	user, perm, object string
	want               string
}

// goldenExplanations holds one allowed and one denied explanation per kind of path in
// every section of the access model. {EXPIRED} stands for the time priya's grant expired.
var goldenExplanations = []explainCase{
	{name: "1/role admin", user: bill, perm: "view_members", object: "account:acme", want: `allowed: user:bill view_members account:acme
  1. [role:admin] bill is an admin of account:acme
`},
	{name: "1/reporter", user: sally, perm: "view", object: "case:101", want: `allowed: user:sally view case:101
  1. [reporter] sally reported case:101
`},
	{name: "1/customer care", user: carol, perm: "remove_members", object: "account:acme", want: `allowed: user:carol remove_members account:acme
  1. [customer care] carol is a Customer Care agent of platform:main, which looks after account:acme
`},
	{name: "1/rollout allowed", user: bill, perm: "download_software", object: "account:acme", want: `allowed: user:bill download_software account:acme
  1. [role:admin] bill is an admin of account:acme; bill takes part in feature:entitlement_view, which gates account:acme
`},
	{name: "1/viewer denied view_members", user: joan, perm: "view_members", object: "account:acme", want: `denied: user:joan view_members account:acme
  ways to hold it (any one is enough):
  - be an admin of account:acme: missing
  - hold a partner grant at full_admin or above on account:acme: missing
      no active grant; grants with an expiry end at their expiry
  - be a Customer Care agent: missing
`},
	{name: "1/viewer denied rollout", user: joan, perm: "download_software", object: "account:acme", want: `denied: user:joan download_software account:acme
  ways to hold it (every one is needed):
  - be an admin of account:acme, or be a standard member of account:acme: missing
      joan is neither an admin nor a standard member of account:acme
  - take part in the entitlement rollout (feature:entitlement_view): missing
      joan does not take part in the entitlement rollout
`},
	{name: "1/admin not in rollout denied", user: dan, perm: "generate_license_key", object: "account:valley", want: `denied: user:dan generate_license_key account:valley
  ways to hold it (every one is needed):
  - be an admin of account:valley, or be a standard member of account:valley: granted
      dan is an admin of account:valley
  - take part in the entitlement rollout (feature:entitlement_view): missing
      dan does not take part in the entitlement rollout
`},
	{name: "2/organisation grant", user: pam, perm: "view", object: "case:102", want: `allowed: user:pam view case:102
  1. [partner organisation] pam is a member of partner:integrator, which account:acme granted look (organisation grant); pam has no individual grant on account:acme; case:102 belongs to account:acme
`},
	{name: "2/individual grant as case contact", user: pete, perm: "update", object: "case:102", want: `allowed: user:pete update case:102
  1. [partner individual] pete is an additional partner contact on case:102; account:acme granted pete cc (individual grant); case:102 belongs to account:acme; case:102 is open
  2. [partner organisation] pete is an additional partner contact on case:102; pete is a member of partner:integrator, which account:acme granted look (organisation grant); case:102 belongs to account:acme; case:102 is open
`},
	{name: "2/vendor staff", user: tara, perm: "update", object: "case:101", want: `allowed: user:tara update case:101
  1. [vendor staff] tara is the primary partner contact of case:101; account:acme granted tara update (individual grant until 2099-01-01T00:00:00Z); case:101 belongs to account:acme; case:101 is open
  2. [vendor staff] account:acme granted tara update (individual grant until 2099-01-01T00:00:00Z); case:101 belongs to account:acme; case:101 is open
`},
	{name: "2/full_admin partner manages members", user: fred, perm: "manage_members", object: "account:acme", want: `allowed: user:fred manage_members account:acme
  1. [partner organisation] fred is a member of partner:fixit, which account:acme granted full_admin (organisation grant); fred has no individual grant on account:acme
`},
	{name: "2/individual takes precedence", user: pete, perm: "view_all_cases", object: "account:acme", want: `denied: user:pete view_all_cases account:acme
  ways to hold it (any one is enough):
  - be an admin of account:acme: missing
  - hold a partner grant at look or above on account:acme: present but did not count
      pete is a member of partner:integrator, which account:acme granted look (organisation grant), but pete's individual grant takes precedence over the organisation grant: account:acme granted pete cc (individual grant)
  - hold a custom role with case read bound on account:acme: missing
`},
	{name: "2/no re-delegation", user: fred, perm: "manage_partners", object: "account:acme", want: `denied: user:fred manage_partners account:acme
  ways to hold it (any one is enough):
  - be an admin of account:acme: missing
`},
	{name: "2/expired grant", user: priya, perm: "view_all_cases", object: "account:acme", want: `denied: user:priya view_all_cases account:acme
  ways to hold it (any one is enough):
  - be an admin of account:acme: missing
  - hold a partner grant at look or above on account:acme: missing
      the individual grant look on account:acme to priya expired at {EXPIRED}
  - hold a custom role with case read bound on account:acme: missing
`},
	{name: "3/manage both consents", user: max, perm: "manage_service", object: "account:acme", want: `allowed: user:max manage_service account:acme
  1. [data access] max is a member of partner:msp, which the vendor configured with manage on account:acme and account:acme consented to manage its service
`},
	{name: "3/support", user: rita, perm: "view_dashboard", object: "account:acme", want: `allowed: user:rita view_dashboard account:acme
  1. [data access] rita is a member of partner:reseller, which account:acme gave support data access
`},
	{name: "3/manage lacks customer consent", user: rita, perm: "manage_service", object: "account:acme", want: `denied: user:rita manage_service account:acme
  ways to hold it (any one is enough):
  - be an admin of account:acme: missing
  - belong to a partner with manage data access to account:acme (both consents): present but did not count
      rita is a member of partner:reseller, which the vendor configured with manage on account:acme, but account:acme has not consented to manage by partner:reseller (customer side missing)
`},
	{name: "3/data access gives no case access", user: rita, perm: "view_all_cases", object: "account:acme", want: `denied: user:rita view_all_cases account:acme
  ways to hold it (any one is enough):
  - be an admin of account:acme: missing
  - hold a partner grant at look or above on account:acme: missing
      no active grant; grants with an expiry end at their expiry
  - hold a custom role with case read bound on account:acme: missing
`},
	{name: "4/group read access nested", user: sue, perm: "update", object: "case:203", want: `allowed: user:sue update case:203
  1. [group read access] sue has group read access over group:district, which contains group:almond_school, which contains group:almond_class_3, which has member cara, who reported case:203; case:203 is open
`},
	{name: "4/closed case", user: sally, perm: "update", object: "case:103", want: `denied: user:sally update case:103
  ways to hold it (every one is needed):
  - be someone who may update case:103 while it is open: granted
      sally reported case:103; sally is a standard member of account:acme; case:103 belongs to account:acme
  - case:103 is open: missing
      case:103 is closed
`},
	{name: "4/closed case via group", user: sue, perm: "update", object: "case:202", want: `denied: user:sue update case:202
  ways to hold it (every one is needed):
  - be someone who may update case:202 while it is open: granted
      sue has group read access over group:district, which contains group:birch_school, which has member ben, who reported case:202
  - case:202 is open: missing
      case:202 is closed
`},
	{name: "4/group view closed", user: sue, perm: "group_view_closed", object: "case:202", want: `allowed: user:sue group_view_closed case:202
  1. [group read access] sue has group read access over group:district, which contains group:birch_school, which has member ben, who reported case:202; case:202 is closed
`},
	{name: "4/no group read access", user: amy, perm: "view", object: "case:202", want: `denied: user:amy view case:202
  ways to hold it (any one is enough):
  - have reported case:202: missing
  - be an Authorized Contact, Consumer or Contributor of case:202: missing
  - be a partner contact on case:202 whose grant still allows it: missing
      no active grant; grants with an expiry end at their expiry
  - have group read access over a group of case:202's reporter (ben): missing
  - view every case of account:valley: missing
      no active grant; grants with an expiry end at their expiry
  - be an Authorized Contact or Consumer of its sold product (none recorded), or hold a custom role with case read bound on it: missing
  - be a related party or Service Organization member of its install base (none recorded), or hold a custom role with case read bound on it or its sold product: missing
`},
	{name: "5/service organisation", user: finn, perm: "view", object: "case:105", want: `allowed: user:finn view case:105
  1. [functional role] finn is a member of service_org:fieldfix, which is the Service Organization of install_base:router_x200_hq; case:105 is about install_base:router_x200_hq
`},
	{name: "5/install base contact creates", user: joan, perm: "create_case", object: "install_base:router_x200_hq", want: `allowed: user:joan create_case install_base:router_x200_hq
  1. [functional role] joan is an Authorized Contact of install_base:router_x200_hq; joan is a viewer of account:acme; install_base:router_x200_hq belongs to account:acme
`},
	{name: "5/same-account rule", user: nina, perm: "create_case", object: "install_base:router_x200_hq", want: `denied: user:nina create_case install_base:router_x200_hq
  ways to hold it (any one is enough):
  - be an Authorized Contact of install_base:router_x200_hq (named, or a contact of an Authorized Account), and be a contact of account:acme: present but did not count
      nina is an Authorized Contact of install_base:router_x200_hq, but nina is not a contact of account:acme, the item's account (same-account rule)
  - be an Authorized Consumer of install_base:router_x200_hq: missing
  - be an Authorized Contributor of install_base:router_x200_hq: missing
  - be an Authorized Member of install_base:router_x200_hq: missing
  - manage the contacts of account:acme (admin or full_admin partner): missing
      no active grant; grants with an expiry end at their expiry
  - hold a custom role with case create bound on install_base:router_x200_hq: missing
  - hold a custom role with case create bound on sold_product:router_x200: missing
  - hold a custom role with case create bound on account:acme: missing
`},
	{name: "5/sold product contact", user: sally, perm: "view", object: "install_base:router_x200_hq", want: `allowed: user:sally view install_base:router_x200_hq
  1. [functional role] sally is an Authorized Contact of sold_product:router_x200; install_base:router_x200_hq is an item of sold_product:router_x200
`},
	{name: "5/custom role", user: leo, perm: "update", object: "case:101", want: `allowed: user:leo update case:101
  1. [custom role] leo is a member of group:acme_support, which holds custom role support_lead on account:acme; custom role support_lead includes case write; case:101 belongs to account:acme; case:101 is open
`},
	{name: "5/custom role lacks privilege", user: leo, perm: "view", object: "sold_product:router_x200", want: `denied: user:leo view sold_product:router_x200
  ways to hold it (any one is enough):
  - be an Authorized Contact or Consumer of sold_product:router_x200: missing
  - be a related party of an install base item of sold_product:router_x200 (install_base:router_x200_hq): missing
  - manage the contacts of account:acme (admin or full_admin partner): missing
      no active grant; grants with an expiry end at their expiry
  - hold a custom role with sold product read bound on sold_product:router_x200: missing
  - hold a custom role with sold product read bound on account:acme: present but did not count
      leo is a member of group:acme_support, which holds custom role support_lead on account:acme, but custom role support_lead does not include sold product read
`},
	{name: "5/service organisation cannot create", user: finn, perm: "create_case", object: "install_base:router_x200_hq", want: `denied: user:finn create_case install_base:router_x200_hq
  ways to hold it (any one is enough):
  - be an Authorized Contact of install_base:router_x200_hq (named, or a contact of an Authorized Account), and be a contact of account:acme: missing
  - be an Authorized Consumer of install_base:router_x200_hq: missing
  - be an Authorized Contributor of install_base:router_x200_hq: missing
  - be an Authorized Member of install_base:router_x200_hq: missing
  - manage the contacts of account:acme (admin or full_admin partner): missing
      no active grant; grants with an expiry end at their expiry
  - hold a custom role with case create bound on install_base:router_x200_hq: missing
  - hold a custom role with case create bound on sold_product:router_x200: missing
  - hold a custom role with case create bound on account:acme: missing
`},
}

func TestExplainGolden(t *testing.T) {
	p := sharedPortal(t)
	expired := p.priyaExp.UTC().Format("2006-01-02T15:04:05Z07:00")
	for _, tc := range goldenExplanations {
		t.Run(tc.name, func(t *testing.T) {
			ex, err := p.a.Explain(p.ctx, user(tc.user), tc.perm, obj(tc.object), access.Fresh())
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := audit.WriteExplanationText(&buf, ex); err != nil {
				t.Fatal(err)
			}
			got := strings.ReplaceAll(buf.String(), expired, "{EXPIRED}")
			if *printGolden {
				fmt.Printf("\t{name: %q, user: %s, perm: %q, object: %q, want: `%s`},\n", tc.name, tc.user, tc.perm, tc.object, got)
				return
			}
			if got != tc.want {
				t.Errorf("explanation of %s %s %s:\n got:\n%s\nwant:\n%s", tc.user, tc.perm, tc.object, got, tc.want)
			}
			// The verdict is SpiceDB's.
			d, err := p.c.Check(p.ctx, user(tc.user), tc.perm, obj(tc.object), access.Fresh())
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed != ex.Allowed {
				t.Errorf("explanation says allowed=%v, check says %v", ex.Allowed, d.Allowed)
			}
		})
	}
}

func TestExplainRefusesTypos(t *testing.T) {
	p := sharedPortal(t)
	for _, tc := range []struct{ perm, object string }{
		{"veiw", "case:101"},
		{"view", "kase:101"},
	} {
		o := obj("case:101")
		if tc.object == "kase:101" {
			o.Type = "kase"
		}
		if _, err := p.a.Explain(p.ctx, user(sally), tc.perm, o, access.Fresh()); !errors.Is(err, access.ErrInvalidArgument) {
			t.Errorf("Explain(%s on %s) error = %v, want ErrInvalidArgument", tc.perm, tc.object, err)
		}
	}
}

// Repeating an explanation gives the same text: results SpiceDB serves from its cache
// (which carry no trace below them) are asked again one level down.
func TestExplainIsStableUnderCaching(t *testing.T) {
	p := sharedPortal(t)
	var texts []string
	for range 3 {
		ex, err := p.a.Explain(p.ctx, user(pete), "view", obj("case:101"), access.Fresh())
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		_ = audit.WriteExplanationText(&buf, ex)
		texts = append(texts, buf.String())
	}
	if texts[0] != texts[1] || texts[1] != texts[2] {
		t.Errorf("explanations differ between runs:\n%s\n---\n%s\n---\n%s", texts[0], texts[1], texts[2])
	}
}

// Reasons gathers what did not count; JSON carries every part of the explanation.
func TestExplanationReasonsAndJSON(t *testing.T) {
	p := sharedPortal(t)
	ex, err := p.a.Explain(p.ctx, user(pete), "view_all_cases", obj("account:acme"), access.Fresh())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"pete is a member of partner:integrator, which account:acme granted look (organisation grant), but pete's individual grant takes precedence over the organisation grant: account:acme granted pete cc (individual grant)"}
	if got := ex.Reasons(); !slices.Equal(got, want) {
		t.Errorf("reasons = %q, want %q", got, want)
	}
	var b bytes.Buffer
	if err := audit.WriteExplanationJSON(&b, ex); err != nil {
		t.Fatal(err)
	}
	var decoded struct {
		Subject, Permission, Resource, Combine string
		Allowed                                bool
		Ways                                   []struct{ Expression, Status string }
	}
	if err := json.Unmarshal(b.Bytes(), &decoded); err != nil {
		t.Fatal(err)
	}
	if decoded.Subject != "user:pete" || decoded.Resource != "account:acme" || decoded.Allowed || decoded.Combine != "any" ||
		len(decoded.Ways) != 3 || decoded.Ways[1].Expression != "partner_look" || decoded.Ways[1].Status != "present but did not count" {
		t.Errorf("JSON explanation: %s", b.String())
	}

	// A bound on the questions asked cuts the explanation short and says so.
	small, err := audit.New(p.c, audit.WithMaxNodes(3)).Explain(p.ctx, user(pete), "view", obj("case:101"), access.Fresh())
	if err != nil {
		t.Fatal(err)
	}
	if !small.Truncated {
		t.Error("a 3-question explanation of case:101 was not marked truncated")
	}
}
