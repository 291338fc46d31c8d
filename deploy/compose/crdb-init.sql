-- crdb-init.sql: one-time SQL that prepares a CockroachDB cluster for SpiceDB v1.57.1
--
-- Run by crdb-init.sh in compose.yaml (after `cockroach init`). For any other cluster (Kubernetes,
-- CockroachDB Cloud) run it once as an admin before `spicedb datastore migrate head`:
--   cockroach sql --url "$ADMIN_URL" --file deploy/compose/crdb-init.sql
-- Every statement is idempotent: running it again changes nothing.
--
-- 1. kv.rangefeed.enabled: SpiceDB's Watch API reads CockroachDB changefeeds, which need rangefeeds.
-- 2. The database SpiceDB migrates and uses.
-- 3. MVCC garbage collection: SpiceDB v1.57 reads the zone configuration of its relationship
--    table (inherited from the database unless set on the table; `RANGE default` only when that
--    read fails) and lowers its own GC window (--datastore-gc-window, 24 h) to that gc.ttlseconds
--    (4 h by default). Revision tokens and Watch cursors older than the window are refused, so the
--    database must be raised: 90000 s = 25 h > 24 h. RANGE default gets the same value so the
--    fallback agrees (keep the two equal).
--    Cost: CockroachDB keeps every overwritten or deleted row version for 25 h (more disk, and
--    slower scans over churned ranges).

SET CLUSTER SETTING kv.rangefeed.enabled = true;

CREATE DATABASE IF NOT EXISTS spicedb;

ALTER RANGE default CONFIGURE ZONE USING gc.ttlseconds = 90000;

ALTER DATABASE spicedb CONFIGURE ZONE USING gc.ttlseconds = 90000;
