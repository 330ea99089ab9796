-- The tenant context across transactions and sessions, through dblink:
-- SET LOCAL and set_config(..., true) ending with COMMIT / ROLLBACK,
-- DISCARD ALL (not allowed in a transaction block), tenancy.require_local
-- (set by a superuser before SET ROLE, and per role with ALTER ROLE),
-- ALTER ROLE ... SET tenancy.tenant applied at login, and suspension or
-- revocation committed by another session.
--
-- dblink sessions need committed roles and tenants: a superuser connection
-- ("tap_setup", autocommit) creates them under names of their own and
-- removes them at the end (and first removes leftovers of an aborted run).
BEGIN;
SELECT plan(55);

CREATE EXTENSION IF NOT EXISTS dblink;

-- Connection string for this server and database, as a given role (trust
-- authentication on the unix socket; only a superuser may do this).
CREATE FUNCTION pg_temp.tap_conn(r text) RETURNS text LANGUAGE sql AS $$
    SELECT format('host=%s port=%s dbname=%s user=%s',
                  coalesce(nullif(btrim(split_part(current_setting('unix_socket_directories'), ',', 1)), ''),
                           'localhost'),
                  current_setting('port'), current_database(), r)
$$;
CREATE FUNCTION pg_temp.rx(c text, q text) RETURNS text LANGUAGE sql AS $$
    SELECT public.dblink_exec(c, q)
$$;
-- Run a function call remotely for its effect (dblink_exec refuses rows).
CREATE FUNCTION pg_temp.rdo(c text, call text) RETURNS text LANGUAGE sql AS $$
    SELECT public.dblink_exec(c, format('DO %L', format('BEGIN PERFORM %s; END', call)))
$$;
CREATE FUNCTION pg_temp.rslug(c text) RETURNS text LANGUAGE sql AS $$
    SELECT s FROM public.dblink(c, 'SELECT tenancy.current_tenant_slug()') AS t(s text)
$$;
CREATE FUNCTION pg_temp.rtenant(c text) RETURNS uuid LANGUAGE sql AS $$
    SELECT u FROM public.dblink(c, 'SELECT tenancy.current_tenant()') AS t(u uuid)
$$;
CREATE FUNCTION pg_temp.rshow(c text, guc text) RETURNS text LANGUAGE sql AS $$
    SELECT s FROM public.dblink(c, format('SELECT current_setting(%L)', guc)) AS t(s text)
$$;

