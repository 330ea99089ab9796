-- The tenant context: tenancy.tenant, current_tenant(), require_local.
\set SHOW_CONTEXT never
-- Uses the tenants and roles created by catalog.sql:
--   acme (alice, viewer), globex (bob admin-level, group -> carol),
--   hooli (bob viewer), initech (offboarded).

-- No tenant: policies fail loudly, the slug is NULL, SHOW is empty.
SELECT tenancy.current_tenant();
SELECT tenancy.current_tenant_slug() IS NULL AS no_slug;
SHOW tenancy.tenant;

-- A misspelt setting is refused rather than kept as a placeholder.
SET tenancy.tennant = 'acme';

SET ROLE regress_tenancy_alice;
SET tenancy.tenant = 'acme';
SHOW tenancy.tenant;
SELECT tenancy.current_tenant(), tenancy.current_tenant_slug();
-- SHOW and pg_settings display the slug (the stored value is the uuid).
SELECT setting FROM pg_settings WHERE name = 'tenancy.tenant';

-- By uuid, in any spelling uuid_in accepts.
SET tenancy.tenant = '{11111111-1111-4111-8111-111111111111}';
SET tenancy.tenant = '11111111111141118111111111111111';
SELECT tenancy.current_tenant_slug();

-- Routes into a tenant alice does not belong to, or that does not exist.
-- Each fails and leaves the context as it was.
SET tenancy.tenant = 'globex';
SET tenancy.tenant = '22222222-2222-4222-8222-222222222222';
SET tenancy.tenant = '22222222-2222-4222-8222-22222222222';
SET tenancy.tenant = 'GLOBEX';
SET tenancy.tenant = 'Acme';
SET tenancy.tenant = ' acme';
SET tenancy.tenant = 'acme ';
SET tenancy.tenant = 'initech';
SET tenancy.tenant = 'nosuch';
SELECT set_config('tenancy.tenant', 'globex', false);
SELECT set_config('tenancy.tenant', 'globex', true);
BEGIN;
SET LOCAL tenancy.tenant = 'globex';
ROLLBACK;
ALTER ROLE regress_tenancy_alice SET tenancy.tenant = 'globex';
ALTER ROLE regress_tenancy_alice IN DATABASE contrib_regression SET tenancy.tenant = 'globex';
SELECT tenancy.current_tenant_slug();

-- Function SET clauses are checked when created and when run.
CREATE FUNCTION regress_tenancy_s.peek() RETURNS text LANGUAGE sql
    SET tenancy.tenant = 'globex' AS $$ SELECT tenancy.current_tenant_slug() $$;
RESET ROLE;
CREATE FUNCTION regress_tenancy_s.peek_invoker() RETURNS text LANGUAGE sql
    SET tenancy.tenant = 'globex' AS $$ SELECT tenancy.current_tenant_slug() $$;
CREATE FUNCTION regress_tenancy_s.peek_definer() RETURNS text LANGUAGE sql
    SECURITY DEFINER SET tenancy.tenant = 'globex'
    AS $$ SELECT tenancy.current_tenant_slug() $$;
CREATE FUNCTION regress_tenancy_s.whoami() RETURNS text LANGUAGE sql
    SECURITY DEFINER AS $$ SELECT tenancy.current_tenant_slug() || ' as ' || current_user $$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA regress_tenancy_s TO PUBLIC;
SET ROLE regress_tenancy_alice;
SELECT regress_tenancy_s.peek_invoker();
-- A SECURITY DEFINER owner's choice holds inside the function only.
SELECT regress_tenancy_s.peek_definer();
SELECT tenancy.current_tenant_slug();
SELECT regress_tenancy_s.whoami();

-- A context entered by one role serves another role after SET ROLE only
-- if that role may enter the tenant too.
SET tenancy.tenant = 'acme';
RESET ROLE;
SELECT tenancy.current_tenant_slug() AS superuser_may;
SET ROLE regress_tenancy_bob;
SELECT tenancy.current_tenant_slug() AS bob_may_not;
SET ROLE regress_tenancy_alice;
SELECT tenancy.current_tenant_slug() AS alice_again;

