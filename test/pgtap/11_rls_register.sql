-- tenancy.register_table(), unregister_table(), the tenancy_auto_register
-- event trigger and the isolation linter check_isolation(): what a
-- registration adds, that it is idempotent, what it refuses and why,
-- partitions and inheritance children now and later, TRUNCATE, and every
-- class of misconfiguration the linter must find.
BEGIN;
SELECT plan(130);
SET client_min_messages = warning;

-- Fixtures (as superuser) ------------------------------------------------------
CREATE ROLE regress_tenancy_rls_a LOGIN;
CREATE ROLE regress_tenancy_rls_b LOGIN;
CREATE ROLE regress_tenancy_rls_owner NOLOGIN IN ROLE tenancy_admin;
DO $$
BEGIN
    PERFORM tenancy.create_tenant('rls11-acme', 'Acme', 'basic', 'aaaa0011-0000-4000-8000-00000000000a');
    PERFORM tenancy.create_tenant('rls11-globex', 'Globex', 'basic', 'bbbb0011-0000-4000-8000-00000000000b');
    PERFORM tenancy.grant_tenant('regress_tenancy_rls_a', 'rls11-acme');
    PERFORM tenancy.grant_tenant('regress_tenancy_rls_b', 'rls11-globex');
END
$$;
CREATE SCHEMA regress_rls_reg;
GRANT USAGE ON SCHEMA regress_rls_reg TO PUBLIC;
GRANT CREATE ON SCHEMA regress_rls_reg TO regress_tenancy_rls_owner;

-- The relation and every partition or inheritance descendant of it.
CREATE FUNCTION regress_rls_reg.tree(t regclass) RETURNS SETOF oid LANGUAGE sql STABLE AS $$
    WITH RECURSIVE tr(relid) AS (SELECT t::oid UNION ALL
        SELECT i.inhrelid FROM pg_inherits i JOIN tr ON i.inhparent = tr.relid)
    SELECT relid FROM tr
$$;
-- Everything register_table may add, with the oids of policies, indexes and
-- constraints, so that a drop and re-create shows as a change too.
CREATE FUNCTION regress_rls_reg.fingerprint(t regclass) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT concat_ws(E'\n',
        (SELECT string_agg(format('%s rls=%s force=%s acl=%s', c.oid::regclass, c.relrowsecurity,
                                  c.relforcerowsecurity, c.relacl), ' ' ORDER BY c.oid)
           FROM pg_class c WHERE c.oid IN (SELECT regress_rls_reg.tree(t))),
        (SELECT string_agg(format('%s %s %s %s %s', p.oid, p.polrelid::regclass, p.polname,
                                  pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)),
                           ' ' ORDER BY p.oid)
           FROM pg_policy p WHERE p.polrelid IN (SELECT regress_rls_reg.tree(t))),
        (SELECT string_agg(format('%s %s', i.indexrelid, pg_get_indexdef(i.indexrelid)), ' ' ORDER BY i.indexrelid)
           FROM pg_index i WHERE i.indrelid IN (SELECT regress_rls_reg.tree(t))),
        (SELECT string_agg(format('%s %s', k.oid, pg_get_constraintdef(k.oid)), ' ' ORDER BY k.oid)
           FROM pg_constraint k WHERE k.conrelid IN (SELECT regress_rls_reg.tree(t))),
        (SELECT string_agg(format('%s.%s notnull=%s default=%s', a.attrelid::regclass, a.attname, a.attnotnull,
                                  pg_get_expr(d.adbin, d.adrelid)), ' ' ORDER BY a.attrelid, a.attnum)
           FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
          WHERE a.attrelid IN (SELECT regress_rls_reg.tree(t)) AND a.attnum > 0 AND NOT a.attisdropped),
        (SELECT string_agg(format('%s %s', t2.relid, t2.tenant_column), ' ') FROM tenancy.tables t2 WHERE t2.relid = t))
$$;
-- Is a relation fully under the contract (RLS on and forced, the policy)?
CREATE FUNCTION regress_rls_reg.covered(t regclass, col name DEFAULT 'tenant_id') RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT c.relrowsecurity AND c.relforcerowsecurity
       AND EXISTS (SELECT 1 FROM pg_policies p
                    WHERE p.schemaname = n.nspname AND p.tablename = c.relname
                      AND p.policyname = 'tenancy_isolation' AND p.permissive = 'PERMISSIVE'
                      AND p.cmd = 'ALL' AND p.roles = '{public}'
                      AND p.qual = format('(%I = tenancy.current_tenant())', col)
                      AND p.with_check = format('(%I = tenancy.current_tenant())', col))
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = t
$$;
-- The linter's findings, taken once per state of the database by lint();
-- finds(): does it report a problem (matching a pattern) about an object?
CREATE TEMP TABLE regress_rls_findings (severity text, object text, problem text, fix text);
CREATE FUNCTION regress_rls_reg.lint() RETURNS void LANGUAGE sql AS $$
    DELETE FROM regress_rls_findings;
    INSERT INTO regress_rls_findings SELECT * FROM tenancy.check_isolation();
$$;
CREATE FUNCTION regress_rls_reg.finds(obj text, problem_like text, sev text DEFAULT NULL) RETURNS boolean
    LANGUAGE sql AS $$
    SELECT EXISTS (SELECT 1 FROM regress_rls_findings f
                    WHERE f.object = obj AND f.problem LIKE problem_like
                      AND (sev IS NULL OR f.severity = sev)
                      AND coalesce(f.fix, '') <> '')
$$;

-- A table without the tenant column ---------------------------------------------
CREATE TABLE regress_rls_reg.customers (id int PRIMARY KEY, name text NOT NULL);
SELECT lives_ok($$ SELECT tenancy.register_table('regress_rls_reg.customers') $$,
                'register a table without a tenant column');
