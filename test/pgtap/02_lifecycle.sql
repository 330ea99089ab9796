-- Tenant lifecycle: create_tenant, suspend_tenant, resume_tenant,
-- grant_tenant, revoke_tenant.  Input validation (SQLSTATEs and messages),
-- atomicity, updated_at / status_changed_at, offboarded finality, and a
-- non-superuser administrator (member of tenancy_admin) doing all of it.
BEGIN;
SELECT plan(106);

CREATE ROLE regress_tenancy_tap_admin NOLOGIN IN ROLE tenancy_admin;
CREATE ROLE regress_tenancy_tap_admgrp NOLOGIN IN ROLE tenancy_admin;
CREATE ROLE regress_tenancy_tap_deputy NOLOGIN IN ROLE regress_tenancy_tap_admgrp;
CREATE ROLE regress_tenancy_tap_alice NOLOGIN;
CREATE ROLE regress_tenancy_tap_bob NOLOGIN;

-- Tenants with timestamps in the past, to see which ones an operation moves
-- (inside one transaction now() never changes).  Inserted directly: the
-- touch trigger only runs on UPDATE.
INSERT INTO tenancy.tenants (id, slug, name, status, status_reason,
                             created_at, updated_at, status_changed_at)
VALUES ('0d000000-0000-4000-8000-000000000001', 'tap-old-active', 'Old', 'active', NULL,
        '2000-01-01', '2000-01-01', '2000-01-01'),
       ('0d000000-0000-4000-8000-000000000002', 'tap-old-susp', 'Old', 'suspended', 'first',
        '2000-01-01', '2000-01-01', '2000-01-01'),
       ('0d000000-0000-4000-8000-000000000003', 'tap-old-susp2', 'Old', 'suspended', 'why',
        '2000-01-01', '2000-01-01', '2000-01-01'),
       ('0d000000-0000-4000-8000-000000000004', 'tap-old-noop', 'Old', 'active', NULL,
        '2000-01-01', '2000-01-01', '2000-01-01'),
       ('0d000000-0000-4000-8000-000000000005', 'tap-old-rename', 'Old', 'active', NULL,
        '2000-01-01', '2000-01-01', '2000-01-01'),
       ('0d000000-0000-4000-8000-000000000006', 'tap-gone', 'Gone', 'offboarded', 'left',
        '2000-01-01', '2000-01-01', '2000-01-01');

SET ROLE regress_tenancy_tap_admin;

-- create_tenant ----------------------------------------------------------
SELECT isnt(tenancy.create_tenant('tap-acme', 'Acme Inc'), NULL,
            'a non-superuser tenancy_admin member creates a tenant and gets its id');
SELECT results_eq(
    $$ SELECT name, status, plan, settings::text, status_reason IS NULL
         FROM tenancy.tenants WHERE slug = 'tap-acme' $$,
    $$ VALUES ('Acme Inc'::text, 'active'::text, 'basic'::text, '{}'::text, true) $$,
    'a new tenant is active, on plan basic, with empty settings and no reason');
SELECT ok((SELECT created_at = now() AND updated_at = now() AND status_changed_at = now()
             FROM tenancy.tenants WHERE slug = 'tap-acme'),
          'created_at, updated_at and status_changed_at start at the creation time');
SELECT is(tenancy.create_tenant('tap-globex', id => 'b2b2b2b2-0000-4000-8000-000000000002'),
          'b2b2b2b2-0000-4000-8000-000000000002'::uuid,
          'create_tenant with an explicit id returns that id');
SELECT is((SELECT name FROM tenancy.tenants WHERE id = 'b2b2b2b2-0000-4000-8000-000000000002'),
          'tap-globex', 'the name defaults to the slug');
SELECT lives_ok($$ SELECT tenancy.create_tenant('tap-big', 'Big', 'enterprise') $$,
                'create_tenant with plan enterprise');
SELECT is((SELECT plan FROM tenancy.tenants WHERE slug = 'tap-big'), 'enterprise',
          'the plan is recorded');
SELECT lives_ok($$ SELECT tenancy.create_tenant('t' || repeat('x_', 31)) $$,
                'a 63-character slug with underscores is accepted');
SELECT lives_ok($$ SELECT tenancy.create_tenant('9z') $$,
                'a two-character slug starting with a digit is accepted');

