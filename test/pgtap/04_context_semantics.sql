-- Tenant context semantics within one session and transaction: SHOW and
-- current_tenant_slug(), SET LOCAL and savepoints, RESET / RESET ALL,
-- function SET clauses, SECURITY DEFINER functions, prepared statements
-- with generic plans across tenant switches, parallel workers, and
-- tenancy.require_local inside the transaction that set the tenant.
-- (Behaviour across transactions and sessions is in 05_sessions.sql.)
--
-- Values observed between SAVEPOINT and ROLLBACK TO are kept in psql
-- variables (\gset): pgTAP's own bookkeeping would be rolled back with them.
BEGIN;
SELECT plan(79);

CREATE ROLE regress_tenancy_tap_alice NOLOGIN;      -- tap-acme, tap-globex
CREATE ROLE regress_tenancy_tap_bob NOLOGIN;        -- tap-globex only
CREATE ROLE regress_tenancy_tap_admin NOLOGIN IN ROLE tenancy_admin;
DO $$
BEGIN
    PERFORM tenancy.create_tenant('tap-acme', 'Acme', 'basic', 'a1a1a1a1-0000-4000-8000-000000000001');
    PERFORM tenancy.create_tenant('tap-globex', 'Globex', 'basic', 'b2b2b2b2-0000-4000-8000-000000000002');
    PERFORM tenancy.create_tenant('tap-hooli', 'Hooli', 'basic', 'c3c3c3c3-0000-4000-8000-000000000003');
    PERFORM tenancy.grant_tenant('regress_tenancy_tap_alice', 'tap-acme');
    PERFORM tenancy.grant_tenant('regress_tenancy_tap_alice', 'tap-globex', 'viewer');
    PERFORM tenancy.grant_tenant('regress_tenancy_tap_bob', 'tap-globex');
END
$$;

CREATE SCHEMA regress_tenancy_tap_s;
GRANT USAGE ON SCHEMA regress_tenancy_tap_s TO PUBLIC;
-- 1000 rows for acme (n = 3, 6, ..., 3000), 2000 for globex.
CREATE TABLE regress_tenancy_tap_s.docs (tenant_id uuid NOT NULL, n int NOT NULL);
INSERT INTO regress_tenancy_tap_s.docs
SELECT CASE WHEN g % 3 = 0 THEN 'a1a1a1a1-0000-4000-8000-000000000001'::uuid
            ELSE 'b2b2b2b2-0000-4000-8000-000000000002'::uuid END, g
  FROM generate_series(1, 3000) g;
ALTER TABLE regress_tenancy_tap_s.docs ENABLE ROW LEVEL SECURITY;
ALTER TABLE regress_tenancy_tap_s.docs FORCE ROW LEVEL SECURITY;
CREATE POLICY isolation ON regress_tenancy_tap_s.docs
    USING (tenant_id = tenancy.current_tenant());
GRANT SELECT ON regress_tenancy_tap_s.docs TO PUBLIC;
ANALYZE regress_tenancy_tap_s.docs;

CREATE FUNCTION regress_tenancy_tap_s.explain(q text) RETURNS SETOF text
    LANGUAGE plpgsql AS $$ BEGIN RETURN QUERY EXECUTE q; END $$;
-- SECURITY DEFINER, owned by a superuser and by bob (no member of tap-acme).
CREATE FUNCTION regress_tenancy_tap_s.definer_tenant() RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog
    AS $$ SELECT tenancy.current_tenant() $$;
CREATE FUNCTION regress_tenancy_tap_s.bob_tenant() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog
    AS $$ SELECT tenancy.current_tenant_slug() || ' as ' || current_user $$;
CREATE FUNCTION regress_tenancy_tap_s.bob_count() RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog
    AS $$ SELECT count(*) FROM regress_tenancy_tap_s.docs $$;
ALTER FUNCTION regress_tenancy_tap_s.bob_tenant() OWNER TO regress_tenancy_tap_bob;
ALTER FUNCTION regress_tenancy_tap_s.bob_count() OWNER TO regress_tenancy_tap_bob;
-- Function SET clauses, run as the caller.
CREATE FUNCTION regress_tenancy_tap_s.in_globex() RETURNS text
    LANGUAGE sql SET tenancy.tenant = 'tap-globex'
    AS $$ SELECT tenancy.current_tenant_slug() $$;