SELECT col_type_is('regress_rls_reg', 'customers', 'tenant_id', 'uuid', 'the column tenant_id uuid is added');
SELECT col_not_null('regress_rls_reg', 'customers', 'tenant_id', '... NOT NULL');
SELECT is((SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d JOIN pg_attribute a
             ON a.attrelid = d.adrelid AND a.attnum = d.adnum
            WHERE d.adrelid = 'regress_rls_reg.customers'::regclass AND a.attname = 'tenant_id'),
          'tenancy.current_tenant()', '... DEFAULT tenancy.current_tenant()');
SELECT ok(EXISTS (SELECT 1 FROM pg_constraint k
                   WHERE k.conrelid = 'regress_rls_reg.customers'::regclass AND k.contype = 'f'
                     AND k.confrelid = 'tenancy.tenants'::regclass AND k.confdeltype = 'c'
                     AND k.conkey = ARRAY[(SELECT attnum FROM pg_attribute WHERE attrelid = k.conrelid
                                                                              AND attname = 'tenant_id')]),
          '... with a foreign key to tenancy.tenants ON DELETE CASCADE');
SELECT ok(EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                   WHERE i.indrelid = 'regress_rls_reg.customers'::regclass AND a.attname = 'tenant_id'),
          '... and an index leading with it');
SELECT ok(regress_rls_reg.covered('regress_rls_reg.customers'),
          'RLS is enabled and forced, with the tenancy_isolation policy USING and WITH CHECK');
SELECT is((SELECT count(*)::int FROM pg_policy WHERE polrelid = 'regress_rls_reg.customers'::regclass), 1,
          'exactly one policy');
SELECT results_eq($$ SELECT tenant_column FROM tenancy.tables WHERE relid = 'regress_rls_reg.customers'::regclass $$,
                  ARRAY['tenant_id'::name], 'the table is recorded in tenancy.tables');

-- Idempotent ---------------------------------------------------------------------
CREATE TEMP TABLE regress_rls_fp AS
    SELECT regress_rls_reg.fingerprint('regress_rls_reg.customers') AS fp,
           (SELECT count(*) FROM pg_policy WHERE polrelid = 'regress_rls_reg.customers'::regclass) AS policies,
           (SELECT count(*) FROM pg_index WHERE indrelid = 'regress_rls_reg.customers'::regclass) AS indexes,
           (SELECT count(*) FROM pg_constraint WHERE conrelid = 'regress_rls_reg.customers'::regclass) AS constraints;
SELECT lives_ok($$ SELECT tenancy.register_table('regress_rls_reg.customers') $$, 'a second register_table');
SELECT lives_ok($$ SELECT tenancy.register_table('regress_rls_reg.customers', 'tenant_id') $$,
                'a third, naming the column');
SELECT results_eq($$ SELECT (SELECT count(*) FROM pg_policy WHERE polrelid = 'regress_rls_reg.customers'::regclass),
                            (SELECT count(*) FROM pg_index WHERE indrelid = 'regress_rls_reg.customers'::regclass),
                            (SELECT count(*) FROM pg_constraint WHERE conrelid = 'regress_rls_reg.customers'::regclass) $$,
                  $$ SELECT policies, indexes, constraints FROM regress_rls_fp $$,
                  'idempotent: same number of policies, indexes and constraints');
SELECT is(regress_rls_reg.fingerprint('regress_rls_reg.customers'), (SELECT fp FROM regress_rls_fp),
          'idempotent: policies, indexes, constraints, columns, privileges identical (same oids)');
SELECT is((SELECT count(*)::int FROM tenancy.tables WHERE relid = 'regress_rls_reg.customers'::regclass), 1,
          'idempotent: one registry row');
SELECT throws_ok($$ SELECT tenancy.register_table('regress_rls_reg.customers', 'owner_id') $$, '55000', NULL,
                 'registering again with another tenant column is refused');

-- An existing tenant column gets what it lacks, and no second index -----------
CREATE TABLE regress_rls_reg.bare (tenant_id uuid NOT NULL, id int, PRIMARY KEY (tenant_id, id));
SELECT lives_ok($$ SELECT tenancy.register_table('regress_rls_reg.bare') $$, 'register a table with a bare tenant column');
SELECT ok((SELECT atthasdef FROM pg_attribute WHERE attrelid = 'regress_rls_reg.bare'::regclass AND attname = 'tenant_id')
          AND EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'regress_rls_reg.bare'::regclass AND contype = 'f'
                        AND confrelid = 'tenancy.tenants'::regclass),
          'the default and the foreign key are added');
SELECT is((SELECT count(*)::int FROM pg_index WHERE indrelid = 'regress_rls_reg.bare'::regclass), 1,
          'the primary key leading with tenant_id serves as the index: none is added');
CREATE TABLE regress_rls_reg.nullable (tenant_id uuid, x int);
INSERT INTO regress_rls_reg.nullable VALUES ('aaaa0011-0000-4000-8000-00000000000a', 1);
SELECT lives_ok($$ SELECT tenancy.register_table('regress_rls_reg.nullable') $$,
                'register a table with a nullable tenant column without NULLs');
SELECT col_not_null('regress_rls_reg', 'nullable', 'tenant_id', '... it becomes NOT NULL');

-- What is refused, and why ---------------------------------------------------------
CREATE TABLE regress_rls_reg.wrong (tenant_id text);
CREATE VIEW regress_rls_reg.v AS SELECT 1 AS x;
CREATE MATERIALIZED VIEW regress_rls_reg.mv AS SELECT 'aaaa0011-0000-4000-8000-00000000000a'::uuid AS tenant_id;
CREATE FOREIGN DATA WRAPPER regress_rls_fdw;
CREATE SERVER regress_rls_srv FOREIGN DATA WRAPPER regress_rls_fdw;
CREATE FOREIGN TABLE regress_rls_reg.ft (tenant_id uuid) SERVER regress_rls_srv;
CREATE SEQUENCE regress_rls_reg.seq;
CREATE TEMP TABLE regress_rls_scratch (tenant_id uuid);
CREATE TABLE regress_rls_reg.withnulls (tenant_id uuid, x int);
INSERT INTO regress_rls_reg.withnulls VALUES (NULL, 1), ('aaaa0011-0000-4000-8000-00000000000a', 2);
CREATE TABLE regress_rls_reg.filled (id int);
INSERT INTO regress_rls_reg.filled VALUES (1), (2), (3);
SELECT throws_ok($$ SELECT tenancy.register_table('regress_rls_reg.wrong') $$, '42804', NULL,
                 'a tenant column of the wrong type: 42804');
