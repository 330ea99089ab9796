-- Row-level security generator: register_table, auto_register,
\set SHOW_CONTEXT never
-- check_isolation, export and offboarding.
CREATE SCHEMA regress_rls;
SELECT tenancy.create_tenant('rls-a', id => 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa') IS NOT NULL AS a,
       tenancy.create_tenant('rls-b', id => 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb') IS NOT NULL AS b;
SELECT tenancy.grant_tenant('regress_tenancy_alice', 'rls-a');
SELECT tenancy.grant_tenant('regress_tenancy_bob', 'rls-b');

-- A table without the column: it is added, with default, FK, index, policy.
CREATE TABLE regress_rls.customers (id int PRIMARY KEY, name text NOT NULL);
SELECT tenancy.register_table('regress_rls.customers');
\d regress_rls.customers
-- Idempotent: nothing changes the second time.
SELECT tenancy.register_table('regress_rls.customers');
SELECT count(*) AS policies FROM pg_policy WHERE polrelid = 'regress_rls.customers'::regclass;
SELECT count(*) AS indexes FROM pg_index WHERE indrelid = 'regress_rls.customers'::regclass;

-- A partitioned table: every partition, now and later, is covered.
CREATE TABLE regress_rls.orders (
    tenant_id uuid NOT NULL, id int NOT NULL, total numeric,
    PRIMARY KEY (tenant_id, id)
) PARTITION BY LIST (tenant_id);
CREATE TABLE regress_rls.orders_a PARTITION OF regress_rls.orders
    FOR VALUES IN ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa');
SELECT tenancy.register_table('regress_rls.orders');
CREATE TABLE regress_rls.orders_b PARTITION OF regress_rls.orders
    FOR VALUES IN ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb');
CREATE TABLE regress_rls.orders_rest (LIKE regress_rls.orders);
ALTER TABLE regress_rls.orders ATTACH PARTITION regress_rls.orders_rest DEFAULT;
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'tenancy_isolation') AS policy
  FROM pg_class c WHERE c.relnamespace = 'regress_rls'::regnamespace AND c.relname LIKE 'orders%'
   AND c.relkind IN ('r', 'p') ORDER BY 1;
SELECT relid, tenant_column FROM tenancy.tables ORDER BY relid::text;

-- What cannot be registered, and why.
CREATE VIEW regress_rls.v AS SELECT 1 AS x;
CREATE TABLE regress_rls.wrong (tenant_id text);
CREATE TABLE regress_rls.nulls (tenant_id uuid);
INSERT INTO regress_rls.nulls VALUES (NULL);
CREATE TABLE regress_rls.filled (id int);
INSERT INTO regress_rls.filled VALUES (1), (2);
CREATE TEMP TABLE scratch (id int);
SELECT tenancy.register_table('regress_rls.v');
SELECT tenancy.register_table('regress_rls.wrong');
SELECT tenancy.register_table('regress_rls.nulls');
SELECT tenancy.register_table('regress_rls.filled');
SELECT tenancy.register_table('scratch');
SELECT tenancy.register_table('regress_rls.orders_b');
SELECT tenancy.register_table('tenancy.plans');
SELECT tenancy.register_table(NULL);
SELECT tenancy.register_table('regress_rls.customers', 'owner_id');
-- With a tenant in force, existing rows are assigned to it.
SET tenancy.tenant = 'rls-a';
SELECT tenancy.register_table('regress_rls.filled');
RESET tenancy.tenant;
SELECT tenant_id, count(*) FROM regress_rls.filled GROUP BY 1;
DROP TABLE regress_rls.wrong, regress_rls.nulls;

-- Data, written through the policy.
GRANT USAGE ON SCHEMA regress_rls TO PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA regress_rls TO PUBLIC;
SET ROLE regress_tenancy_alice;
SET tenancy.tenant = 'rls-a';
INSERT INTO regress_rls.customers (id, name) VALUES (1, 'Ann'), (2, 'Al');
INSERT INTO regress_rls.orders (tenant_id, id, total) VALUES (tenancy.current_tenant(), 1, 10), (tenancy.current_tenant(), 2, 20);
INSERT INTO regress_rls.orders (tenant_id, id, total) VALUES ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 3, 30);
TRUNCATE regress_rls.customers;
SET ROLE regress_tenancy_bob;
SET tenancy.tenant = 'rls-b';
INSERT INTO regress_rls.customers (id, name) VALUES (3, 'Bea');
INSERT INTO regress_rls.orders (tenant_id, id, total) VALUES (tenancy.current_tenant(), 1, 99);
SELECT id, name FROM regress_rls.customers ORDER BY id;
SELECT id, total FROM regress_rls.orders_a;
UPDATE regress_rls.customers SET tenant_id = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
RESET tenancy.tenant;
RESET ROLE;

