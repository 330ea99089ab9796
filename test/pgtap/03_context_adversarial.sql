-- Adversarial tenant context: non-superuser roles trying to get into a
-- tenant they do not belong to by every route, losing access while in a
-- tenant, and a forgotten context failing loudly instead of returning
-- nothing.
BEGIN;
SELECT plan(84);

-- Fixtures -------------------------------------------------------------------
CREATE ROLE regress_tenancy_tap_alice NOLOGIN;      -- tap-acme; tap-hooli, tap-initech (inactive)
CREATE ROLE regress_tenancy_tap_bob NOLOGIN;        -- tap-globex
CREATE ROLE regress_tenancy_tap_grp NOLOGIN;        -- tap-globex, as a group
CREATE ROLE regress_tenancy_tap_carol NOLOGIN INHERIT IN ROLE regress_tenancy_tap_grp;
CREATE ROLE regress_tenancy_tap_dave NOLOGIN NOINHERIT IN ROLE regress_tenancy_tap_grp;
CREATE ROLE regress_tenancy_tap_mallory NOLOGIN;    -- nothing
CREATE ROLE regress_tenancy_tap_admin NOLOGIN IN ROLE tenancy_admin;

DO $$
BEGIN
    PERFORM tenancy.create_tenant('tap-acme', 'Acme', 'basic', 'a1a1a1a1-0000-4000-8000-000000000001');
    PERFORM tenancy.create_tenant('tap-globex', 'Globex', 'basic', 'b2b2b2b2-0000-4000-8000-000000000002');
    PERFORM tenancy.create_tenant('tap-hooli', 'Hooli', 'basic', 'c3c3c3c3-0000-4000-8000-000000000003');
    PERFORM tenancy.create_tenant('tap-initech', 'Initech', 'basic', 'd4d4d4d4-0000-4000-8000-000000000004');
    PERFORM tenancy.grant_tenant('regress_tenancy_tap_alice', 'tap-acme', 'viewer');
    PERFORM tenancy.grant_tenant('regress_tenancy_tap_alice', 'tap-hooli');
    PERFORM tenancy.grant_tenant('regress_tenancy_tap_alice', 'tap-initech');
    PERFORM tenancy.grant_tenant('regress_tenancy_tap_bob', 'tap-globex', 'admin');
    PERFORM tenancy.grant_tenant('regress_tenancy_tap_grp', 'tap-globex');
    PERFORM tenancy.suspend_tenant('tap-hooli', 'unpaid');
END
$$;
UPDATE tenancy.tenants SET status = 'offboarded' WHERE slug = 'tap-initech';
-- A membership row naming the pseudo-role PUBLIC must not open a tenant to all.
INSERT INTO tenancy.members (tenant_id, role_name)
VALUES ('b2b2b2b2-0000-4000-8000-000000000002', 'public'),
       ('b2b2b2b2-0000-4000-8000-000000000002', 'PUBLIC');

CREATE SCHEMA regress_tenancy_tap_s;
GRANT USAGE, CREATE ON SCHEMA regress_tenancy_tap_s TO PUBLIC;
CREATE TABLE regress_tenancy_tap_s.docs (tenant_id uuid NOT NULL, body text NOT NULL);
INSERT INTO regress_tenancy_tap_s.docs
VALUES ('a1a1a1a1-0000-4000-8000-000000000001', 'acme 1'),
       ('a1a1a1a1-0000-4000-8000-000000000001', 'acme 2'),
       ('b2b2b2b2-0000-4000-8000-000000000002', 'globex secret');
