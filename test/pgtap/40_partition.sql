-- Partitions per tenant, behaviour: tenancy.partition_table() in list mode
-- (a partition per tenant) and bucket mode (a DEFAULT partition hashed
-- into buckets), create_tenant adding partitions in its own transaction,
-- offboard_tenant dropping or archiving them, isolate_tenant moving one
-- tenant's rows exactly (counts and checksums per tenant), what each
-- function refuses and with which SQLSTATE, the tenancy.partitions view,
-- and which of these functions a tenant role may call (none).
-- Isolation attacks on the same objects are in 41_partition_adversarial.sql.
BEGIN;
SELECT plan(107);

-- Fixtures (as superuser) ------------------------------------------------------
-- owner: owns the tables, a tenancy_admin member but no superuser; a and b:
-- plain tenant roles of p40-acme and p40-globex.
CREATE ROLE regress_tenancy_p40_owner NOLOGIN IN ROLE tenancy_admin;
CREATE ROLE regress_tenancy_p40_a NOLOGIN;
CREATE ROLE regress_tenancy_p40_b NOLOGIN;
DO $$
BEGIN
    PERFORM tenancy.create_tenant('p40-acme', 'Acme', 'basic', '4f400000-0000-4000-8000-000000000001');
    PERFORM tenancy.create_tenant('p40-globex', 'Globex', 'basic', '4f400000-0000-4000-8000-000000000002');
    PERFORM tenancy.create_tenant('p40-initech', 'Initech', 'basic', '4f400000-0000-4000-8000-000000000003');
    PERFORM tenancy.create_tenant('p40-sleepy', 'Sleepy', 'basic', '4f400000-0000-4000-8000-000000000004');
    PERFORM tenancy.create_tenant('p40-gone', 'Gone', 'basic', '4f400000-0000-4000-8000-000000000005');
    PERFORM tenancy.suspend_tenant('p40-sleepy', 'unpaid');
    PERFORM tenancy.grant_tenant('regress_tenancy_p40_a', 'p40-acme');
    PERFORM tenancy.grant_tenant('regress_tenancy_p40_b', 'p40-globex');
END
$$;
SET client_min_messages = warning;
SELECT count(*) FROM tenancy.offboard_tenant('p40-gone');
RESET client_min_messages;

CREATE SCHEMA regress_p40 AUTHORIZATION regress_tenancy_p40_owner;
GRANT USAGE ON SCHEMA regress_p40 TO PUBLIC;
-- The offboarded tenant must not get partitions: only these four may.
CREATE TABLE regress_p40.live_tenants AS
    SELECT id FROM tenancy.tenants WHERE id::text LIKE '4f400000-%' AND status <> 'offboarded';

SET ROLE regress_tenancy_p40_owner;
CREATE TABLE regress_p40.plain (tenant_id uuid NOT NULL, id int);
CREATE TABLE regress_p40.by_id (tenant_id uuid NOT NULL, id int) PARTITION BY LIST (id);
CREATE TABLE regress_p40.by_range (tenant_id uuid NOT NULL, id int) PARTITION BY RANGE (tenant_id);
CREATE TABLE regress_p40.by_expr (tenant_id uuid NOT NULL, id int) PARTITION BY LIST ((tenant_id::text));
CREATE TABLE regress_p40.by_text (tenant_id text NOT NULL, id int) PARTITION BY LIST (tenant_id);
-- Registered with tenant column org, but partitioned by another uuid column.
CREATE TABLE regress_p40.mixed (org uuid NOT NULL, tenant_id uuid NOT NULL, id int) PARTITION BY LIST (tenant_id);
-- List mode.
CREATE TABLE regress_p40.orders (
    tenant_id uuid NOT NULL, id int NOT NULL, amount int NOT NULL,
    PRIMARY KEY (tenant_id, id)
) PARTITION BY LIST (tenant_id);
-- List mode with a tenant column of another name.
CREATE TABLE regress_p40.docs (
    org uuid NOT NULL, id int NOT NULL, body text,
    PRIMARY KEY (org, id)
) PARTITION BY LIST (org);
-- Bucket mode, with an identity, a generated and a dropped column that
-- isolate_tenant must carry over exactly.
CREATE TABLE regress_p40.events (
    tenant_id uuid NOT NULL, id int NOT NULL, gone int,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    payload text,
    twice int GENERATED ALWAYS AS (id * 2) STORED,
    PRIMARY KEY (tenant_id, id)
) PARTITION BY LIST (tenant_id);
ALTER TABLE regress_p40.events DROP COLUMN gone;
CREATE TABLE regress_p40.wide (tenant_id uuid NOT NULL, id int NOT NULL) PARTITION BY LIST (tenant_id);
GRANT SELECT, INSERT, UPDATE, DELETE ON regress_p40.orders, regress_p40.docs, regress_p40.events TO PUBLIC;
RESET ROLE;

