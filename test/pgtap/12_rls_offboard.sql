-- tenancy.export_tenant() and tenancy.offboard_tenant() over registered
-- tables: exactly the tenant's rows, from every registered table (plain,
-- partitioned, inheritance, referencing each other); nothing of the other
-- tenants; per-table counts; offboarded status; memberships gone; atomic;
-- archive => true keeps the rows in schema tenancy_archive; tenant roles
-- can call neither.
BEGIN;
SELECT plan(44);
SET client_min_messages = warning;  -- offboard_tenant reports with a NOTICE

-- Fixtures (as superuser) ------------------------------------------------------
CREATE ROLE regress_tenancy_rls_a LOGIN;
CREATE ROLE regress_tenancy_rls_b LOGIN;
CREATE ROLE regress_tenancy_rls_admin NOLOGIN IN ROLE tenancy_admin;
DO $$
BEGIN
    PERFORM tenancy.create_tenant('rls12-acme', 'Acme', 'basic', 'aaaa0012-0000-4000-8000-00000000000a');
    PERFORM tenancy.create_tenant('rls12-globex', 'Globex', 'basic', 'bbbb0012-0000-4000-8000-00000000000b');
    PERFORM tenancy.create_tenant('rls12-hooli', 'Hooli', 'basic', 'cccc0012-0000-4000-8000-00000000000c');
    PERFORM tenancy.grant_tenant('regress_tenancy_rls_a', 'rls12-acme');
    PERFORM tenancy.grant_tenant('regress_tenancy_rls_b', 'rls12-globex');
    PERFORM tenancy.grant_tenant('regress_tenancy_rls_b', 'rls12-hooli', 'admin');
END
$$;
CREATE SCHEMA regress_rls_off;
CREATE SCHEMA regress_rls_off2;
GRANT USAGE ON SCHEMA regress_rls_off, regress_rls_off2 TO PUBLIC;

CREATE TABLE regress_rls_off.customers (
    tenant_id uuid NOT NULL, id int NOT NULL, name text NOT NULL, PRIMARY KEY (tenant_id, id));
CREATE TABLE regress_rls_off.orders (
    tenant_id uuid NOT NULL, id int NOT NULL, customer_id int NOT NULL, total int NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES regress_rls_off.customers (tenant_id, id) ON DELETE CASCADE
) PARTITION BY LIST (tenant_id);
CREATE TABLE regress_rls_off.orders_acme PARTITION OF regress_rls_off.orders
    FOR VALUES IN ('aaaa0012-0000-4000-8000-00000000000a');
CREATE TABLE regress_rls_off.orders_rest PARTITION OF regress_rls_off.orders DEFAULT;
CREATE TABLE regress_rls_off.notes (tenant_id uuid NOT NULL, body text NOT NULL);
CREATE TABLE regress_rls_off.notes_old () INHERITS (regress_rls_off.notes);
CREATE TABLE regress_rls_off.items (tenant_id uuid NOT NULL, sku text NOT NULL);
CREATE TABLE regress_rls_off2.items (tenant_id uuid NOT NULL, sku text NOT NULL);  -- same name, other schema
CREATE TABLE regress_rls_off.empty (tenant_id uuid NOT NULL, x int);
-- Not registered, and not to be touched: it only names tenants by slug.
CREATE TABLE regress_rls_off.unregistered (slug text NOT NULL);

INSERT INTO regress_rls_off.customers
SELECT t, g, format('%s-customer-%s', s, g)
  FROM (VALUES ('aaaa0012-0000-4000-8000-00000000000a'::uuid, 'acme', 3),
               ('bbbb0012-0000-4000-8000-00000000000b'::uuid, 'globex', 4),
               ('cccc0012-0000-4000-8000-00000000000c'::uuid, 'hooli', 2)) v(t, s, n),
       generate_series(1, v.n) g;
INSERT INTO regress_rls_off.orders
SELECT c.tenant_id, c.id * 10 + k, c.id, k FROM regress_rls_off.customers c, generate_series(1, 2) k;
INSERT INTO regress_rls_off.notes VALUES
    ('aaaa0012-0000-4000-8000-00000000000a', 'acme note'), ('bbbb0012-0000-4000-8000-00000000000b', 'globex note'),
    ('cccc0012-0000-4000-8000-00000000000c', 'hooli note');