SELECT throws_ok($$ SELECT tenancy.register_table('regress_rls_reg.v') $$, '42809', NULL, 'a view: 42809');
SELECT throws_ok($$ SELECT tenancy.register_table('regress_rls_reg.mv') $$, '42809', NULL, 'a materialized view: 42809');
SELECT throws_ok($$ SELECT tenancy.register_table('regress_rls_reg.ft') $$, '42809', NULL, 'a foreign table: 42809');
SELECT throws_ok($$ SELECT tenancy.register_table('regress_rls_reg.seq') $$, '42809', NULL, 'a sequence: 42809');
SELECT throws_ok($$ SELECT tenancy.register_table('regress_rls_scratch') $$, '0A000', NULL, 'a temporary table: 0A000');
SELECT throws_ok($$ SELECT tenancy.register_table('tenancy.plans') $$, '42809', NULL,
                 'a table of the extension''s own schema: 42809');
SELECT throws_ok($$ SELECT tenancy.register_table(NULL) $$, '22004', NULL, 'a NULL table: 22004');
SELECT throws_ok($$ SELECT tenancy.register_table('regress_rls_reg.filled', NULL) $$, '22004', NULL,
                 'a NULL column: 22004');
SELECT throws_ok($$ SELECT tenancy.register_table('regress_rls_reg.withnulls') $$, '23502', NULL,
                 'a nullable tenant column holding NULLs: 23502');
SELECT is((SELECT attnotnull FROM pg_attribute WHERE attrelid = 'regress_rls_reg.withnulls'::regclass
                                                AND attname = 'tenant_id'), false,
          '... and nothing was changed');
SELECT throws_ok($$ SELECT tenancy.register_table('regress_rls_reg.filled') $$, '55000', NULL,
                 'rows but no tenant column, and no tenant set: 55000');
SELECT hasnt_column('regress_rls_reg', 'filled', 'tenant_id', '... and no column was added');
SELECT is((SELECT count(*)::int FROM tenancy.tables WHERE relid::text LIKE 'regress_rls_reg.%'
             AND relid::text IN ('regress_rls_reg.wrong', 'regress_rls_reg.withnulls', 'regress_rls_reg.filled')), 0,
          'no refused table was recorded in the registry');
-- The same table, with a tenant in force: its rows go to that tenant.
SET tenancy.tenant = 'rls11-acme';
SELECT lives_ok($$ SELECT tenancy.register_table('regress_rls_reg.filled') $$,
                'rows but no tenant column, with a tenant set: registered');
RESET tenancy.tenant;
SELECT results_eq($$ SELECT tenant_id, count(*)::int FROM regress_rls_reg.filled GROUP BY 1 $$,
                  $$ VALUES ('aaaa0011-0000-4000-8000-00000000000a'::uuid, 3) $$,
                  '... and every existing row belongs to the tenant that was set');
SELECT is((SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d JOIN pg_attribute a
             ON a.attrelid = d.adrelid AND a.attnum = d.adnum
            WHERE d.adrelid = 'regress_rls_reg.filled'::regclass AND a.attname = 'tenant_id'),
          'tenancy.current_tenant()', '... while new rows still default to the current tenant');
SELECT ok(regress_rls_reg.covered('regress_rls_reg.filled'), '... and it is covered');
-- Privileges: tenants cannot register, administrators only their own tables.
SET ROLE regress_tenancy_rls_a;
SELECT throws_ok($$ SELECT tenancy.register_table('regress_rls_reg.wrong') $$, '42501', NULL,
                 'a tenant role cannot call register_table');
RESET ROLE;
CREATE TABLE regress_rls_reg.not_mine (tenant_id uuid NOT NULL);
SET ROLE regress_tenancy_rls_owner;
SELECT throws_ok($$ SELECT tenancy.register_table('regress_rls_reg.not_mine') $$, '42501', NULL,
                 'an administrator cannot register a table it does not own');
RESET ROLE;
DROP TABLE regress_rls_reg.not_mine;

-- Names that need quoting: schema, table and tenant column -------------------
CREATE SCHEMA "Regress RLS Quoted";
CREATE TABLE "Regress RLS Quoted"."Order Lines" ("Org ID" uuid NOT NULL, n int) PARTITION BY LIST ("Org ID");
CREATE TABLE "Regress RLS Quoted"."Order Lines a" PARTITION OF "Regress RLS Quoted"."Order Lines"
    FOR VALUES IN ('aaaa0011-0000-4000-8000-00000000000a');
SELECT lives_ok($$ SELECT tenancy.register_table('"Regress RLS Quoted"."Order Lines"', 'Org ID') $$,
                'register a table whose schema, name and tenant column need quoting');
SELECT ok(regress_rls_reg.covered('"Regress RLS Quoted"."Order Lines"', 'Org ID')
          AND regress_rls_reg.covered('"Regress RLS Quoted"."Order Lines a"', 'Org ID'),
          '... it and its partition are covered, on the quoted column');
CREATE TEMP TABLE regress_rls_fp3 AS SELECT regress_rls_reg.fingerprint('"Regress RLS Quoted"."Order Lines"') AS fp;
SELECT tenancy.register_table('"Regress RLS Quoted"."Order Lines"', 'Org ID');
SELECT is(regress_rls_reg.fingerprint('"Regress RLS Quoted"."Order Lines"'), (SELECT fp FROM regress_rls_fp3),
          '... idempotent with quoted names too (the policy is recognised, not re-created)');