CREATE FUNCTION regress_tenancy_tap_s.in_globex_fails() RETURNS text
    LANGUAGE plpgsql SET tenancy.tenant = 'tap-globex'
    AS $$ BEGIN RAISE EXCEPTION 'tap: inside %', tenancy.current_tenant_slug() USING ERRCODE = 'P0001'; END $$;
-- Parallel-safe functions with a SET clause: run inside a worker, whose own
-- SET must be checked like the leader's (alice is no member of tap-hooli).
CREATE FUNCTION regress_tenancy_tap_s.par_in_globex() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE SET tenancy.tenant = 'b2b2b2b2-0000-4000-8000-000000000002'
    AS $$ SELECT tenancy.current_tenant() $$;
CREATE FUNCTION regress_tenancy_tap_s.par_in_hooli() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE SET tenancy.tenant = 'c3c3c3c3-0000-4000-8000-000000000003'
    AS $$ SELECT tenancy.current_tenant() $$;
-- The SQLSTATE a query ends with ('00000' when it succeeds); the query runs
-- through RETURN QUERY EXECUTE, so it may use parallel workers.
CREATE FUNCTION regress_tenancy_tap_s.run(q text) RETURNS SETOF bigint
    LANGUAGE plpgsql AS $$ BEGIN RETURN QUERY EXECUTE q; END $$;
CREATE FUNCTION regress_tenancy_tap_s.sqlstate_of(q text) RETURNS text
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM regress_tenancy_tap_s.run(q);
    RETURN '00000';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA regress_tenancy_tap_s TO PUBLIC;

-- The functions' declarations --------------------------------------------
SELECT function_returns('tenancy', 'current_tenant', ARRAY[]::name[], 'uuid',
                        'current_tenant() returns uuid');
SELECT volatility_is('tenancy', 'current_tenant', ARRAY[]::name[], 'stable',
                     'current_tenant() is STABLE');
SELECT ok((SELECT proparallel = 's' AND proleakproof FROM pg_proc
            WHERE oid = 'tenancy.current_tenant()'::regprocedure),
          'current_tenant() is PARALLEL SAFE and LEAKPROOF');
SELECT function_returns('tenancy', 'current_tenant_slug', ARRAY[]::name[], 'text',
                        'current_tenant_slug() returns text');
SELECT ok((SELECT setting = '' AND vartype = 'string' AND context = 'user'
             FROM pg_settings WHERE name = 'tenancy.tenant'),
          'tenancy.tenant is a user-settable string, empty by default');
SELECT ok((SELECT setting = 'off' AND vartype = 'bool' AND context = 'superuser'
             FROM pg_settings WHERE name = 'tenancy.require_local'),
          'tenancy.require_local is a superuser-settable bool, off by default');

-- SHOW and the slug --------------------------------------------------------
SET ROLE regress_tenancy_tap_alice;
SELECT is(tenancy.current_tenant_slug(), NULL, 'current_tenant_slug() is NULL without a tenant');
SELECT is(current_setting('tenancy.tenant'), '', 'SHOW is empty without a tenant');
SELECT is(set_config('tenancy.tenant', 'a1a1a1a1000040008000000000000001', false), 'tap-acme',
          'set_config by uuid returns the slug');
SELECT is(current_setting('tenancy.tenant'), 'tap-acme', 'SHOW gives the slug after setting the uuid');
SELECT is((SELECT setting FROM pg_settings WHERE name = 'tenancy.tenant'), 'tap-acme',
          'pg_settings gives the slug');
SELECT is(tenancy.current_tenant_slug(), 'tap-acme', 'current_tenant_slug() gives the slug');
SELECT is(tenancy.current_tenant(), 'a1a1a1a1-0000-4000-8000-000000000001'::uuid,
          'current_tenant() gives the id');

