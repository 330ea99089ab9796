-- Audit trail: enable/disable_audit, what the C trigger records, the log's
-- protection, sealing and verification, retention.
\set SHOW_CONTEXT never
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
-- Plans of our own (other tests change the seeded ones).
INSERT INTO tenancy.plans (name, audit_retention) VALUES ('aud-30d', '30 days'), ('aud-7y', '7 years');
SELECT tenancy.create_tenant('aud-a', 'Audit A', 'aud-30d', 'a0000000-0000-4000-8000-0000000000a1') IS NOT NULL AS a,
       tenancy.create_tenant('aud-b', 'Audit B', 'aud-7y', 'b0000000-0000-4000-8000-0000000000b1') IS NOT NULL AS b;
SELECT tenancy.grant_tenant('regress_tenancy_alice', 'aud-a'),
       tenancy.grant_tenant('regress_tenancy_bob', 'aud-b');

CREATE SCHEMA regress_audit;
GRANT USAGE ON SCHEMA regress_audit TO PUBLIC;
CREATE TYPE regress_audit.mood AS ENUM ('sad', 'happy');
CREATE TYPE regress_audit.pair AS (x int, y text);
CREATE TABLE regress_audit.things (
    tenant_id uuid NOT NULL, id int NOT NULL, i2 smallint, i8 bigint, n numeric, f4 real, f8 float8,
    b boolean, t text, vc varchar(10), c char(3), u uuid, d date, ts timestamptz, iv interval,
    by bytea, ip inet, j json, jb jsonb, ia int[], ta text[], m regress_audit.mood, p regress_audit.pair,
    secret text, PRIMARY KEY (tenant_id, id));
GRANT SELECT, INSERT, UPDATE, DELETE ON regress_audit.things TO PUBLIC;

-- Errors: not registered, unknown excluded column, NULLs, tenant roles.
SELECT tenancy.enable_audit('regress_audit.things');
SELECT tenancy.register_table('regress_audit.things');
SELECT tenancy.enable_audit('regress_audit.things', '{secret,nope}');
SELECT tenancy.enable_audit('regress_audit.things', NULL);
SELECT tenancy.enable_audit(NULL);
CREATE TABLE regress_audit.unregistered (tenant_id uuid);
SELECT tenancy.disable_audit('regress_audit.unregistered');
SET ROLE regress_tenancy_alice;
SELECT tenancy.enable_audit('regress_audit.things');
SELECT tenancy.disable_audit('regress_audit.things');
RESET ROLE;
SELECT tenancy.enable_audit('regress_audit.things', '{secret}');
SELECT relid, audited FROM tenancy.tables WHERE relid = 'regress_audit.things'::regclass;
SELECT tgname, tgenabled, pg_get_triggerdef(oid) FROM pg_trigger
 WHERE tgrelid = 'regress_audit.things'::regclass AND NOT tgisinternal ORDER BY 1;
-- enable_audit created this month's partition and the next three.
SELECT count(*) FROM pg_inherits WHERE inhparent = 'tenancy.audit_log'::regclass;

-- Every common type, as to_jsonb() would render it, minus the excluded column.
SET ROLE regress_tenancy_alice;
SET tenancy.tenant = 'aud-a';
INSERT INTO regress_audit.things VALUES
    (DEFAULT, 1, 2, 9007199254740993, 12.50, 1.5, 'Infinity', true, 'héllo "q"', 'vc', 'ab',
     'c0ffee00-0000-4000-8000-000000000000', '2024-02-29', '2024-01-02 03:04:05.678+00', '1 day 2 hours',
     '\x00ff', '10.1.2.0/24', '{"a": [1, 2]}', '{"b": {"c": null}}', '{1,NULL,3}', '{x,"y z"}', 'happy',
     ROW(7, 'seven'), 'hunter2'),
    (DEFAULT, 2, NULL, NULL, 'NaN', NULL, -0.25, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, 'null', '{}', NULL, NULL, NULL, NULL);
RESET ROLE;
SELECT e.row_key, e.new = to_jsonb(th) - 'secret' AS new_is_row_minus_secret, e.new ? 'secret' AS has_secret
  FROM tenancy.audit_log e JOIN regress_audit.things th ON th.id = (e.row_key ->> 'id')::int
 WHERE e.table_name = 'regress_audit.things' AND e.op = 'INSERT' ORDER BY e.id;