-- What partition_table refuses ------------------------------------------------
SET ROLE regress_tenancy_p40_owner;
SELECT throws_ok($$ SELECT tenancy.partition_table('regress_p40.plain') $$, '42809',
                 'table regress_p40.plain is not partitioned', 'refused: a table that is not partitioned (42809)');
SELECT throws_ok($$ SELECT tenancy.partition_table('regress_p40.by_id') $$, '42P16', NULL,
                 'refused: partitioned by list of another column (42P16)');
SELECT throws_ok($$ SELECT tenancy.partition_table('regress_p40.by_range') $$, '42P16', NULL,
                 'refused: partitioned by range of the tenant column (42P16)');
SELECT throws_ok($$ SELECT tenancy.partition_table('regress_p40.by_expr') $$, '42P16', NULL,
                 'refused: partitioned by an expression over the tenant column (42P16)');
SELECT throws_ok($$ SELECT tenancy.partition_table('regress_p40.by_text') $$, '42804', NULL,
                 'refused: a tenant column that is not uuid (42804)');
SELECT lives_ok($$ SELECT tenancy.register_table('regress_p40.mixed', 'org') $$,
                'mixed is registered with tenant column org ...');
SELECT throws_ok($$ SELECT tenancy.partition_table('regress_p40.mixed') $$, '42P16',
                 'table regress_p40.mixed is not partitioned by list of its tenant column "org"',
                 '... so its LIST (tenant_id) key is refused (42P16)');
SELECT throws_ok($$ SELECT tenancy.partition_table('regress_p40.events', buckets => 0) $$, '22023',
                 'invalid number of buckets: 0', 'refused: 0 buckets (22023)');
SELECT throws_ok($$ SELECT tenancy.partition_table('regress_p40.events', buckets => -4) $$, '22023', NULL,
                 'refused: negative buckets (22023)');
SELECT throws_ok($$ SELECT tenancy.partition_table('regress_p40.events', buckets => 1025) $$, '22023', NULL,
                 'refused: more than 1024 buckets (22023)');
SELECT throws_ok($$ SELECT tenancy.partition_table(NULL) $$, '22004', NULL, 'refused: NULL table (22004)');
SELECT throws_ok($$ SELECT tenancy.isolate_tenant('p40-acme', 'regress_p40.events') $$, '22023',
                 'table regress_p40.events is not partitioned per tenant',
                 'isolate_tenant before partition_table: not partitioned per tenant (22023)');
SELECT is((SELECT count(*)::int FROM pg_inherits WHERE inhparent = 'regress_p40.events'::regclass), 0,
          'the refusals left no partition behind');

-- List mode -----------------------------------------------------------------------
SELECT is(tenancy.partition_table('regress_p40.orders'), 4,
          'list mode: one partition per tenant that is not offboarded (active and suspended)');
SELECT is(tenancy.partition_table('regress_p40.orders'), 0, 'list mode: calling it again creates nothing');
SELECT lives_ok($$ SELECT tenancy.register_table('regress_p40.docs', 'org') $$, 'docs is registered with tenant column org ...');
SELECT is(tenancy.partition_table('regress_p40.docs'), 4, '... and partitioned on it: four partitions');
RESET ROLE;
SELECT set_eq($$ SELECT tenant_id FROM tenancy.partitions
                  WHERE parent = 'regress_p40.orders'::regclass AND kind = 'tenant' $$,
              $$ SELECT id FROM regress_p40.live_tenants $$,
              'tenancy.partitions: exactly the live tenants have a partition of orders');
SELECT is((SELECT count(*)::int FROM tenancy.partitions p JOIN pg_class c ON c.oid = p.partition
            WHERE p.parent = 'regress_p40.orders'::regclass
              AND tenancy._tenant_partition(p.parent, p.tenant_id) = p.partition
              AND pg_get_expr(c.relpartbound, c.oid) = format('FOR VALUES IN (%L)', p.tenant_id)), 4,
          'each partition holds exactly its tenant''s value, and _tenant_partition finds it');
SELECT is((SELECT count(*)::int FROM tenancy.partitions p WHERE p.parent = 'regress_p40.orders'::regclass
              AND p.tenant_id = '4f400000-0000-4000-8000-000000000005'), 0,
          'the offboarded tenant got no partition');
SELECT is((SELECT count(*)::int FROM tenancy.partitions p JOIN pg_class c ON c.oid = p.partition
            WHERE p.parent IN ('regress_p40.orders'::regclass, 'regress_p40.docs'::regclass)
              AND c.relrowsecurity AND c.relforcerowsecurity
              AND c.relowner = 'regress_tenancy_p40_owner'::regrole
              AND EXISTS (SELECT 1 FROM pg_policies pp
                           WHERE pp.schemaname = 'regress_p40' AND pp.tablename = c.relname
                             AND pp.policyname = 'tenancy_isolation' AND pp.cmd = 'ALL'
                             AND pp.qual = tenancy._policy_expr(CASE WHEN p.parent = 'regress_p40.docs'::regclass
                                                                     THEN 'org' ELSE 'tenant_id' END)
                             AND pp.with_check = pp.qual)), 8,
          'every list partition: RLS enabled and forced, the policy on its tenant column, the parent''s owner');