-- The linter: clean, then each misconfiguration is reported.
SELECT * FROM tenancy.check_isolation();
ALTER EVENT TRIGGER tenancy_auto_register DISABLE;
ALTER TABLE regress_rls.customers NO FORCE ROW LEVEL SECURITY;
CREATE POLICY open_door ON regress_rls.customers USING (true);
CREATE TABLE regress_rls.orders_c PARTITION OF regress_rls.orders
    FOR VALUES IN ('cccccccc-cccc-4ccc-8ccc-cccccccccccc');
GRANT TRUNCATE ON regress_rls.customers TO regress_tenancy_bob;
CREATE VIEW regress_rls.all_customers AS SELECT * FROM regress_rls.customers;
CREATE MATERIALIZED VIEW regress_rls.customer_count AS SELECT count(*) FROM regress_rls.customers;
CREATE FUNCTION regress_rls.count_customers() RETURNS bigint LANGUAGE sql SECURITY DEFINER
    AS $$ SELECT count(*) FROM regress_rls.customers $$;
CREATE TABLE regress_rls.lines (tenant_id uuid NOT NULL, order_id int REFERENCES regress_rls.customers (id));
SELECT tenancy.register_table('regress_rls.lines');
CREATE TABLE regress_rls.forgotten (tenant_id uuid, x int);
SELECT severity, object, problem FROM tenancy.check_isolation();
ALTER EVENT TRIGGER tenancy_auto_register ENABLE;
-- Any ALTER TABLE on a registered table re-applies the contract.
ALTER TABLE regress_rls.orders ADD COLUMN note text;
ALTER TABLE regress_rls.customers ADD COLUMN note text;
DROP POLICY open_door ON regress_rls.customers;
DROP VIEW regress_rls.all_customers;
DROP MATERIALIZED VIEW regress_rls.customer_count;
DROP FUNCTION regress_rls.count_customers();
DROP TABLE regress_rls.lines, regress_rls.forgotten;
SELECT severity, object FROM tenancy.check_isolation();

-- auto_register: new tables with tenant_id in managed schemas.
SET tenancy.managed_schemas = 'regress_rls';
CREATE TABLE regress_rls.notes (tenant_id uuid, body text);
CREATE TABLE public.regress_unmanaged (tenant_id uuid);
SELECT relid FROM tenancy.tables WHERE relid::text LIKE '%notes' OR relid::text LIKE '%unmanaged';
DROP TABLE public.regress_unmanaged;
-- unregister_table works in a managed schema too.
SELECT tenancy.unregister_table('regress_rls.notes');
SELECT count(*) AS still_registered FROM tenancy.tables WHERE relid = 'regress_rls.notes'::regclass;
SELECT tenancy.register_table('regress_rls.notes');
RESET tenancy.managed_schemas;
-- A dropped table leaves the registry.
DROP TABLE regress_rls.notes;
SELECT count(*) FROM tenancy.tables WHERE relid::text LIKE '%notes';

-- unregister_table removes the policies and FORCE, keeps the column.
SELECT tenancy.unregister_table('regress_rls.filled');
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'regress_rls.filled'::regclass;
SELECT tenancy.unregister_table('regress_rls.filled');
DROP TABLE regress_rls.filled;

-- LIKE with a constant pattern stays an index condition under RLS (the
-- planner guard); a pattern taken from a row stays behind the policy.
CREATE TABLE regress_rls.people (tenant_id uuid NOT NULL, name text NOT NULL);
SELECT tenancy.register_table('regress_rls.people');
CREATE INDEX ON regress_rls.people (tenant_id, name text_pattern_ops);
INSERT INTO regress_rls.people
SELECT CASE WHEN g % 2 = 0 THEN 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'::uuid ELSE 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'::uuid END,
       'name' || g FROM generate_series(1, 2000) g;