SELECT new FROM tenancy.audit_log WHERE table_name = 'regress_audit.things' AND row_key ->> 'id' = '1';
SELECT op, tenant_id, db_user, "session_user", application_name, client_addr, old IS NULL AS no_old,
       txid > 0 AS has_txid
  FROM tenancy.audit_log WHERE table_name = 'regress_audit.things' ORDER BY id;

-- UPDATE: only the changed columns, old and new; excluded ones never.
SET ROLE regress_tenancy_alice;
SET tenancy.tenant = 'aud-a';
UPDATE regress_audit.things SET t = 'changed', n = 12.5, secret = 'x' WHERE id = 1;
UPDATE regress_audit.things SET secret = 'only the secret' WHERE id = 1;
UPDATE regress_audit.things SET i2 = 5, jb = NULL WHERE id = 2;
DELETE FROM regress_audit.things WHERE id = 2;
RESET ROLE;
SELECT op, row_key, old, new FROM tenancy.audit_log
 WHERE table_name = 'regress_audit.things' AND op IN ('UPDATE', 'DELETE') ORDER BY id;

-- Rolled back work, whole or to a savepoint, leaves nothing.
SET ROLE regress_tenancy_alice;
SET tenancy.tenant = 'aud-a';
BEGIN;
INSERT INTO regress_audit.things (id, t) VALUES (10, 'rolled back');
ROLLBACK;
BEGIN;
INSERT INTO regress_audit.things (id, t) VALUES (11, 'kept');
SAVEPOINT s;
INSERT INTO regress_audit.things (id, t) VALUES (12, 'rolled back to savepoint');
UPDATE regress_audit.things SET t = 'also rolled back' WHERE id = 11;
ROLLBACK TO SAVEPOINT s;
INSERT INTO regress_audit.things (id, t) VALUES (13, 'kept too');
COMMIT;
-- A failing statement takes its entries with it.
INSERT INTO regress_audit.things (id, t) VALUES (14, 'ok'), (11, 'duplicate key');
RESET ROLE;
SELECT op, row_key ->> 'id' AS id, new ->> 't' AS t FROM tenancy.audit_log
 WHERE table_name = 'regress_audit.things' AND (row_key ->> 'id')::int >= 10 ORDER BY id;

-- TOASTed values: recorded whole; an unchanged one is not repeated.
CREATE TABLE regress_audit.docs (tenant_id uuid NOT NULL, id int NOT NULL, title text, body text,
                                 PRIMARY KEY (tenant_id, id));
SELECT tenancy.register_table('regress_audit.docs');
SELECT tenancy.enable_audit('regress_audit.docs');
GRANT SELECT, INSERT, UPDATE, DELETE ON regress_audit.docs TO PUBLIC;
SET ROLE regress_tenancy_alice;
SET tenancy.tenant = 'aud-a';
INSERT INTO regress_audit.docs (id, title, body)
SELECT 1, 'big', string_agg(md5(i::text), '') FROM generate_series(1, 20000) i;
UPDATE regress_audit.docs SET title = 'bigger' WHERE id = 1;
UPDATE regress_audit.docs SET body = body || 'x' WHERE id = 1;
RESET ROLE;
SELECT pg_column_size(body) < octet_length(body) OR pg_relation_size(reltoastrelid) > 0 AS toasted
  FROM regress_audit.docs, pg_class WHERE pg_class.oid = 'regress_audit.docs'::regclass;
SELECT op, length(new ->> 'body') AS new_body, length(old ->> 'body') AS old_body,
       new ->> 'title' AS title,
       md5(new ->> 'body') = md5((SELECT body FROM regress_audit.docs)) AS body_now,
       md5(coalesce(new, old) ->> 'body') = (SELECT md5(string_agg(md5(i::text), '')) FROM generate_series(1, 20000) i) AS body_first
  FROM tenancy.audit_log WHERE table_name = 'regress_audit.docs' ORDER BY id;

-- A wide row (300 columns) and a table without a primary key.
DO $$
BEGIN
    EXECUTE 'CREATE TABLE regress_audit.wide (tenant_id uuid NOT NULL, '
         || (SELECT string_agg(format('c%s int DEFAULT %s', i, i), ', ') FROM generate_series(1, 300) i) || ')';