SELECT throws_ok($$ SELECT tenancy.create_tenant(NULL) $$, '22004',
                 'tenant slug must not be null', 'create_tenant(NULL) raises 22004');
SELECT throws_ok($$ SELECT tenancy.create_tenant('Tap-Upper') $$, '22023',
                 'invalid tenant slug "Tap-Upper"', 'an upper-case slug raises 22023 naming it');
SELECT throws_ok($$ SELECT tenancy.create_tenant('a') $$, '22023', NULL,
                 'a one-character slug raises 22023');
SELECT throws_ok($$ SELECT tenancy.create_tenant('t' || repeat('x', 63)) $$, '22023', NULL,
                 'a 64-character slug raises 22023');
SELECT throws_ok($$ SELECT tenancy.create_tenant('-tap') $$, '22023', NULL,
                 'a slug starting with "-" raises 22023');
SELECT throws_ok($$ SELECT tenancy.create_tenant('_tap') $$, '22023', NULL,
                 'a slug starting with "_" raises 22023');
SELECT throws_ok($$ SELECT tenancy.create_tenant('tap space') $$, '22023', NULL,
                 'a slug with a space raises 22023');
SELECT throws_ok($$ SELECT tenancy.create_tenant(' tap-pad') $$, '22023', NULL,
                 'a slug with leading whitespace raises 22023');
SELECT throws_ok($$ SELECT tenancy.create_tenant(E'tap-nl\n') $$, '22023', NULL,
                 'a slug with a trailing newline raises 22023');
SELECT throws_ok($$ SELECT tenancy.create_tenant('tap.dot') $$, '22023', NULL,
                 'a slug with "." raises 22023');
SELECT throws_ok($$ SELECT tenancy.create_tenant('') $$, '22023', NULL,
                 'an empty slug raises 22023');
SELECT throws_ok($$ SELECT tenancy.create_tenant('tap-plan', plan => 'nosuch') $$, '22023',
                 'unknown plan "nosuch"', 'an unknown plan raises 22023 naming it');
SELECT throws_ok($$ SELECT tenancy.create_tenant('tap-plan', plan => NULL) $$, '22004', NULL,
                 'a NULL plan raises 22004');
SELECT throws_ok($$ SELECT tenancy.create_tenant('tap-plan', plan => 'BASIC') $$, '22023', NULL,
                 'plan names are case-sensitive: BASIC is unknown');
SELECT throws_ok($$ SELECT tenancy.create_tenant('tap-acme') $$, '23505',
                 'tenant "tap-acme" already exists', 'a duplicate slug raises 23505');
SELECT throws_ok($$ SELECT tenancy.create_tenant('tap-twin', id => 'b2b2b2b2-0000-4000-8000-000000000002') $$,
                 '23505', NULL, 'a duplicate id raises 23505');
-- Every function taking "tenant text" reads a uuid-shaped value as a uuid,
-- so a slug that looks like a uuid would be unreachable by its slug and
-- would name another tenant (suspend_tenant('<slug>') would hit the tenant
-- with that id).  Such slugs must be refused.
SELECT throws_ok($$ SELECT tenancy.create_tenant('a1a1a1a1-0000-4000-8000-00000000000a') $$, '22023', NULL,
                 'a slug spelt like a uuid is refused (ambiguous with the uuid form)');
SELECT throws_ok($$ SELECT tenancy.create_tenant('b2b2b2b2000040008000000000000002') $$, '22023', NULL,
                 'a slug of 32 hex digits is refused (ambiguous with the uuid form)');
SELECT is_empty(
    $$ SELECT slug FROM tenancy.tenants
        WHERE slug IN ('tap-plan', 'tap-twin', 'a', 'tap-upper', 'Tap-Upper') $$,
    'failed create_tenant calls left no row');
SELECT is((SELECT count(*)::int FROM tenancy.tenants WHERE slug = 'tap-acme'), 1,
          'the duplicate attempt left the original alone');
SELECT throws_ok(
    $$ INSERT INTO tenancy.tenants (slug, name) VALUES ('Bad Slug', 'x') $$,
    '23514', NULL, 'the table itself refuses a bad slug (CHECK constraint)');

-- A group member of tenancy_admin (two levels down) is an administrator too.
SET ROLE regress_tenancy_tap_deputy;
SELECT lives_ok($$ SELECT tenancy.create_tenant('tap-deputy') $$,
                'a member of a member of tenancy_admin can create a tenant');
