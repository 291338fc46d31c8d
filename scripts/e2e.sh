#!/usr/bin/env bash
# End-to-end test of accessctl (also: make e2e), following the README from a fresh clone.
#
# 1. clones this repository into a temporary folder (with the working tree's uncommitted
#    changes laid over it, so what is tested is what you have) and runs `make build` there;
# 2. puts the clone's bin/ on the PATH, as the README says, and checks `accessctl` is found
#    there: everything below runs `accessctl` by name;
# 3. starts `accessctl serve --demo` on a free loopback port, with a private configuration
#    folder (ACCESSCTL_CONFIG_DIR) so it neither reads nor replaces your own profile, and a
#    private data directory for the default, durable local datastore;
# 4. waits until the server has written its connection profile and answers;
# 5. calls the domain API over HTTP/JSON with curl (a check, a lookup, and a change refused
#    with a wrong key and with none), then runs the clone's examples/walkthrough.sh against
#    the server (connection from the profile);
# 6. stops the server with SIGTERM and checks it exited 0 and removed its profile;
# 7. runs `make run` in the clone on a free port, interrupts it as Ctrl-C does (SIGINT to
#    its process group) and checks the server stopped cleanly and make reported no error.
# The servers are stopped and the temporary folder removed however the script ends; a
# server's log is printed when something failed.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The toolchain the project builds with, unless make (or the caller) already chose one.
if [[ -z "${GOTOOLCHAIN:-}" ]]; then
  # shellcheck source=toolchain.env
  source "$root/scripts/toolchain.env"
fi
export GOTOOLCHAIN
# The clone is built as a newcomer would build it, not as a sub-make of this one.
unset MAKEFLAGS MAKELEVEL MFLAGS

work=$(mktemp -d "${TMPDIR:-/tmp}/accessctl-e2e.XXXXXX")
server_pid=""
make_pid=""

stop_server() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
  if [[ -n "$make_pid" ]] && kill -0 "$make_pid" 2>/dev/null; then
    kill -TERM -- "-$make_pid" 2>/dev/null || true
    wait "$make_pid" 2>/dev/null || true
  fi
  make_pid=""
}

cleanup() {
  local status=$?
  stop_server
  if [[ $status -ne 0 ]]; then
    for log in "$work/server.log" "$work/make-run.log"; do
      if [[ -f "$log" ]]; then
        echo "--- $log ---" >&2
        cat "$log" >&2
      fi
    done
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
  echo "e2e: FAIL: $*" >&2
  exit 1
}

echo "e2e: cloning into a temporary folder"
clone="$work/accessgraph"
git clone --quiet "$root" "$clone"
# Lay the working tree's uncommitted state over the clone: changed and new files (those
# git does not ignore) are copied, deleted ones removed.
(cd "$root" && git ls-files -z --cached --others --exclude-standard) |
  while IFS= read -r -d '' f; do
    if [[ -e "$root/$f" ]]; then
      mkdir -p "$clone/$(dirname "$f")"
      cmp -s "$root/$f" "$clone/$f" 2>/dev/null || cp -p "$root/$f" "$clone/$f"
    else
      rm -f "$clone/$f"
    fi
  done
cd "$clone"

echo "e2e: make build"
make build >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; fail "make build failed"; }
export PATH="$PWD/bin:$PATH"
[[ "$(command -v accessctl)" == "$clone/bin/accessctl" ]] ||
  fail "accessctl on the PATH is $(command -v accessctl || echo nothing), not the clone's bin/accessctl"

# Only the profiles this script's servers write are used.
unset ACCESSCTL_ENDPOINT ACCESSCTL_TOKEN ACCESSCTL_INSECURE ACCESSCTL_CA_CERT ACCESSCTL
export ACCESSCTL_CONFIG_DIR="$work/config"
profile="$ACCESSCTL_CONFIG_DIR/profile.json"

# wait_ready PID: until the server has written its profile and answers through it.
wait_ready() {
  for _ in $(seq 1 600); do
    kill -0 "$1" 2>/dev/null || fail "the server exited before it was ready"
    if [[ -s "$profile" ]] && accessctl schema show >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  fail "the server was not ready after 60s"
}

echo "e2e: starting accessctl serve --demo on a free loopback port"
accessctl serve --demo --addr 127.0.0.1:0 --data-dir "$work/data" >"$work/server.out" 2>"$work/server.log" &
server_pid=$!
wait_ready "$server_pid"
echo "e2e: server ready at $(sed -n 's/.*"endpoint": "\(.*\)".*/\1/p' "$profile")"