END
$$;
SELECT tenancy.register_table('regress_audit.wide');
SELECT tenancy.enable_audit('regress_audit.wide');
CREATE TABLE regress_audit.nokey (tenant_id uuid NOT NULL, a int, b text);
SELECT tenancy.register_table('regress_audit.nokey');
SELECT tenancy.enable_audit('regress_audit.nokey');
CREATE TABLE regress_audit.replident (tenant_id uuid NOT NULL, code text NOT NULL, v int);
CREATE UNIQUE INDEX replident_code ON regress_audit.replident (tenant_id, code);
ALTER TABLE regress_audit.replident REPLICA IDENTITY USING INDEX replident_code;
SELECT tenancy.register_table('regress_audit.replident');
SELECT tenancy.enable_audit('regress_audit.replident');
SET tenancy.tenant = 'aud-a';
INSERT INTO regress_audit.wide DEFAULT VALUES;
UPDATE regress_audit.wide SET c300 = 0;
INSERT INTO regress_audit.nokey VALUES (DEFAULT, 1, 'one');
UPDATE regress_audit.nokey SET b = 'uno';
INSERT INTO regress_audit.replident VALUES (DEFAULT, 'k1', 1);
UPDATE regress_audit.replident SET v = 2;
RESET tenancy.tenant;
SELECT table_name, op, (SELECT count(*) FROM jsonb_object_keys(new)) AS new_keys, old, new ->> 'c300' AS c300
  FROM tenancy.audit_log WHERE table_name = 'regress_audit.wide' ORDER BY id;
SELECT table_name, op, row_key - 'tenant_id' AS row_key, old, new - 'tenant_id' AS new
  FROM tenancy.audit_log WHERE table_name IN ('regress_audit.nokey', 'regress_audit.replident') ORDER BY id;

-- Partitioned tables: entries name the parent; later partitions are audited too.
CREATE TABLE regress_audit.orders (tenant_id uuid NOT NULL, id int NOT NULL, total int,
                                   PRIMARY KEY (tenant_id, id)) PARTITION BY LIST (tenant_id);
CREATE TABLE regress_audit.orders_a PARTITION OF regress_audit.orders FOR VALUES IN ('a0000000-0000-4000-8000-0000000000a1');
SELECT tenancy.register_table('regress_audit.orders');
SELECT tenancy.enable_audit('regress_audit.orders');
CREATE TABLE regress_audit.orders_b PARTITION OF regress_audit.orders FOR VALUES IN ('b0000000-0000-4000-8000-0000000000b1');
SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relname LIKE 'orders%' AND t.tgname LIKE 'tenancy_audit%' ORDER BY 1, 2;
GRANT SELECT, INSERT, UPDATE, DELETE ON regress_audit.orders TO PUBLIC;
SET ROLE regress_tenancy_bob;
SET tenancy.tenant = 'aud-b';
INSERT INTO regress_audit.orders (id, total) VALUES (1, 100);
UPDATE regress_audit.orders SET total = 200;
RESET ROLE;
SET tenancy.tenant = 'aud-a';
INSERT INTO regress_audit.orders (id, total) VALUES (1, 5);
RESET tenancy.tenant;
SELECT tenant_id, table_name, op, row_key ->> 'id' AS id, old, new - 'tenant_id' AS new
  FROM tenancy.audit_log WHERE table_name = 'regress_audit.orders' ORDER BY id;

-- TRUNCATE: one entry per statement, with the tenant in force.
SET tenancy.tenant = 'aud-a';
TRUNCATE regress_audit.nokey;
RESET tenancy.tenant;
SELECT tenant_id, table_name, op, row_key, old, new FROM tenancy.audit_log WHERE op = 'TRUNCATE';

-- Tenant roles: their own tenant's entries only, and no writes at all.
SET ROLE regress_tenancy_alice;
SELECT count(*) FROM tenancy.audit_log;
SET tenancy.tenant = 'aud-a';
SELECT DISTINCT tenant_id FROM tenancy.audit_log;
SELECT count(*) > 0 AS sees_own FROM tenancy.audit_log;
INSERT INTO tenancy.audit_log (tenant_id, txid, table_name, op, db_user, "session_user")
VALUES ('b0000000-0000-4000-8000-0000000000b1', 1, 'forged', 'INSERT', 'x', 'x');
UPDATE tenancy.audit_log SET new = '{}';
DELETE FROM tenancy.audit_log;
TRUNCATE tenancy.audit_log;
SELECT count(*) FROM tenancy.audit_log_default;
ALTER TABLE regress_audit.things DISABLE TRIGGER tenancy_audit;
DROP TRIGGER tenancy_audit ON regress_audit.things;
SET session_replication_role = replica;
TRUNCATE regress_audit.things;
SELECT count(*) FROM tenancy.audit_seals;
SELECT tenancy.seal_audit();
SELECT * FROM tenancy.verify_audit();
SELECT tenancy.purge_audit();
SELECT tenancy._audit_mac('x');
RESET ROLE;
-- Not even administrators (who are not superusers) change entries.
SET ROLE regress_tenancy_admin;
SELECT count(*) > 0 AS admin_sees_all FROM tenancy.audit_log WHERE tenant_id = 'b0000000-0000-4000-8000-0000000000b1';
DELETE FROM tenancy.audit_log;
UPDATE tenancy.audit_log SET op = 'DELETE';
RESET ROLE;