SELECT is((SELECT count(*)::int FROM tenancy.partitions p JOIN pg_class c ON c.oid = p.partition,
                  aclexplode(c.relacl) a
            WHERE p.parent = 'regress_p40.orders'::regclass AND a.grantee = 0), 0,
          'partitions do not inherit the parent''s grants to PUBLIC');
SELECT is((SELECT tenant_column::text FROM tenancy.tables WHERE relid = 'regress_p40.docs'::regclass
              AND partitioned), 'org', 'tenancy.tables records docs as partitioned, on column org');

-- Rows land in their tenant's partition.
SET ROLE regress_tenancy_p40_a;
SET tenancy.tenant = 'p40-acme';
INSERT INTO regress_p40.orders (id, amount) SELECT g, g FROM generate_series(1, 30) g;
INSERT INTO regress_p40.docs (id, body) VALUES (1, 'acme doc');
RESET tenancy.tenant;
SET ROLE regress_tenancy_p40_b;
SET tenancy.tenant = 'p40-globex';
INSERT INTO regress_p40.orders (id, amount) SELECT g, 10 * g FROM generate_series(1, 20) g;
RESET tenancy.tenant;
RESET ROLE;
INSERT INTO regress_p40.orders VALUES ('4f400000-0000-4000-8000-000000000003', 1, 1000),
                                      ('4f400000-0000-4000-8000-000000000003', 2, 2000);
SELECT results_eq($$ SELECT p.tenant COLLATE "default", (SELECT count(*)::int FROM regress_p40.orders o WHERE o.tableoid = p.partition)
                       FROM tenancy.partitions p WHERE p.parent = 'regress_p40.orders'::regclass ORDER BY 1 $$,
                  $$ VALUES ('p40-acme', 30), ('p40-globex', 20), ('p40-initech', 2), ('p40-sleepy', 0) $$,
                  'rows went to their tenant''s partition');
SELECT is((SELECT tableoid::regclass FROM regress_p40.docs), tenancy._tenant_partition('regress_p40.docs',
          '4f400000-0000-4000-8000-000000000001'), 'docs: the row is in acme''s org partition');

-- create_tenant adds partitions in its own transaction ---------------------------
-- Run inside a subtransaction that is rolled back: what it saw, then what is left.
CREATE FUNCTION regress_p40.create_and_roll_back() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v text;
BEGIN
    BEGIN
        PERFORM tenancy.create_tenant('p40-hooli', 'Hooli', 'basic', '4f400000-0000-4000-8000-000000000006');
        SELECT string_agg(p.partition::text, ' ' ORDER BY p.partition::text) INTO v
          FROM tenancy.partitions p WHERE p.tenant = 'p40-hooli' AND p.parent::text LIKE 'regress_p40.%';
        RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'undo';
    EXCEPTION WHEN raise_exception THEN
        RETURN v;
    END;
END $$;
SELECT is(regress_p40.create_and_roll_back(), 'regress_p40."docs_p40-hooli" regress_p40."orders_p40-hooli"',
          'create_tenant: the new tenant has its partitions in the same transaction');
SELECT ok(to_regclass('regress_p40."orders_p40-hooli"') IS NULL AND to_regclass('regress_p40."docs_p40-hooli"') IS NULL
          AND NOT EXISTS (SELECT 1 FROM tenancy.tenants WHERE slug = 'p40-hooli'),
          'create_tenant rolled back: its partitions are gone with it');
SET ROLE regress_tenancy_p40_owner;
SELECT is(tenancy.create_tenant('p40-umbrella', 'Umbrella', 'basic', '4f400000-0000-4000-8000-000000000007'),
          '4f400000-0000-4000-8000-000000000007'::uuid, 'a non-superuser administrator creates a tenant ...');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM tenancy.partitions p JOIN pg_class c ON c.oid = p.partition
            WHERE p.tenant = 'p40-umbrella' AND p.parent::text LIKE 'regress_p40.%'
              AND c.relowner = 'regress_tenancy_p40_owner'::regrole AND c.relforcerowsecurity
              AND EXISTS (SELECT 1 FROM pg_policy pp WHERE pp.polrelid = c.oid AND pp.polname = 'tenancy_isolation')), 2,
          '... and gets protected partitions in orders and docs, owned by the tables'' owner');

-- Bucket mode -----------------------------------------------------------------------
-- Bucket mode works for a non-superuser administrator who owns the table.
SET ROLE regress_tenancy_p40_owner;
SELECT lives_ok($$ SELECT tenancy.partition_table('regress_p40.wide', buckets => 11) $$,
                'bucket mode by a non-superuser administrator (the table''s owner)');
RESET ROLE;
-- (the rest runs as superuser whether or not the call above worked)
SELECT tenancy.partition_table('regress_p40.wide', buckets => 11)
 WHERE (SELECT partdefid FROM pg_partitioned_table WHERE partrelid = 'regress_p40.wide'::regclass) = 0;