CREATE TABLE "Regress RLS Quoted"."Order Lines b" PARTITION OF "Regress RLS Quoted"."Order Lines"
    FOR VALUES IN ('bbbb0011-0000-4000-8000-00000000000b');
SELECT ok(regress_rls_reg.covered('"Regress RLS Quoted"."Order Lines b"', 'Org ID'),
          '... and a partition created later is covered on the quoted column');
SELECT is_empty($$ SELECT * FROM tenancy.check_isolation() WHERE object LIKE '%Regress RLS Quoted%' $$,
                '... and the linter finds nothing to report');

-- Partitioned tables: all partitions, now and later ----------------------------------
CREATE TABLE regress_rls_reg.orders (
    tenant_id uuid NOT NULL, id int NOT NULL, total int, PRIMARY KEY (tenant_id, id)
) PARTITION BY LIST (tenant_id);
CREATE TABLE regress_rls_reg.orders_acme PARTITION OF regress_rls_reg.orders
    FOR VALUES IN ('aaaa0011-0000-4000-8000-00000000000a');
CREATE TABLE regress_rls_reg.orders_sub PARTITION OF regress_rls_reg.orders
    FOR VALUES IN ('bbbb0011-0000-4000-8000-00000000000b') PARTITION BY RANGE (id);
CREATE TABLE regress_rls_reg.orders_sub_low PARTITION OF regress_rls_reg.orders_sub FOR VALUES FROM (0) TO (100);
SELECT throws_ok($$ SELECT tenancy.register_table('regress_rls_reg.orders_acme') $$, '42809', NULL,
                 'a partition on its own: 42809');
SELECT lives_ok($$ SELECT tenancy.register_table('regress_rls_reg.orders') $$, 'register a partitioned table');
SELECT ok(regress_rls_reg.covered('regress_rls_reg.orders'), 'the partitioned parent is covered');
SELECT ok(regress_rls_reg.covered('regress_rls_reg.orders_acme'), 'an existing partition is covered');
SELECT ok(regress_rls_reg.covered('regress_rls_reg.orders_sub'), 'an existing sub-partitioned partition is covered');
SELECT ok(regress_rls_reg.covered('regress_rls_reg.orders_sub_low'), 'an existing sub-partition is covered');
CREATE TEMP TABLE regress_rls_fp2 AS SELECT regress_rls_reg.fingerprint('regress_rls_reg.orders') AS fp;
SELECT lives_ok($$ SELECT tenancy.register_table('regress_rls_reg.orders') $$, 'register the partitioned table again');
SELECT is(regress_rls_reg.fingerprint('regress_rls_reg.orders'), (SELECT fp FROM regress_rls_fp2),
          'idempotent over the whole partition tree');
SELECT throws_ok($$ SELECT tenancy.register_table('regress_rls_reg.orders_sub_low') $$, '42809', NULL,
                 'a sub-partition on its own: 42809');
CREATE TABLE regress_rls_reg.orders_later PARTITION OF regress_rls_reg.orders DEFAULT;
SELECT ok(regress_rls_reg.covered('regress_rls_reg.orders_later'), 'a partition created later is covered at once');
CREATE TABLE regress_rls_reg.orders_sub_high PARTITION OF regress_rls_reg.orders_sub FOR VALUES FROM (100) TO (200);
SELECT ok(regress_rls_reg.covered('regress_rls_reg.orders_sub_high'), 'a sub-partition created later is covered');
ALTER TABLE regress_rls_reg.orders DETACH PARTITION regress_rls_reg.orders_later;
CREATE TABLE regress_rls_reg.orders_attached (LIKE regress_rls_reg.orders);
GRANT ALL ON regress_rls_reg.orders_attached TO PUBLIC;
SELECT ok(NOT regress_rls_reg.covered('regress_rls_reg.orders_attached'), '(a standalone table is not covered)');
ALTER TABLE regress_rls_reg.orders ATTACH PARTITION regress_rls_reg.orders_attached DEFAULT;
SELECT ok(regress_rls_reg.covered('regress_rls_reg.orders_attached'), 'a partition attached later is covered');
SELECT ok(NOT has_table_privilege('public', 'regress_rls_reg.orders_attached', 'TRUNCATE'),
          '... and its TRUNCATE grant to PUBLIC is taken back');
SELECT ok((SELECT atthasdef FROM pg_attribute WHERE attrelid = 'regress_rls_reg.orders_attached'::regclass
                                                AND attname = 'tenant_id'),
          '... and its tenant column gets the default');

-- Inheritance children, now and later ------------------------------------------------
CREATE TABLE regress_rls_reg.events (tenant_id uuid NOT NULL, what text);
CREATE TABLE regress_rls_reg.events_old () INHERITS (regress_rls_reg.events);
SELECT throws_ok($$ SELECT tenancy.register_table('regress_rls_reg.events_old') $$, '42809', NULL,
                 'an inheritance child on its own: 42809');
SELECT lives_ok($$ SELECT tenancy.register_table('regress_rls_reg.events') $$, 'register an inheritance parent');
SELECT ok(regress_rls_reg.covered('regress_rls_reg.events_old'), 'an existing inheritance child is covered');
CREATE TABLE regress_rls_reg.events_new () INHERITS (regress_rls_reg.events);
SELECT ok(regress_rls_reg.covered('regress_rls_reg.events_new'), 'an inheritance child created later is covered');
CREATE TABLE regress_rls_reg.events_grandchild () INHERITS (regress_rls_reg.events_new);
SELECT ok(regress_rls_reg.covered('regress_rls_reg.events_grandchild'), 'a grandchild created later is covered');
CREATE TABLE regress_rls_reg.events_adopted (tenant_id uuid NOT NULL, what text);
ALTER TABLE regress_rls_reg.events_adopted INHERIT regress_rls_reg.events;
SELECT ok(regress_rls_reg.covered('regress_rls_reg.events_adopted'), 'a table made a child later by ALTER ... INHERIT is covered');