-- Sealing: intact log verifies clean; then tamper as a superuser.
-- A seal's horizon is its snapshot's xmin, so a background transaction
-- (an autovacuum ANALYZE writing pg_statistic) would hold it back; wait
-- for those first so the counts below are exact.
CREATE PROCEDURE pg_temp.settle() LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..1200 LOOP
    PERFORM pg_stat_clear_snapshot();  -- pg_stat_activity is read once per transaction
    EXIT WHEN NOT EXISTS (SELECT FROM pg_stat_activity
                           WHERE backend_type <> 'client backend' AND backend_xid IS NOT NULL);
    PERFORM pg_sleep(0.05);
  END LOOP;
  IF EXISTS (SELECT FROM pg_stat_activity
              WHERE backend_type <> 'client backend' AND backend_xid IS NOT NULL) THEN
    RAISE EXCEPTION 'settle: a background process still holds an xid after 60 s';
  END IF;
END $$;
CALL pg_temp.settle();
SELECT count(*) >= 2 AS tenants_sealed, sum(entries) = (SELECT count(*) FROM tenancy.audit_log) AS all_sealed
  FROM tenancy.seal_audit();
SELECT count(*) AS nothing_new FROM tenancy.seal_audit();
SELECT * FROM tenancy.verify_audit();
SELECT * FROM tenancy.verify_audit('aud-a');
SELECT * FROM tenancy.verify_audit('no-such-tenant');
-- Tags do not depend on settings.
SET TimeZone = 'Asia/Tokyo';
SET DateStyle = 'German';
SET client_encoding = 'LATIN1';
SELECT count(*) AS problems_under_other_settings FROM tenancy.verify_audit();
RESET client_encoding;
SET DateStyle = 'ISO, YMD';
SET TimeZone = 'UTC';
-- The next seal covers later entries and chains to the first.
SET tenancy.tenant = 'aud-a';
INSERT INTO regress_audit.nokey VALUES (DEFAULT, 2, 'two');
RESET tenancy.tenant;
CALL pg_temp.settle();
SELECT s.seal_no, s.entries FROM tenancy.seal_audit() s;
SELECT s.seal_no, s.prev_mac = (SELECT p.mac FROM tenancy.audit_seals p
                                 WHERE p.tenant_id = s.tenant_id AND p.seal_no = 1) AS chained
  FROM tenancy.audit_seals s WHERE s.seal_no = 2;
SELECT * FROM tenancy.verify_audit();

CREATE TEMP TABLE ids AS
SELECT min(id) FILTER (WHERE table_name = 'regress_audit.docs') AS changed,
       min(id) FILTER (WHERE table_name = 'regress_audit.wide') AS removed,
       max(id) AS last
  FROM tenancy.audit_log;
UPDATE tenancy.audit_log SET new = new || '{"title": "forged"}' WHERE id = (SELECT changed FROM ids);
DELETE FROM tenancy.audit_log WHERE id = (SELECT removed FROM ids);
-- A forged entry backdated into the sealed horizon.
INSERT INTO tenancy.audit_log (id, tenant_id, txid, table_name, op, db_user, "session_user")
SELECT last + 1000, 'a0000000-0000-4000-8000-0000000000a1', 3, 'regress_audit.docs', 'DELETE', 'x', 'x' FROM ids;
SELECT v.seal_no, v.entry_id - i.changed AS entry_offset, v.problem
  FROM tenancy.verify_audit() v, ids i ORDER BY 2;