SELECT is(tenancy.partition_table('regress_p40.events', buckets => 4), 5,
          'bucket mode: a default partition and 4 buckets');
SELECT throws_ok($$ SELECT tenancy.partition_table('regress_p40.events', buckets => 4) $$, '42P07',
                 'table regress_p40.events already has a default partition regress_p40.events_default',
                 'bucket mode twice: the default partition exists (42P07)');
SET ROLE regress_tenancy_p40_owner;
SELECT is(tenancy.partition_table('regress_p40.events'), 0,
          'list mode over a table with a default partition creates nothing: tenants stay in the buckets');
RESET ROLE;
-- The default partition and the buckets belong to the parent's owner, like
-- every other partition, even when a superuser ran partition_table.
SELECT is((SELECT count(*)::int FROM tenancy.partitions p JOIN pg_class c ON c.oid = p.partition
            WHERE p.parent = 'regress_p40.events'::regclass AND c.relowner <> 'regress_tenancy_p40_owner'::regrole), 0,
          'the default partition and the buckets belong to the parent''s owner');
SELECT results_eq($$ SELECT partition::text, kind, tenant_id FROM tenancy.partitions
                      WHERE parent = 'regress_p40.events'::regclass ORDER BY 1 $$,
                  $$ VALUES ('regress_p40.events_b0', 'bucket', NULL::uuid), ('regress_p40.events_b1', 'bucket', NULL),
                            ('regress_p40.events_b2', 'bucket', NULL), ('regress_p40.events_b3', 'bucket', NULL),
                            ('regress_p40.events_default', 'default', NULL) $$,
                  'tenancy.partitions: the default and its buckets, no tenant');
SELECT ok(to_regclass('regress_p40.wide_b00') IS NOT NULL AND to_regclass('regress_p40.wide_b10') IS NOT NULL
          AND to_regclass('regress_p40.wide_b0') IS NULL, 'bucket names are padded to sort: wide_b00 .. wide_b10');
SELECT is((SELECT p.partstrat::text || ':' || array_length(p.partattrs::int2[], 1)
             FROM pg_partitioned_table p WHERE p.partrelid = 'regress_p40.events_default'::regclass), 'h:1',
          'the default partition is hash partitioned on one column');
SELECT is((SELECT string_agg(pg_get_expr(c.relpartbound, c.oid), '; ' ORDER BY c.relname)
             FROM pg_class c JOIN pg_inherits i ON i.inhrelid = c.oid
            WHERE i.inhparent = 'regress_p40.events_default'::regclass),
          'FOR VALUES WITH (modulus 4, remainder 0); FOR VALUES WITH (modulus 4, remainder 1); '
          'FOR VALUES WITH (modulus 4, remainder 2); FOR VALUES WITH (modulus 4, remainder 3)',
          'the buckets cover every hash remainder once');
SELECT is((SELECT count(*)::int FROM tenancy.partitions p JOIN pg_class c ON c.oid = p.partition
            WHERE p.parent IN ('regress_p40.events'::regclass, 'regress_p40.wide'::regclass)
              AND c.relrowsecurity AND c.relforcerowsecurity
              AND EXISTS (SELECT 1 FROM pg_policy pp WHERE pp.polrelid = c.oid AND pp.polname = 'tenancy_isolation')), 17,
          'the default partitions and every bucket: RLS forced and the policy');
SELECT is(tenancy.create_tenant('p40-wayne', 'Wayne', 'basic', '4f400000-0000-4000-8000-000000000008'),
          '4f400000-0000-4000-8000-000000000008'::uuid, 'a tenant created after bucket mode ...');
SELECT results_eq($$ SELECT p.parent::text FROM tenancy.partitions p WHERE p.tenant = 'p40-wayne'
                      AND p.parent::text LIKE 'regress_p40.%' ORDER BY 1 $$,
                  ARRAY['regress_p40.docs', 'regress_p40.orders'],
                  '... gets partitions in the list-mode tables only, none in the bucket-mode tables');

-- Data for isolate_tenant: four tenants sharing the buckets.
SET ROLE regress_tenancy_p40_a;
SET tenancy.tenant = 'p40-acme';
INSERT INTO regress_p40.events (id, payload) SELECT g, repeat('a', g % 50) FROM generate_series(1, 300) g;
RESET tenancy.tenant;
SET ROLE regress_tenancy_p40_b;
SET tenancy.tenant = 'p40-globex';
INSERT INTO regress_p40.events (id, payload) SELECT g, 'b' || g FROM generate_series(1, 80) g;
RESET tenancy.tenant;
RESET ROLE;
INSERT INTO regress_p40.events (tenant_id, id, payload)
SELECT t, g, NULL FROM generate_series(1, 15) g,
       (VALUES ('4f400000-0000-4000-8000-000000000003'::uuid), ('4f400000-0000-4000-8000-000000000008')) v(t);