-- TRUNCATE ---------------------------------------------------------------------------
CREATE TABLE regress_rls_reg.ledger (tenant_id uuid NOT NULL, amount int);
CREATE ROLE regress_tenancy_rls_admin2 NOLOGIN IN ROLE tenancy_admin;
GRANT ALL ON regress_rls_reg.ledger TO PUBLIC;
GRANT TRUNCATE ON regress_rls_reg.ledger TO regress_tenancy_rls_a, regress_tenancy_rls_admin2;
SELECT tenancy.register_table('regress_rls_reg.ledger');
SELECT ok(NOT EXISTS (SELECT 1 FROM aclexplode((SELECT relacl FROM pg_class WHERE oid = 'regress_rls_reg.ledger'::regclass)) a
                       WHERE a.privilege_type = 'TRUNCATE' AND a.grantee = 0),
          'TRUNCATE is revoked from PUBLIC');
SELECT ok(NOT has_table_privilege('regress_tenancy_rls_a', 'regress_rls_reg.ledger', 'TRUNCATE'),
          'TRUNCATE is revoked from a tenant role it was granted to');
SELECT ok(has_table_privilege('regress_tenancy_rls_a', 'regress_rls_reg.ledger', 'SELECT, INSERT, UPDATE, DELETE'),
          '... which keeps its other privileges');
SELECT ok(has_table_privilege('regress_tenancy_rls_admin2', 'regress_rls_reg.ledger', 'TRUNCATE'),
          'an administrator keeps TRUNCATE');
SET ROLE regress_tenancy_rls_a;
SET tenancy.tenant = 'rls11-acme';
SELECT throws_ok($$ TRUNCATE regress_rls_reg.ledger $$, '42501', NULL, 'the tenant role cannot TRUNCATE');
RESET tenancy.tenant;
RESET ROLE;

-- Self-healing: any ALTER TABLE on a registered table re-applies the contract --
ALTER TABLE regress_rls_reg.customers NO FORCE ROW LEVEL SECURITY;
SELECT ok(regress_rls_reg.covered('regress_rls_reg.customers'), 'ALTER TABLE ... NO FORCE is undone at once');
ALTER TABLE regress_rls_reg.customers DISABLE ROW LEVEL SECURITY;
SELECT ok(regress_rls_reg.covered('regress_rls_reg.customers'), 'ALTER TABLE ... DISABLE ROW LEVEL SECURITY is undone at once');
ALTER TABLE regress_rls_reg.orders_acme NO FORCE ROW LEVEL SECURITY;
SELECT ok(regress_rls_reg.covered('regress_rls_reg.orders_acme'), '... also on a partition');
ALTER TABLE regress_rls_reg.customers ALTER COLUMN tenant_id DROP NOT NULL;
SELECT col_not_null('regress_rls_reg', 'customers', 'tenant_id', 'DROP NOT NULL on the tenant column is undone');
ALTER TABLE regress_rls_reg.customers ALTER COLUMN tenant_id DROP DEFAULT;
SELECT ok((SELECT atthasdef FROM pg_attribute WHERE attrelid = 'regress_rls_reg.customers'::regclass
                                                AND attname = 'tenant_id'), 'DROP DEFAULT on the tenant column is undone');
SELECT throws_ok($$ ALTER TABLE regress_rls_reg.customers RENAME COLUMN tenant_id TO org $$, '42703', NULL,
                 'renaming the tenant column of a registered table is refused');
SELECT throws_ok($$ ALTER TABLE regress_rls_reg.customers DROP COLUMN tenant_id $$, '2BP01', NULL,
                 'dropping the tenant column is refused (the policy depends on it)');
SELECT throws_ok($$ ALTER TABLE regress_rls_reg.customers DROP COLUMN tenant_id CASCADE $$, '42703', NULL,
                 '... also with CASCADE (the event trigger refuses a registered table without it)');
SELECT throws_ok($$ ALTER TABLE regress_rls_reg.customers ALTER COLUMN tenant_id TYPE text $$, '0A000', NULL,
                 'changing the type of the tenant column is refused');
SELECT ok(regress_rls_reg.covered('regress_rls_reg.customers'), '... and customers is still covered');
-- DROP POLICY is no ALTER TABLE: it is not undone, but it fails closed.
INSERT INTO regress_rls_reg.ledger VALUES ('aaaa0011-0000-4000-8000-00000000000a', 1),
                                          ('bbbb0011-0000-4000-8000-00000000000b', 2);
DROP POLICY tenancy_isolation ON regress_rls_reg.ledger;
SET ROLE regress_tenancy_rls_a;
SET tenancy.tenant = 'rls11-acme';
SELECT is((SELECT count(*)::int FROM regress_rls_reg.ledger), 0,
          'with the policy dropped, a tenant sees no row at all (RLS without a policy denies)');
SELECT throws_ok($$ INSERT INTO regress_rls_reg.ledger VALUES ('aaaa0011-0000-4000-8000-00000000000a', 3) $$,
                 '42501', NULL, '... and can write none');
RESET tenancy.tenant;
RESET ROLE;
SELECT tenancy.register_table('regress_rls_reg.ledger');
SET ROLE regress_tenancy_rls_a;
SET tenancy.tenant = 'rls11-acme';
SELECT is((SELECT sum(amount)::int FROM regress_rls_reg.ledger), 1, 'register_table again restores the policy');
RESET tenancy.tenant;
RESET ROLE;
SET ROLE regress_tenancy_rls_owner;
CREATE TABLE regress_rls_reg.owned (tenant_id uuid NOT NULL);
RESET ROLE;
SELECT tenancy.register_table('regress_rls_reg.owned');
SET ROLE regress_tenancy_rls_owner;
ALTER TABLE regress_rls_reg.owned NO FORCE ROW LEVEL SECURITY;
RESET ROLE;
SELECT ok(regress_rls_reg.covered('regress_rls_reg.owned'),
          'NO FORCE by a non-superuser owner is undone too');

