-- Catalog: structure, privileges and row visibility of tenancy.tenants,
-- tenancy.members, tenancy.plans and tenancy.tables for tenant roles,
-- non-superuser administrators and roles with no tenant at all.
BEGIN;
SELECT plan(61);

-- Fixtures (rolled back with everything else) ------------------------------
CREATE ROLE regress_tenancy_tap_alice NOLOGIN;      -- tap-acme (viewer)
CREATE ROLE regress_tenancy_tap_bob NOLOGIN;        -- tap-globex, tap-hooli
CREATE ROLE regress_tenancy_tap_grp NOLOGIN;        -- tap-globex (as a group)
CREATE ROLE regress_tenancy_tap_carol NOLOGIN IN ROLE regress_tenancy_tap_grp;
CREATE ROLE regress_tenancy_tap_mallory NOLOGIN;    -- no tenant at all
CREATE ROLE regress_tenancy_tap_admin NOLOGIN IN ROLE tenancy_admin;

DO $$
BEGIN
    PERFORM tenancy.create_tenant('tap-acme', 'Acme', 'basic',
                                  'a1a1a1a1-0000-4000-8000-000000000001');
    PERFORM tenancy.create_tenant('tap-globex', 'Globex', 'premium',
                                  'b2b2b2b2-0000-4000-8000-000000000002');
    PERFORM tenancy.create_tenant('tap-hooli', 'Hooli', 'basic',
                                  'c3c3c3c3-0000-4000-8000-000000000003');
    PERFORM tenancy.grant_tenant('regress_tenancy_tap_alice', 'tap-acme', 'viewer');
    PERFORM tenancy.grant_tenant('regress_tenancy_tap_bob', 'tap-globex', 'admin');
    PERFORM tenancy.grant_tenant('regress_tenancy_tap_bob', 'tap-hooli', 'viewer');
    PERFORM tenancy.grant_tenant('regress_tenancy_tap_grp', 'tap-globex');
    PERFORM tenancy.suspend_tenant('tap-hooli', 'unpaid');
END
$$;

-- Structure ------------------------------------------------------------------
SELECT has_table('tenancy', 'tenants', 'tenancy.tenants exists');
SELECT has_table('tenancy', 'members', 'tenancy.members exists');
SELECT has_table('tenancy', 'plans', 'tenancy.plans exists');
SELECT has_table('tenancy', 'tables', 'tenancy.tables exists');
SELECT col_is_pk('tenancy', 'tenants', 'id', 'tenants.id is the primary key');
SELECT col_is_unique('tenancy', 'tenants', 'slug', 'tenants.slug is unique');
SELECT fk_ok('tenancy', 'tenants', 'plan', 'tenancy', 'plans', 'name',
             'tenants.plan references plans.name');
SELECT fk_ok('tenancy', 'members', 'tenant_id', 'tenancy', 'tenants', 'id',
             'members.tenant_id references tenants.id');
SELECT results_eq(
    $$ SELECT name FROM tenancy.plans ORDER BY name $$,
    ARRAY['basic', 'enterprise', 'premium'],
    'the seeded plans are basic, premium and enterprise');
SELECT ok((SELECT relrowsecurity FROM pg_class WHERE oid = 'tenancy.tenants'::regclass),
          'row-level security is enabled on tenancy.tenants');
SELECT ok((SELECT relrowsecurity FROM pg_class WHERE oid = 'tenancy.members'::regclass),
          'row-level security is enabled on tenancy.members');
SELECT set_eq(
    $$ SELECT unnest(extconfig)::regclass::text FROM pg_extension WHERE extname = 'tenancy' $$,
    ARRAY['tenancy.plans', 'tenancy.tenants', 'tenancy.members', 'tenancy.tables',
          'tenancy.tenant_keys', 'tenancy.spare_tenant_ids', 'tenancy.audit_log_default',
          'tenancy.audit_log_id_seq', 'tenancy.audit_seal_runs', 'tenancy.audit_seals'],
    'the catalog tables are registered with pg_extension_config_dump');
