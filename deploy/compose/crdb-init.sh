#!/usr/bin/env bash
# crdb-init.sh: one-shot initialisation of the compose CockroachDB cluster (service crdb-init)
#
# Runs in the cockroachdb/cockroach image once roach1..3 are healthy and haproxy has started:
#   1. `cockroach init` on $CRDB_NODE (a cluster that is already initialised is fine: re-runs of
#      `docker compose up` pass this step);
#   2. waits for SQL on $CRDB_NODE, runs crdb-init.sql (rangefeeds, database spicedb,
#      gc.ttlseconds);
#   3. applies a license key when CRDB_LICENSE_KEY and CRDB_ORGANIZATION are both set;
#   4. waits until SQL answers through the load balancer $CRDB_LB, so spicedb-migrate, which
#      starts as soon as this exits 0, finds the cluster ready.
# Exit status non-zero stops the chain: spicedb-migrate and the replicas do not start.
# Logs: docker compose logs crdb-init
set -euo pipefail

node=${CRDB_NODE:-roach1:26257}
lb=${CRDB_LB:-haproxy:26257}
here=$(cd "$(dirname "$0")" && pwd)

wait_for_sql() {
	local host=$1 i
	for i in $(seq 1 60); do
		if cockroach sql --insecure --host="$host" --execute='SELECT 1' >/dev/null 2>&1; then
			return 0
		fi
		sleep 2
	done
	echo "crdb-init: no SQL answer from $host after 120 s" >&2
	return 1
}

if out=$(cockroach init --insecure --host="$node" 2>&1); then
	echo "crdb-init: $out"
elif grep -q "already been initialized" <<<"$out"; then
	echo "crdb-init: cluster already initialised"
else
	echo "crdb-init: cockroach init failed: $out" >&2
	exit 1
fi

wait_for_sql "$node"
cockroach sql --insecure --host="$node" --file="$here/crdb-init.sql"
echo "crdb-init: applied crdb-init.sql"

if [ -n "${CRDB_LICENSE_KEY:-}" ] && [ -n "${CRDB_ORGANIZATION:-}" ]; then
	cockroach sql --insecure --host="$node" \
		--execute="SET CLUSTER SETTING cluster.organization = '${CRDB_ORGANIZATION//\'/\'\'}'" \
		--execute="SET CLUSTER SETTING enterprise.license = '${CRDB_LICENSE_KEY//\'/\'\'}'"
	echo "crdb-init: license applied"
fi

wait_for_sql "$lb"
echo "crdb-init: SQL answers through $lb; CockroachDB is ready for SpiceDB"