SET ROLE regress_tenancy_tap_admin;

-- suspend_tenant / resume_tenant -------------------------------------------
SELECT throws_ok($$ SELECT tenancy.suspend_tenant(NULL) $$, '22004', NULL,
                 'suspend_tenant(NULL) raises 22004');
SELECT throws_ok($$ SELECT tenancy.suspend_tenant('tap-nosuch') $$, '22023',
                 'unknown tenant "tap-nosuch"', 'suspend_tenant of an unknown slug raises 22023');
SELECT throws_ok($$ SELECT tenancy.suspend_tenant('TAP-ACME') $$, '22023', NULL,
                 'suspend_tenant does not fold case: TAP-ACME is unknown');
SELECT throws_ok($$ SELECT tenancy.suspend_tenant(' tap-acme') $$, '22023', NULL,
                 'suspend_tenant does not trim: " tap-acme" is unknown');
SELECT throws_ok($$ SELECT tenancy.suspend_tenant('ffffffff-0000-4000-8000-000000000000') $$,
                 '22023', NULL, 'suspend_tenant of an unknown uuid raises 22023');
SELECT throws_ok($$ SELECT tenancy.suspend_tenant('{b2b2b2b2-0000-4000-8000-000000000002') $$,
                 '22023', NULL, 'a uuid with an unbalanced brace is an unknown tenant (22023), as for SET');
SELECT throws_ok($$ SELECT tenancy.resume_tenant(NULL) $$, '22004', NULL,
                 'resume_tenant(NULL) raises 22004');
SELECT throws_ok($$ SELECT tenancy.resume_tenant('tap-nosuch') $$, '22023', NULL,
                 'resume_tenant of an unknown tenant raises 22023');

SELECT lives_ok($$ SELECT tenancy.suspend_tenant('B2B2B2B2-0000-4000-8000-000000000002', 'audit') $$,
                'suspend_tenant accepts the uuid, in upper case');
SELECT results_eq(
    $$ SELECT status, status_reason FROM tenancy.tenants
        WHERE id = 'b2b2b2b2-0000-4000-8000-000000000002' $$,
    $$ VALUES ('suspended'::text, 'audit'::text) $$,
    'the tenant is suspended with the reason given');
SELECT lives_ok($$ SELECT tenancy.resume_tenant('{b2b2b2b2-0000-4000-8000-000000000002}') $$,
                'resume_tenant accepts the uuid in braces');
SELECT results_eq(
    $$ SELECT status, status_reason IS NULL FROM tenancy.tenants
        WHERE id = 'b2b2b2b2-0000-4000-8000-000000000002' $$,
    $$ VALUES ('active'::text, true) $$,
    'resume_tenant makes it active again and clears the reason');

-- Timestamps.
SELECT lives_ok($$ SELECT tenancy.suspend_tenant('tap-old-active', 'unpaid') $$,
                'suspend an active tenant');
SELECT results_eq(
    $$ SELECT status, status_reason, updated_at = now(), status_changed_at = now(),
              created_at = '2000-01-01'::timestamptz
         FROM tenancy.tenants WHERE slug = 'tap-old-active' $$,
    $$ VALUES ('suspended'::text, 'unpaid'::text, true, true, true) $$,
    'suspending moves updated_at and status_changed_at, not created_at');
SELECT lives_ok($$ SELECT tenancy.suspend_tenant('tap-old-susp') $$,
                'suspend an already suspended tenant without a reason');
SELECT results_eq(
    $$ SELECT status, status_reason, status_changed_at = '2000-01-01'::timestamptz
         FROM tenancy.tenants WHERE slug = 'tap-old-susp' $$,
    $$ VALUES ('suspended'::text, 'first'::text, true) $$,
    're-suspending without a reason keeps the reason and status_changed_at');
SELECT lives_ok($$ SELECT tenancy.suspend_tenant('tap-old-susp', 'second') $$,
                're-suspend with a new reason');
SELECT results_eq(
    $$ SELECT status_reason, status_changed_at = '2000-01-01'::timestamptz, updated_at = now()
         FROM tenancy.tenants WHERE slug = 'tap-old-susp' $$,
    $$ VALUES ('second'::text, true, true) $$,
    'a new reason replaces the old one; status_changed_at stays, updated_at moves');