SELECT ok(EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tenancy_admin'
                                           AND NOT rolcanlogin AND NOT rolsuper),
          'role tenancy_admin exists, cannot log in and is no superuser');
SELECT is_empty(
    $$ SELECT p.oid::regprocedure::text FROM pg_proc p
        WHERE p.pronamespace = 'tenancy'::regnamespace
          AND p.prosecdef
          AND (NOT coalesce(p.proconfig::text[] && ARRAY['search_path=pg_catalog, pg_temp'], false)
               OR has_function_privilege('regress_tenancy_tap_mallory', p.oid, 'EXECUTE')) $$,
    'every SECURITY DEFINER function pins search_path and is closed to tenant roles');

-- A role with no tenant: every write to the catalog is refused ------------
SET ROLE regress_tenancy_tap_mallory;
SELECT throws_ok(
    $$ INSERT INTO tenancy.tenants (slug, name) VALUES ('tap-evil', 'Evil') $$,
    '42501', NULL, 'a tenant role cannot INSERT into tenancy.tenants');
SELECT throws_ok(
    $$ UPDATE tenancy.tenants SET status = 'active' WHERE slug = 'tap-hooli' $$,
    '42501', NULL, 'a tenant role cannot UPDATE tenancy.tenants');
SELECT throws_ok(
    $$ DELETE FROM tenancy.tenants $$,
    '42501', NULL, 'a tenant role cannot DELETE from tenancy.tenants');
SELECT throws_ok(
    $$ TRUNCATE tenancy.tenants CASCADE $$,
    '42501', NULL, 'a tenant role cannot TRUNCATE tenancy.tenants');
SELECT throws_ok(
    $$ INSERT INTO tenancy.members (tenant_id, role_name)
       VALUES ('b2b2b2b2-0000-4000-8000-000000000002', 'regress_tenancy_tap_mallory') $$,
    '42501', NULL, 'a tenant role cannot make itself a member by INSERT into tenancy.members');
SELECT throws_ok(
    $$ UPDATE tenancy.members SET role_name = 'regress_tenancy_tap_mallory' $$,
    '42501', NULL, 'a tenant role cannot UPDATE tenancy.members');
SELECT throws_ok(
    $$ DELETE FROM tenancy.members $$,
    '42501', NULL, 'a tenant role cannot DELETE from tenancy.members');
SELECT throws_ok(
    $$ INSERT INTO tenancy.plans (name) VALUES ('tap-free') $$,
    '42501', NULL, 'a tenant role cannot INSERT into tenancy.plans');
SELECT throws_ok(
    $$ UPDATE tenancy.plans SET max_rows = NULL $$,
    '42501', NULL, 'a tenant role cannot lift plan limits by UPDATE of tenancy.plans');
SELECT throws_ok(
    $$ DELETE FROM tenancy.plans WHERE NOT builtin $$,
    '42501', NULL, 'a tenant role cannot DELETE from tenancy.plans');
SELECT throws_ok(
    $$ INSERT INTO tenancy.tables (relid) VALUES ('pg_catalog.pg_class') $$,
    '42501', NULL, 'a tenant role cannot INSERT into tenancy.tables');
SELECT throws_ok(
    $$ DELETE FROM tenancy.tables $$,
    '42501', NULL, 'a tenant role cannot DELETE from tenancy.tables');

-- ... and every lifecycle function is refused --------------------------------
SELECT throws_ok(
    $$ SELECT tenancy.create_tenant('tap-evil') $$,
    '42501', NULL, 'a tenant role cannot call create_tenant');
SELECT throws_ok(
    $$ SELECT tenancy.suspend_tenant('tap-acme') $$,
    '42501', NULL, 'a tenant role cannot call suspend_tenant');
SELECT throws_ok(
    $$ SELECT tenancy.resume_tenant('tap-hooli') $$,
    '42501', NULL, 'a tenant role cannot call resume_tenant');
SELECT throws_ok(
    $$ SELECT tenancy.grant_tenant('regress_tenancy_tap_mallory', 'tap-globex', 'admin') $$,
    '42501', NULL, 'a tenant role cannot grant itself a tenant');