-- unregister_table --------------------------------------------------------------------
SELECT lives_ok($$ SELECT tenancy.unregister_table('regress_rls_reg.orders') $$, 'unregister a partitioned table');
SELECT is((SELECT count(*)::int FROM pg_policy WHERE polname = 'tenancy_isolation'
             AND polrelid IN (SELECT regress_rls_reg.tree('regress_rls_reg.orders'))), 0,
          'its policies are gone, partitions included');
SELECT is((SELECT count(*)::int FROM pg_class WHERE (relforcerowsecurity OR relrowsecurity)
             AND oid IN (SELECT regress_rls_reg.tree('regress_rls_reg.orders'))), 0,
          'FORCE (and, with no policy left, RLS) is off on the whole tree');
SELECT is((SELECT count(*)::int FROM tenancy.tables WHERE relid = 'regress_rls_reg.orders'::regclass), 0,
          'it left the registry');
SELECT has_column('regress_rls_reg', 'orders', 'tenant_id', 'the tenant column stays');
SELECT throws_ok($$ SELECT tenancy.unregister_table('regress_rls_reg.orders') $$, '22023', NULL,
                 'unregistering again: 22023');
SELECT throws_ok($$ SELECT tenancy.unregister_table(NULL) $$, '22004', NULL, 'unregister NULL: 22004');
CREATE TABLE regress_rls_reg.orders_after PARTITION OF regress_rls_reg.orders FOR VALUES IN ('cccc0011-0000-4000-8000-00000000000c');
SELECT is((SELECT count(*)::int FROM pg_policy WHERE polrelid = 'regress_rls_reg.orders_after'::regclass), 0,
          'a partition created after unregistering is left alone');
SELECT lives_ok($$ SELECT tenancy.register_table('regress_rls_reg.orders') $$, 'register it again');
SELECT ok(regress_rls_reg.covered('regress_rls_reg.orders_after') AND regress_rls_reg.covered('regress_rls_reg.orders_acme'),
          '... and the whole tree is covered again');

-- auto_register and tenancy.managed_schemas -----------------------------------------
CREATE SCHEMA regress_rls_managed;
SET ROLE regress_tenancy_rls_a;
SELECT throws_ok($$ SET tenancy.managed_schemas = 'regress_rls_managed' $$, '42501', NULL,
                 'tenancy.managed_schemas is for superusers only');
RESET ROLE;
SET tenancy.managed_schemas = 'regress_rls_managed, regress_rls_other_managed';
CREATE TABLE regress_rls_managed.notes (tenant_id uuid, body text);
CREATE TABLE regress_rls_managed.lookup (code text);
CREATE TABLE regress_rls_reg.unmanaged (tenant_id uuid, body text);
SELECT ok(regress_rls_reg.covered('regress_rls_managed.notes')
          AND EXISTS (SELECT 1 FROM tenancy.tables WHERE relid = 'regress_rls_managed.notes'::regclass),
          'auto_register: a new table with tenant_id in a managed schema is registered at once');
SELECT col_not_null('regress_rls_managed', 'notes', 'tenant_id', '... its tenant column made NOT NULL');
SELECT ok(NOT EXISTS (SELECT 1 FROM tenancy.tables WHERE relid = 'regress_rls_managed.lookup'::regclass),
          'auto_register: a table without tenant_id in a managed schema is not');
SELECT ok(NOT EXISTS (SELECT 1 FROM tenancy.tables WHERE relid = 'regress_rls_reg.unmanaged'::regclass)
          AND NOT regress_rls_reg.covered('regress_rls_reg.unmanaged'),
          'auto_register: a table with tenant_id outside the managed schemas is not');
RESET tenancy.managed_schemas;
CREATE TABLE regress_rls_managed.after_reset (tenant_id uuid);
SELECT ok(NOT EXISTS (SELECT 1 FROM tenancy.tables WHERE relid = 'regress_rls_managed.after_reset'::regclass),
          'auto_register: with tenancy.managed_schemas reset nothing is registered');
DROP TABLE regress_rls_reg.unmanaged, regress_rls_managed.after_reset;
DROP TABLE regress_rls_managed.notes;
SELECT ok(NOT EXISTS (SELECT 1 FROM tenancy.tables WHERE relid::oid NOT IN (SELECT oid FROM pg_class)),
          'a dropped table leaves the registry');

-- check_isolation ------------------------------------------------------------------
-- Clear what earlier sections left that the linter rightly reports: tables
-- with a tenant column that are not registered (refused or detached), and
-- the primary key (id) of customers, which lacks the tenant column.
DROP TABLE regress_rls_reg.wrong, regress_rls_reg.withnulls, regress_rls_reg.orders_later;
ALTER TABLE regress_rls_reg.customers DROP CONSTRAINT customers_pkey;
SELECT is_empty($$ SELECT * FROM tenancy.check_isolation() $$, 'check_isolation: a clean setup has no findings');
SET ROLE regress_tenancy_rls_a;
SELECT throws_ok($$ SELECT * FROM tenancy.check_isolation() $$, '42501', NULL, 'tenant roles cannot run the linter');
RESET ROLE;