SELECT lives_ok($$ SELECT tenancy.resume_tenant('tap-old-susp2') $$, 'resume a suspended tenant');
SELECT results_eq(
    $$ SELECT status, status_reason IS NULL, status_changed_at = now(), updated_at = now()
         FROM tenancy.tenants WHERE slug = 'tap-old-susp2' $$,
    $$ VALUES ('active'::text, true, true, true) $$,
    'resuming moves status_changed_at and updated_at');
SELECT lives_ok($$ SELECT tenancy.resume_tenant('tap-old-noop') $$,
                'resuming an active tenant is allowed');
SELECT results_eq(
    $$ SELECT status, updated_at = '2000-01-01'::timestamptz,
              status_changed_at = '2000-01-01'::timestamptz
         FROM tenancy.tenants WHERE slug = 'tap-old-noop' $$,
    $$ VALUES ('active'::text, true, true) $$,
    'resuming an active tenant changes nothing, not even updated_at');
SELECT lives_ok($$ UPDATE tenancy.tenants SET name = 'Renamed' WHERE slug = 'tap-old-rename' $$,
                'an administrator renames a tenant');
SELECT results_eq(
    $$ SELECT updated_at = now(), status_changed_at = '2000-01-01'::timestamptz
         FROM tenancy.tenants WHERE slug = 'tap-old-rename' $$,
    $$ VALUES (true, true) $$,
    'a rename moves updated_at but not status_changed_at');
SELECT lives_ok(
    $$ UPDATE tenancy.tenants SET updated_at = '1999-01-01' WHERE slug = 'tap-old-rename' $$,
    'an UPDATE that sets updated_at by hand runs');
SELECT is((SELECT updated_at FROM tenancy.tenants WHERE slug = 'tap-old-rename'), now(),
          '... but updated_at is kept by the trigger, not by the caller');

-- Offboarded is final; ids never change.
SELECT throws_ok($$ SELECT tenancy.suspend_tenant('tap-gone') $$, '55000', NULL,
                 'suspend_tenant of an offboarded tenant raises 55000');
SELECT throws_ok($$ SELECT tenancy.resume_tenant('tap-gone') $$, '55000', NULL,
                 'resume_tenant of an offboarded tenant raises 55000');
SELECT throws_ok($$ SELECT tenancy.grant_tenant('regress_tenancy_tap_alice', 'tap-gone') $$,
                 '55000', NULL, 'grant_tenant on an offboarded tenant raises 55000');
SELECT throws_ok($$ UPDATE tenancy.tenants SET status = 'active' WHERE slug = 'tap-gone' $$,
                 '55000', NULL, 'an offboarded tenant cannot be reactivated by UPDATE');
SELECT throws_ok($$ UPDATE tenancy.tenants SET status = 'suspended' WHERE slug = 'tap-gone' $$,
                 '55000', NULL, 'an offboarded tenant cannot be suspended by UPDATE');
SELECT results_eq(
    $$ SELECT status, status_reason, updated_at = '2000-01-01'::timestamptz
         FROM tenancy.tenants WHERE slug = 'tap-gone' $$,
    $$ VALUES ('offboarded'::text, 'left'::text, true) $$,
    'the offboarded tenant is untouched by the refused calls');
SELECT is_empty($$ SELECT 1 FROM tenancy.members m JOIN tenancy.tenants t ON t.id = m.tenant_id
                    WHERE t.slug = 'tap-gone' $$,
                'the refused grant left no membership');
SELECT throws_ok(
    $$ UPDATE tenancy.tenants SET id = 'eeeeeeee-0000-4000-8000-000000000000' WHERE slug = 'tap-acme' $$,
    '55000', NULL, 'a tenant id cannot change');
SELECT throws_ok(
    $$ UPDATE tenancy.tenants SET status = 'paused' WHERE slug = 'tap-acme' $$,
    '23514', NULL, 'status only takes active, suspended or offboarded');

-- grant_tenant / revoke_tenant ---------------------------------------------
SELECT throws_ok($$ SELECT tenancy.grant_tenant(NULL, 'tap-acme') $$, '22004', NULL,
                 'grant_tenant with a NULL role raises 22004');
SELECT throws_ok($$ SELECT tenancy.grant_tenant('regress_tenancy_tap_nosuch', 'tap-acme') $$,
                 '42704', 'role "regress_tenancy_tap_nosuch" does not exist',
                 'grant_tenant to an unknown role raises 42704');