INSERT INTO regress_rls_off.notes_old VALUES
    ('bbbb0012-0000-4000-8000-00000000000b', 'globex old note'), ('cccc0012-0000-4000-8000-00000000000c', 'hooli old note');
INSERT INTO regress_rls_off.items VALUES
    ('aaaa0012-0000-4000-8000-00000000000a', 'A-1'), ('bbbb0012-0000-4000-8000-00000000000b', 'G-1'),
    ('cccc0012-0000-4000-8000-00000000000c', 'H-1');
INSERT INTO regress_rls_off2.items VALUES
    ('bbbb0012-0000-4000-8000-00000000000b', 'G-2'), ('cccc0012-0000-4000-8000-00000000000c', 'H-2'),
    ('cccc0012-0000-4000-8000-00000000000c', 'H-3');
INSERT INTO regress_rls_off.unregistered VALUES ('rls12-acme'), ('rls12-globex');

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['regress_rls_off.customers', 'regress_rls_off.orders', 'regress_rls_off.notes',
                             'regress_rls_off.items', 'regress_rls_off2.items', 'regress_rls_off.empty'] LOOP
        PERFORM tenancy.register_table(t::regclass);
    END LOOP;
END $$;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA regress_rls_off, regress_rls_off2 TO PUBLIC;

-- Every registered row, as export_tenant() should give it, counted before.
CREATE TEMP TABLE regress_rls_all AS
    SELECT 'regress_rls_off.customers'::regclass AS tbl, tenant_id, to_jsonb(x) AS r FROM regress_rls_off.customers x
    UNION ALL SELECT 'regress_rls_off.orders', tenant_id, to_jsonb(x) FROM regress_rls_off.orders x
    UNION ALL SELECT 'regress_rls_off.notes', tenant_id, to_jsonb(x) FROM regress_rls_off.notes x
    UNION ALL SELECT 'regress_rls_off.items', tenant_id, to_jsonb(x) FROM regress_rls_off.items x
    UNION ALL SELECT 'regress_rls_off2.items', tenant_id, to_jsonb(x) FROM regress_rls_off2.items x;
CREATE TEMP TABLE regress_rls_counts AS
    SELECT t.relid AS tbl, n.id AS tenant_id,
           (SELECT count(*) FROM regress_rls_all a WHERE a.tbl = t.relid AND a.tenant_id = n.id) AS n
      FROM tenancy.tables t, tenancy.tenants n
     WHERE t.relid::text LIKE 'regress_rls_off%' AND n.slug LIKE 'rls12-%';
-- Current rows per table and tenant.
CREATE FUNCTION regress_rls_off.counts_now() RETURNS TABLE (tbl regclass, tenant_id uuid, n bigint)
    LANGUAGE plpgsql AS $$
DECLARE c record;
BEGIN
    FOR c IN SELECT DISTINCT k.tbl, k.tenant_id FROM regress_rls_counts k LOOP
        tbl := c.tbl; tenant_id := c.tenant_id;
        EXECUTE format('SELECT count(*) FROM %s WHERE tenant_id = $1', c.tbl) INTO n USING c.tenant_id;
        RETURN NEXT;
    END LOOP;
