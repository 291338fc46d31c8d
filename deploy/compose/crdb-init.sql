-- crdb-init.sql: one-time SQL that prepares a CockroachDB cluster for SpiceDB v1.56.0
--
-- Run by crdb-init.sh in compose.yaml (after `cockroach init`). For any other cluster (Kubernetes,
-- CockroachDB Cloud) run it once as an admin before `spicedb datastore migrate head`:
--   cockroach sql --url "$ADMIN_URL" --file deploy/compose/crdb-init.sql
-- Every statement is idempotent: running it again changes nothing.
--
-- 1. kv.rangefeed.enabled: SpiceDB's Watch API reads CockroachDB changefeeds, which need rangefeeds.
-- 2. The database SpiceDB migrates and uses.
-- 3. MVCC garbage collection: SpiceDB v1.56 reads `SHOW ZONE CONFIGURATION FOR RANGE default`
--    and lowers its own GC window (--datastore-gc-window, 24 h) to that gc.ttlseconds (4 h by
--    default). Revision tokens and Watch cursors older than the window are refused, so RANGE
--    default must be raised, not only the database: 90000 s = 25 h > 24 h. The database gets the
--    same value so it keeps it even if RANGE default is lowered later (SpiceDB would still
--    shrink its window to RANGE default; keep the two equal).
--    Cost: CockroachDB keeps every overwritten or deleted row version for 25 h (more disk, and
--    slower scans over churned ranges).

SET CLUSTER SETTING kv.rangefeed.enabled = true;

CREATE DATABASE IF NOT EXISTS spicedb;

ALTER RANGE default CONFIGURE ZONE USING gc.ttlseconds = 90000;

ALTER DATABASE spicedb CONFIGURE ZONE USING gc.ttlseconds = 90000;
