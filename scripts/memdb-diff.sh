#!/usr/bin/env bash
# What SpiceDB's in-memory datastore (internal/datastore/memdb), which pkg/localstore adapts,
# changed between the version go.mod pins and a candidate version (also: make memdb-diff).
#
#   scripts/memdb-diff.sh v1.58.0
#   SPICEDB_CANDIDATE=v1.58.0 scripts/memdb-diff.sh
#
# Both versions are fetched into the module cache with `go mod download`; the script prints
# `diff -ru` of the two memdb directories (pinned first) and exits 0 whether or not they differ.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# The toolchain the project builds with, unless make (or the caller) already chose one.
if [[ -z "${GOTOOLCHAIN:-}" ]]; then
  # shellcheck source=toolchain.env
  source scripts/toolchain.env
fi
export GOTOOLCHAIN

module=github.com/authzed/spicedb
subdir=internal/datastore/memdb

candidate=${1:-${SPICEDB_CANDIDATE:-}}
if [[ -z "$candidate" ]]; then
  echo "usage: make memdb-diff SPICEDB_CANDIDATE=vX.Y.Z (or: scripts/memdb-diff.sh vX.Y.Z)" >&2
  exit 2
fi

pinned=$(go list -m -f '{{.Version}}' "$module")

# module_dir VERSION prints the module cache directory of $module@VERSION, downloading it
# if needed. It reads the "Dir" field of `go mod download -json`.
module_dir() {
  local json dir
  if ! json=$(go mod download -json "$module@$1"); then
    echo "memdb-diff: cannot download $module@$1:" >&2
    echo "$json" >&2
    exit 1
  fi
  dir=$(printf '%s\n' "$json" | grep '"Dir":' | sed -e 's/^[[:space:]]*"Dir":[[:space:]]*"//' -e 's/",\{0,1\}[[:space:]]*$//')
  if [[ -z "$dir" || ! -d "$dir/$subdir" ]]; then
    echo "memdb-diff: no $subdir in $module@$1" >&2
    exit 1
  fi
  printf '%s\n' "$dir"
}

old=$(module_dir "$pinned")
new=$(module_dir "$candidate")

echo "# $module $subdir: $pinned (pinned in go.mod) -> $candidate"
# Diff from the module cache folder both versions sit in, so the paths read
# spicedb@OLD/... and spicedb@NEW/....
cd "$(dirname "$old")"
if [[ "$(dirname "$new")" == "$(pwd)" ]]; then
  new=$(basename "$new")
fi
status=0
diff -ru "$(basename "$old")/$subdir" "$new/$subdir" || status=$?
case $status in
  0) echo "# no differences" ;;
  1) ;; # the directories differ: that is the answer, not a failure
  *) exit "$status" ;;
esac
exit 0