# The domain API: its URL from the server's JSON log, the key (an operator's) from the profile.
api=$(sed -n 's/.*"msg":"serving the domain API".*"url":"\([^"]*\)".*/\1/p' "$work/server.log" | head -n 1)
[[ -n "$api" ]] || fail "the server did not log the domain API's URL"
key=$(sed -n 's/.*"token": "\(.*\)".*/\1/p' "$profile")
# api_call KEY METHOD JSON: prints the HTTP status, then the body.
api_call() {
  local auth=()
  [[ -z "$1" ]] || auth=(-H "Authorization: Bearer $1")
  curl -sS -o "$work/api.out" -w '%{http_code}' -X POST "$api/accessgraph.v1.AccessService/$2" \
    "${auth[@]}" -H 'Content-Type: application/json' -d "$3"
  echo
  cat "$work/api.out"
}
echo "e2e: the domain API at $api (HTTP/JSON)"
out=$(api_call "$key" Check '{"subject": "user:bill", "permission": "view_all_cases", "resource": "account:acme"}')
[[ "$out" == 200*'"allowed":true'* ]] || fail "API check: $out"
out=$(api_call "$key" LookupResources '{"subject": "user:bill", "permission": "view", "resourceType": "case"}')
[[ "$out" == 200*'"objects":["case:'* ]] || fail "API lookup: $out"
out=$(api_call "wrong-key-0123456789" CreateGroup '{"actor": "user:vera", "group": "group:e2e"}')
[[ "$out" == 401*'"code":"unauthenticated"'* ]] || fail "API change with a wrong key: $out"
out=$(api_call "" CreateGroup '{"actor": "user:vera", "group": "group:e2e"}')
[[ "$out" == 401*'"code":"unauthenticated"'* ]] || fail "API change without a key: $out"
# The walkthrough's core steps over HTTP/JSON, with a user's key and an auditor's.
grep -q "\"api_url\": \"$api\"" "$profile" || fail "the profile does not hold the domain API's URL $api"
dave_key=$(accessctl key create --kind user --user dave --name e2e-dave) || fail "key create for dave"
bill_key=$(accessctl key create --kind user --user bill --name e2e-bill) || fail "key create for bill"
audit_key=$(accessctl key create --kind auditor --name e2e-audit) || fail "key create for an auditor"
out=$(api_call "$bill_key" Check '{"subject": "user:bill", "permission": "view_all_cases", "resource": "account:acme"}')
[[ "$out" == 200*'"allowed":true'* ]] || fail "API check with bill's key: $out"
out=$(api_call "$bill_key" Check '{"subject": "user:sally", "permission": "view_all_cases", "resource": "account:acme"}')
[[ "$out" == 403*'"code":"permission_denied"'* ]] || fail "API check about someone else with bill's key: $out"
out=$(api_call "$bill_key" PendingRequests '{"account": "account:acme"}')
[[ "$out" == 200*'user:dave'* ]] || fail "API pending requests with bill's key (actor implied): $out"
out=$(api_call "$audit_key" Approve '{"actor": "user:bill", "account": "account:acme", "user": "user:dave"}')
[[ "$out" == 403*'"code":"permission_denied"'* ]] || fail "API approval with an auditor's key: $out"
out=$(api_call "$dave_key" Approve '{"account": "account:acme", "user": "user:dave"}')
[[ "$out" == 403*'"code":"permission_denied"'* ]] || fail "API approval of himself with dave's key: $out"
out=$(api_call "$bill_key" Approve '{"account": "account:acme", "user": "user:dave", "reason": "e2e"}')
[[ "$out" == 200*'"token":'* ]] || fail "API approval with bill's key: $out"
out=$(api_call "$dave_key" Check '{"subject": "user:dave", "permission": "create_case", "resource": "account:acme", "consistency": "full"}')
[[ "$out" == 200*'"allowed":true'* ]] || fail "API check after the approval with dave's key: $out"
out=$(api_call "$dave_key" Leave '{"account": "account:acme", "reason": "e2e: put back"}')
[[ "$out" == 200*'"token":'* ]] || fail "API leave with dave's key: $out"
out=$(api_call "$dave_key" RequestAccess '{"account": "account:acme", "role": "standard", "reason": "e2e: put back"}')
[[ "$out" == 200*'"token":'* ]] || fail "API join request with dave's key: $out"
for name in e2e-dave e2e-bill e2e-audit; do accessctl key revoke "$name" >/dev/null 2>&1 || fail "key revoke $name"; done
echo "e2e: HTTP/JSON with a user's key (check, pending, approve) and an auditor's (change refused)"
status=$(curl -sS -o /dev/null -w '%{http_code}' "$api/openapi.json")
[[ "$status" == 200 ]] || fail "GET /openapi.json: $status"

examples/walkthrough.sh

echo "e2e: stopping the server (SIGTERM)"
kill -TERM "$server_pid"
status=0
wait "$server_pid" || status=$?
server_pid=""
[[ $status -eq 0 ]] || fail "the server exited $status after SIGTERM, not 0"
[[ ! -e "$profile" ]] || fail "the server did not remove its connection profile on shutdown"

if command -v setsid >/dev/null 2>&1; then
  echo "e2e: make run, then Ctrl-C"
  # setsid gives make a process group of its own, as a terminal gives a foreground job.
  setsid make run RUN_FLAGS="--addr 127.0.0.1:0" >"$work/make-run.log" 2>&1 &
  make_pid=$!
  wait_ready "$make_pid"
  kill -INT -- "-$make_pid"
  status=0
  wait "$make_pid" || status=$?
  make_pid=""
  # In a terminal GNU make gets the signal too and ends itself with it, silently (status
  # 130); what matters is that the server stopped cleanly and make had no error to report
  # (with `go run` in the recipe it reported "Error 1").
  grep -q '"msg":"stopped"' "$work/make-run.log" || fail "make run: the server did not log a clean shutdown"
  if grep -q '^make: \*\*\*' "$work/make-run.log"; then
    fail "make run reported an error on Ctrl-C: $(grep '^make: \*\*\*' "$work/make-run.log")"
  fi
  [[ ! -e "$profile" ]] || fail "make run: the server did not remove its connection profile"
  echo "e2e: make run stopped cleanly on Ctrl-C (make status $status)"
else
  echo "e2e: setsid not found; skipping the make run Ctrl-C check"
fi
echo "e2e: ok"