-- Savepoints -----------------------------------------------------------------
SAVEPOINT s1;
SET LOCAL tenancy.tenant = 'tap-globex';
SELECT tenancy.current_tenant_slug() AS sp_local \gset
ROLLBACK TO SAVEPOINT s1;
SELECT is(:'sp_local'::text, 'tap-globex', 'SET LOCAL inside a savepoint switches tenant');
SELECT is(tenancy.current_tenant_slug(), 'tap-acme', 'ROLLBACK TO SAVEPOINT restores the previous tenant');

SAVEPOINT s2;
SET tenancy.tenant = 'tap-globex';
SELECT tenancy.current_tenant_slug() AS sp_session \gset
ROLLBACK TO SAVEPOINT s2;
SELECT is(:'sp_session'::text, 'tap-globex', 'a session SET inside a savepoint switches tenant');
SELECT is(tenancy.current_tenant_slug(), 'tap-acme', '... and its rollback restores the previous tenant');

SAVEPOINT s3;
RESET tenancy.tenant;
SELECT coalesce(tenancy.current_tenant_slug(), '<none>') AS sp_reset \gset
ROLLBACK TO SAVEPOINT s3;
SELECT is(:'sp_reset'::text, '<none>', 'RESET inside a savepoint clears the tenant');
SELECT is(tenancy.current_tenant_slug(), 'tap-acme', '... and its rollback restores it');

SAVEPOINT s4;
SET LOCAL tenancy.tenant = 'tap-globex';
RELEASE SAVEPOINT s4;
SELECT is(tenancy.current_tenant_slug(), 'tap-globex', 'a SET LOCAL survives RELEASE SAVEPOINT');
SET tenancy.tenant = 'tap-acme';

-- A failed statement in a subtransaction (what throws_ok does) restores too.
SELECT throws_ok($$ DO 'BEGIN PERFORM set_config(''tenancy.tenant'', ''tap-globex'', true);
                        RAISE EXCEPTION ''tap: boom'' USING ERRCODE = ''P0001''; END' $$,
                 'P0001', NULL, 'a block switches tenant and then fails');
SELECT is(tenancy.current_tenant_slug(), 'tap-acme', 'the failed block''s switch was undone');