DELETE FROM regress_p40.events WHERE id % 7 = 0;   -- holes, and dead tuples to move around
CREATE TABLE regress_p40.before AS
SELECT tenant_id, count(*)::int AS n,
       md5(string_agg(format('%s|%s|%s|%s', id, seq, coalesce(payload, '<null>'), twice), ',' ORDER BY id)) AS sum
  FROM regress_p40.events GROUP BY tenant_id;
GRANT SELECT ON regress_p40.before TO PUBLIC;
CREATE TABLE regress_p40.default_before AS
SELECT tenant_id, count(*)::int AS n FROM regress_p40.events_default GROUP BY tenant_id;
SELECT is((SELECT count(*)::int FROM regress_p40.events_default), (SELECT count(*)::int FROM regress_p40.events),
          'before isolating, every row is in the buckets');

-- isolate_tenant --------------------------------------------------------------------
SET ROLE regress_tenancy_p40_a;
SELECT throws_ok($$ SELECT tenancy.isolate_tenant('p40-acme', 'regress_p40.events') $$, '42501', NULL,
                 'a tenant role cannot isolate its own tenant');
RESET ROLE;
CREATE TABLE regress_p40.event_refs (
    tenant_id uuid NOT NULL, event_id int NOT NULL,
    FOREIGN KEY (tenant_id, event_id) REFERENCES regress_p40.events (tenant_id, id));
SELECT throws_ok($$ SELECT tenancy.isolate_tenant('p40-acme', 'regress_p40.events') $$, '0A000', NULL,
                 'isolate_tenant: a foreign key referencing the table is refused (0A000)');
DROP TABLE regress_p40.event_refs;
SET ROLE regress_tenancy_p40_owner;
SET client_min_messages = warning;
SELECT is(tenancy.isolate_tenant('p40-acme', 'regress_p40.events')::text, 'regress_p40."events_p40-acme"',
          'isolate_tenant (a non-superuser administrator): acme gets a partition of its own');
RESET client_min_messages;
RESET ROLE;
SELECT results_eq($$ SELECT b.tenant_id, b.n, b.sum FROM regress_p40.before b ORDER BY 1 $$,
                  $$ SELECT tenant_id, count(*)::int,
                            md5(string_agg(format('%s|%s|%s|%s', id, seq, coalesce(payload, '<null>'), twice), ',' ORDER BY id))
                       FROM regress_p40.events GROUP BY tenant_id ORDER BY 1 $$,
                  'isolate_tenant: every tenant has the same rows, counts and checksums as before');
SELECT is((SELECT count(*)::int FROM regress_p40."events_p40-acme"),
          (SELECT n FROM regress_p40.before WHERE tenant_id = '4f400000-0000-4000-8000-000000000001'),
          'all of acme''s rows are in its new partition');
SELECT is((SELECT count(*)::int FROM regress_p40."events_p40-acme" WHERE tenant_id <> '4f400000-0000-4000-8000-000000000001'),
          0, 'and nothing else');
SELECT is((SELECT count(*)::int FROM regress_p40.events_default WHERE tenant_id = '4f400000-0000-4000-8000-000000000001'),
          0, 'none of acme''s rows is left in the buckets');
SELECT set_eq($$ SELECT tenant_id, count(*)::int FROM regress_p40.events_default GROUP BY 1 $$,
              $$ SELECT tenant_id, n FROM regress_p40.default_before WHERE tenant_id <> '4f400000-0000-4000-8000-000000000001' $$,
              'the other tenants'' rows stayed in the buckets, untouched');
SELECT ok((SELECT c.relispartition AND c.relrowsecurity AND c.relforcerowsecurity
                  AND c.relowner = 'regress_tenancy_p40_owner'::regrole
                  AND pg_get_expr(c.relpartbound, c.oid) = 'FOR VALUES IN (''4f400000-0000-4000-8000-000000000001'')'
                  AND EXISTS (SELECT 1 FROM pg_policy pp WHERE pp.polrelid = c.oid AND pp.polname = 'tenancy_isolation')
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.conname = 'tenancy_isolating')
             FROM pg_class c WHERE c.oid = 'regress_p40."events_p40-acme"'::regclass),
          'the new partition: attached for acme, RLS forced with the policy, the owner''s, no helper constraint left');
SELECT is((SELECT kind || ':' || tenant FROM tenancy.partitions
            WHERE partition = 'regress_p40."events_p40-acme"'::regclass), 'tenant:p40-acme',
          'tenancy.partitions lists it as acme''s');
SELECT throws_ok($$ SELECT tenancy.isolate_tenant('p40-acme', 'regress_p40.events') $$, '42P07', NULL,
                 'isolate_tenant again: already isolated (42P07)');
SELECT throws_ok($$ SELECT tenancy.isolate_tenant('p40-nobody', 'regress_p40.events') $$, '22023',
                 'unknown tenant "p40-nobody"', 'isolate_tenant: unknown tenant (22023)');