SELECT count(*) AS other_tenant_clean FROM tenancy.verify_audit('aud-b');
-- A seal altered, and a seal removed.
UPDATE tenancy.audit_seals SET entries = entries - 1 WHERE tenant_id = 'b0000000-0000-4000-8000-0000000000b1' AND seal_no = 1;
SELECT seal_no, problem FROM tenancy.verify_audit('aud-b');
UPDATE tenancy.audit_seals SET entries = entries + 1 WHERE tenant_id = 'b0000000-0000-4000-8000-0000000000b1' AND seal_no = 1;
SELECT count(*) AS repaired FROM tenancy.verify_audit('aud-b');
-- A seal's last_at (which purge_audit trusts) is covered by its MAC.
UPDATE tenancy.audit_seals SET last_at = '2000-01-01' WHERE tenant_id = 'b0000000-0000-4000-8000-0000000000b1' AND seal_no = 1;
SELECT seal_no, problem FROM tenancy.verify_audit('aud-b');
UPDATE tenancy.audit_seals s SET last_at = (SELECT max(e.at) FROM tenancy.audit_log e
                                             WHERE e.tenant_id = s.tenant_id AND e.txid >= s.txid_from AND e.txid < s.txid_to)
 WHERE tenant_id = 'b0000000-0000-4000-8000-0000000000b1' AND seal_no = 1;
-- A run's horizon (where the next run starts) is covered by the run's MAC.
UPDATE tenancy.audit_seal_runs SET horizon = horizon - 1 WHERE seal_no = 2;
SELECT seal_no, problem FROM tenancy.verify_audit('aud-b');
UPDATE tenancy.audit_seal_runs SET horizon = horizon + 1 WHERE seal_no = 2;
-- An exact copy of a sealed entry is an insertion.
INSERT INTO tenancy.audit_log SELECT * FROM tenancy.audit_log
 WHERE id = (SELECT min(e.id) FROM tenancy.audit_log e WHERE e.tenant_id = 'b0000000-0000-4000-8000-0000000000b1');
SELECT seal_no, problem FROM tenancy.verify_audit('aud-b');
DELETE FROM tenancy.audit_log WHERE ctid = (SELECT max(e.ctid) FROM tenancy.audit_log e
 WHERE e.id = (SELECT min(e.id) FROM tenancy.audit_log e WHERE e.tenant_id = 'b0000000-0000-4000-8000-0000000000b1'));
SELECT count(*) AS repaired FROM tenancy.verify_audit('aud-b');
DELETE FROM tenancy.audit_seals WHERE tenant_id = 'a0000000-0000-4000-8000-0000000000a1' AND seal_no = 1;
SELECT seal_no, problem, count(*) FROM tenancy.verify_audit('aud-a') GROUP BY 1, 2 ORDER BY 1, 2;

-- Retention: start again from an empty, unsealed log (superuser only).
TRUNCATE tenancy.audit_seals, tenancy.audit_seal_runs;
DELETE FROM tenancy.audit_log;
CREATE TABLE tenancy.audit_log_p200001 PARTITION OF tenancy.audit_log
    FOR VALUES FROM ('2000-01-01 00:00:00+00') TO ('2000-02-01 00:00:00+00');
-- aud-a (plan aud-30d) and aud-b (plan aud-7y); entries 60 days
-- old, in a partition of their own for aud-a, and in DEFAULT for both.
INSERT INTO tenancy.audit_log (tenant_id, at, txid, table_name, op, db_user, "session_user")
VALUES ('a0000000-0000-4000-8000-0000000000a1', '2000-01-15', 1, 'x', 'INSERT', 'x', 'x'),
       ('a0000000-0000-4000-8000-0000000000a1', now() - interval '60 days', 1, 'x', 'INSERT', 'x', 'x'),
       ('b0000000-0000-4000-8000-0000000000b1', now() - interval '60 days', 1, 'x', 'INSERT', 'x', 'x'),
       (NULL, now() - interval '60 days', 1, 'x', 'INSERT', 'x', 'x'),
       ('a0000000-0000-4000-8000-0000000000a1', now(), 1, 'x', 'INSERT', 'x', 'x');
SET ROLE regress_tenancy_admin;
SELECT tenancy.purge_audit() AS purged;
RESET ROLE;
SELECT to_regclass('tenancy.audit_log_p200001') AS old_partition_dropped;
SELECT tenant_id, at > now() - interval '1 day' AS recent FROM tenancy.audit_log ORDER BY 1, 2;
-- "before" also applies to entries without a tenant, never beyond a plan's retention.
SELECT tenancy.purge_audit(now() - interval '1 day') AS purged;
SELECT tenant_id, at > now() - interval '1 day' AS recent FROM tenancy.audit_log ORDER BY 1, 2;
-- Sealed entries go by whole seals only, so the chain still verifies.
SET tenancy.tenant = 'aud-a';
INSERT INTO regress_audit.nokey VALUES (DEFAULT, 3, 'three');
RESET tenancy.tenant;
CALL pg_temp.settle();
SELECT count(*) FROM tenancy.seal_audit();
UPDATE tenancy.plans SET audit_retention = interval '1 microsecond' WHERE name = 'aud-30d';
SELECT tenancy.purge_audit() AS purged;
UPDATE tenancy.plans SET audit_retention = interval '30 days' WHERE name = 'aud-30d';
SELECT tenant_id, seal_no, entries, purged_at IS NOT NULL AS purged FROM tenancy.audit_seals ORDER BY 1, 2;
SELECT * FROM tenancy.verify_audit();
-- An entry put back into a purged seal's range is an insertion.
INSERT INTO tenancy.audit_log (tenant_id, txid, table_name, op, db_user, "session_user")
SELECT s.tenant_id, s.txid_from, 'regress_audit.nokey', 'INSERT', 'x', 'x'
  FROM tenancy.audit_seals s WHERE s.purged_at IS NOT NULL ORDER BY s.seal_no LIMIT 1;