SELECT throws_ok(
    $$ SELECT tenancy.revoke_tenant('regress_tenancy_tap_alice', 'tap-acme') $$,
    '42501', NULL, 'a tenant role cannot call revoke_tenant');
SELECT throws_ok(
    $$ SELECT tenancy._resolve_tenant('tap-globex') $$,
    '42501', NULL, 'a tenant role cannot call _resolve_tenant (tenant enumeration)');
SELECT throws_ok(
    $$ SELECT tenancy._on_tenant_created('b2b2b2b2-0000-4000-8000-000000000002') $$,
    '42501', NULL, 'a tenant role cannot call _on_tenant_created');
SELECT throws_ok(
    $$ GRANT tenancy_admin TO regress_tenancy_tap_mallory $$,
    '42501', NULL, 'a tenant role cannot grant itself tenancy_admin');
RESET ROLE;

-- CONVENTIONS.md: internal helpers (named _*) have no EXECUTE for PUBLIC.
-- The exceptions run as the querying role by design: _is_member,
-- _current_tenant_or_null and _may_write_settings are called by the
-- catalog's RLS policies, _like and _ilike by queries the planner guard
-- rewrote, _tenant_guard by plans folded for a tenant (src/partition.c).
SELECT is_empty(
    $$ SELECT p.oid::regprocedure::text FROM pg_proc p
        WHERE p.pronamespace = 'tenancy'::regnamespace
          AND p.proname LIKE '\_%'
          AND p.proname NOT IN ('_is_member', '_current_tenant_or_null',
                                '_may_write_settings', '_like', '_ilike', '_tenant_guard')
          AND has_function_privilege('regress_tenancy_tap_mallory', p.oid, 'EXECUTE') $$,
    'no internal helper but those the policies and the planner guard call is executable by tenant roles');
SELECT is_empty(
    $$ SELECT p.oid::regprocedure::text FROM pg_proc p
        WHERE p.pronamespace = 'tenancy'::regnamespace
          AND p.proname IN ('create_tenant', 'suspend_tenant', 'resume_tenant',
                            'grant_tenant', 'revoke_tenant', 'offboard_tenant',
                            'export_tenant')
          AND has_function_privilege('regress_tenancy_tap_alice', p.oid, 'EXECUTE') $$,
    'no lifecycle function is executable by a tenant member');
SET ROLE regress_tenancy_tap_alice;
SELECT throws_ok(
    $$ SELECT * FROM tenancy.offboard_tenant('tap-globex') $$,
    '42501', NULL, 'a tenant member cannot offboard a tenant');
SELECT throws_ok(
    $$ SELECT * FROM tenancy.export_tenant('tap-acme') $$,
    '42501', NULL, 'a tenant member cannot export even her own tenant');
RESET ROLE;

-- Row visibility -------------------------------------------------------------
SET ROLE regress_tenancy_tap_mallory;
SELECT is_empty($$ SELECT slug COLLATE "default" FROM tenancy.tenants $$,
                'a role with no tenant sees no row of tenancy.tenants');
SELECT is_empty($$ SELECT role_name FROM tenancy.members $$,
                'a role with no tenant sees no row of tenancy.members');
SELECT results_eq($$ SELECT count(*)::int FROM tenancy.plans $$, ARRAY[3],
                  'plans are public reading');

SET ROLE regress_tenancy_tap_alice;
SELECT results_eq($$ SELECT slug COLLATE "default" FROM tenancy.tenants ORDER BY slug $$,
                  ARRAY['tap-acme'],
                  'alice sees only her own tenant in tenancy.tenants');
SELECT is_empty($$ SELECT 1 FROM tenancy.tenants
                    WHERE id = 'b2b2b2b2-0000-4000-8000-000000000002' $$,
                'alice cannot read another tenant''s row, even by its uuid');
SELECT results_eq($$ SELECT (t.slug || ':' || m.role_name::text || ':' || m.level) COLLATE "default"
                      FROM tenancy.members m JOIN tenancy.tenants t ON t.id = m.tenant_id
                     ORDER BY 1 $$,
                  ARRAY['tap-acme:regress_tenancy_tap_alice:viewer'],
                  'alice sees only her own membership in tenancy.members');
