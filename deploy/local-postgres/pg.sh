#!/usr/bin/env bash
# Private PostgreSQL cluster for accessgraph development and tests.
#
# What it starts: one PostgreSQL server from Debian's packages, with its data directory under
# the project (.data/postgres unless PGDATA_DIR says otherwise), listening only on 127.0.0.1 at
# its own port (54329 unless PGPORT_LOCAL says otherwise), never the system cluster. It turns on
# track_commit_timestamp, which SpiceDB's Watch needs.
#
# Usage:
#   deploy/local-postgres/pg.sh start    # install if missing, init once, start; prints the URI
#   deploy/local-postgres/pg.sh uri      # the connection URI
#   deploy/local-postgres/pg.sh status
#   deploy/local-postgres/pg.sh stop     # stops it by its own pid file
#   deploy/local-postgres/pg.sh destroy  # stop and delete the data directory
#
# initdb refuses to run as root, so as root the server runs as the postgres user, which owns
# the data directory.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
data=${PGDATA_DIR:-$root/.data/postgres}
port=${PGPORT_LOCAL:-54329}
user=accessgraph
db=accessgraph
uri="postgres://$user@127.0.0.1:$port/$db?sslmode=disable"

pg_bin() {
	local dir
	dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
	[ -n "$dir" ] && echo "$dir"
}

ensure_installed() {
	if [ -z "$(pg_bin)" ]; then
		echo "installing PostgreSQL from Debian's packages..." >&2
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq >&2
		apt-get install -y -qq postgresql >&2
	fi
}

as_owner() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

start() {
	ensure_installed
	local bin
	bin=$(pg_bin)
	mkdir -p "$data"
	if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$data"; fi
	chmod 700 "$data"
	if [ ! -f "$data/PG_VERSION" ]; then
		as_owner "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 >/dev/null
		cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$data'
track_commit_timestamp = on
max_connections = 300
fsync = on
CONF
	fi
	if ! as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
		as_owner "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start >/dev/null
	fi
	as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -tAc "SELECT 1 FROM pg_roles WHERE rolname='$user'" | grep -q 1 ||
		as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE ROLE $user LOGIN SUPERUSER"
	as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1 ||
		as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE $db OWNER $user"
	echo "$uri"
}

stop() {
	local bin
	bin=$(pg_bin) || true
	if [ -n "$bin" ] && [ -f "$data/postmaster.pid" ]; then
		as_owner "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null || true
	fi
}

case "${1:-}" in
start) start ;;
stop) stop ;;
uri) echo "$uri" ;;
status)
	if [ -f "$data/postmaster.pid" ] && kill -0 "$(head -n 1 "$data/postmaster.pid")" 2>/dev/null; then
		echo "running: $uri"
	else
		echo "stopped"
		exit 1
	fi
	;;
destroy)
	stop
	rm -rf "$data"
	;;
*)
	sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
	;;
esac