SELECT throws_ok($$ SELECT tenancy.isolate_tenant('p40-gone', 'regress_p40.events') $$, '55000', NULL,
                 'isolate_tenant: offboarded tenant (55000)');
SELECT throws_ok($$ SELECT tenancy.isolate_tenant('p40-acme', 'regress_p40.plain') $$, '22023', NULL,
                 'isolate_tenant: a table not partitioned per tenant (22023)');
SELECT throws_ok($$ SELECT tenancy.isolate_tenant('p40-acme', NULL) $$, '22004', NULL,
                 'isolate_tenant: NULL table (22004)');
SELECT throws_ok($$ SELECT tenancy.isolate_tenant('p40-globex', 'regress_p40.orders') $$, '42P07', NULL,
                 'isolate_tenant in list mode: the tenant has its partition already (42P07)');
-- The tenant's rows keep landing in its own partition; the others' in the buckets.
SET ROLE regress_tenancy_p40_a;
SET tenancy.tenant = 'p40-acme';
INSERT INTO regress_p40.events (id, payload) VALUES (1001, 'after');
SELECT is((SELECT tableoid::regclass::text FROM regress_p40.events WHERE id = 1001), 'regress_p40."events_p40-acme"',
          'after isolating, acme''s new row goes to its own partition');
RESET tenancy.tenant;
SET ROLE regress_tenancy_p40_b;
SET tenancy.tenant = 'p40-globex';
INSERT INTO regress_p40.events (id, payload) VALUES (1001, 'after');
SELECT is((SELECT tableoid::regclass::text FROM regress_p40.events WHERE id = 1001) LIKE 'regress_p40.events_b_',
          true, '... and globex''s to a bucket');
SELECT is((SELECT count(*)::int FROM regress_p40.events),
          (SELECT n + 1 FROM regress_p40.before WHERE tenant_id = '4f400000-0000-4000-8000-000000000002'),
          'globex still sees exactly its own rows');
RESET tenancy.tenant;
RESET ROLE;
-- In list mode a tenant without a partition (dropped by hand) just gets one.
ALTER TABLE regress_p40.orders DETACH PARTITION regress_p40."orders_p40-sleepy";
DROP TABLE regress_p40."orders_p40-sleepy";
SET client_min_messages = warning;
SELECT is(tenancy.isolate_tenant('p40-sleepy', 'regress_p40.orders')::text, 'regress_p40."orders_p40-sleepy"',
          'isolate_tenant in list mode for a tenant without a partition creates it');
RESET client_min_messages;
SELECT ok((SELECT c.relforcerowsecurity FROM pg_class c WHERE c.oid = 'regress_p40."orders_p40-sleepy"'::regclass),
          '... protected like the rest');

-- offboard_tenant ------------------------------------------------------------------
SET client_min_messages = warning;
SELECT results_eq($$ SELECT table_name::text, rows_removed FROM tenancy.offboard_tenant('p40-initech', archive => true)
                      WHERE table_name::text LIKE 'regress_p40.%' ORDER BY 1 $$,
                  $$ VALUES ('regress_p40.docs', 0::bigint), ('regress_p40.events', 13), ('regress_p40.mixed', 0),
                            ('regress_p40.orders', 2), ('regress_p40.wide', 0) $$,
                  'offboard with archive: rows removed per table (own partitions and buckets)');
RESET client_min_messages;
SELECT ok(to_regclass('regress_p40."orders_p40-initech"') IS NULL AND to_regclass('regress_p40."docs_p40-initech"') IS NULL,
          'archive: the tenant''s partitions left the table''s schema');
SELECT ok((SELECT NOT c.relispartition AND c.relforcerowsecurity
                  AND EXISTS (SELECT 1 FROM pg_policy pp WHERE pp.polrelid = c.oid AND pp.polname = 'tenancy_isolation')
             FROM pg_class c WHERE c.oid = 'tenancy_archive."orders__p40-initech"'::regclass),
          'archive: the partition is detached into tenancy_archive, still under its policy');
SELECT results_eq($$ SELECT id, amount FROM tenancy_archive."orders__p40-initech" ORDER BY 1 $$,
                  $$ VALUES (1, 1000), (2, 2000) $$, 'archive: its rows are kept, exactly');
SELECT is((SELECT count(*)::int FROM tenancy_archive."events__p40-initech"), 13,
          'archive of a bucket tenant: its rows are copied out of the buckets');
SELECT is((SELECT count(*)::int FROM regress_p40.events WHERE tenant_id = '4f400000-0000-4000-8000-000000000003')
          + (SELECT count(*)::int FROM regress_p40.orders WHERE tenant_id = '4f400000-0000-4000-8000-000000000003'), 0,
          'archive: nothing of the tenant is left in the tables');
SELECT is((SELECT count(*)::int FROM tenancy.partitions WHERE tenant_id = '4f400000-0000-4000-8000-000000000003'), 0,
          'archive: tenancy.partitions lists nothing of the tenant');