SELECT is_empty($$ SELECT 1 FROM tenancy.members
                    WHERE role_name <> 'regress_tenancy_tap_alice' $$,
                'alice sees no other role''s membership');
SELECT results_eq($$ SELECT tenancy._is_member('b2b2b2b2-0000-4000-8000-000000000002') $$,
                  ARRAY[false],
                  '_is_member says nothing about tenants alice is not in');
-- UPDATE of a row she cannot see must not even find it, and is refused.
SELECT throws_ok(
    $$ UPDATE tenancy.tenants SET name = 'x' WHERE slug = 'tap-acme' $$,
    '42501', NULL, 'alice cannot rename her own tenant');

SET ROLE regress_tenancy_tap_bob;
SELECT results_eq($$ SELECT (slug || ':' || status) COLLATE "default" FROM tenancy.tenants ORDER BY slug $$,
                  ARRAY['tap-globex:active', 'tap-hooli:suspended'],
                  'bob sees his tenants, suspended ones included, and no other');
SELECT results_eq($$ SELECT count(*)::int FROM tenancy.members $$, ARRAY[2],
                  'bob sees his two memberships only');

SET ROLE regress_tenancy_tap_carol;
SELECT results_eq($$ SELECT slug COLLATE "default" FROM tenancy.tenants ORDER BY slug $$,
                  ARRAY['tap-globex'],
                  'carol sees the tenant of her group role');
SELECT results_eq($$ SELECT role_name::text COLLATE "default" FROM tenancy.members ORDER BY 1 $$,
                  ARRAY['regress_tenancy_tap_grp'],
                  'carol sees her group''s membership and not bob''s');

-- A non-superuser administrator sees and writes everything ---------------
RESET ROLE;
SELECT count(*) AS all_tenants FROM tenancy.tenants \gset
SELECT count(*) AS all_members FROM tenancy.members \gset
SET ROLE regress_tenancy_tap_admin;
SELECT is(count(*), :all_tenants::bigint, 'a tenancy_admin member sees every tenant')
  FROM tenancy.tenants;
SELECT is(count(*), :all_members::bigint, 'a tenancy_admin member sees every membership')
  FROM tenancy.members;
SELECT lives_ok(
    $$ UPDATE tenancy.tenants SET name = 'Acme Corp' WHERE slug = 'tap-acme' $$,
    'a tenancy_admin member may UPDATE tenancy.tenants');
SELECT lives_ok(
    $$ INSERT INTO tenancy.plans (name, max_rows) VALUES ('tap-tiny', 10) $$,
    'a tenancy_admin member may INSERT into tenancy.plans');
SELECT throws_ok(
    $$ TRUNCATE tenancy.tenants CASCADE $$,
    '42501', NULL, 'not even a tenancy_admin member may TRUNCATE tenancy.tenants');
RESET ROLE;
SELECT is((SELECT name FROM tenancy.tenants WHERE slug = 'tap-acme'), 'Acme Corp',
          'the administrator''s UPDATE took effect');

-- Tenant roles' failed writes changed nothing ----------------------------
SELECT results_eq(
    $$ SELECT (slug || ':' || status) COLLATE "default" FROM tenancy.tenants WHERE slug IN ('tap-acme', 'tap-globex', 'tap-hooli') ORDER BY slug $$,
    ARRAY['tap-acme:active', 'tap-globex:active', 'tap-hooli:suspended'],
    'the tenants are as the administrators left them');
SELECT is((SELECT count(*)::int FROM tenancy.members
            WHERE role_name = 'regress_tenancy_tap_mallory'), 0,
          'mallory holds no membership');
SELECT ok(NOT pg_has_role('regress_tenancy_tap_mallory', 'tenancy_admin', 'MEMBER'),
          'mallory is not a member of tenancy_admin');
SELECT is((SELECT max_rows FROM tenancy.plans WHERE name = 'basic'), 100000::bigint,
          'plan limits are unchanged');

SELECT * FROM finish();
ROLLBACK;