SELECT throws_ok($$ SELECT tenancy.grant_tenant('regress_tenancy_tap_alice', NULL) $$,
                 '22004', NULL, 'grant_tenant with a NULL tenant raises 22004');
SELECT throws_ok($$ SELECT tenancy.grant_tenant('regress_tenancy_tap_alice', 'tap-nosuch') $$,
                 '22023', 'unknown tenant "tap-nosuch"', 'grant_tenant on an unknown tenant raises 22023');
SELECT throws_ok($$ SELECT tenancy.grant_tenant('regress_tenancy_tap_alice', 'Tap-Acme') $$,
                 '22023', NULL, 'grant_tenant does not fold case');
SELECT throws_ok($$ SELECT tenancy.grant_tenant('regress_tenancy_tap_alice', 'tap-acme', 'owner') $$,
                 '22023', 'invalid membership level "owner"', 'an unknown level raises 22023');
SELECT throws_ok($$ SELECT tenancy.grant_tenant('regress_tenancy_tap_alice', 'tap-acme', NULL) $$,
                 '22023', NULL, 'a NULL level raises 22023');
SELECT throws_ok($$ SELECT tenancy.grant_tenant('regress_tenancy_tap_alice', 'tap-acme', 'Admin') $$,
                 '22023', NULL, 'levels are case-sensitive');
SELECT is_empty($$ SELECT 1 FROM tenancy.members WHERE role_name = 'regress_tenancy_tap_alice' $$,
                'failed grant_tenant calls left no membership');

SELECT lives_ok($$ SELECT tenancy.grant_tenant('regress_tenancy_tap_alice', 'tap-acme') $$,
                'grant_tenant by slug');
SELECT is((SELECT level FROM tenancy.members m JOIN tenancy.tenants t ON t.id = m.tenant_id
            WHERE t.slug = 'tap-acme' AND m.role_name = 'regress_tenancy_tap_alice'),
          'operator', 'the default level is operator');
SELECT lives_ok($$ SELECT tenancy.grant_tenant('regress_tenancy_tap_alice', 'b2b2b2b2000040008000000000000002', 'viewer') $$,
                'grant_tenant by uuid without hyphens');
SELECT lives_ok($$ SELECT tenancy.grant_tenant('regress_tenancy_tap_alice', 'tap-acme', 'admin') $$,
                'granting again changes the level');
SELECT results_eq(
    $$ SELECT (t.slug || ':' || m.level) COLLATE "default"
         FROM tenancy.members m JOIN tenancy.tenants t ON t.id = m.tenant_id
        WHERE m.role_name = 'regress_tenancy_tap_alice' ORDER BY 1 $$,
    ARRAY['tap-acme:admin', 'tap-globex:viewer'],
    'alice holds one row per tenant, with the latest level');
-- A repeated grant at the same level leaves granted_at alone; a new level moves it.
INSERT INTO tenancy.members (tenant_id, role_name, level, granted_at)
VALUES ('0d000000-0000-4000-8000-000000000001', 'regress_tenancy_tap_bob', 'viewer', '2000-01-01');
SELECT lives_ok($$ SELECT tenancy.grant_tenant('regress_tenancy_tap_bob', 'tap-old-active', 'viewer') $$,
                'grant_tenant at the same level again');
SELECT is((SELECT granted_at FROM tenancy.members
            WHERE role_name = 'regress_tenancy_tap_bob'
              AND tenant_id = '0d000000-0000-4000-8000-000000000001'),
          '2000-01-01'::timestamptz, 'an unchanged grant keeps granted_at');
SELECT lives_ok($$ SELECT tenancy.grant_tenant('regress_tenancy_tap_bob', 'tap-old-active', 'operator') $$,
                'grant_tenant at another level');
SELECT is((SELECT granted_at FROM tenancy.members
            WHERE role_name = 'regress_tenancy_tap_bob'
              AND tenant_id = '0d000000-0000-4000-8000-000000000001'),
          now(), 'a changed level moves granted_at');
SELECT lives_ok($$ SELECT tenancy.grant_tenant('regress_tenancy_tap_bob', 'tap-old-susp', 'viewer') $$,
                'grant_tenant on a suspended tenant is allowed');

SELECT throws_ok($$ SELECT tenancy.revoke_tenant(NULL, 'tap-acme') $$, '22004', NULL,
                 'revoke_tenant with a NULL role raises 22004');