SELECT dblink_connect('tap_setup', pg_temp.tap_conn(session_user)) IS NOT NULL AS connected \gset
DO $$
BEGIN
    PERFORM pg_temp.rx('tap_setup', 'SET client_min_messages = warning');
    -- Leftovers of an aborted run.
    PERFORM pg_temp.rx('tap_setup', $q$ DELETE FROM tenancy.tenants WHERE slug LIKE 'tap-s-%' $q$);
    PERFORM pg_temp.rx('tap_setup', 'DROP ROLE IF EXISTS regress_tenancy_tap_s_alice, regress_tenancy_tap_s_bob,
                                     regress_tenancy_tap_s_mallory, regress_tenancy_tap_s_pool,
                                     regress_tenancy_tap_s_carol, regress_tenancy_tap_s_grp');
    PERFORM pg_temp.rx('tap_setup', 'CREATE ROLE regress_tenancy_tap_s_alice LOGIN');
    PERFORM pg_temp.rx('tap_setup', 'CREATE ROLE regress_tenancy_tap_s_bob LOGIN');
    PERFORM pg_temp.rx('tap_setup', 'CREATE ROLE regress_tenancy_tap_s_mallory LOGIN');
    PERFORM pg_temp.rx('tap_setup', 'CREATE ROLE regress_tenancy_tap_s_pool LOGIN');
    PERFORM pg_temp.rx('tap_setup', 'CREATE ROLE regress_tenancy_tap_s_grp NOLOGIN');
    PERFORM pg_temp.rx('tap_setup', 'CREATE ROLE regress_tenancy_tap_s_carol LOGIN IN ROLE regress_tenancy_tap_s_grp');
    PERFORM pg_temp.rdo('tap_setup', $q$ tenancy.create_tenant('tap-s-acme', id => 'a1a1a1a1-5555-4000-8000-000000000001') $q$);
    PERFORM pg_temp.rdo('tap_setup', $q$ tenancy.create_tenant('tap-s-globex', id => 'b2b2b2b2-5555-4000-8000-000000000002') $q$);
    PERFORM pg_temp.rdo('tap_setup', $q$ tenancy.grant_tenant('regress_tenancy_tap_s_alice', 'tap-s-acme') $q$);
    PERFORM pg_temp.rdo('tap_setup', $q$ tenancy.grant_tenant('regress_tenancy_tap_s_alice', 'tap-s-globex') $q$);
    PERFORM pg_temp.rdo('tap_setup', $q$ tenancy.grant_tenant('regress_tenancy_tap_s_bob', 'tap-s-globex') $q$);
    PERFORM pg_temp.rdo('tap_setup', $q$ tenancy.grant_tenant('regress_tenancy_tap_s_pool', 'tap-s-acme') $q$);
    PERFORM pg_temp.rdo('tap_setup', $q$ tenancy.grant_tenant('regress_tenancy_tap_s_grp', 'tap-s-globex') $q$);
    -- Session defaults: a member's own tenant, and (stored by a superuser)
    -- a tenant the role does not belong to.
    PERFORM pg_temp.rx('tap_setup', $q$ ALTER ROLE regress_tenancy_tap_s_bob SET tenancy.tenant = 'tap-s-globex' $q$);
    PERFORM pg_temp.rx('tap_setup', $q$ ALTER ROLE regress_tenancy_tap_s_mallory SET tenancy.tenant = 'tap-s-globex' $q$);
    PERFORM pg_temp.rx('tap_setup', $q$ ALTER ROLE regress_tenancy_tap_s_pool SET tenancy.require_local = on $q$);
END
$$;
SELECT dblink_connect('tap_alice', pg_temp.tap_conn('regress_tenancy_tap_s_alice')) IS NOT NULL AS connected \gset
SELECT dblink_connect('tap_su', pg_temp.tap_conn(session_user)) IS NOT NULL AS connected \gset

-- SET LOCAL / set_config(..., true) end with their transaction ------------
SELECT is(pg_temp.rslug('tap_alice'), NULL, 'a new session has no tenant');
SELECT throws_ok($$ SELECT pg_temp.rtenant('tap_alice') $$, '42501', NULL,
                 'and current_tenant() fails loudly there');
SELECT is(pg_temp.rx('tap_alice', 'BEGIN'), 'BEGIN', 'BEGIN');
SELECT is(pg_temp.rx('tap_alice', $$ SET LOCAL tenancy.tenant = 'tap-s-acme' $$), 'SET', 'SET LOCAL in a transaction');
SELECT is(pg_temp.rslug('tap_alice'), 'tap-s-acme', 'the tenant holds inside the transaction');
SELECT is(pg_temp.rx('tap_alice', 'COMMIT'), 'COMMIT', 'COMMIT');
SELECT is(pg_temp.rslug('tap_alice'), NULL, 'SET LOCAL is gone after COMMIT');
SELECT throws_ok($$ SELECT pg_temp.rtenant('tap_alice') $$, '42501', NULL,
                 '... and current_tenant() fails loudly again');

SELECT is(pg_temp.rx('tap_alice', $$ BEGIN; SET LOCAL tenancy.tenant = 'tap-s-acme'; ROLLBACK $$), 'ROLLBACK',
          'SET LOCAL, then ROLLBACK');
SELECT is(pg_temp.rslug('tap_alice'), NULL, 'SET LOCAL is gone after ROLLBACK');

SELECT is((SELECT s FROM dblink('tap_alice', $$ SELECT set_config('tenancy.tenant', 'tap-s-acme', true) $$) AS t(s text)),
          'tap-s-acme', 'set_config(..., true) in a single-statement transaction');
SELECT is(pg_temp.rslug('tap_alice'), NULL, 'set_config(..., true) is gone at the next statement');

SELECT is(pg_temp.rx('tap_alice', $$ SET tenancy.tenant = 'tap-s-acme' $$), 'SET', 'a session-level SET');
SELECT is(pg_temp.rx('tap_alice', $$ BEGIN; SET tenancy.tenant = 'tap-s-globex'; ROLLBACK $$), 'ROLLBACK',
          'a session-level switch in a transaction that rolls back');
SELECT is(pg_temp.rslug('tap_alice'), 'tap-s-acme', 'ROLLBACK undoes the switch: the previous tenant is back');
SELECT is(pg_temp.rx('tap_alice', $$ BEGIN; SET tenancy.tenant = 'tap-s-globex'; COMMIT $$), 'COMMIT',
          'a session-level switch in a transaction that commits');
SELECT is(pg_temp.rslug('tap_alice'), 'tap-s-globex', 'without require_local, a session-level SET outlives COMMIT');
SELECT is(pg_temp.rx('tap_alice', $$ BEGIN; SET LOCAL tenancy.tenant = 'tap-s-acme'; COMMIT $$), 'COMMIT',
          'a SET LOCAL over a session-level tenant');
SELECT is(pg_temp.rslug('tap_alice'), 'tap-s-globex', 'after COMMIT the session-level tenant is back');

-- DISCARD ALL and RESET ALL --------------------------------------------------
SELECT is(pg_temp.rx('tap_alice', 'DISCARD ALL'), 'DISCARD ALL', 'DISCARD ALL');
SELECT is(pg_temp.rslug('tap_alice'), NULL, 'DISCARD ALL clears the tenant');
SELECT is(pg_temp.rshow('tap_alice', 'tenancy.tenant'), '', '... and SHOW is empty');
SELECT throws_ok($$ SELECT pg_temp.rtenant('tap_alice') $$, '42501', 'tenancy: no tenant is set',
                 '... and current_tenant() fails loudly');
SELECT is(pg_temp.rx('tap_alice', $$ SET tenancy.tenant = 'tap-s-acme' $$), 'SET', 'SET again');
SELECT is(pg_temp.rx('tap_alice', 'RESET ALL'), 'RESET', 'RESET ALL');
SELECT throws_ok($$ SELECT pg_temp.rtenant('tap_alice') $$, '42501', NULL, 'RESET ALL clears the tenant');

-- Suspension and revocation committed by another session ----------------
SELECT is(pg_temp.rx('tap_alice', $$ SET tenancy.tenant = 'tap-s-acme' $$), 'SET', 'alice enters tap-s-acme');
SELECT is(pg_temp.rtenant('tap_alice'), 'a1a1a1a1-5555-4000-8000-000000000001'::uuid, 'alice is in tap-s-acme');
SELECT is(pg_temp.rdo('tap_setup', $$ tenancy.suspend_tenant('tap-s-acme') $$), 'DO',
          'another session suspends tap-s-acme');
SELECT throws_ok($$ SELECT pg_temp.rtenant('tap_alice') $$, '42501', 'tenant "tap-s-acme" is suspended',
                 'alice''s next statement fails');
SELECT is(pg_temp.rdo('tap_setup', $$ tenancy.resume_tenant('tap-s-acme') $$), 'DO',
          'the other session resumes it');
SELECT is(pg_temp.rslug('tap_alice'), 'tap-s-acme', 'alice''s context works again');
SELECT is(pg_temp.rdo('tap_setup', $$ tenancy.revoke_tenant('regress_tenancy_tap_s_alice', 'tap-s-acme') $$), 'DO',
          'another session revokes alice');
SELECT throws_ok($$ SELECT pg_temp.rtenant('tap_alice') $$, '42501', 'permission denied for tenant "tap-s-acme"',
                 'alice''s next statement fails');
SELECT throws_ok($$ SELECT pg_temp.rx('tap_alice', 'SET tenancy.tenant = ''tap-s-acme''') $$, '42501', NULL,
                 'and she cannot re-enter');
SELECT is(pg_temp.rx('tap_alice', 'RESET tenancy.tenant'), 'RESET', 'alice resets her tenant');
SELECT dblink_connect('tap_carol', pg_temp.tap_conn('regress_tenancy_tap_s_carol')) IS NOT NULL AS connected \gset
SELECT is(pg_temp.rx('tap_carol', $$ SET tenancy.tenant = 'tap-s-globex' $$), 'SET',
          'carol enters tap-s-globex through her group role');
SELECT is(pg_temp.rx('tap_setup', 'REVOKE regress_tenancy_tap_s_grp FROM regress_tenancy_tap_s_carol'), 'REVOKE ROLE',
          'another session takes carol out of the group role');
SELECT throws_ok($$ SELECT pg_temp.rtenant('tap_carol') $$, '42501', NULL,
                 'carol''s next statement fails');

-- tenancy.require_local set by a superuser before SET ROLE ----------------
SELECT is(pg_temp.rx('tap_su', 'SET tenancy.require_local = on; SET ROLE regress_tenancy_tap_s_alice'), 'SET',
          'a superuser turns require_local on, then becomes alice');
SELECT throws_ok($$ SELECT pg_temp.rx('tap_su', 'SET tenancy.require_local = off') $$, '42501', NULL,
                 'alice cannot turn require_local off');
SELECT is(pg_temp.rx('tap_su', $$ SET tenancy.tenant = 'tap-s-globex' $$), 'SET',
          'a session-level SET (its own transaction)');
SELECT throws_ok($$ SELECT pg_temp.rtenant('tap_su') $$, '42501', 'tenancy: no tenant is set',
                 'with require_local, the tenant is gone at the next transaction');
SELECT is(pg_temp.rshow('tap_su', 'tenancy.tenant'), '', '... and SHOW is empty');
SELECT is(pg_temp.rslug('tap_su'), NULL, '... and current_tenant_slug() is NULL');
SELECT is((SELECT s FROM dblink('tap_su', $$ SELECT set_config('tenancy.tenant', 'tap-s-globex', false)
                                              || ' ' || tenancy.current_tenant_slug() $$) AS t(s text)),
          'tap-s-globex tap-s-globex', 'within the setting transaction the tenant works');
SELECT is(pg_temp.rx('tap_su', $$ BEGIN; SET LOCAL tenancy.tenant = 'tap-s-globex';
                                  CREATE TEMP TABLE tap_seen AS SELECT tenancy.current_tenant_slug() AS s;
                                  COMMIT $$), 'COMMIT',
          'SET LOCAL in a multi-statement transaction');
SELECT is((SELECT s FROM dblink('tap_su', 'SELECT s FROM tap_seen') AS t(s text)), 'tap-s-globex',
          'the tenant worked in every statement of its transaction');
SELECT throws_ok($$ SELECT pg_temp.rtenant('tap_su') $$, '42501', NULL,
                 'and is gone after its COMMIT');

-- tenancy.require_local per role (ALTER ROLE ... SET by a superuser) ------
SELECT dblink_connect('tap_pool', pg_temp.tap_conn('regress_tenancy_tap_s_pool')) IS NOT NULL AS connected \gset
SELECT is(pg_temp.rshow('tap_pool', 'tenancy.require_local'), 'on', 'the role''s require_local applies at login');
SELECT is(pg_temp.rx('tap_pool', $$ SET tenancy.tenant = 'tap-s-acme' $$), 'SET',
          'client A of a pooled connection forgets LOCAL');
SELECT throws_ok($$ SELECT pg_temp.rtenant('tap_pool') $$, '42501', NULL,
                 'client B, next transaction on the same connection, has no tenant');

-- ALTER ROLE ... SET tenancy.tenant applies at login, for members only ----
SELECT dblink_connect('tap_bob', pg_temp.tap_conn('regress_tenancy_tap_s_bob')) IS NOT NULL AS connected \gset
SELECT is(pg_temp.rslug('tap_bob'), 'tap-s-globex',
          'a member''s session default tenant applies at login');
SELECT dblink_connect('tap_mallory', pg_temp.tap_conn('regress_tenancy_tap_s_mallory')) IS NOT NULL AS connected \gset
SELECT is(pg_temp.rslug('tap_mallory'), NULL,
          'a session default naming a tenant the role does not belong to is not applied');
SELECT throws_ok($$ SELECT pg_temp.rtenant('tap_mallory') $$, '42501', NULL,
                 '... so current_tenant() fails loudly for that role');

-- Cleanup (committed objects) ----------------------------------------------
SELECT bool_and(dblink_disconnect(c) IS NOT NULL) AS disconnected
  FROM unnest(ARRAY['tap_alice', 'tap_carol', 'tap_su', 'tap_pool', 'tap_bob', 'tap_mallory']) c \gset
-- Their backends exit (dropping their temporary tables) a moment later.
DO $$
BEGIN
    FOR i IN 1..200 LOOP
        PERFORM pg_stat_clear_snapshot();
        EXIT WHEN NOT EXISTS (SELECT 1 FROM pg_stat_activity
                               WHERE usename LIKE 'regress\_tenancy\_tap\_s\_%');
        PERFORM pg_sleep(0.05);
    END LOOP;
END
$$;
DO $$
BEGIN
    PERFORM pg_temp.rx('tap_setup', $q$ DELETE FROM tenancy.tenants WHERE slug LIKE 'tap-s-%' $q$);
    PERFORM pg_temp.rx('tap_setup', 'DROP ROLE regress_tenancy_tap_s_alice, regress_tenancy_tap_s_bob,
                                     regress_tenancy_tap_s_mallory, regress_tenancy_tap_s_pool,
                                     regress_tenancy_tap_s_carol, regress_tenancy_tap_s_grp');
END
$$;
SELECT dblink_disconnect('tap_setup') IS NOT NULL AS disconnected \gset

SELECT * FROM finish();
ROLLBACK;