SELECT seal_no, problem FROM tenancy.verify_audit();
DELETE FROM tenancy.audit_log WHERE db_user = 'x' AND at > now() - interval '1 day';
UPDATE tenancy.audit_seals SET purged_at = purged_at - interval '1 second' WHERE purged_at IS NOT NULL;
SELECT seal_no, problem FROM tenancy.verify_audit();
-- purge_audit waits for writers and must then see what they committed.
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT tenancy.purge_audit();
ROLLBACK;

-- maintain_audit: idempotent, bounded.
SELECT tenancy.maintain_audit() AS created_again;
SELECT tenancy.maintain_audit(-1);
SELECT tenancy.maintain_audit(NULL);

-- disable_audit: no more entries; the old ones stay.
SELECT tenancy.disable_audit('regress_audit.nokey');
SELECT relid, audited FROM tenancy.tables WHERE relid = 'regress_audit.nokey'::regclass;
SET tenancy.tenant = 'aud-a';
INSERT INTO regress_audit.nokey VALUES (DEFAULT, 4, 'not audited');
RESET tenancy.tenant;
SELECT count(*) FROM tenancy.audit_log WHERE new ->> 'b' = 'not audited';
SELECT tenancy.disable_audit('regress_audit.nokey');

-- An excluded column stays excluded when renamed, and so does its old
-- name: the usual migration adds a column by the old name and copies the
-- values into it.
ALTER TABLE regress_audit.things RENAME COLUMN secret TO secret2;
SELECT tenancy._audit_trigger_args('regress_audit.things');
ALTER TABLE regress_audit.things ADD COLUMN secret text;
SET tenancy.tenant = 'aud-a';
UPDATE regress_audit.things SET secret2 = 'leak?' WHERE id = 1;
UPDATE regress_audit.things SET secret = secret2 WHERE id = 1;
RESET tenancy.tenant;
SELECT op, old, new FROM tenancy.audit_log WHERE table_name = 'regress_audit.things'
   AND (old::text LIKE '%leak%' OR new::text LIKE '%leak%');
-- A dropped excluded column leaves its name excluded.
ALTER TABLE regress_audit.things DROP COLUMN secret;
SELECT tenancy._audit_trigger_args('regress_audit.things');
ALTER TABLE regress_audit.things ADD COLUMN secret text;
SET tenancy.tenant = 'aud-a';
UPDATE regress_audit.things SET secret = 'leak?' WHERE id = 1;
RESET tenancy.tenant;
SELECT count(*) FROM tenancy.audit_log WHERE table_name = 'regress_audit.things'
   AND (old::text LIKE '%leak%' OR new::text LIKE '%leak%');
-- Renamed behind the event trigger's back: writes fail rather than expose it.
SET tenancy.tenant = 'aud-a';
BEGIN;
ALTER EVENT TRIGGER tenancy_auto_register DISABLE;
ALTER TABLE regress_audit.things RENAME COLUMN secret2 TO secret3;
UPDATE regress_audit.things SET secret3 = 'leak?' WHERE id = 1;
ROLLBACK;
RESET tenancy.tenant;
-- enable_audit starts afresh with the names it is given.
ALTER TABLE regress_audit.things DROP COLUMN secret;
SELECT tenancy.enable_audit('regress_audit.things', '{secret2}');
SELECT tenancy._audit_trigger_args('regress_audit.things');
-- After a TRUNCATE (whose trigger has its own cached state) excluded
-- columns stay out of the same transaction's entries.
BEGIN;
CREATE TEMP TABLE things_copy ON COMMIT DROP AS SELECT * FROM regress_audit.things;
SET LOCAL tenancy.tenant = 'aud-a';
TRUNCATE regress_audit.things;
INSERT INTO regress_audit.things SELECT * FROM things_copy;
SELECT count(*) AS with_secret FROM tenancy.audit_log WHERE new ? 'secret2';
ROLLBACK;
SET tenancy.tenant = 'aud-a';
UPDATE regress_audit.things SET secret2 = 'fine' WHERE id = 1;
RESET tenancy.tenant;
SELECT op, old, new FROM tenancy.audit_log WHERE table_name = 'regress_audit.things' ORDER BY id;

