#!/usr/bin/env bash
# A narrated walk through accessctl and the demo portal (examples/demo/README.md).
#
# Start a server in one terminal:   make run            (or: accessctl serve --demo)
# and run this in another:          examples/walkthrough.sh
#
# It connects like any accessctl command (the profile written by serve, or ACCESSCTL_*),
# exercises every command group, says what it checks, and stops at the first wrong answer
# with exit code 1. It doubles as the end-to-end test (scripts/e2e.sh, make e2e).
#
# It changes the demo data as it goes but puts the stories back as it found them, and
# names what it creates with a per-run suffix, so it can be run again on the same server.
# ACCESSCTL names the binary (default: accessctl on PATH, else bin/accessctl).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
if [[ -z "${ACCESSCTL:-}" ]]; then
  if command -v accessctl >/dev/null 2>&1; then ACCESSCTL=accessctl; else ACCESSCTL="$root/bin/accessctl"; fi
fi
run_id=$(date +%s)$$
tmp=$(mktemp -d "${TMPDIR:-/tmp}/walkthrough.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
checks=0

# ---------------------------------------------------------------------------- helpers

section() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say() { printf '   %s\n' "$*"; }

fail() {
  printf '\n\033[31mFAIL: %s\033[0m\n' "$1" >&2
  printf '   command: accessctl %s\n   exit code: %s\n' "$LAST_CMD" "$CODE" >&2
  printf '   stdout:\n%s\n   stderr:\n%s\n' "$(sed 's/^/     /' <<<"$OUT")" "$(sed 's/^/     /' <<<"$ERR")" >&2
  exit 1
}

# ac ARGS...: run accessctl; sets OUT, ERR and CODE.
ac() {
  LAST_CMD="$*"
  OUT=$("$ACCESSCTL" "$@" 2>"$tmp/err")
  CODE=$?
  ERR=$(cat "$tmp/err")
}

# ok ARGS...: the command must succeed.
ok() {
  ac "$@"
  [[ $CODE -eq 0 ]] || fail "expected success"
  checks=$((checks + 1))
}

# code N ARGS...: the command must exit with code N.
code() {
  local want=$1
  shift
  ac "$@"
  [[ $CODE -eq $want ]] || fail "expected exit code $want"
  checks=$((checks + 1))
}

# allowed SUBJECT PERMISSION RESOURCE [flags]: check must say allowed (exit 0).
allowed() {
  ac check "$@" --exit-code
  [[ $CODE -eq 0 && $OUT == allowed ]] || fail "expected: $1 $2 $3 is allowed"
  checks=$((checks + 1))
  say "✓ $1 may $2 on $3"
}

# denied SUBJECT PERMISSION RESOURCE [flags]: check must say denied (exit 3 with --exit-code).
denied() {
  ac check "$@" --exit-code
  [[ $CODE -eq 3 && $OUT == denied ]] || fail "expected: $1 $2 $3 is denied (exit 3)"
  checks=$((checks + 1))
  say "✓ $1 may not $2 on $3"
}

# has TEXT: the last output must contain the line TEXT (tab-separated columns when piped).
has() {
  grep -qxF -- "$1" <<<"$OUT" || fail "expected the output to contain the line: $1"
}

# lacks TEXT: the last output must not contain the line TEXT.
lacks() {
  ! grep -qxF -- "$1" <<<"$OUT" || fail "expected the output not to contain the line: $1"
}

# err_has TEXT: the last error output must contain TEXT.
err_has() {
  grep -qF -- "$1" <<<"$ERR" || fail "expected the error output to contain: $1"
}

# ---------------------------------------------------------------------------- connection

section "Connection"
ok version
say "$(head -1 <<<"$OUT" | tr '\t' ' ')"
ok schema show
grep -q '^definition account' <<<"$OUT" || fail "the stored schema has no account definition"
say "the server answers and holds the accessgraph schema"
if ! "$ACCESSCTL" check user:vera administer platform:main --exit-code >/dev/null 2>&1; then
  echo "FAIL: the server does not hold the demo portal: start it with 'make run' or 'accessctl serve --demo'" >&2
  exit 1
fi

section "Mistakes are usage errors (exit 2), never a silent 'denied'"
code 2 check usr:sally view case:101
err_has 'unknown object type "usr"'
say "✓ a bad reference: $(head -1 <<<"$ERR")"
code 2 check user:sally viw case:101
err_has 'did you mean "view"'
say "✓ a typo in a permission: $(head -1 <<<"$ERR")"
code 3 check user:sallly view case:101 --exit-code
[[ $OUT == denied ]] || fail "a check on an unknown user should still answer denied"
err_has 'user:sallly does not exist'
say "✓ a typo in an id: denied, and $(head -1 <<<"$ERR")"
code 2 member approve account:acme user:dave
err_has "--as is required"
say "✓ a change without --as: $(head -1 <<<"$ERR")"

# ---------------------------------------------------------------------------- story 1

section "Story 1: site roles on account:acme"
say "bill is the Site Administrator, sally standard, joan View Only."
ok member list account:acme --as user:bill
has $'user:bill\tadmin'
has $'user:sally\tstandard'
has $'user:joan\tviewer'
allowed user:bill view_all_cases account:acme
denied user:joan view_all_cases account:acme
denied user:sally view_all_cases account:acme
allowed user:joan create_case account:acme
allowed user:joan view case:102
denied user:joan view case:101
say "Only admins see the member list:"
code 1 member list account:acme --as user:sally
err_has "permission denied"
say "✓ sally: $ERR"

say "dave asked to join as standard; his request grants nothing until approved."
ok member request account:acme standard --as user:dave --reason "new engineer"
ok member pending account:acme --as user:bill
grep -q $'^user:dave\tstandard\t' <<<"$OUT" || fail "dave's request is not pending"
ok member approvers account:acme user:dave --as user:dave
has $'user:bill\tadmin'
say "✓ dave's approvers: $(tr '\t\n' ' ;' <<<"$OUT")"
denied user:dave create_case account:acme
ok member approve account:acme user:dave --as user:bill
rev=$OUT
say "bill approved; the change printed revision $rev"
allowed user:dave create_case account:acme --revision "$rev"
code 1 member approve account:acme user:dave --as user:bill
err_has "no pending request"
say "✓ a request is decided once: $ERR"

say "Entitlement rollout: downloads need admin or standard AND being in the pilot."
allowed user:sally download_software account:acme
denied user:dave download_software account:acme
denied user:joan download_software account:acme
ok feature participant add feature:entitlement_view user:dave --as user:vera
allowed user:dave download_software account:acme
ok feature participant remove feature:entitlement_view user:dave --as user:vera
denied user:dave download_software account:acme
ok feature release feature:entitlement_view --as user:vera
say "full release: one change opens the rollout to every user"
allowed user:dave generate_license_key account:acme
denied user:joan download_software account:acme
ok feature release feature:entitlement_view --withdraw --as user:vera
denied user:dave download_software account:acme
allowed user:sally download_software account:acme

say "Roles change through admins; removal is Customer Care's; the last admin stays."
ok member role account:acme user:dave viewer --as user:bill
code 1 member role account:acme user:dave admin --as user:sally
err_has "permission denied"
code 1 member remove account:acme user:dave --as user:bill --yes
err_has "permission denied"
code 2 member remove account:acme user:dave --as user:carol
err_has "--yes"
say "✓ a destructive change needs --yes when not interactive"
ok member remove account:acme user:dave --as user:carol --yes --reason "left Acme"
denied user:dave create_case account:acme
code 1 member leave account:acme --as user:bill
err_has "last administrator"
say "✓ bill cannot leave acme: $ERR"
ok member request account:acme standard --as user:eve
ok member deny account:acme user:eve --as user:bill
ok platform role add user:walt customer_care --as user:vera
allowed user:walt remove_members account:acme
ok platform role remove user:walt customer_care --as user:vera
denied user:walt remove_members account:acme
code 1 platform bootstrap --as user:mallory
err_has "already has an administrator"
say "✓ nobody can bootstrap a running portal again"
ok account create "account:wt${run_id}" --admin user:gina --as user:carol
allowed user:gina manage_members "account:wt${run_id}"
ok member request account:acme standard --as user:dave --reason "back to the demo's pending request"

# ---------------------------------------------------------------------------- story 2

section "Story 2: partner levels on acme"
ok partner list account:acme --as user:bill
has $'partner:integrator\tlook\t'
has $'user:pete\tcc\t'
grep -q $'^user:tara\tupdate\t20' <<<"$OUT" || fail "the consultant's grant has no expiry"
say "integrator (pam, pete) holds look; pete's individual cc narrows it; tara (vendor consultant) has update until $(grep tara <<<"$OUT" | cut -f3)"
allowed user:pam view case:101
denied user:pam update case:101
allowed user:pam receive_notifications account:acme
denied user:pete view case:101
allowed user:pete view case:102
allowed user:pete update case:102
allowed user:tara update case:102
denied user:tara update case:103
say "(case:103 is closed: read-only for everyone)"
ok case list --as user:pam
has "case:101"
ok case partner-managed account:acme --as user:bill
has "case:101"
say "✓ case:101 is driven by the consultant (primary partner contact)"
code 1 partner grant account:acme user:paul look --as user:pam
err_has "permission denied"
say "✓ partners never re-delegate"
ok partner request account:acme partner:integrator update --as user:pam
ok partner requests account:acme --as user:bill
grep -q $'^partner:integrator\tupdate\t' <<<"$OUT" || fail "the integrator's request is not pending"
ok partner deny account:acme partner:integrator --as user:bill
ok partner requests account:acme --as user:bill
[[ -z $OUT ]] || fail "the request is still pending after deny"
ok partner request account:acme user:pete look --as user:pete
ok partner approve account:acme user:pete --as user:bill
allowed user:pete view case:101
ok partner grant account:acme user:pete cc --as user:bill --reason "back to cc"
denied user:pete view case:101
ok partner grant account:acme user:quinn look --expires 1h --as user:bill
allowed user:quinn view case:101
code 2 partner revoke account:acme user:quinn --as user:bill
ok partner revoke account:acme user:quinn --as user:bill --yes
denied user:quinn view case:101 --revision "$OUT"
# An expiring grant written by this CLI (a separate process, over gRPC) ends for every view
# within a second of its expiry, with nothing else written meanwhile: the server's reaper
# learns of every expiring write, whoever sends it.
ok partner grant account:acme "user:xena${run_id}" look --expires 2s --as user:bill --reason "short visit"
allowed "user:xena${run_id}" view case:101
sleep 3.2
for consistency in fresh full fastest; do
  denied "user:xena${run_id}" view case:101 --consistency "$consistency"
done
ok lookup resources "user:xena${run_id}" view case
lacks "case:101"
ok lookup subjects case:101 view user
lacks "user:xena${run_id}"
ok who-can case:101 view
! grep -q "^user:xena${run_id}"$'\t' <<<"$OUT" || fail "who-can still lists the expired grantee"
code 0 explain "user:xena${run_id}" view case:101
[[ $(head -1 <<<"$OUT") == "denied: user:xena${run_id} view case:101" ]] || fail "explain still allows the expired grant"
say "✓ an expired grant written by the CLI is gone from every view"
ok partner create "partner:wt${run_id}" --parent partner:integrator --as user:vera
ok partner member add "partner:wt${run_id}" user:paula --as user:vera
denied user:paula view case:101
say "✓ nothing is inherited from a parent partner"
ok partner member remove "partner:wt${run_id}" user:paula --as user:vera
ok case contact add case:102 user:tara --primary --as user:bill
ok case contact remove case:102 user:tara --as user:bill

# ---------------------------------------------------------------------------- story 3

section "Story 3: partner data access with two-sided consent"
ok data-access list account:acme --as user:bill
has $'partner:reseller\tyes\tyes\tno\tno'
has $'partner:msp\tyes\tyes\tyes\tyes'
allowed user:rita view_dashboard account:acme
denied user:rita manage_service account:acme
allowed user:max manage_service account:acme
say "the reseller's manage waits for acme's consent; msp has both sides"
ok data-access customer-manage account:acme partner:reseller on --as user:bill
allowed user:rita manage_service account:acme
ok data-access vendor-manage account:acme partner:reseller off --as user:vera
denied user:rita manage_service account:acme
say "✓ either side withdrawing removes manage"
ok data-access vendor-manage account:acme partner:reseller on --as user:vera
ok data-access customer-manage account:acme partner:reseller off --as user:bill
ok data-access support account:acme partner:reseller off --as user:bill
denied user:rita view_reports account:acme
ok data-access support account:acme partner:reseller on --as user:bill
allowed user:rita view_reports account:acme
code 1 data-access support account:acme partner:reseller off --as user:rita
ok data-access link "account:wt${run_id}" partner:reseller --as user:vera
allowed user:rita view_dashboard "account:wt${run_id}"
ok data-access unlink "account:wt${run_id}" partner:reseller --as user:vera
denied user:rita view_dashboard "account:wt${run_id}"

# ---------------------------------------------------------------------------- story 4

section "Story 4: the school district"
ok group read-access show user:sue --as user:sue
has "group:district"
say "sue reads the district: almond and birch schools, and classroom almond_class_3 (depth 2)"
allowed user:sue view case:201
allowed user:sue view case:203
denied user:sue view case:204
ok case group-list --as user:sue
has "case:201"
has "case:202"
has "case:203"
lacks "case:204"
ok case group-list --status closed --as user:sue
[[ $OUT == "case:202" ]] || fail "sue's closed group cases should be case:202 only"
ok case group-list --status open --as user:sue
lacks "case:202"
denied user:sue update case:202
code 1 group nest group:district group:almond_class_3 --as user:carol
err_has "cycle"
say "✓ nesting the district inside its own classroom is refused"
g="wt${run_id}"
kim="user:kim_${run_id}"
say "a new classroom inside birch school, with a new teacher:"
ok group create "group:$g" --as user:carol
ok group nest "group:$g" group:birch_school --as user:carol
ok group member add "group:$g" "$kim" --as user:carol
code 1 case create "case:${g}" account:valley --as "$kim"
say "✓ the teacher cannot open a case before joining valley: $ERR"
ok member request account:valley standard --as "$kim"
ok member approve account:valley "$kim" --as user:dan
ok case create "case:${g}" account:valley --as "$kim"
allowed user:sue view "case:${g}"
ok group unnest "group:$g" group:birch_school --as user:carol
denied user:sue view "case:${g}"
ok group member remove "group:$g" "$kim" --as user:carol
ok group read-access set "$kim" group:birch_school --as user:carol
allowed "$kim" view case:202
ok group read-access clear "$kim" --as user:carol
denied "$kim" view case:202

# ---------------------------------------------------------------------------- story 5

section "Story 5: products, install base and roles on acme"
ok related-party list install_base:router_x200_hq --as user:bill
has $'install_base_authorized_contact\tuser:joan'
has $'install_base_authorized_consumer\tuser:olga'
has $'install_base_service_organization\tservice_org:fieldfix'
allowed user:sally view sold_product:router_x200
allowed user:joan create_case install_base:router_x200_hq
denied user:nina create_case install_base:router_x200_hq
say "(nina is an authorized contact but no acme member)"
allowed user:olga create_case install_base:router_x200_hq
allowed user:finn view install_base:router_x200_hq
denied user:finn create_case install_base:router_x200_hq
allowed user:finn update case:104
ok product create "sold_product:wt${run_id}" account:acme --as user:carol
ok install-base create "install_base:wt${run_id}" account:acme --sold-product "sold_product:wt${run_id}" --as user:carol
ok service-org create "service_org:wt${run_id}" --as user:vera
ok service-org member add "service_org:wt${run_id}" user:fay --as user:vera
ok related-party assign "install_base:wt${run_id}" install_base_service_organization "service_org:wt${run_id}" --as user:bill
allowed user:fay view "install_base:wt${run_id}"
ok related-party remove "install_base:wt${run_id}" install_base_service_organization "service_org:wt${run_id}" --as user:bill
denied user:fay view "install_base:wt${run_id}"
code 2 related-party assign install_base:router_x200_hq case_authorized_contact user:fay --as user:bill

say "Custom role support_lead (case_read + case_write) is bound on acme to group:acme_support (leo)."
ok role show role:support_lead
[[ $OUT == $'case_read\ncase_write' ]] || fail "support_lead should be case_read + case_write"
ok role bindings account:acme --as user:bill
has $'role:support_lead\tgroup:acme_support#member'
allowed user:leo view case:101
allowed user:leo update case:102
ok role bind role:support_lead account:acme user:joan --as user:bill
allowed user:joan view case:101
ok role unbind role:support_lead account:acme user:joan --as user:bill
denied user:joan view case:101
ok role define "role:wt${run_id}" case_read --as user:vera
ok role list
has "role:wt${run_id}"
code 1 role bind role:support_lead account:acme user:pam --as user:pam

# ---------------------------------------------------------------------------- cases

section "Cases: open, close (read-only), reopen"
c="case:wt${run_id}_c"
ok case create "$c" account:acme --as user:sally
allowed user:sally update "$c"
ok case close "$c" --as user:sally
denied user:sally update "$c"
allowed user:sally view "$c"
code 1 case close "$c" --as user:sally
ok case reopen "$c" --as user:sally
allowed user:sally update "$c"
ok case contact add "$c" user:pete --as user:bill
allowed user:pete update "$c"

# ---------------------------------------------------------------------------- queries

section "Lookups"
ok lookup resources user:sue group_view case
has "case:201"
has "case:203"
ok lookup subjects account:acme manage_members
has "user:bill"
lacks "user:sally"
ok lookup subjects case:102 view user --consistency full
has "user:pete"
say "✓ case:102 is visible to: $(tr '\n' ' ' <<<"$OUT")"
ok check user:bill view_all_cases account:acme -o json
grep -q '"allowed": true' <<<"$OUT" || fail "JSON check output lacks \"allowed\": true"
ok member list account:acme --as user:bill -o json
grep -q '"user": "user:bill"' <<<"$OUT" || fail "JSON member list lacks bill"

# ---------------------------------------------------------------------------- auditing

section "Auditing: why, who, through what, and who changed what"
ok explain user:pam view case:102
[[ $(head -1 <<<"$OUT") == "allowed: user:pam view case:102" ]] || fail "pam should be allowed to view case:102"
grep -qF "[partner organisation] pam is a member of partner:integrator, which account:acme granted look" <<<"$OUT" || fail "the explanation lacks pam's partner path"
say "✓ $(sed -n 2p <<<"$OUT" | sed 's/^ *//')"
code 3 explain user:pete view_all_cases account:acme --exit-code
[[ $(head -1 <<<"$OUT") == "denied: user:pete view_all_cases account:acme" ]] || fail "pete should be denied view_all_cases on acme"
grep -qF "but pete's individual grant takes precedence over the organisation grant" <<<"$OUT" || fail "the explanation does not say why pete is denied"
say "✓ pete may not view_all_cases on acme: his individual grant takes precedence over integrator's"
code 2 explain user:pete view_al_cases account:acme
err_has 'did you mean "view_all_cases"'
ok who-can case:105 view
has $'user:olga\tfunctional role, reporter'
has $'user:finn\tfunctional role'
has $'user:pam\tpartner organisation'
has $'user:tara\tvendor staff'
say "✓ case:105 is visible to: $(cut -f1 <<<"$OUT" | tr '\n' ' ')"
ok expand case:203 update --format mermaid
[[ $(head -1 <<<"$OUT") == "flowchart LR" ]] || fail "expand --format mermaid should start a flowchart"
grep -qF '(["user:sue"])' <<<"$OUT" || fail "the expand tree of case:203 update lacks sue"
say "expand case:203 update --format mermaid | head -4:"
head -4 <<<"$OUT" | sed 's/^/     /'
ok access-review account:acme --as user:bill --format csv
[[ $(head -1 <<<"$OUT") == "section,subject,access,object,expires_at,detail" ]] || fail "the CSV review has no header"
has "member,user:bill,role:admin,account:acme,,"
has "partner,partner:integrator,organisation look,account:acme,,members: pam pete"
grep -q "^flag,user:pete,overriding,.* narrows " <<<"$OUT" || fail "the review does not flag pete's individual grant narrowing his organisation's"
grep -q '^flag,partner:reseller,one-sided consent,' <<<"$OUT" || fail "the review does not flag reseller's manage consent, given by the vendor alone"
say "✓ acme's review: $(($(wc -l <<<"$OUT") - 1)) rows, $(grep -c '^flag,' <<<"$OUT") flags"
code 1 access-review account:acme --as user:sally
err_has "permission denied"
say "the current revision, then two changes, then their history:"
ok check user:bill view_all_cases account:acme --consistency full -o json
since=$(sed -n 's/.*"checked_at": "\(.*\)".*/\1/p' <<<"$OUT")
[[ -n $since ]] || fail "check -o json printed no checked_at"
hal="user:hal_${run_id}"
ok member request account:acme viewer --as "$hal" --reason "auditing walkthrough"
ok member deny account:acme "$hal" --as user:bill --reason "not an Acme employee"
ok history --object "$hal" --since "$since"
[[ $(grep -c '^[0-9~]' <<<"$OUT") -eq 2 ]] || fail "the history of $hal should hold two changes"
grep -qF "  $hal  member.request  \"auditing walkthrough\"" <<<"$OUT" || fail "the history lacks the request with its actor and reason"
grep -qF "  user:bill  member.deny  \"not an Acme employee\"" <<<"$OUT" || fail "the history lacks bill's denial with its reason"
grep -qF "    delete account:acme#join_request_viewer@$hal" <<<"$OUT" || fail "the history lacks the deleted request"
sed 's/^/     /' <<<"$OUT"
ok history --object "$hal" --since "$since" --actor user:bill -o json
[[ $(wc -l <<<"$OUT") -eq 1 ]] && grep -qF '"operation":"member.deny"' <<<"$OUT" || fail "history --actor -o json should print bill's change only"
say "✓ history filters by object and actor, as text or JSON Lines"

# ---------------------------------------------------------------------------- operators

section "Operators: relationships, export and import, validation"
ok relationship read account:acme#admin
[[ $OUT == "account:acme#admin@user:bill" ]] || fail "acme's admin relationship should be bill's only"
ok relationship read account --subject user:joan
has "account:acme#viewer@user:joan"
code 2 relationship write 'feature:entitlement_view#participant@user:*' --as user:vera
err_has "feature release"
say "✓ wildcards cannot be written by hand"
code 1 relationship write "group:wt${run_id}#direct_member@user:zoe" --as user:bill
err_has "permission denied"
ok relationship write "group:wt${run_id}#direct_member@user:zoe" --as user:vera --reason "repair"
ok relationship delete "group:wt${run_id}#direct_member@user:zoe" --as user:vera --yes
ok export --file "$tmp/export.rels"
head -1 "$tmp/export.rels" | grep -q '^# accessgraph export v1 ' || fail "the export has no header"
tail -1 "$tmp/export.rels" | grep -q '^# end relationships=' || fail "the export has no trailer"
before=$(grep -vc '^#' "$tmp/export.rels")
(( before > 100 )) || fail "the export holds only $before relationships"
grep -q '^account:acme#individual_update@user:tara\[expiration:' "$tmp/export.rels" || fail "the export lost the consultant's expiry"
say "✓ exported $before relationships (expiries kept)"
code 2 import --file "$tmp/export.rels"
err_has "needs --as USER, a platform administrator"
code 1 import --file "$tmp/export.rels" --yes --as user:joan
err_has "permission denied: user:joan lacks administer on platform:main"
say "✓ import into a store with data needs a platform administrator"
head -c 2000 "$tmp/export.rels" >"$tmp/cut.rels"
code 2 import --file "$tmp/cut.rels" --yes --as user:vera
err_has "the export is damaged"
say "✓ an export cut short is refused, nothing imported"
code 2 import --file "$tmp/export.rels" --as user:vera
err_has "--yes"
ok import --file "$tmp/export.rels" --yes --as user:vera --reason "idempotent re-import"
ok export
after=$(grep -vc '^#' <<<"$OUT")
[[ $before -eq $after ]] || fail "re-importing the export changed the store ($before -> $after relationships)"
say "✓ importing the export again changes nothing ($after relationships)"
if compgen -G "$root/schema/validation/*.yaml" >/dev/null; then
  ok schema validate "$root"/schema/validation/*.yaml
  say "$(tail -1 <<<"$OUT")"
fi

# ---------------------------------------------------------------------------- keys

section "Keys: a user, an admin, an auditor and the operator, each with its own key"
say "The operator (the profile's key) makes a key per principal; each command below presents one"
say "with ACCESSCTL_TOKEN, and goes through the domain API (accessctl whoami says whose key it is)."
ok key create --kind user --user bill --name "bill-$run_id"
bill_key=$OUT
ok key create --kind user --user "kim_$run_id" --name "kim-$run_id"
kim_key=$OUT
ok key create --kind auditor --name "audit-$run_id"
audit_key=$OUT
with_key() { local key=$1; shift; ACCESSCTL_TOKEN=$key "$@"; }
with_key "$kim_key" ok whoami
[[ $OUT == "user:kim-$run_id (acts as user:kim_$run_id)" ]] || fail "whoami with kim's key"
say "✓ $OUT"
before_kim=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1
with_key "$kim_key" ok member request account:acme viewer --reason "walkthrough"
say "✓ kim's key asked to join acme without --as: the key's user is the actor"
with_key "$kim_key" code 2 member request account:acme viewer --as user:dave
err_has "acts as user:kim_$run_id only"
say "✓ kim's key may not act as dave: $(head -1 <<<"$ERR")"
with_key "$bill_key" ok member approve account:acme "user:kim_$run_id" --reason "walkthrough"
say "✓ bill's key (an admin of acme) approved kim"
allowed "user:kim_$run_id" member account:acme
denied "user:kim_$run_id" member account:acme --at "$before_kim"
with_key "$audit_key" ok who-can account:acme member --at "$before_kim"
grep -q "kim_$run_id" <<<"$OUT" && fail "who-can --at $before_kim lists kim"
say "✓ as of $before_kim, rebuilt by the server from its audit log, kim was no member of acme"
want_origin="by user:bill (by user:bill-$run_id), member.approve \"walkthrough\""
for _ in $(seq 50); do # the log records a change a moment after it commits
  with_key "$audit_key" ok explain "user:kim_$run_id" member account:acme --provenance
  grep -qF "$want_origin" <<<"$OUT" && break
  sleep 0.1
done
grep -qF "$want_origin" <<<"$OUT" || fail "explain --provenance should name bill's approval: $OUT"
say "✓ explain --provenance names the change behind kim's membership: $(grep -F "$want_origin" <<<"$OUT" | sed 's/^ *//')"
ok history --object account:acme --principal "user:bill-$run_id"
grep -q "(by user:bill-$run_id)" <<<"$OUT" || fail "history lacks (by user:bill-$run_id)"
say "✓ history records the approval (by user:bill-$run_id)"
with_key "$audit_key" ok explain "user:kim_$run_id" create_case account:acme
with_key "$audit_key" ok who-can account:acme view_all_cases
with_key "$audit_key" ok history --object account:acme --principal "user:kim-$run_id"
grep -q "(by user:kim-$run_id)" <<<"$OUT" || fail "history lacks (by user:kim-$run_id)"
say "✓ the auditor's key explains, lists who can, and reads history"
with_key "$audit_key" ok history verify
[[ $OUT == intact:* ]] || fail "history verify with the auditor's key: $OUT"
say "✓ the server's hash-chained audit log verifies: $OUT"
with_key "$audit_key" ok history checkpoint
grep -q '"hash": "[0-9a-f]\{64\}"' <<<"$OUT" || fail "history checkpoint printed no hash: $OUT"
printf '%s\n' "$OUT" >"$tmp/checkpoint.json"
with_key "$audit_key" ok history verify --checkpoint "$tmp/checkpoint.json"
grep -q "matches the checkpoint" <<<"$OUT" || fail "history verify --checkpoint: $OUT"
say "✓ a checkpoint of its head, kept apart, verifies against it later"
with_key "$audit_key" code 1 member remove account:acme "user:kim_$run_id" --as user:bill --yes
err_has "only reads"
with_key "$audit_key" code 1 relationship write "account:acme#viewer@user:dave" --as user:vera
err_has "needs an operator key"
with_key "$audit_key" code 1 import --file "$tmp/export.rels" --yes --as user:vera
err_has "needs an operator key"
with_key "$audit_key" code 1 schema write "$root/schema/accessgraph.zed"
err_has "needs an operator key"
say "✓ every write with the auditor's key is refused (exit 1): domain, raw, import, schema write"
with_key "$kim_key" code 1 relationship read account:acme
err_has "needs an operator key"
say "✓ a user key may not use the raw API: $(head -1 <<<"$ERR")"
with_key "$kim_key" ok member leave account:acme --reason "walkthrough: put back"
for name in "bill-$run_id" "kim-$run_id" "audit-$run_id"; do ok key revoke "$name"; done
say "✓ kim left again (with his key), and the three keys revoked"

printf '\n\033[32mAll %d checks passed.\033[0m\n' "$checks"