-- SET LOCAL, savepoints, ROLLBACK and RESET.
RESET tenancy.tenant;
BEGIN;
SET LOCAL tenancy.tenant = 'acme';
SELECT tenancy.current_tenant_slug();
COMMIT;
SELECT tenancy.current_tenant_slug() IS NULL AS gone_after_commit;
BEGIN;
SELECT set_config('tenancy.tenant', 'acme', true);
SAVEPOINT s1;
SET LOCAL tenancy.tenant = '11111111-1111-4111-8111-111111111111';
RESET tenancy.tenant;
SELECT tenancy.current_tenant_slug() IS NULL AS reset_inside;
ROLLBACK TO SAVEPOINT s1;
SELECT tenancy.current_tenant_slug() AS restored_by_savepoint;
ROLLBACK;
SELECT tenancy.current_tenant_slug() IS NULL AS gone_after_rollback;
SET tenancy.tenant = 'acme';
BEGIN;
SET tenancy.tenant = '11111111-1111-4111-8111-111111111111';
ROLLBACK;
SELECT tenancy.current_tenant_slug() AS kept_after_rollback;
RESET ALL;
SELECT tenancy.current_tenant_slug() IS NULL AS gone_after_reset_all;
SET tenancy.tenant = 'acme';
DISCARD ALL;
SHOW tenancy.tenant;
SELECT tenancy.current_tenant();

-- Suspension and revocation bite at the next statement.
SET ROLE regress_tenancy_alice;
SET tenancy.tenant = 'acme';
RESET ROLE;
SELECT tenancy.suspend_tenant('acme', 'audit');
SET ROLE regress_tenancy_alice;
SELECT tenancy.current_tenant();
SET tenancy.tenant = 'acme';
RESET ROLE;
SELECT tenancy.resume_tenant('acme');
SET ROLE regress_tenancy_alice;
SELECT tenancy.current_tenant_slug();
RESET ROLE;
SELECT tenancy.revoke_tenant('regress_tenancy_alice', 'acme');
SET ROLE regress_tenancy_alice;
SELECT tenancy.current_tenant();
RESET ROLE;
SELECT tenancy.grant_tenant('regress_tenancy_alice', 'acme', 'viewer');
SET ROLE regress_tenancy_alice;
SELECT tenancy.current_tenant_slug();
RESET tenancy.tenant;

-- Membership through a group role; administrators enter any tenant.
SET ROLE regress_tenancy_carol;
SET tenancy.tenant = 'globex';
SELECT tenancy.current_tenant_slug();
SET tenancy.tenant = 'acme';
RESET tenancy.tenant;
RESET ROLE;
SELECT tenancy.suspend_tenant('globex');
SET ROLE regress_tenancy_carol;
SET tenancy.tenant = 'globex';
SET ROLE regress_tenancy_admin;
SET tenancy.tenant = 'globex';
SELECT tenancy.current_tenant_slug();
SET tenancy.tenant = 'initech';
SELECT tenancy.current_tenant_slug();
RESET tenancy.tenant;
RESET ROLE;
SELECT tenancy.resume_tenant('globex');

-- Role grants count too: losing the group (or tenancy_admin) bites at the
-- next statement, like a revocation.
SET ROLE regress_tenancy_carol;
SET tenancy.tenant = 'globex';
RESET ROLE;
REVOKE regress_tenancy_group FROM regress_tenancy_carol;
SET ROLE regress_tenancy_carol;
SELECT tenancy.current_tenant_slug();
RESET ROLE;
GRANT regress_tenancy_group TO regress_tenancy_carol;
SET ROLE regress_tenancy_carol;
SELECT tenancy.current_tenant_slug();
RESET tenancy.tenant;
SET ROLE regress_tenancy_admin;
SET tenancy.tenant = 'hooli';
RESET ROLE;
REVOKE tenancy_admin FROM regress_tenancy_admin;
SET ROLE regress_tenancy_admin;
SELECT tenancy.current_tenant_slug();
RESET ROLE;
GRANT tenancy_admin TO regress_tenancy_admin;
SET ROLE regress_tenancy_admin;
SELECT tenancy.current_tenant_slug();
RESET tenancy.tenant;
RESET ROLE;

