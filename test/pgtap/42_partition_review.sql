-- Partitions per tenant: attacks found by an adversarial review, kept as
-- tests.  A table owner who is no superuser tries to have isolate_tenant
-- run its code as the extension owner; a hand-made partition shared by two
-- tenants must not be taken for either's own partition (offboarding one
-- would remove the other's rows); a spare id taken by an explicit id must
-- leave the spares usable; a cursor opened with no tenant in force is
-- pinned to the tenant of its first fetch; an administrator must not have
-- the partition functions act on a table whose owner never asked.  (Readers during isolate_tenant:
-- test/concurrency/specs/isolate_readers.spec; parallel workers and an
-- expired require_local context: sql/partition.sql.)
BEGIN;
SELECT plan(23);

CREATE ROLE regress_tenancy_p42_owner NOLOGIN;
CREATE ROLE regress_tenancy_p42_app NOLOGIN;
DO $$
BEGIN
    PERFORM tenancy.create_tenant('p42-acme', 'Acme', 'basic', '4f420000-0000-4000-8000-000000000001');
    PERFORM tenancy.create_tenant('p42-globex', 'Globex', 'basic', '4f420000-0000-4000-8000-000000000002');
    PERFORM tenancy.create_tenant('p42-umbrella', 'Umbrella', 'basic', '4f420000-0000-4000-8000-000000000003');
    PERFORM tenancy.create_tenant('p42-cyberdyne', 'Cyberdyne', 'basic', '4f420000-0000-4000-8000-000000000004');
    PERFORM tenancy.grant_tenant('regress_tenancy_p42_app', 'p42-acme');
    PERFORM tenancy.grant_tenant('regress_tenancy_p42_app', 'p42-globex');
END
$$;
CREATE SCHEMA regress_p42 AUTHORIZATION regress_tenancy_p42_owner;
GRANT USAGE ON SCHEMA regress_p42 TO PUBLIC;

-- 1. isolate_tenant runs the owner's code as the owner ------------------------
SET ROLE regress_tenancy_p42_owner;
CREATE TABLE regress_p42.b (
    tenant_id uuid NOT NULL, id int NOT NULL, v text,
    PRIMARY KEY (tenant_id, id)
) PARTITION BY LIST (tenant_id);
CREATE TABLE regress_p42.who (at text, usr name, super boolean);
CREATE FUNCTION regress_p42.record_who() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO regress_p42.who
    SELECT TG_OP, current_user, r.rolsuper FROM pg_roles r WHERE r.rolname = current_user;
    RETURN NULL;