SET client_min_messages = warning;
SELECT results_eq($$ SELECT table_name::text, rows_removed FROM tenancy.offboard_tenant('p40-acme')
                      WHERE table_name::text IN ('regress_p40.orders', 'regress_p40.events', 'regress_p40.docs') ORDER BY 1 $$,
                  $$ VALUES ('regress_p40.docs', 1::bigint), ('regress_p40.events', 259), ('regress_p40.orders', 30) $$,
                  'offboard without archive: acme''s own partitions counted and removed');
RESET client_min_messages;
SELECT ok(to_regclass('regress_p40."orders_p40-acme"') IS NULL AND to_regclass('regress_p40."events_p40-acme"') IS NULL
          AND to_regclass('tenancy_archive."orders__p40-acme"') IS NULL,
          'without archive: the partitions are dropped, not archived');
SELECT is((SELECT count(*)::int FROM regress_p40.events WHERE tenant_id = '4f400000-0000-4000-8000-000000000002'),
          (SELECT n + 1 FROM regress_p40.before WHERE tenant_id = '4f400000-0000-4000-8000-000000000002'),
          'offboarding others left globex''s rows alone');
SELECT throws_ok($$ SELECT * FROM tenancy.offboard_tenant('p40-acme') $$, '55000', NULL,
                 'offboarding twice: already offboarded (55000)');
SET ROLE regress_tenancy_p40_owner;
SELECT is(tenancy.partition_table('regress_p40.orders'), 0,
          'partition_table after offboarding does not bring the tenants back');
RESET ROLE;
SELECT throws_ok($$ SELECT tenancy.isolate_tenant('p40-acme', 'regress_p40.events') $$, '55000',
                 'tenant "p40-acme" is offboarded', 'isolate_tenant of an offboarded tenant (55000)');

-- premake_partitions: spare tenant ids with partitions made ahead -----------------
SELECT throws_ok($$ SELECT tenancy.premake_partitions(-1) $$, '22023', NULL, 'premake_partitions: negative count (22023)');
SELECT throws_ok($$ SELECT tenancy.premake_partitions(NULL) $$, '22023', NULL, 'premake_partitions: NULL count (22023)');
SELECT is(tenancy.premake_partitions(2), 2, 'premake_partitions(2): two spare ids');
SELECT is(tenancy.premake_partitions(2), 0, 'premake_partitions(2) again: nothing to add');
SELECT is((SELECT count(*)::int FROM tenancy.partitions p JOIN pg_class c ON c.oid = p.partition
            WHERE p.kind = 'spare' AND p.parent IN ('regress_p40.orders'::regclass, 'regress_p40.docs'::regclass)
              AND p.tenant IS NULL AND p.tenant_id IN (SELECT id FROM tenancy.spare_tenant_ids)
              AND c.relforcerowsecurity AND c.relowner = 'regress_tenancy_p40_owner'::regrole
              AND EXISTS (SELECT 1 FROM pg_policy pp WHERE pp.polrelid = c.oid AND pp.polname = 'tenancy_isolation')), 4,
          'a spare partition in each list-mode table per spare id, protected, none in the bucket-mode tables');
CREATE TABLE regress_p40.spare_before AS SELECT id FROM tenancy.spare_tenant_ids;
SELECT ok((SELECT tenancy.create_tenant('p40-newco')) IN (SELECT id FROM regress_p40.spare_before),
          'create_tenant without an id takes a spare id');
SELECT results_eq($$ SELECT p.partition::text, p.kind FROM tenancy.partitions p
                      WHERE p.tenant = 'p40-newco' AND p.parent::text LIKE 'regress_p40.%' ORDER BY 1 $$,
                  $$ VALUES ('regress_p40."docs_p40-newco"', 'tenant'), ('regress_p40."orders_p40-newco"', 'tenant') $$,
                  '... whose partitions are renamed after the tenant');
SELECT is((SELECT count(*)::int FROM tenancy.spare_tenant_ids), 1, 'one spare id is left');
CREATE TABLE regress_p40.spare_seen AS SELECT id AS tenant_id FROM tenancy.spare_tenant_ids;
GRANT SELECT ON regress_p40.spare_seen TO PUBLIC;
SET ROLE regress_tenancy_p40_owner;
SELECT lives_ok($$ SELECT tenancy.premake_partitions(2) $$, 'a non-superuser administrator tops the spares up');
RESET ROLE;
SET ROLE regress_tenancy_p40_b;
SELECT throws_ok($$ SELECT tenancy.premake_partitions(100) $$, '42501', NULL, 'a tenant role cannot call premake_partitions');
SELECT throws_ok($$ SELECT * FROM tenancy.spare_tenant_ids $$, '42501', NULL, 'a tenant role cannot read the spare ids');
SELECT throws_ok($$ SELECT tenancy._take_spare_id() $$, '42501', NULL, 'a tenant role cannot take a spare id');
SET tenancy.tenant = 'p40-globex';
SELECT throws_ok(format('INSERT INTO regress_p40.orders VALUES (%L, 1, 1)', (SELECT max(tenant_id::text) FROM regress_p40.spare_seen)),
                 '42501', NULL, 'a tenant role cannot plant a row in a spare partition for a future tenant');