-- A table isolated by a hand-written policy on current_tenant(): generic
-- plans across tenant switches, and parallel workers.
CREATE TABLE regress_tenancy_s.docs (tenant_id uuid NOT NULL, n int NOT NULL);
INSERT INTO regress_tenancy_s.docs
SELECT CASE WHEN g % 3 = 0 THEN '11111111-1111-4111-8111-111111111111'::uuid
            ELSE '22222222-2222-4222-8222-222222222222'::uuid END, g
  FROM generate_series(1, 3000) g;
ALTER TABLE regress_tenancy_s.docs ENABLE ROW LEVEL SECURITY;
ALTER TABLE regress_tenancy_s.docs FORCE ROW LEVEL SECURITY;
CREATE POLICY isolation ON regress_tenancy_s.docs
    USING (tenant_id = tenancy.current_tenant());
GRANT SELECT ON regress_tenancy_s.docs TO PUBLIC;
ANALYZE regress_tenancy_s.docs;

SET ROLE regress_tenancy_admin;
SET plan_cache_mode = force_generic_plan;
PREPARE q AS SELECT tenancy.current_tenant_slug() AS slug, count(*), min(n) FROM regress_tenancy_s.docs;
SET tenancy.tenant = 'acme';
EXECUTE q;
SET tenancy.tenant = 'globex';
EXECUTE q;
SET tenancy.tenant = 'acme';
EXECUTE q;
RESET tenancy.tenant;
EXECUTE q;
DEALLOCATE q;
RESET plan_cache_mode;

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET force_parallel_mode = on;
SET tenancy.tenant = 'globex';
EXPLAIN (COSTS OFF) SELECT count(*) FROM regress_tenancy_s.docs;
SELECT count(*), min(n), max(n) FROM regress_tenancy_s.docs;
SET tenancy.tenant = 'acme';
SELECT count(*), min(n), max(n) FROM regress_tenancy_s.docs;
RESET tenancy.tenant;
SELECT count(*) FROM regress_tenancy_s.docs;
RESET force_parallel_mode;
RESET ROLE;
-- A worker trusts only the leader's setting: its own SET (a parallel-safe
-- function's SET clause) is checked there as in the leader.  Alice is a
-- member of acme, not of globex.
CREATE FUNCTION regress_tenancy_s.par_acme() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE SET tenancy.tenant = '11111111-1111-4111-8111-111111111111'
    AS $$ SELECT tenancy.current_tenant() $$;
CREATE FUNCTION regress_tenancy_s.par_globex() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE SET tenancy.tenant = '22222222-2222-4222-8222-222222222222'
    AS $$ SELECT tenancy.current_tenant() $$;
SET ROLE regress_tenancy_alice;
SET force_parallel_mode = on;
SET parallel_leader_participation = off;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT regress_tenancy_s.par_acme();
SELECT regress_tenancy_s.par_acme();
SELECT regress_tenancy_s.par_globex();
RESET parallel_leader_participation;
RESET force_parallel_mode;
SELECT regress_tenancy_s.par_globex();
RESET ROLE;
DROP FUNCTION regress_tenancy_s.par_acme(), regress_tenancy_s.par_globex();

-- tenancy.require_local: a context never outlives its transaction.
SET tenancy.require_local = on;
SET ROLE regress_tenancy_alice;
SET tenancy.require_local = off;
SET tenancy.tenant = 'acme';
SHOW tenancy.tenant;
SELECT tenancy.current_tenant();
BEGIN;
SET LOCAL tenancy.tenant = 'acme';
SELECT tenancy.current_tenant_slug();
SHOW tenancy.tenant;
COMMIT;
SELECT tenancy.current_tenant_slug() IS NULL AS expired;
RESET ROLE;
RESET tenancy.require_local;
SELECT tenancy.current_tenant_slug();
RESET tenancy.tenant;