-- One table per class of misconfiguration.  The event trigger re-applies the
-- contract on every ALTER TABLE of a registered table, so it is disabled first.
CREATE TABLE regress_rls_reg.m_disabled (tenant_id uuid NOT NULL);
CREATE TABLE regress_rls_reg.m_noforce (tenant_id uuid NOT NULL);
CREATE TABLE regress_rls_reg.m_nopolicy (tenant_id uuid NOT NULL);
CREATE TABLE regress_rls_reg.m_changed (tenant_id uuid NOT NULL);
CREATE TABLE regress_rls_reg.m_open (tenant_id uuid NOT NULL);
CREATE TABLE regress_rls_reg.m_unique (tenant_id uuid NOT NULL, code text);
CREATE TABLE regress_rls_reg.m_parent (tenant_id uuid NOT NULL, id int NOT NULL, PRIMARY KEY (tenant_id, id));
CREATE TABLE regress_rls_reg.m_child (tenant_id uuid NOT NULL, parent_id int);
CREATE TABLE regress_rls_reg.m_trunc (tenant_id uuid NOT NULL);
CREATE TABLE regress_rls_reg.m_part (tenant_id uuid NOT NULL) PARTITION BY LIST (tenant_id);
CREATE TABLE regress_rls_reg.m_inh (tenant_id uuid NOT NULL);
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['m_disabled', 'm_noforce', 'm_nopolicy', 'm_changed', 'm_open', 'm_unique',
                             'm_parent', 'm_child', 'm_trunc', 'm_part', 'm_inh'] LOOP
        PERFORM tenancy.register_table(('regress_rls_reg.' || t)::regclass);
    END LOOP;
END $$;
SELECT is_empty($$ SELECT * FROM tenancy.check_isolation() $$, 'check_isolation: still clean before the damage');

ALTER EVENT TRIGGER tenancy_auto_register DISABLE;
ALTER TABLE regress_rls_reg.m_disabled DISABLE ROW LEVEL SECURITY;
ALTER TABLE regress_rls_reg.m_noforce NO FORCE ROW LEVEL SECURITY;
DROP POLICY tenancy_isolation ON regress_rls_reg.m_nopolicy;
ALTER POLICY tenancy_isolation ON regress_rls_reg.m_changed USING (true);
CREATE POLICY open_door ON regress_rls_reg.m_open FOR SELECT USING (true);
CREATE UNIQUE INDEX m_unique_code ON regress_rls_reg.m_unique (code);
-- An exclusion constraint without the tenant column is a unique key by
-- another name: a tenant learns whether another tenant's rows overlap any
-- range it tries, and can narrow them down by bisection.
CREATE TABLE regress_rls_reg.m_excl (tenant_id uuid NOT NULL, during int4range NOT NULL,
                                     CONSTRAINT m_excl_during EXCLUDE USING gist (during WITH &&));
SELECT tenancy.register_table('regress_rls_reg.m_excl');
CREATE UNIQUE INDEX m_parent_id ON regress_rls_reg.m_parent (id);
ALTER TABLE regress_rls_reg.m_child ADD CONSTRAINT m_child_parent_fkey FOREIGN KEY (parent_id)
    REFERENCES regress_rls_reg.m_parent (id);
GRANT TRUNCATE ON regress_rls_reg.m_trunc TO regress_tenancy_rls_a;
GRANT TRUNCATE ON regress_rls_reg.m_trunc TO PUBLIC;
-- TRIGGER and REFERENCES are no more governed by row level security than
-- TRUNCATE (see test/pgtap/10_rls_adversarial.sql).
GRANT TRIGGER ON regress_rls_reg.m_trunc TO regress_tenancy_rls_a;
GRANT REFERENCES ON regress_rls_reg.m_trunc TO PUBLIC;
CREATE TABLE regress_rls_reg.m_part_p PARTITION OF regress_rls_reg.m_part
    FOR VALUES IN ('aaaa0011-0000-4000-8000-00000000000a');
CREATE TABLE regress_rls_reg.m_inh_child () INHERITS (regress_rls_reg.m_inh);
CREATE VIEW regress_rls_reg.m_view AS SELECT * FROM regress_rls_reg.customers;
CREATE VIEW regress_rls_reg.ok_invoker_view WITH (security_invoker) AS SELECT * FROM regress_rls_reg.customers;
CREATE VIEW regress_rls_reg.ok_owner_view AS SELECT * FROM regress_rls_reg.customers;
ALTER VIEW regress_rls_reg.ok_owner_view OWNER TO regress_tenancy_rls_owner;
CREATE MATERIALIZED VIEW regress_rls_reg.m_mv AS SELECT count(*) AS n FROM regress_rls_reg.customers;
CREATE FUNCTION regress_rls_reg.m_definer() RETURNS bigint LANGUAGE sql SECURITY DEFINER
    AS $$ SELECT count(*) FROM regress_rls_reg.customers $$;
CREATE FUNCTION regress_rls_reg.ok_invoker() RETURNS bigint LANGUAGE sql
    AS $$ SELECT count(*) FROM regress_rls_reg.customers $$;
CREATE FUNCTION regress_rls_reg.ok_definer() RETURNS bigint LANGUAGE sql SECURITY DEFINER
    AS $$ SELECT count(*) FROM regress_rls_reg.customers $$;
ALTER FUNCTION regress_rls_reg.ok_definer() OWNER TO regress_tenancy_rls_owner;
CREATE TABLE regress_rls_reg.m_forgotten (tenant_id uuid, x int);
CREATE TABLE regress_rls_reg.m_forgotten_fk (org uuid REFERENCES tenancy.tenants (id), x int);

SELECT regress_rls_reg.lint();
SELECT ok(regress_rls_reg.finds('regress_rls_reg.m_disabled', 'row level security is disabled', 'error'),
          'finds: RLS disabled');
SELECT ok(regress_rls_reg.finds('regress_rls_reg.m_noforce', 'row level security is not forced%', 'error'),
          'finds: RLS not forced');
SELECT ok(regress_rls_reg.finds('regress_rls_reg.m_nopolicy', 'the tenancy_isolation policy is missing%', 'error'),
          'finds: the policy missing');
SELECT ok(regress_rls_reg.finds('regress_rls_reg.m_changed', 'the tenancy_isolation policy is missing or was changed', 'error'),
          'finds: the policy changed (USING (true))');