RESET tenancy.tenant;
RESET ROLE;

-- tenancy.partitions ---------------------------------------------------------------
SELECT results_eq($$ SELECT a.attname::text COLLATE "default", format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
                      WHERE a.attrelid = 'tenancy.partitions'::regclass AND a.attnum > 0 ORDER BY a.attnum $$,
                  $$ VALUES ('parent', 'regclass'), ('tenant', 'text'), ('partition', 'regclass'), ('rows', 'bigint'),
                            ('bytes', 'bigint'), ('kind', 'text'), ('tenant_id', 'uuid') $$,
                  'tenancy.partitions: parent, tenant, partition, rows, bytes, kind, tenant_id');
SELECT is((SELECT rows FROM tenancy.partitions WHERE partition = 'regress_p40."orders_p40-globex"'::regclass), NULL::bigint,
          'rows is NULL before the first ANALYZE');
ANALYZE regress_p40.orders;
SELECT is((SELECT rows FROM tenancy.partitions WHERE partition = 'regress_p40."orders_p40-globex"'::regclass), 20::bigint,
          'rows is the estimate after ANALYZE');
SELECT ok((SELECT bool_and(bytes > 0) FROM tenancy.partitions WHERE parent::text LIKE 'regress_p40.%' AND kind <> 'default'),
          'bytes is positive for every tenant partition and bucket (a partitioned default has no storage of its own)');
SELECT is((SELECT string_agg(DISTINCT kind, ',' ORDER BY kind) FROM tenancy.partitions WHERE parent::text LIKE 'regress_p40.%'),
          'bucket,default,spare,tenant', 'kind is tenant, default, bucket or spare');
SELECT is((SELECT count(*)::int FROM tenancy.partitions WHERE parent = 'regress_p40.mixed'::regclass), 0,
          'a registered table that is not partitioned per tenant is not listed');

-- Privileges --------------------------------------------------------------------------
SET ROLE regress_tenancy_p40_b;
SET tenancy.tenant = 'p40-globex';
SELECT throws_ok($$ SELECT * FROM tenancy.partitions $$, '42501', NULL, 'a tenant role cannot read tenancy.partitions');
SELECT throws_ok($$ SELECT tenancy.partition_table('regress_p40.wide') $$, '42501', NULL,
                 'a tenant role cannot call partition_table');
SELECT throws_ok($$ SELECT tenancy.isolate_tenant('p40-globex', 'regress_p40.events') $$, '42501', NULL,
                 'a tenant role cannot call isolate_tenant');
SELECT throws_ok($$ SELECT tenancy._partition_create('regress_p40.orders', '4f400000-0000-4000-8000-0000000000ee') $$,
                 '42501', NULL, 'a tenant role cannot call _partition_create');
SELECT throws_ok($$ SELECT tenancy._partition_remove('regress_p40.orders', '4f400000-0000-4000-8000-000000000007', NULL) $$,
                 '42501', NULL, 'a tenant role cannot call _partition_remove');
SELECT throws_ok($$ SELECT tenancy._tenant_partition('regress_p40.orders', '4f400000-0000-4000-8000-000000000007') $$,
                 '42501', NULL, 'a tenant role cannot call _tenant_partition');
SELECT throws_ok($$ SELECT * FROM tenancy._partition_tenants('regress_p40.orders') $$,
                 '42501', NULL, 'a tenant role cannot call _partition_tenants');
SELECT throws_ok($$ SELECT tenancy._partitions_on_create('4f400000-0000-4000-8000-0000000000ee') $$,
                 '42501', NULL, 'a tenant role cannot call _partitions_on_create');
SELECT throws_ok($$ SELECT tenancy._partition_name('regress_p40.orders', 'x') $$,
                 '42501', NULL, 'a tenant role cannot call _partition_name');
RESET tenancy.tenant;
RESET ROLE;
SELECT ok(NOT EXISTS (SELECT 1 FROM tenancy.tenants WHERE id = '4f400000-0000-4000-8000-0000000000ee')
          AND tenancy._tenant_partition('regress_p40.orders', '4f400000-0000-4000-8000-0000000000ee') IS NULL
          AND to_regclass('regress_p40."orders_p40-umbrella"') IS NOT NULL,
          'none of the refused calls created or removed anything');
SELECT ok(has_function_privilege('regress_tenancy_p40_b', 'tenancy._tenant_guard(uuid)', 'EXECUTE'),
          'the plan guard tenancy._tenant_guard(uuid) is executable by every role (it runs inside their plans)');
-- Non-superuser administrators read tenancy.partitions (the view calls
-- tenancy._partitions(), which they may execute).
SET ROLE regress_tenancy_p40_owner;
SELECT lives_ok($$ SELECT * FROM tenancy.partitions $$, 'a tenancy_admin member reads tenancy.partitions');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