-- A partition not laid out like the parent is written through SQL (SPI)
-- instead of directly; the entry lands in it all the same.
BEGIN;
CREATE TEMP TABLE month AS
SELECT i.inhrelid::regclass AS part, date_trunc('month', now()) AS lo,
       date_trunc('month', now()) + interval '1 month' AS hi
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'tenancy.audit_log'::regclass
   AND c.relname = 'audit_log_p' || to_char(now(), 'YYYYMM');
DO $$
DECLARE
    v record;
BEGIN
    SELECT * INTO v FROM month;
    EXECUTE format('ALTER TABLE tenancy.audit_log DETACH PARTITION %s', v.part);
    CREATE TABLE tenancy.audit_log_odd (dropped int, LIKE tenancy.audit_log INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
    ALTER TABLE tenancy.audit_log_odd DROP COLUMN dropped;
    EXECUTE format('ALTER TABLE tenancy.audit_log ATTACH PARTITION tenancy.audit_log_odd FOR VALUES FROM (%L) TO (%L)',
                   v.lo, v.hi);
END
$$;
SET LOCAL tenancy.tenant = 'aud-a';
UPDATE regress_audit.things SET t = 'through SPI' WHERE id = 1;
SELECT tableoid::regclass, op, new FROM tenancy.audit_log WHERE new ->> 't' = 'through SPI';
ROLLBACK;
-- An index created on the partition mid-transaction gets later entries too
-- (the trigger writes the partition directly, so it must maintain every index).
BEGIN;
SET LOCAL tenancy.tenant = 'aud-a';
UPDATE regress_audit.things SET t = 'before index' WHERE id = 1;
DO $$
BEGIN
    EXECUTE format('CREATE INDEX audit_regress_new_idx ON tenancy.audit_log_p%s ((new ->> ''t''))',
                   to_char(now(), 'YYYYMM'));
END
$$;
SAVEPOINT s;
UPDATE regress_audit.things SET t = 'rolled back' WHERE id = 1;
ROLLBACK TO SAVEPOINT s;
UPDATE regress_audit.things SET t = 'after index' WHERE id = 1;
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT new ->> 't' AS t FROM tenancy.audit_log
 WHERE new ->> 't' IN ('before index', 'rolled back', 'after index') ORDER BY 1;
ROLLBACK;
-- Recording a tenant's offboarding.
SELECT tenancy._audit_event('b0000000-0000-4000-8000-0000000000b1', 'OFFBOARD', '{"rows_removed": 3}');
SELECT tenancy._audit_event('b0000000-0000-4000-8000-0000000000b1', 'SHUTDOWN', NULL);
SELECT tenancy._audit_event(NULL, 'OFFBOARD', NULL);
SELECT tenant_id, table_name, op, row_key, new, db_user FROM tenancy.audit_log WHERE op = 'OFFBOARD';

-- The trigger function cannot be called directly, nor fire BEFORE.
SELECT tenancy._audit_trigger();
CREATE TABLE regress_audit.before_t (tenant_id uuid, x int);
CREATE TRIGGER wrong BEFORE INSERT ON regress_audit.before_t FOR EACH ROW EXECUTE FUNCTION tenancy._audit_trigger('tenant_id');
INSERT INTO regress_audit.before_t VALUES (NULL, 1);
DROP TABLE regress_audit.before_t;

-- Audited tables partitioned per tenant: partitions made later (create_tenant,
-- isolate_tenant) are audited too, and isolate_tenant's move is not logged
-- as deletions and insertions.
CREATE TABLE regress_audit.parted (tenant_id uuid NOT NULL, id int NOT NULL, v text,
                                   PRIMARY KEY (tenant_id, id)) PARTITION BY LIST (tenant_id);
SELECT tenancy.partition_table('regress_audit.parted', buckets => 2);
SELECT tenancy.enable_audit('regress_audit.parted');
GRANT SELECT, INSERT, UPDATE ON regress_audit.parted TO regress_tenancy_alice;
SET ROLE regress_tenancy_alice;
SET tenancy.tenant = 'aud-a';
INSERT INTO regress_audit.parted (id, v) SELECT g, 'v' || g FROM generate_series(1, 5) g;
RESET tenancy.tenant;
RESET ROLE;
SELECT max(id) AS before_move FROM tenancy.audit_log \gset
SET client_min_messages = warning;
SELECT tenancy.isolate_tenant('aud-a', 'regress_audit.parted');
RESET client_min_messages;
SELECT count(*) AS entries_for_the_move FROM tenancy.audit_log
 WHERE id > :before_move AND table_name LIKE 'regress_audit.parted%';
SET ROLE regress_tenancy_alice;
SET tenancy.tenant = 'aud-a';
UPDATE regress_audit.parted SET v = 'moved' WHERE id = 1;
RESET tenancy.tenant;
RESET ROLE;
SELECT table_name, op, row_key ->> 'id' AS id, old, new FROM tenancy.audit_log
 WHERE id > :before_move AND table_name LIKE 'regress_audit.parted%' ORDER BY id;

-- Values are recorded the same whatever the writer's settings: floats as
-- the shortest decimal that reads back exactly (extra_float_digits can
-- make float8out round), time and timetz as to_jsonb() renders them.
CREATE TABLE regress_audit.readings (tenant_id uuid NOT NULL, id int NOT NULL,
                                     f8 float8, f4 float4, t time, tz timetz,
                                     PRIMARY KEY (tenant_id, id));
SELECT tenancy.register_table('regress_audit.readings');
SELECT tenancy.enable_audit('regress_audit.readings');
GRANT SELECT, INSERT, UPDATE ON regress_audit.readings TO regress_tenancy_alice;
SET ROLE regress_tenancy_alice;
SET tenancy.tenant = 'aud-a';
SET extra_float_digits = -15;
INSERT INTO regress_audit.readings VALUES (DEFAULT, 1, 123456.789, 0.1, '23:59:59.5', '23:59:59+14');
UPDATE regress_audit.readings SET f8 = 149999 WHERE id = 1;
RESET extra_float_digits;
RESET tenancy.tenant;
RESET ROLE;
SELECT op, old, new FROM tenancy.audit_log e
 WHERE e.table_name = 'regress_audit.readings' ORDER BY e.id;
SELECT to_jsonb(r) - 'tenant_id' AS stored_row FROM regress_audit.readings r;

-- Audit partitions are closed to everyone but their owner, even when
-- default privileges would grant more, and months are UTC months in any
-- TimeZone.
ALTER DEFAULT PRIVILEGES GRANT SELECT, INSERT ON TABLES TO regress_tenancy_alice;
-- (Counted from the month maintain_audit ran in, so a month ending
-- meanwhile changes nothing.)
SET TimeZone = 'Pacific/Kiritimati';
SELECT tenancy.maintain_audit(12) > 0 AS created,
       date_trunc('month', now() AT TIME ZONE 'UTC')::text AS m0 \gset
RESET TimeZone;
SELECT :'created' AS created;
ALTER DEFAULT PRIVILEGES REVOKE SELECT, INSERT ON TABLES FROM regress_tenancy_alice;
SELECT count(*) FILTER (WHERE lo >= :'m0'::timestamp AT TIME ZONE 'UTC') AS months_from_then,
       count(*) FILTER (WHERE lo IS NULL) AS default_partition,
       bool_and(c.relrowsecurity) AS all_with_rls,
       count(*) FILTER (WHERE has_table_privilege('regress_tenancy_alice', c.oid, 'SELECT')
                           OR has_table_privilege('regress_tenancy_alice', c.oid, 'INSERT')) AS open_to_alice,
       count(*) FILTER (WHERE lo AT TIME ZONE 'UTC' <> date_trunc('month', lo AT TIME ZONE 'UTC')) AS not_utc_months
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid,
       LATERAL (SELECT substring(pg_get_expr(c.relpartbound, c.oid) FROM 'FROM \(''([^'']*)''\)')::timestamptz AS lo) b
 WHERE i.inhparent = 'tenancy.audit_log'::regclass;
SET ROLE regress_tenancy_alice;
DO $$
BEGIN
    EXECUTE format('SELECT count(*) FROM tenancy.%I', 'audit_log_p' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMM'));
    RAISE NOTICE 'this month''s partition is readable';
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'this month''s partition refused (%)', SQLSTATE;
END
$$;
RESET ROLE;