ALTER TABLE regress_tenancy_tap_s.docs ENABLE ROW LEVEL SECURITY;
ALTER TABLE regress_tenancy_tap_s.docs FORCE ROW LEVEL SECURITY;
CREATE POLICY isolation ON regress_tenancy_tap_s.docs
    USING (tenant_id = tenancy.current_tenant())
    WITH CHECK (tenant_id = tenancy.current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON regress_tenancy_tap_s.docs TO PUBLIC;

-- Set by a superuser, owned by a superuser: switch to globex inside.
CREATE FUNCTION regress_tenancy_tap_s.peek_invoker() RETURNS text LANGUAGE sql
    SET tenancy.tenant = 'tap-globex'
    AS $$ SELECT tenancy.current_tenant_slug() $$;
CREATE FUNCTION regress_tenancy_tap_s.peek_definer() RETURNS text LANGUAGE sql
    SECURITY DEFINER SET tenancy.tenant = 'tap-globex'
    AS $$ SELECT tenancy.current_tenant_slug() $$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA regress_tenancy_tap_s TO PUBLIC;

-- A forgotten context fails loudly ---------------------------------------
SET ROLE regress_tenancy_tap_alice;
SELECT throws_ok($$ SELECT tenancy.current_tenant() $$, '42501', 'tenancy: no tenant is set',
                 'current_tenant() without a tenant raises 42501');
SELECT throws_ok($$ SELECT count(*) FROM regress_tenancy_tap_s.docs $$, '42501',
                 'tenancy: no tenant is set',
                 'reading a tenant table without a tenant fails instead of returning nothing');
SELECT throws_ok($$ INSERT INTO regress_tenancy_tap_s.docs
                    VALUES ('a1a1a1a1-0000-4000-8000-000000000001', 'x') $$, '42501',
                 'tenancy: no tenant is set',
                 'writing a tenant table without a tenant fails');
SELECT is(tenancy.current_tenant_slug(), NULL, 'current_tenant_slug() is NULL without a tenant');
SELECT is(current_setting('tenancy.tenant'), '', 'SHOW tenancy.tenant is empty without a tenant');
SELECT throws_ok($$ SET tenancy.tennant = 'tap-acme' $$, '42602', NULL,
                 'a misspelt tenancy.* setting is refused, not kept as a placeholder');

-- Into her own tenant, by slug and by every uuid spelling ------------------
SELECT lives_ok($$ SET tenancy.tenant = 'tap-acme' $$, 'alice enters her tenant by slug');
SELECT is(tenancy.current_tenant(), 'a1a1a1a1-0000-4000-8000-000000000001'::uuid,
          'current_tenant() is her tenant''s id');
SELECT lives_ok($$ SET tenancy.tenant = '{A1A1A1A1000040008000000000000001}' $$,
                'alice enters her tenant by uuid in upper case, braces, no hyphens');
SELECT is(current_setting('tenancy.tenant'), 'tap-acme', 'SHOW gives the slug whatever the spelling');
SELECT results_eq($$ SELECT body FROM regress_tenancy_tap_s.docs ORDER BY body $$,
                  ARRAY['acme 1', 'acme 2'], 'alice sees her tenant''s rows only');
SELECT throws_ok($$ INSERT INTO regress_tenancy_tap_s.docs
                    VALUES ('b2b2b2b2-0000-4000-8000-000000000002', 'planted') $$, '42501', NULL,
                 'alice cannot write a row into another tenant');
SELECT is_empty($$ UPDATE regress_tenancy_tap_s.docs SET body = 'defaced'
                    WHERE tenant_id = 'b2b2b2b2-0000-4000-8000-000000000002' RETURNING body $$,
                'alice cannot update another tenant''s rows');
SELECT throws_ok($$ UPDATE regress_tenancy_tap_s.docs
                       SET tenant_id = 'b2b2b2b2-0000-4000-8000-000000000002' $$, '42501', NULL,
                 'alice cannot move her rows into another tenant');

-- Every route into tap-globex (exists, alice is no member) -----------------
SELECT throws_ok($$ SET tenancy.tenant = 'tap-globex' $$, '42501',
                 'permission denied for tenant "tap-globex"', 'SET');
SELECT throws_ok($$ SET SESSION tenancy.tenant = 'tap-globex' $$, '42501', NULL, 'SET SESSION');
SELECT throws_ok($$ SET LOCAL tenancy.tenant = 'tap-globex' $$, '42501', NULL, 'SET LOCAL');
SELECT throws_ok($$ SET tenancy.tenant = "tap-globex" $$, '42501', NULL, 'SET with a quoted identifier');
SELECT throws_ok($$ SET tenancy.tenant TO 'tap-globex' $$, '42501', NULL, 'SET ... TO');
SELECT throws_ok($$ SELECT set_config('tenancy.tenant', 'tap-globex', false) $$, '42501', NULL,
                 'set_config(..., false)');
SELECT throws_ok($$ SELECT set_config('tenancy.tenant', 'tap-globex', true) $$, '42501', NULL,
                 'set_config(..., true)');
SELECT throws_ok($$ UPDATE pg_settings SET setting = 'tap-globex' WHERE name = 'tenancy.tenant' $$,
                 '42501', NULL, 'UPDATE pg_settings');
SELECT throws_ok($$ SET tenancy.tenant = 'b2b2b2b2-0000-4000-8000-000000000002' $$, '42501', NULL,
                 'uuid instead of slug');
SELECT throws_ok($$ SET tenancy.tenant = 'B2B2B2B2-0000-4000-8000-000000000002' $$, '42501', NULL,
                 'uuid in upper case');
SELECT throws_ok($$ SET tenancy.tenant = '{b2b2b2b2-0000-4000-8000-000000000002}' $$, '42501', NULL,
                 'uuid in braces');
SELECT throws_ok($$ SET tenancy.tenant = 'b2b2b2b2000040008000000000000002' $$, '42501', NULL,
                 'uuid without hyphens');
SELECT throws_ok($$ SET tenancy.tenant = 'b2b2-b2b2-0000-4000-8000-0000-0000-0002' $$, '42501', NULL,
                 'uuid with a hyphen after every group of four');
SELECT throws_ok($$ SELECT set_config('tenancy.tenant', 'B2B2B2B2000040008000000000000002', true) $$,
                 '42501', NULL, 'set_config with an upper-case uuid');
SELECT throws_ok($$ SET tenancy.tenant = 'TAP-GLOBEX' $$, '22023', 'unknown tenant "TAP-GLOBEX"',
                 'upper case is not folded: unknown tenant');
SELECT throws_ok($$ SET tenancy.tenant = 'Tap-Globex' $$, '22023', NULL, 'mixed case: unknown tenant');
SELECT throws_ok($$ SET tenancy.tenant = ' tap-globex' $$, '22023', NULL, 'leading space: unknown tenant');
SELECT throws_ok($$ SET tenancy.tenant = 'tap-globex ' $$, '22023', NULL, 'trailing space: unknown tenant');
SELECT throws_ok($$ SET tenancy.tenant = E'tap-globex\n' $$, '22023', NULL, 'trailing newline: unknown tenant');
SELECT throws_ok($$ SET tenancy.tenant = E'\ttap-globex' $$, '22023', NULL, 'leading tab: unknown tenant');
SELECT throws_ok($$ SET tenancy.tenant = ' b2b2b2b2-0000-4000-8000-000000000002' $$, '22023', NULL,
                 'uuid with a leading space: unknown tenant');
SELECT throws_ok($$ SET tenancy.tenant = 'b2b2b2b2-0000-4000-8000-000000000002}' $$, '22023', NULL,
                 'uuid with an unbalanced brace: unknown tenant');
SELECT throws_ok($$ SET tenancy.tenant = 'tap-acme', 'tap-globex' $$, '22023', NULL,
                 'a list of tenants is refused');
SELECT throws_ok($$ SET tenancy.tenant = 'tap-nosuch' $$, '22023', 'unknown tenant "tap-nosuch"',
                 'an unknown tenant raises 22023');
SELECT throws_ok($$ SET tenancy.tenant = 'tap-hooli' $$, '42501', 'tenant "tap-hooli" is suspended',
                 'a member cannot enter a suspended tenant');
SELECT throws_ok($$ SET tenancy.tenant = 'c3c3c3c3-0000-4000-8000-000000000003' $$, '42501', NULL,
                 '... nor by its uuid');
SELECT throws_ok($$ SET tenancy.tenant = 'tap-initech' $$, '42501', 'tenant "tap-initech" is offboarded',
                 'a member cannot enter an offboarded tenant');
-- Session defaults and function SET clauses are validated too.
SELECT throws_ok($$ ALTER ROLE regress_tenancy_tap_alice SET tenancy.tenant = 'tap-globex' $$,
                 '42501', NULL, 'ALTER ROLE ... SET');
SELECT throws_ok($$ ALTER ROLE regress_tenancy_tap_alice SET tenancy.tenant = 'b2b2b2b2000040008000000000000002' $$,
                 '42501', NULL, 'ALTER ROLE ... SET with a uuid');
SELECT throws_ok(format($$ ALTER ROLE regress_tenancy_tap_alice IN DATABASE %I SET tenancy.tenant = 'tap-globex' $$,
                        current_database()),
                 '42501', NULL, 'ALTER ROLE ... IN DATABASE ... SET');
SELECT throws_ok($$ CREATE FUNCTION regress_tenancy_tap_s.sneak() RETURNS uuid LANGUAGE sql
                    SET tenancy.tenant = 'tap-globex' AS 'SELECT tenancy.current_tenant()' $$,
                 '42501', NULL, 'CREATE FUNCTION ... SET tenancy.tenant');
SELECT lives_ok($$ CREATE FUNCTION regress_tenancy_tap_s.mine() RETURNS text LANGUAGE sql
                   AS 'SELECT tenancy.current_tenant_slug()' $$,
                'alice creates a function of her own');
SELECT throws_ok($$ ALTER FUNCTION regress_tenancy_tap_s.mine() SET tenancy.tenant = 'tap-globex' $$,
                 '42501', NULL, 'ALTER FUNCTION ... SET tenancy.tenant');
SELECT throws_ok($$ SELECT regress_tenancy_tap_s.peek_invoker() $$, '42501', NULL,
                 'a superuser''s SECURITY INVOKER function with SET tenancy.tenant is checked for the caller');
SELECT is(regress_tenancy_tap_s.peek_definer(), 'tap-globex',
          'a superuser''s SECURITY DEFINER function may switch tenant inside itself');
-- After all that, alice is exactly where she was.
SELECT is(tenancy.current_tenant(), 'a1a1a1a1-0000-4000-8000-000000000001'::uuid,
          'every refused attempt left alice in her own tenant');
SELECT is(current_setting('tenancy.tenant'), 'tap-acme', 'SHOW still gives her tenant');
SELECT results_eq($$ SELECT body FROM regress_tenancy_tap_s.docs ORDER BY body $$,
                  ARRAY['acme 1', 'acme 2'], 'and she still sees only her rows');
SELECT is(regress_tenancy_tap_s.mine(), 'tap-acme', 'her own function runs in her tenant');
RESET ROLE;
SELECT is_empty($$ SELECT setdatabase, setconfig FROM pg_db_role_setting
                    WHERE setrole = 'regress_tenancy_tap_alice'::regrole $$,
                'no refused ALTER ROLE left a session default behind');
SELECT is((SELECT proconfig FROM pg_proc WHERE oid = 'regress_tenancy_tap_s.mine()'::regprocedure),
          NULL, 'the refused ALTER FUNCTION left no SET clause behind');
SELECT is((SELECT count(*)::int FROM regress_tenancy_tap_s.docs WHERE body IN ('planted', 'defaced')), 0,
          'no row was planted or defaced in another tenant');
SELECT is((SELECT count(*)::int FROM regress_tenancy_tap_s.docs
            WHERE tenant_id = 'b2b2b2b2-0000-4000-8000-000000000002'), 1,
          'globex still owns exactly its one row');

-- Other roles ----------------------------------------------------------------
-- alice's context (validated for alice) is still in force.  A role that
-- takes over the session by SET ROLE (a pooler or an authenticator
-- switching end users) must not inherit it: mallory is in no tenant.
SET ROLE regress_tenancy_tap_mallory;
SELECT throws_ok($$ SELECT tenancy.current_tenant() $$, '42501', NULL,
                 'a context set by alice is not valid for mallory after SET ROLE');
SELECT throws_ok($$ SELECT body FROM regress_tenancy_tap_s.docs $$, '42501', NULL,
                 '... so mallory cannot read alice''s tenant rows through it');
RESET tenancy.tenant;
SELECT throws_ok($$ SET tenancy.tenant = 'tap-acme' $$, '42501', NULL,
                 'a role with no tenant enters none');
SELECT throws_ok($$ SET tenancy.tenant = 'tap-globex' $$, '42501', NULL,
                 'a membership row naming "public" opens the tenant to nobody');
SELECT throws_ok($$ SELECT count(*) FROM regress_tenancy_tap_s.docs $$, '42501', NULL,
                 'a role with no tenant cannot read the tenant table');
SET ROLE regress_tenancy_tap_carol;
SELECT lives_ok($$ SET tenancy.tenant = 'tap-globex' $$,
                'an INHERIT member of a member role enters the group''s tenant');
SELECT results_eq($$ SELECT body FROM regress_tenancy_tap_s.docs $$, ARRAY['globex secret'],
                  'and sees that tenant''s rows only');
SELECT throws_ok($$ SET tenancy.tenant = 'tap-acme' $$, '42501', NULL,
                 'but not another tenant');
RESET tenancy.tenant;
SET ROLE regress_tenancy_tap_dave;
SELECT throws_ok($$ SET tenancy.tenant = 'tap-globex' $$, '42501', NULL,
                 'a NOINHERIT member of the group does not get its tenant');
SET ROLE regress_tenancy_tap_bob;
SELECT throws_ok($$ SET tenancy.tenant = 'tap-acme' $$, '42501', NULL,
                 'a tenant-level admin of one tenant is no admin of another');

-- A non-superuser administrator enters any tenant -------------------------
SET ROLE regress_tenancy_tap_admin;
SELECT lives_ok($$ SET tenancy.tenant = 'tap-globex' $$, 'a tenancy_admin member enters any tenant');
SELECT lives_ok($$ SET tenancy.tenant = 'tap-hooli' $$, '... including a suspended one');
SELECT is(tenancy.current_tenant(), 'c3c3c3c3-0000-4000-8000-000000000003'::uuid,
          'current_tenant() works for the administrator in the suspended tenant');
SELECT lives_ok($$ SET tenancy.tenant = 'd4d4d4d4-0000-4000-8000-000000000004' $$,
                '... and an offboarded one');
SELECT is(tenancy.current_tenant_slug(), 'tap-initech', 'the administrator is in tap-initech');
SELECT throws_ok($$ SET tenancy.tenant = 'TAP-ACME' $$, '22023', NULL,
                 'administrators get no case folding either');
RESET tenancy.tenant;

-- Losing access while in a tenant bites at the next statement --------------
SET ROLE regress_tenancy_tap_alice;
SET tenancy.tenant = 'tap-acme';
RESET ROLE;
DO $$ BEGIN PERFORM tenancy.suspend_tenant('tap-acme', 'audit'); END $$;
SET ROLE regress_tenancy_tap_alice;
SELECT throws_ok($$ SELECT tenancy.current_tenant() $$, '42501', 'tenant "tap-acme" is suspended',
                 'a suspension stops alice at her next statement');
SELECT throws_ok($$ SELECT count(*) FROM regress_tenancy_tap_s.docs $$, '42501', NULL,
                 'her policies fail rather than return rows');
SELECT throws_ok($$ SET tenancy.tenant = 'tap-acme' $$, '42501', NULL,
                 'she cannot re-enter the suspended tenant');
RESET ROLE;
DO $$ BEGIN PERFORM tenancy.resume_tenant('tap-acme'); END $$;
SET ROLE regress_tenancy_tap_alice;
SELECT is(tenancy.current_tenant_slug(), 'tap-acme', 'after resume_tenant her context works again');
RESET ROLE;
DO $$ BEGIN PERFORM tenancy.revoke_tenant('regress_tenancy_tap_alice', 'tap-acme'); END $$;
SET ROLE regress_tenancy_tap_alice;
SELECT throws_ok($$ SELECT tenancy.current_tenant() $$, '42501', 'permission denied for tenant "tap-acme"',
                 'revoke_tenant takes effect at her next statement');
SELECT throws_ok($$ SELECT count(*) FROM regress_tenancy_tap_s.docs $$, '42501', NULL,
                 'the revoked role reads nothing');
SELECT throws_ok($$ SET tenancy.tenant = 'a1a1a1a1-0000-4000-8000-000000000001' $$, '42501', NULL,
                 'nor can it re-enter by uuid');
RESET ROLE;
DO $$ BEGIN PERFORM tenancy.grant_tenant('regress_tenancy_tap_alice', 'tap-acme', 'viewer'); END $$;
SET ROLE regress_tenancy_tap_alice;
SELECT is(tenancy.current_tenant_slug(), 'tap-acme', 'a new grant lets the context work again');
RESET ROLE;
-- A group member loses access when the group's membership is revoked.
SET ROLE regress_tenancy_tap_carol;
SET tenancy.tenant = 'tap-globex';
RESET ROLE;
DO $$ BEGIN PERFORM tenancy.revoke_tenant('regress_tenancy_tap_grp', 'tap-globex'); END $$;
SET ROLE regress_tenancy_tap_carol;
SELECT throws_ok($$ SELECT tenancy.current_tenant() $$, '42501', NULL,
                 'revoking the group''s membership stops its member');
RESET ROLE;
-- Losing the role membership (not the tenant membership) counts too.
DO $$ BEGIN PERFORM tenancy.grant_tenant('regress_tenancy_tap_grp', 'tap-globex'); END $$;
SET ROLE regress_tenancy_tap_carol;
SET tenancy.tenant = 'tap-globex';
RESET ROLE;
REVOKE regress_tenancy_tap_grp FROM regress_tenancy_tap_carol;
SET ROLE regress_tenancy_tap_carol;
SELECT throws_ok($$ SELECT tenancy.current_tenant() $$, '42501', NULL,
                 'leaving the group role stops the member at its next statement');
RESET ROLE;
-- A deleted tenant.
SET ROLE regress_tenancy_tap_bob;
SET tenancy.tenant = 'tap-globex';
RESET ROLE;
DELETE FROM tenancy.tenants WHERE slug = 'tap-globex';
SET ROLE regress_tenancy_tap_bob;
SELECT throws_ok($$ SELECT tenancy.current_tenant() $$, '22023', NULL,
                 'a deleted tenant raises 22023 at the next statement');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