ANALYZE regress_rls.people;
GRANT SELECT ON regress_rls.people TO PUBLIC;
SET ROLE regress_tenancy_alice;
SET tenancy.tenant = 'rls-a';
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM regress_rls.people WHERE name LIKE 'name12%';
SELECT count(*) FROM regress_rls.people WHERE name LIKE 'name12%';
PREPARE by_prefix(text) AS SELECT count(*) FROM regress_rls.people WHERE name ILIKE $1;
EXECUTE by_prefix('NAME14%');
EXPLAIN (COSTS OFF) SELECT * FROM regress_rls.people WHERE 'name12' LIKE name;
SELECT count(*) FROM regress_rls.people WHERE 'name12' LIKE name OR 'name14' ILIKE name;
-- starts_with is LEAKPROOF in PostgreSQL already.
EXPLAIN (COSTS OFF) SELECT * FROM regress_rls.people WHERE name ^@ 'name12';
RESET ROLE;
-- mark_leakproof: full-text @@ (superusers only, opt-in).
ALTER TABLE regress_rls.people ADD COLUMN doc tsvector GENERATED ALWAYS AS (to_tsvector('simple', name)) STORED;
CREATE INDEX people_fts ON regress_rls.people USING gin (doc);
ANALYZE regress_rls.people;
SET ROLE regress_tenancy_alice;
EXPLAIN (COSTS OFF) SELECT * FROM regress_rls.people WHERE doc @@ 'name12'::tsquery;
RESET ROLE;
SELECT function, leakproof FROM tenancy.mark_leakproof() ORDER BY 1;
SET ROLE regress_tenancy_alice;
EXPLAIN (COSTS OFF) SELECT * FROM regress_rls.people WHERE doc @@ 'name12'::tsquery;
RESET ROLE;
SELECT count(*) AS unmarked FROM tenancy.mark_leakproof(false) WHERE NOT leakproof;
SET ROLE regress_tenancy_alice;
SELECT tenancy.mark_leakproof();
RESET enable_seqscan;
RESET tenancy.tenant;
RESET ROLE;
-- Marking LIKE itself LEAKPROOF by hand is an error the linter reports.
ALTER FUNCTION pg_catalog.textlike(text, text) LEAKPROOF;
SELECT severity, object FROM tenancy.check_isolation() WHERE object LIKE 'function%';
ALTER FUNCTION pg_catalog.textlike(text, text) NOT LEAKPROOF;

-- A non-superuser administrator registers the tables it owns, exports and
-- offboards (archiving) through every registered table.
GRANT CREATE ON SCHEMA regress_rls TO regress_tenancy_admin;
SET ROLE regress_tenancy_admin;
CREATE TABLE regress_rls.admin_owned (id int);
SELECT tenancy.register_table('regress_rls.admin_owned');
SELECT tenancy.register_table('regress_rls.customers');
SELECT tenancy.create_tenant('rls-c') IS NOT NULL AS created;
SET tenancy.tenant = 'rls-c';
INSERT INTO regress_rls.admin_owned VALUES (1), (2);
INSERT INTO regress_rls.customers (id, name) VALUES (7, 'Cy');
RESET tenancy.tenant;
SELECT table_name, count(*) FROM tenancy.export_tenant('rls-c') GROUP BY 1 ORDER BY 1;
SELECT * FROM tenancy.offboard_tenant('rls-c', archive => true) ORDER BY 1;
RESET ROLE;
SELECT relname FROM pg_class WHERE relnamespace = 'tenancy_archive'::regnamespace AND relkind = 'r' ORDER BY 1;
SELECT count(*) AS archived_admin_owned FROM tenancy_archive."admin_owned__rls-c";

-- Export and offboarding.
SELECT table_name, count(*) FROM tenancy.export_tenant('rls-b') GROUP BY 1 ORDER BY 1;
SELECT table_name, "row" - 'tenant_id' AS "row" FROM tenancy.export_tenant('rls-b')
 WHERE table_name <> 'regress_rls.people'::regclass ORDER BY 1, 2::text;
SET ROLE regress_tenancy_alice;
SELECT * FROM tenancy.export_tenant('rls-b');
SELECT * FROM tenancy.offboard_tenant('rls-b');
RESET ROLE;
SELECT * FROM tenancy.offboard_tenant('rls-b') ORDER BY 1;
SELECT status, status_reason ~ 'rows removed' AS recorded FROM tenancy.tenants WHERE slug = 'rls-b';
SELECT count(*) AS members_left FROM tenancy.members m JOIN tenancy.tenants t ON t.id = m.tenant_id WHERE t.slug = 'rls-b';
SELECT tenant_id, count(*) FROM regress_rls.orders GROUP BY 1 ORDER BY 1;
SELECT * FROM tenancy.offboard_tenant('rls-b');
SELECT * FROM tenancy.offboard_tenant('rls-nobody');