SELECT ok(regress_rls_reg.finds('policy open_door on regress_rls_reg.m_open', 'an extra permissive policy%', 'error'),
          'finds: an extra permissive policy');
SELECT ok(regress_rls_reg.finds('regress_rls_reg.m_part_p', '%lacks the tenancy_isolation policy%', 'error')
          AND regress_rls_reg.finds('regress_rls_reg.m_part_p', 'row level security is disabled on this partition%', 'error'),
          'finds: a partition without policy and RLS');
SELECT ok(regress_rls_reg.finds('regress_rls_reg.m_inh_child', '%lacks the tenancy_isolation policy%', 'error'),
          'finds: an inheritance child without policy');
SELECT ok(regress_rls_reg.finds('index regress_rls_reg.m_unique_code on regress_rls_reg.m_unique',
                                '%unique index without the tenant column%', 'warning'),
          'finds: a unique key without the tenant column');
SELECT ok(EXISTS (SELECT 1 FROM regress_rls_findings WHERE object LIKE '%m_excl_during%' AND coalesce(fix, '') <> ''),
          'finds: an exclusion constraint without the tenant column');
SELECT ok(regress_rls_reg.finds('constraint m_child_parent_fkey on regress_rls_reg.m_child',
                                'a foreign key to tenant table regress_rls_reg.m_parent without the tenant column%', 'warning'),
          'finds: a foreign key without the tenant column');
SELECT ok(regress_rls_reg.finds('view regress_rls_reg.m_view', '%who bypasses row level security', 'error'),
          'finds: a view owned by a superuser without security_invoker');
SELECT ok(regress_rls_reg.finds('materialized view regress_rls_reg.m_mv', '%materialized views have no row level security', 'error'),
          'finds: a materialized view over a tenant table');
SELECT ok(regress_rls_reg.finds('function regress_rls_reg.m_definer()', 'SECURITY DEFINER as %', 'warning'),
          'finds: a SECURITY DEFINER function owned by a superuser naming the table');
SELECT ok(regress_rls_reg.finds('regress_rls_reg.m_trunc', 'TRUNCATE is granted to regress_tenancy_rls_a%', 'error'),
          'finds: TRUNCATE granted to a tenant role');
SELECT ok(regress_rls_reg.finds('regress_rls_reg.m_trunc', 'TRUNCATE is granted to PUBLIC%', 'error'),
          'finds: TRUNCATE granted to PUBLIC');
SELECT ok(EXISTS (SELECT 1 FROM regress_rls_findings WHERE object = 'regress_rls_reg.m_trunc' AND problem ~ 'TRIGGER'),
          'finds: TRIGGER granted to a tenant role (its trigger would run in every tenant''s writes)');
SELECT ok(EXISTS (SELECT 1 FROM regress_rls_findings WHERE object = 'regress_rls_reg.m_trunc' AND problem ~ 'REFERENCES'),
          'finds: REFERENCES granted to PUBLIC (a foreign key onto the table is checked without row level security)');
SELECT ok(regress_rls_reg.finds('regress_rls_reg.m_forgotten', 'has tenant column tenant_id but is not registered%', 'warning'),
          'finds: an unregistered table with a tenant_id column');
SELECT ok(regress_rls_reg.finds('regress_rls_reg.m_forgotten_fk', 'has tenant column org but is not registered%', 'warning'),
          'finds: an unregistered table referencing tenancy.tenants by another column');
SELECT is_empty($$ SELECT * FROM regress_rls_findings WHERE object ~ '(ok_invoker_view|ok_owner_view|ok_invoker|ok_definer)' $$,
                'no finding for a security_invoker view, a view or SECURITY DEFINER function owned by a role subject to RLS, or an invoker function');
SELECT is_empty($$ SELECT * FROM regress_rls_findings
                   WHERE severity NOT IN ('error', 'warning') OR coalesce(fix, '') = '' OR coalesce(problem, '') = '' $$,
                'every finding has a severity, a problem and a fix');

ALTER EVENT TRIGGER tenancy_auto_register ENABLE;
-- register_table repairs what it owns.
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['m_disabled', 'm_noforce', 'm_nopolicy', 'm_changed', 'm_part', 'm_inh', 'm_trunc'] LOOP
        PERFORM tenancy.register_table(('regress_rls_reg.' || t)::regclass);
    END LOOP;
END $$;
SELECT regress_rls_reg.lint();
SELECT is_empty($$ SELECT * FROM regress_rls_findings
                   WHERE object ~ '^regress_rls_reg\.m_(disabled|noforce|nopolicy|changed|part_p|inh_child|trunc)$' $$,
                'register_table again repairs RLS, FORCE, the policy, partitions, children and TRUNCATE');
SELECT ok(regress_rls_reg.finds('policy open_door on regress_rls_reg.m_open', 'an extra permissive policy%'),
          '... but leaves an extra policy for the owner to judge, still reported');
-- A table with its own permissive policy attached as a partition: covered,
-- and its extra policy (OR-ed with the tenancy_isolation policy) reported.
CREATE TABLE regress_rls_reg.m_part_open (tenant_id uuid NOT NULL);
ALTER TABLE regress_rls_reg.m_part_open ENABLE ROW LEVEL SECURITY;
CREATE POLICY open_door ON regress_rls_reg.m_part_open USING (true);
ALTER TABLE regress_rls_reg.m_part ATTACH PARTITION regress_rls_reg.m_part_open
    FOR VALUES IN ('bbbb0011-0000-4000-8000-00000000000b');
SELECT ok(regress_rls_reg.covered('regress_rls_reg.m_part_open'), 'an attached partition with its own policy is covered');
SELECT regress_rls_reg.lint();
SELECT ok(regress_rls_reg.finds('policy open_door on regress_rls_reg.m_part_open', 'an extra permissive policy%', 'error'),
          '... and its extra permissive policy is reported');

SELECT * FROM finish();
ROLLBACK;