END $$;
CREATE FUNCTION regress_rls_off.rows_in(tbl text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM %s', tbl) INTO n;
    RETURN n;
END $$;
SELECT is((SELECT sum(n)::int FROM regress_rls_counts), 38, 'setup: 38 rows over 5 registered tables and 3 tenants');

-- Tenant roles may call neither -------------------------------------------------
SET ROLE regress_tenancy_rls_a;
SET tenancy.tenant = 'rls12-acme';
SELECT throws_ok($$ SELECT * FROM tenancy.export_tenant('rls12-globex') $$, '42501', NULL,
                 'a tenant role cannot export another tenant');
SELECT throws_ok($$ SELECT * FROM tenancy.export_tenant('rls12-acme') $$, '42501', NULL,
                 '... nor its own tenant (an administrator''s act)');
SELECT throws_ok($$ SELECT * FROM tenancy.offboard_tenant('rls12-globex') $$, '42501', NULL,
                 'a tenant role cannot offboard another tenant');
SELECT throws_ok($$ SELECT * FROM tenancy.offboard_tenant('rls12-acme', true) $$, '42501', NULL,
                 '... nor its own');
RESET tenancy.tenant;
RESET ROLE;
SET ROLE regress_tenancy_rls_b;  -- hooli's tenant-level admin (membership level 'admin')
SELECT throws_ok($$ SELECT * FROM tenancy.offboard_tenant('rls12-hooli') $$, '42501', NULL,
                 'a tenant-level admin (membership level admin) cannot offboard its tenant either');
RESET ROLE;

-- export_tenant ----------------------------------------------------------------------
SELECT results_eq(
    $$ SELECT table_name::text, "row"::text FROM tenancy.export_tenant('rls12-globex') ORDER BY 1, 2 $$,
    $$ SELECT tbl::text, r::text FROM regress_rls_all WHERE tenant_id = 'bbbb0012-0000-4000-8000-00000000000b' ORDER BY 1, 2 $$,
    'export_tenant: exactly globex''s rows, from every registered table (partitions and children included)');
SELECT is_empty($$ SELECT * FROM tenancy.export_tenant('rls12-globex')
                   WHERE ("row"->>'tenant_id')::uuid <> 'bbbb0012-0000-4000-8000-00000000000b' $$,
                'export_tenant: not one row of another tenant');
SELECT results_eq(
    $$ SELECT table_name::text, count(*)::int FROM tenancy.export_tenant('bbbb0012-0000-4000-8000-00000000000b') GROUP BY 1 ORDER BY 1 $$,
    $$ VALUES ('regress_rls_off.customers', 4), ('regress_rls_off.items', 1), ('regress_rls_off.notes', 2),
              ('regress_rls_off.orders', 8), ('regress_rls_off2.items', 1) $$,
    'export_tenant by uuid: the same rows, per table');
SELECT results_eq(
    $$ SELECT "row"::text FROM tenancy.export_tenant('rls12-hooli') ORDER BY 1 $$,
    $$ SELECT r::text FROM regress_rls_all WHERE tenant_id = 'cccc0012-0000-4000-8000-00000000000c' ORDER BY 1 $$,
    'export_tenant: exactly hooli''s rows');
SET tenancy.tenant = 'rls12-acme';
SELECT is((SELECT count(*)::int FROM tenancy.export_tenant('rls12-globex')), 16,
          'export_tenant from a session in another tenant: still exactly the named tenant''s rows');
SELECT is(tenancy.current_tenant_slug(), 'rls12-acme', '... and the caller''s tenant context is restored');
RESET tenancy.tenant;
SET ROLE regress_tenancy_rls_admin;
SELECT is((SELECT count(*)::int FROM tenancy.export_tenant('rls12-globex')), 16,
          'a non-superuser administrator exports the same rows');
RESET ROLE;
SELECT throws_ok($$ SELECT * FROM tenancy.export_tenant('rls12-nosuch') $$, '22023', NULL, 'export of an unknown tenant: 22023');
SELECT throws_ok($$ SELECT * FROM tenancy.export_tenant(NULL) $$, '22004', NULL, 'export of NULL: 22004');

-- offboard_tenant is atomic --------------------------------------------------------
-- A row outside the registry that refers to one of globex's customers blocks
-- the DELETE; nothing at all may be removed then.
CREATE TABLE regress_rls_off.blocker (owner uuid, customer_id int,
    FOREIGN KEY (owner, customer_id) REFERENCES regress_rls_off.customers (tenant_id, id));
INSERT INTO regress_rls_off.blocker VALUES ('bbbb0012-0000-4000-8000-00000000000b', 1);
SELECT throws_ok($$ SELECT * FROM tenancy.offboard_tenant('rls12-globex') $$, '23503', NULL,
                 'offboard_tenant fails when a row outside the registry refers to the tenant''s rows');
SELECT results_eq($$ SELECT tbl::text, tenant_id, n FROM regress_rls_off.counts_now() ORDER BY 1, 2 $$,
                  $$ SELECT tbl::text, tenant_id, n FROM regress_rls_counts ORDER BY 1, 2 $$,
                  '... and removed nothing at all');
SELECT is((SELECT status FROM tenancy.tenants WHERE slug = 'rls12-globex'), 'active', '... and globex is still active');
DROP TABLE regress_rls_off.blocker;

-- offboard_tenant -----------------------------------------------------------------------
CREATE TEMP TABLE regress_rls_removed AS SELECT * FROM tenancy.offboard_tenant('rls12-globex');
SELECT results_eq($$ SELECT table_name::text, rows_removed FROM regress_rls_removed ORDER BY 1 $$,
                  $$ SELECT t.relid::text, coalesce(k.n, 0) FROM tenancy.tables t
                       LEFT JOIN regress_rls_counts k ON k.tbl = t.relid AND k.tenant_id = 'bbbb0012-0000-4000-8000-00000000000b'
                      ORDER BY 1 $$,
                  'offboard_tenant returns one row per registered table with the number of globex rows it held');
SELECT is((SELECT sum(rows_removed)::int FROM regress_rls_removed), 16, '... 16 rows in all');
SELECT is((SELECT rows_removed FROM regress_rls_removed WHERE table_name = 'regress_rls_off.empty'::regclass), 0::bigint,
          '... including 0 for a table without its rows');
SELECT is((SELECT sum(n)::int FROM regress_rls_off.counts_now() WHERE tenant_id = 'bbbb0012-0000-4000-8000-00000000000b'), 0,
          'no row of globex is left in any registered table');
SELECT is((SELECT count(*)::int FROM regress_rls_off.notes_old WHERE tenant_id = 'bbbb0012-0000-4000-8000-00000000000b'), 0,
          '... inheritance child included');
SELECT is((SELECT count(*)::int FROM regress_rls_off.orders_rest WHERE tenant_id = 'bbbb0012-0000-4000-8000-00000000000b'), 0,
          '... partition included');
SELECT results_eq($$ SELECT tbl::text, tenant_id, n FROM regress_rls_off.counts_now()
                      WHERE tenant_id <> 'bbbb0012-0000-4000-8000-00000000000b' ORDER BY 1, 2 $$,
                  $$ SELECT tbl::text, tenant_id, n FROM regress_rls_counts
                      WHERE tenant_id <> 'bbbb0012-0000-4000-8000-00000000000b' ORDER BY 1, 2 $$,
                  'every row of acme and hooli is still there, table by table');
SELECT results_eq($$ SELECT r::text FROM regress_rls_all WHERE tenant_id <> 'bbbb0012-0000-4000-8000-00000000000b'
                     EXCEPT SELECT r::text FROM (
                         SELECT to_jsonb(x) AS r FROM regress_rls_off.customers x UNION ALL
                         SELECT to_jsonb(x) FROM regress_rls_off.orders x UNION ALL
                         SELECT to_jsonb(x) FROM regress_rls_off.notes x UNION ALL
                         SELECT to_jsonb(x) FROM regress_rls_off.items x UNION ALL
                         SELECT to_jsonb(x) FROM regress_rls_off2.items x) now $$,
                  ARRAY[]::text[], '... unchanged, value for value');
SELECT is((SELECT count(*)::int FROM regress_rls_off.unregistered), 2, 'an unregistered table is not touched');
SELECT results_eq($$ SELECT status, status_reason LIKE '%16 rows removed from 6 tables%' FROM tenancy.tenants WHERE slug = 'rls12-globex' $$,
                  $$ VALUES ('offboarded', true) $$, 'globex is marked offboarded, with what was removed');
SELECT is((SELECT count(*)::int FROM tenancy.members WHERE tenant_id = 'bbbb0012-0000-4000-8000-00000000000b'), 0,
          'its memberships are gone');
SELECT is((SELECT count(*)::int FROM tenancy.members WHERE tenant_id = 'cccc0012-0000-4000-8000-00000000000c'), 1,
          '... and only its: b''s membership of hooli stays');
SELECT throws_ok($$ SELECT * FROM tenancy.offboard_tenant('rls12-globex') $$, '55000', NULL,
                 'a second offboard_tenant is refused: 55000');
SELECT throws_ok($$ SELECT * FROM tenancy.offboard_tenant('rls12-nosuch') $$, '22023', NULL, 'offboarding an unknown tenant: 22023');
SELECT throws_ok($$ SELECT * FROM tenancy.offboard_tenant('rls12-hooli', NULL) $$, '22004', NULL, 'archive => NULL: 22004');
SELECT is_empty($$ SELECT * FROM tenancy.export_tenant('rls12-globex') $$, 'export of the offboarded tenant is empty');
SET ROLE regress_tenancy_rls_b;
SELECT throws_ok($$ SET tenancy.tenant = 'rls12-globex' $$, '42501', NULL, 'its former member cannot enter it');
RESET ROLE;
SET ROLE regress_tenancy_rls_a;
SET tenancy.tenant = 'rls12-acme';
SELECT results_eq($$ SELECT count(*)::int FROM regress_rls_off.customers $$, ARRAY[3],
                  'the other tenants work as before');
RESET tenancy.tenant;
RESET ROLE;

-- archive => true, by a non-superuser administrator ------------------------------------
SET ROLE regress_tenancy_rls_admin;
CREATE TEMP TABLE regress_rls_archived AS SELECT * FROM tenancy.offboard_tenant('rls12-hooli', archive => true);
RESET ROLE;
SELECT is((SELECT sum(rows_removed)::int FROM regress_rls_archived), 11, 'archive: hooli''s 11 rows are removed');
SELECT is((SELECT sum(n)::int FROM regress_rls_off.counts_now() WHERE tenant_id = 'cccc0012-0000-4000-8000-00000000000c'), 0,
          '... from every registered table');
SELECT set_eq($$ SELECT regexp_replace(tablename::text, '^items_[0-9a-f]{6}__', 'items_<hash>__') COLLATE "default" FROM pg_tables
                  WHERE schemaname = 'tenancy_archive' AND tablename LIKE '%rls12-hooli' $$,
                  ARRAY['customers__rls12-hooli', 'empty__rls12-hooli', 'items__rls12-hooli',
                        'items_<hash>__rls12-hooli', 'notes__rls12-hooli', 'orders__rls12-hooli'],
                  'archive: one table per registered table in tenancy_archive, the second "items" with a hash');
SELECT results_eq($$ SELECT r::text FROM (
                         SELECT to_jsonb(x) AS r FROM tenancy_archive."customers__rls12-hooli" x UNION ALL
                         SELECT to_jsonb(x) FROM tenancy_archive."orders__rls12-hooli" x UNION ALL
                         SELECT to_jsonb(x) FROM tenancy_archive."notes__rls12-hooli" x) a ORDER BY 1 $$,
                  $$ SELECT r::text FROM regress_rls_all WHERE tenant_id = 'cccc0012-0000-4000-8000-00000000000c'
                        AND tbl IN ('regress_rls_off.customers'::regclass, 'regress_rls_off.orders', 'regress_rls_off.notes')
                      ORDER BY 1 $$,
                  'archive: the archived rows are hooli''s rows, value for value (partitions and children included)');
SELECT results_eq($$ SELECT regress_rls_off.rows_in(format('tenancy_archive.%I', tablename)) FROM pg_tables
                      WHERE schemaname = 'tenancy_archive' AND tablename ~ '^items(_[0-9a-f]{6})?__rls12-hooli$' ORDER BY 1 $$,
                  ARRAY[1::bigint, 2::bigint],
                  'archive: the two "items" tables of the same name kept their own rows apart (1 and 2)');
SELECT ok(NOT EXISTS (SELECT 1 FROM pg_tables t WHERE t.schemaname = 'tenancy_archive'
                        AND t.tablename LIKE '%rls12-hooli'
                        AND has_table_privilege('regress_tenancy_rls_a', format('tenancy_archive.%I', t.tablename), 'SELECT')),
          'archive: tenant roles are granted nothing on the archived tables');
SET ROLE regress_tenancy_rls_a;
SELECT throws_ok($$ SELECT * FROM tenancy_archive."customers__rls12-hooli" $$, '42501', NULL,
                 'archive: a tenant role cannot read another tenant''s archive');
RESET ROLE;
SELECT is((SELECT sum(n)::int FROM regress_rls_off.counts_now() WHERE tenant_id = 'aaaa0012-0000-4000-8000-00000000000a'),
          (SELECT sum(n)::int FROM regress_rls_counts WHERE tenant_id = 'aaaa0012-0000-4000-8000-00000000000a'),
          'acme still has all its rows after both offboardings');

SELECT * FROM finish();
ROLLBACK;