END
$$;
CREATE FUNCTION regress_p42.check_who(v text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO regress_p42.who
    SELECT 'CHECK', current_user, r.rolsuper FROM pg_roles r WHERE r.rolname = current_user;
    RETURN true;
END
$$;
RESET ROLE;
SELECT tenancy.partition_table('regress_p42.b', buckets => 2);
SET ROLE regress_tenancy_p42_owner;
ALTER TABLE regress_p42.b ADD CONSTRAINT b_v_check CHECK (regress_p42.check_who(v));
CREATE TRIGGER record_who AFTER INSERT OR DELETE ON regress_p42.b
    FOR EACH ROW EXECUTE FUNCTION regress_p42.record_who();
ALTER TABLE regress_p42.b ENABLE ALWAYS TRIGGER record_who;
RESET ROLE;
INSERT INTO regress_p42.b VALUES ('4f420000-0000-4000-8000-000000000001', 1, 'a'),
                                 ('4f420000-0000-4000-8000-000000000001', 2, 'b');
DELETE FROM regress_p42.who;
SET client_min_messages = warning;
SELECT lives_ok($$ SELECT tenancy.isolate_tenant('p42-acme', 'regress_p42.b') $$,
                'a superuser isolates a tenant of a table whose owner has an ALWAYS trigger and a CHECK of its own');
RESET client_min_messages;
SELECT ok((SELECT count(*) FROM regress_p42.who) > 0, 'the owner''s trigger and CHECK ran during the move');
SELECT is((SELECT count(*) FROM regress_p42.who WHERE super OR usr <> 'regress_tenancy_p42_owner'), 0::bigint,
          'none of them ran as a superuser or as anyone but the table''s owner');
SELECT is((SELECT count(*) FROM pg_roles WHERE rolname = 'regress_tenancy_p42_owner' AND rolsuper), 0::bigint,
          'the owner is still no superuser');
SELECT is((SELECT count(*) FROM tenancy.partitions p WHERE p.parent = 'regress_p42.b'::regclass
            AND p.tenant = 'p42-acme'), 1::bigint, 'the tenant has its partition');
SELECT is((SELECT count(*) FROM ONLY regress_p42."b_p42-acme"), 2::bigint, 'with both rows');

-- 2. A partition shared by two tenants is neither's own ------------------------
SET ROLE regress_tenancy_p42_owner;
CREATE TABLE regress_p42.n (
    tenant_id uuid NOT NULL, id int NOT NULL, v text,
    PRIMARY KEY (tenant_id, id)
) PARTITION BY LIST (tenant_id);
CREATE TABLE regress_p42.n_shared PARTITION OF regress_p42.n
    FOR VALUES IN ('4f420000-0000-4000-8000-000000000003', '4f420000-0000-4000-8000-000000000004');
RESET ROLE;
SELECT tenancy.partition_table('regress_p42.n');
INSERT INTO regress_p42.n SELECT t, g, 'x'
  FROM (VALUES ('4f420000-0000-4000-8000-000000000003'::uuid), ('4f420000-0000-4000-8000-000000000004')) v(t),
       generate_series(1, 5) g;
SELECT is(tenancy._tenant_partition('regress_p42.n', '4f420000-0000-4000-8000-000000000003'), NULL,
          'a partition holding two tenants is not the partition of either');
SELECT is((SELECT rows_removed FROM tenancy.offboard_tenant('p42-umbrella', archive => true) o
            WHERE o.table_name = 'regress_p42.n'::regclass), 5::bigint,
          'offboarding one of them removes its own rows only');
SELECT is((SELECT count(*) FROM regress_p42.n WHERE tenant_id = '4f420000-0000-4000-8000-000000000004'), 5::bigint,
          'the other tenant keeps its rows');
SELECT is(to_regclass('regress_p42.n_shared')::text, 'regress_p42.n_shared', 'and the shared partition stays');

-- 3. A spare id taken by an explicit id --------------------------------------
SELECT tenancy.premake_partitions(1);
SELECT lives_ok(format($$ SELECT tenancy.create_tenant('p42-explicit', id => %L) $$,
                       (SELECT s.id FROM tenancy.spare_tenant_ids s LIMIT 1)),
                'create_tenant with the id of a spare');
SELECT is((SELECT count(*) FROM tenancy.spare_tenant_ids s JOIN tenancy.tenants t ON t.id = s.id), 0::bigint,
          'that id is a spare no more');
SELECT lives_ok($$ SELECT tenancy.create_tenant('p42-next') $$, 'the next create_tenant still works');

-- 4. A cursor opened with no tenant in force ----------------------------------
GRANT SELECT ON regress_p42.b TO regress_tenancy_p42_app;
INSERT INTO regress_p42.b SELECT '4f420000-0000-4000-8000-000000000001', g, 'a' FROM generate_series(3, 6) g;
INSERT INTO regress_p42.b SELECT '4f420000-0000-4000-8000-000000000002', g, 'g' FROM generate_series(1, 6) g;
CREATE FUNCTION regress_p42.open_c42() RETURNS refcursor LANGUAGE plpgsql AS $$
DECLARE
    c refcursor := 'c42';
BEGIN
    OPEN c FOR SELECT id FROM regress_p42.b ORDER BY id;
    RETURN c;
END
$$;
SET ROLE regress_tenancy_p42_app;
-- The function's plan, folded for p42-acme, stays cached when the tenant
-- is reset; the cursor then opens with no tenant in force.
SET LOCAL tenancy.tenant = 'p42-acme';
SELECT regress_p42.open_c42();
CLOSE c42;
RESET tenancy.tenant;
SELECT regress_p42.open_c42();
SET LOCAL tenancy.tenant = 'p42-acme';
FETCH 2 FROM c42;
SET LOCAL tenancy.tenant = 'p42-globex';
SELECT throws_ok($$ FETCH 2 FROM c42 $$, '55000', NULL,
                 'a cursor opened with no tenant is pinned to the tenant of its first fetch');
RESET ROLE;

-- 5. Only a table's owner puts it under partition_table() -------------------
-- An administrator who may write tenancy.tables must not flag someone
-- else's table as partitioned and then have the SECURITY DEFINER partition
-- functions drop or create its partitions as the extension owner.
CREATE ROLE regress_tenancy_p42_admin NOLOGIN IN ROLE tenancy_admin;
SET ROLE regress_tenancy_p42_owner;
CREATE TABLE regress_p42.vault (k uuid NOT NULL, v text) PARTITION BY LIST (k);
CREATE TABLE regress_p42.vault_1 PARTITION OF regress_p42.vault
    FOR VALUES IN ('4f420000-0000-4000-8000-000000000001');
INSERT INTO regress_p42.vault VALUES ('4f420000-0000-4000-8000-000000000001', 'precious');
CREATE TABLE regress_p42.flagged (tenant_id uuid NOT NULL, v text) PARTITION BY LIST (tenant_id);
RESET ROLE;
SET ROLE regress_tenancy_p42_admin;
SELECT throws_ok($$ INSERT INTO tenancy.tables (relid, tenant_column, partitioned)
                    VALUES ('regress_p42.vault', 'k', true) $$,
                 '42501', 'permission denied to register table regress_p42.vault with tenancy',
                 'an administrator cannot flag a table it does not own as partitioned');
SELECT throws_ok($$ INSERT INTO tenancy.tables (relid, tenant_column) VALUES ('regress_p42.vault', 'k') $$,
                 '42501', NULL, '... nor register it at all (the event trigger would change its children)');
RESET ROLE;
INSERT INTO tenancy.tables (relid, tenant_column) VALUES ('regress_p42.vault', 'k');
SET ROLE regress_tenancy_p42_admin;
SELECT throws_ok($$ UPDATE tenancy.tables SET partitioned = true WHERE relid = 'regress_p42.vault'::regclass $$,
                 '42501', NULL, 'an administrator cannot set the flag on a registered table it does not own');
SELECT throws_ok($$ SELECT tenancy.partition_table('regress_p42.vault') $$,
                 '42501', NULL, '... nor through partition_table()');
SELECT is(tenancy._partition_remove('regress_p42.vault', '4f420000-0000-4000-8000-000000000001', NULL), NULL,
          'so the partition functions leave the table alone: no partition removed');
SELECT throws_ok($$ SELECT tenancy._partition_create('regress_p42.vault', '4f420000-0000-4000-8000-000000000002') $$,
                 '22023', NULL, '... and none created');
RESET ROLE;
GRANT tenancy_admin TO regress_tenancy_p42_owner;
SET ROLE regress_tenancy_p42_owner;
SELECT lives_ok($$ SELECT tenancy.partition_table('regress_p42.flagged') $$,
                'its owner (an administrator too) puts a table under partition_table()');
RESET ROLE;
SET ROLE regress_tenancy_p42_admin;
SELECT throws_ok($$ UPDATE tenancy.tables SET relid = 'regress_p42.vault'::regclass, tenant_column = 'k'
                     WHERE relid = 'regress_p42.flagged'::regclass $$,
                 '42501', NULL, 'an administrator cannot point a flagged row at another table');
RESET ROLE;
SELECT results_eq($$ SELECT v FROM regress_p42.vault $$, ARRAY['precious'],
                  'the other table and its partition are untouched');

SELECT * FROM finish();
ROLLBACK;
