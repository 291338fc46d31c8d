#!/usr/bin/env bash
# End-to-end test of accessctl (also: make e2e).
#
# 1. builds bin/accessctl;
# 2. starts `accessctl serve --demo` on a free loopback port, with a private configuration
#    folder (ACCESSCTL_CONFIG_DIR) so it neither reads nor replaces your own profile, and a
#    private data directory for the default, durable local datastore;
# 3. waits until the server has written its connection profile and answers;
# 4. runs examples/walkthrough.sh against it (connection from the profile, no flags);
# 5. stops the server with SIGTERM and checks it removed its profile.
# The server is stopped and the temporary folder removed however the script ends; the
# server's log is printed when something failed.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# The toolchain the project builds with, unless make (or the caller) already chose one.
if [[ -z "${GOTOOLCHAIN:-}" ]]; then
  # shellcheck source=toolchain.env
  source scripts/toolchain.env
fi
export GOTOOLCHAIN

work=$(mktemp -d "${TMPDIR:-/tmp}/accessctl-e2e.XXXXXX")
server_pid=""

stop_server() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}

cleanup() {
  local status=$?
  stop_server
  if [[ $status -ne 0 && -f "$work/server.log" ]]; then
    echo "--- server log ($work/server.log) ---" >&2
    cat "$work/server.log" >&2
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "e2e: building bin/accessctl"
go build -o bin/accessctl ./cmd/accessctl
accessctl="$root/bin/accessctl"

# Only the profile this script's server writes is used.
unset ACCESSCTL_ENDPOINT ACCESSCTL_TOKEN ACCESSCTL_INSECURE ACCESSCTL_CA_CERT
export ACCESSCTL_CONFIG_DIR="$work/config"
profile="$ACCESSCTL_CONFIG_DIR/profile.json"

echo "e2e: starting accessctl serve --demo on a free loopback port"
"$accessctl" serve --demo --addr 127.0.0.1:0 --data-dir "$work/data" >"$work/server.out" 2>"$work/server.log" &
server_pid=$!

ready=""
for _ in $(seq 1 600); do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "e2e: the server exited before it was ready" >&2
    exit 1
  fi
  if [[ -s "$profile" ]] && "$accessctl" schema show >/dev/null 2>&1; then
    ready=yes
    break
  fi
  sleep 0.1
done
if [[ -z "$ready" ]]; then
  echo "e2e: the server was not ready after 60s" >&2
  exit 1
fi
echo "e2e: server ready at $(sed -n 's/.*"endpoint": "\(.*\)".*/\1/p' "$profile")"

ACCESSCTL="$accessctl" "$root/examples/walkthrough.sh"

echo "e2e: stopping the server"
stop_server
if [[ -e "$profile" ]]; then
  echo "e2e: FAIL: the server did not remove its connection profile on shutdown" >&2
  exit 1
fi
echo "e2e: ok"