SELECT throws_ok($$ SELECT tenancy.revoke_tenant('regress_tenancy_tap_alice', NULL) $$, '22004', NULL,
                 'revoke_tenant with a NULL tenant raises 22004');
SELECT throws_ok($$ SELECT tenancy.revoke_tenant('regress_tenancy_tap_alice', 'tap-nosuch') $$,
                 '22023', NULL, 'revoke_tenant on an unknown tenant raises 22023');
SET client_min_messages = warning;
SELECT lives_ok($$ SELECT tenancy.revoke_tenant('regress_tenancy_tap_bob', 'tap-acme') $$,
                'revoking a membership that does not exist only notices');
RESET client_min_messages;
SELECT lives_ok($$ SELECT tenancy.revoke_tenant('regress_tenancy_tap_alice', 'tap-acme') $$,
                'revoke_tenant by slug');
SELECT lives_ok($$ SELECT tenancy.revoke_tenant('regress_tenancy_tap_alice', 'B2B2B2B2-0000-4000-8000-000000000002') $$,
                'revoke_tenant by uuid');
SELECT is_empty($$ SELECT 1 FROM tenancy.members WHERE role_name = 'regress_tenancy_tap_alice' $$,
                'alice holds no membership any more');
SELECT is((SELECT count(*)::int FROM tenancy.members WHERE role_name = 'regress_tenancy_tap_bob'), 2,
          'bob''s memberships were not touched');

-- offboard_tenant (no registered tables here: only the catalog side).
SELECT throws_ok($$ SELECT * FROM tenancy.offboard_tenant(NULL) $$, '22004', NULL,
                 'offboard_tenant(NULL) raises 22004');
SELECT throws_ok($$ SELECT * FROM tenancy.offboard_tenant('tap-nosuch') $$, '22023', NULL,
                 'offboard_tenant of an unknown tenant raises 22023');
SELECT throws_ok($$ SELECT * FROM tenancy.offboard_tenant('tap-big', NULL) $$, '22004', NULL,
                 'offboard_tenant with archive NULL raises 22004');
SELECT lives_ok($$ SELECT tenancy.grant_tenant('regress_tenancy_tap_bob', 'tap-big') $$,
                'bob becomes a member of tap-big');
SET client_min_messages = warning;
SELECT lives_ok($$ SELECT * FROM tenancy.offboard_tenant('tap-big') $$,
                'a non-superuser administrator offboards tap-big');
RESET client_min_messages;
SELECT results_eq(
    $$ SELECT status, status_changed_at = now() FROM tenancy.tenants WHERE slug = 'tap-big' $$,
    $$ VALUES ('offboarded'::text, true) $$,
    'tap-big is offboarded, status_changed_at moved');
SELECT is_empty($$ SELECT 1 FROM tenancy.members m JOIN tenancy.tenants t ON t.id = m.tenant_id
                    WHERE t.slug = 'tap-big' $$,
                'offboarding removed its memberships');
SELECT throws_ok($$ SELECT * FROM tenancy.offboard_tenant('tap-big') $$, '55000', NULL,
                 'offboarding twice raises 55000');
SELECT throws_ok($$ SELECT tenancy.resume_tenant('tap-big') $$, '55000', NULL,
                 'an offboarded tenant cannot be resumed');

-- Deleting a tenant takes its memberships with it.
SELECT lives_ok($$ DELETE FROM tenancy.tenants WHERE slug = 'tap-old-active' $$,
                'an administrator deletes a tenant row');
SELECT is((SELECT count(*)::int FROM tenancy.members WHERE role_name = 'regress_tenancy_tap_bob'), 1,
          'its memberships went with it');

-- Atomicity when a later step of create_tenant fails --------------------
RESET ROLE;
CREATE OR REPLACE FUNCTION tenancy._on_tenant_created(tenant_id uuid) RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS $$ BEGIN RAISE EXCEPTION 'tap: subsystem failed' USING ERRCODE = '58000'; END $$;
SET ROLE regress_tenancy_tap_admin;
SELECT throws_ok($$ SELECT tenancy.create_tenant('tap-half') $$, '58000', NULL,
                 'create_tenant reports the failure of a per-tenant subsystem step');
SELECT is_empty($$ SELECT 1 FROM tenancy.tenants WHERE slug = 'tap-half' $$,
                'and leaves no tenant row behind');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