-- RESET, DEFAULT, '', RESET ALL --------------------------------------------
RESET tenancy.tenant;
SELECT is(tenancy.current_tenant_slug(), NULL, 'RESET tenancy.tenant clears the tenant');
SELECT throws_ok($$ SELECT tenancy.current_tenant() $$, '42501', NULL, '... and current_tenant() raises');
SET tenancy.tenant = 'tap-acme';
SET tenancy.tenant TO DEFAULT;
SELECT throws_ok($$ SELECT tenancy.current_tenant() $$, '42501', NULL, 'SET ... TO DEFAULT clears the tenant');
SET tenancy.tenant = 'tap-acme';
SET tenancy.tenant = '';
SELECT throws_ok($$ SELECT tenancy.current_tenant() $$, '42501', NULL, 'SET to '''' clears the tenant');
SELECT is(current_setting('tenancy.tenant'), '', '... and SHOW is empty');
SET tenancy.tenant = 'tap-acme';
RESET ALL;
SELECT is(current_user::text, 'regress_tenancy_tap_alice', 'RESET ALL keeps the role');
SELECT is(tenancy.current_tenant_slug(), NULL, 'RESET ALL clears the tenant');
SELECT throws_ok($$ SELECT count(*) FROM regress_tenancy_tap_s.docs $$, '42501',
                 'tenancy: no tenant is set', '... so policies fail loudly after RESET ALL');

-- Function SET clauses ---------------------------------------------------
SET tenancy.tenant = 'tap-acme';
SELECT is(regress_tenancy_tap_s.in_globex(), 'tap-globex', 'a function SET clause switches tenant inside it');
SELECT is(tenancy.current_tenant_slug(), 'tap-acme', '... and the caller''s tenant is back afterwards');
SELECT throws_ok($$ SELECT regress_tenancy_tap_s.in_globex_fails() $$, 'P0001', 'tap: inside tap-globex',
                 'a failing function with a SET clause ran in its tenant');
SELECT is(tenancy.current_tenant_slug(), 'tap-acme', '... and its failure restored the caller''s tenant');

-- SECURITY DEFINER functions see the caller's context --------------------
SELECT is(regress_tenancy_tap_s.definer_tenant(), 'a1a1a1a1-0000-4000-8000-000000000001'::uuid,
          'a superuser''s SECURITY DEFINER function reads the caller''s tenant');
SELECT is(regress_tenancy_tap_s.bob_tenant(), 'tap-acme as regress_tenancy_tap_bob',
          'a SECURITY DEFINER function owned by a non-member reads the caller''s tenant');
SELECT is(regress_tenancy_tap_s.bob_count(), 1000::bigint,
          '... and its queries are confined to the caller''s tenant');
SET tenancy.tenant = 'tap-globex';
SELECT is(regress_tenancy_tap_s.definer_tenant(), 'b2b2b2b2-0000-4000-8000-000000000002'::uuid,
          'after a switch the SECURITY DEFINER function follows');
SET tenancy.tenant = 'tap-acme';
RESET ROLE;
-- An unrelated catalog change forces a revalidation, which happens inside
-- bob's function: it must check alice (who set the tenant), not bob.
DO $$ BEGIN PERFORM tenancy.create_tenant('tap-unrelated'); END $$;
SET ROLE regress_tenancy_tap_alice;
SELECT is(regress_tenancy_tap_s.bob_tenant(), 'tap-acme as regress_tenancy_tap_bob',
          'revalidation inside a SECURITY DEFINER function checks the caller, not the owner');
RESET ROLE;
DO $$ BEGIN PERFORM tenancy.revoke_tenant('regress_tenancy_tap_alice', 'tap-acme'); END $$;
SET ROLE regress_tenancy_tap_alice;
SELECT throws_ok($$ SELECT regress_tenancy_tap_s.definer_tenant() $$, '42501', NULL,
                 'a superuser''s SECURITY DEFINER function does not launder a revoked context');
RESET ROLE;
DO $$ BEGIN PERFORM tenancy.grant_tenant('regress_tenancy_tap_alice', 'tap-acme'); END $$;
SET ROLE regress_tenancy_tap_alice;

-- Prepared statements and generic plans across tenant switches ------------
SET plan_cache_mode = force_generic_plan;
PREPARE tap_q AS SELECT tenancy.current_tenant();
PREPARE tap_rows AS SELECT count(*)::int, min(n) FROM regress_tenancy_tap_s.docs;
SET tenancy.tenant = 'tap-acme';
SELECT results_eq('tap_q', ARRAY['a1a1a1a1-0000-4000-8000-000000000001'::uuid], 'EXECUTE 1 (acme)');
SET tenancy.tenant = 'tap-globex';
SELECT results_eq('tap_q', ARRAY['b2b2b2b2-0000-4000-8000-000000000002'::uuid], 'EXECUTE 2 (globex)');
SET tenancy.tenant = 'tap-acme';
SELECT results_eq('tap_q', ARRAY['a1a1a1a1-0000-4000-8000-000000000001'::uuid], 'EXECUTE 3 (acme)');
SELECT results_eq('tap_q', ARRAY['a1a1a1a1-0000-4000-8000-000000000001'::uuid], 'EXECUTE 4 (acme again)');
SET tenancy.tenant = 'b2b2b2b2-0000-4000-8000-000000000002';
SELECT results_eq('tap_q', ARRAY['b2b2b2b2-0000-4000-8000-000000000002'::uuid], 'EXECUTE 5 (globex by uuid)');
SET tenancy.tenant = 'tap-acme';
SELECT results_eq('tap_q', ARRAY['a1a1a1a1-0000-4000-8000-000000000001'::uuid], 'EXECUTE 6 (acme)');
SET tenancy.tenant = 'tap-globex';
SELECT results_eq('tap_q', ARRAY['b2b2b2b2-0000-4000-8000-000000000002'::uuid], 'EXECUTE 7 (globex)');
SET tenancy.tenant = 'tap-acme';
SELECT results_eq('tap_q', ARRAY['a1a1a1a1-0000-4000-8000-000000000001'::uuid], 'EXECUTE 8 (acme)');
RESET tenancy.tenant;
SELECT throws_ok('EXECUTE tap_q', '42501', NULL, 'EXECUTE 9 (no tenant) fails loudly');
SET tenancy.tenant = 'tap-acme';
SELECT results_eq('tap_rows', $$ VALUES (1000, 3) $$, 'prepared RLS query, acme: its 1000 rows');
SET tenancy.tenant = 'tap-globex';
SELECT results_eq('tap_rows', $$ VALUES (2000, 1) $$, 'prepared RLS query, globex: its 2000 rows');
SET tenancy.tenant = 'tap-acme';
SELECT results_eq('tap_rows', $$ VALUES (1000, 3) $$, 'prepared RLS query, acme again');
RESET tenancy.tenant;
SELECT throws_ok('EXECUTE tap_rows', '42501', NULL, 'prepared RLS query without a tenant fails loudly');
SELECT ok((SELECT generic_plans >= 9 AND custom_plans = 0 FROM pg_prepared_statements
            WHERE name = 'tap_q'),
          'every execution used the one generic plan');
DEALLOCATE tap_q;
DEALLOCATE tap_rows;
RESET plan_cache_mode;

-- Parallel workers -----------------------------------------------------------
SET force_parallel_mode = on;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET tenancy.tenant = 'tap-globex';
SELECT ok(EXISTS (SELECT 1 FROM regress_tenancy_tap_s.explain(
                    'EXPLAIN (COSTS OFF) SELECT count(*) FROM regress_tenancy_tap_s.docs') l
                   WHERE l ~ 'Gather'),
          'the tenant-table query gets a parallel plan (Gather)');
SELECT ok(EXISTS (SELECT 1 FROM regress_tenancy_tap_s.explain(
                    'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
                     SELECT count(*) FROM regress_tenancy_tap_s.docs') l
                   WHERE l ~ 'Workers Launched: [1-9]'),
          'parallel workers are launched');
SELECT results_eq($$ SELECT count(*)::int, min(n), max(n), count(DISTINCT tenant_id)::int
                      FROM regress_tenancy_tap_s.docs $$,
                  $$ VALUES (2000, 1, 2999, 1) $$,
                  'in parallel, globex counts exactly its own rows');
SELECT results_eq($$ SELECT count(*)::int FROM regress_tenancy_tap_s.docs
                     WHERE tenant_id <> 'b2b2b2b2-0000-4000-8000-000000000002' $$,
                  ARRAY[0], 'in parallel, no row of another tenant is visible');
SELECT results_eq($$ SELECT DISTINCT tenancy.current_tenant() FROM regress_tenancy_tap_s.docs $$,
                  ARRAY['b2b2b2b2-0000-4000-8000-000000000002'::uuid],
                  'current_tenant() evaluated in the workers is the leader''s tenant');
SET tenancy.tenant = 'tap-acme';
SELECT results_eq($$ SELECT count(*)::int, min(n), max(n) FROM regress_tenancy_tap_s.docs $$,
                  $$ VALUES (1000, 3, 3000) $$,
                  'in parallel after a switch, acme counts exactly its own rows');
SELECT results_eq($$ SELECT sum(n)::bigint FROM regress_tenancy_tap_s.docs $$,
                  ARRAY[(SELECT sum(g)::bigint FROM generate_series(3, 3000, 3) g)],
                  'the parallel aggregate covers acme''s rows and nothing else');
RESET tenancy.tenant;
SELECT throws_ok($$ SELECT count(*) FROM regress_tenancy_tap_s.docs $$, '42501', NULL,
                 'a parallel query without a tenant fails loudly');
-- Workers trust the leader's context: the leader must notice a suspension
-- before it starts them.  With parallel_leader_participation off only the
-- workers evaluate the policy.  Under force_parallel_mode every statement
-- needs parallel mode, pgTAP's own included, so the outcome is captured by
-- a parallel-unsafe wrapper (whose inner query is parallel) into a psql
-- variable and asserted once the tenant is active again.
SET parallel_leader_participation = off;
SET tenancy.tenant = 'tap-acme';
SELECT ok(EXISTS (SELECT 1 FROM regress_tenancy_tap_s.explain(
                    'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
                     SELECT count(*) FROM regress_tenancy_tap_s.docs') l
                   WHERE l ~ 'Workers Launched: [1-9]'),
          'without leader participation, workers do the scan');
RESET ROLE;
DO $$ BEGIN PERFORM tenancy.suspend_tenant('tap-acme'); END $$;
SET ROLE regress_tenancy_tap_alice;
SELECT regress_tenancy_tap_s.sqlstate_of('SELECT count(*) FROM regress_tenancy_tap_s.docs') AS par_suspended \gset
RESET force_parallel_mode;
RESET ROLE;
DO $$ BEGIN PERFORM tenancy.resume_tenant('tap-acme'); END $$;
SET ROLE regress_tenancy_tap_alice;
SELECT is(:'par_suspended'::text, '42501',
          'a parallel query in a tenant suspended meanwhile fails with 42501');
SET force_parallel_mode = on;
SELECT is(regress_tenancy_tap_s.sqlstate_of('SELECT count(*) FROM regress_tenancy_tap_s.docs'), '00000',
          'the same parallel query runs once the tenant is resumed');
SELECT results_eq('SELECT count(*)::int FROM regress_tenancy_tap_s.docs', ARRAY[1000],
                  '... and counts acme''s rows');
-- A worker's own SET (a parallel-safe function's SET clause) is validated
-- in the worker: a member enters, anyone else gets 42501 there too.
SELECT ok(EXISTS (SELECT 1 FROM regress_tenancy_tap_s.explain(
                    'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
                     SELECT regress_tenancy_tap_s.par_in_globex()') l
                   WHERE l ~ 'Workers Launched: [1-9]'),
          'a parallel-safe function with a SET clause runs in a worker');
SELECT is(regress_tenancy_tap_s.sqlstate_of('SELECT count(regress_tenancy_tap_s.par_in_globex())'), '00000',
          'in a worker, a function''s SET enters a tenant the role is a member of');
SELECT is(regress_tenancy_tap_s.sqlstate_of('SELECT count(regress_tenancy_tap_s.par_in_hooli())'), '42501',
          'in a worker, a function''s SET of a tenant the role is no member of fails with 42501');
SELECT regress_tenancy_tap_s.par_in_globex() AS par_globex \gset
RESET force_parallel_mode;
SELECT is(:'par_globex'::uuid, 'b2b2b2b2-0000-4000-8000-000000000002'::uuid,
          '... and current_tenant() there is that tenant');
SELECT throws_ok($$ SELECT regress_tenancy_tap_s.par_in_hooli() $$, '42501', NULL,
                 '... as it does in the leader');
RESET force_parallel_mode;
RESET parallel_leader_participation;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET tenancy.tenant;

-- tenancy.require_local within the transaction that sets the tenant --------
SET ROLE regress_tenancy_tap_admin;
SELECT lives_ok($$ SET tenancy.require_local = on $$,
                'a non-superuser administrator may set tenancy.require_local');
SELECT is(current_setting('tenancy.require_local'), 'on', '... and it took effect');
RESET ROLE;
RESET tenancy.require_local;
SET tenancy.require_local = on;
SET ROLE regress_tenancy_tap_alice;
SELECT throws_ok($$ SET tenancy.require_local = off $$, '42501', NULL,
                 'a tenant role cannot turn tenancy.require_local off');
SELECT throws_ok($$ RESET tenancy.require_local $$, '42501', NULL,
                 '... nor RESET it');
SELECT is(current_setting('tenancy.require_local'), 'on', 'require_local is still on');
SET tenancy.tenant = 'tap-acme';
SELECT is(tenancy.current_tenant(), 'a1a1a1a1-0000-4000-8000-000000000001'::uuid,
          'with require_local, the tenant works in the transaction that set it');
SELECT is(current_setting('tenancy.tenant'), 'tap-acme', '... and SHOW gives it');
SELECT is(regress_tenancy_tap_s.bob_count(), 1000::bigint,
          '... and policies apply it');
RESET tenancy.tenant;
RESET ROLE;
RESET tenancy.require_local;

SELECT * FROM finish();
ROLLBACK;
