-- Privilege escalation through the extension's SECURITY DEFINER code, from
-- an adversarial review: an administrator who is no superuser, or a table
-- owner, plants code (a trigger, a cast used by a foreign key, an IMMUTABLE
-- function in an index predicate) that the extension's own functions would
-- run as the extension owner.  Each attempt must leave no trace of a
-- superuser in the spy's log.  Also: the partition step of offboarding is
-- no way around offboard_tenant.
BEGIN;
SELECT plan(16);
SET client_min_messages = warning;

CREATE ROLE regress_tenancy_e43_admin NOLOGIN IN ROLE tenancy_admin;

-- 1. purge_audit and a temporary table of the caller's -----------------------
SET ROLE regress_tenancy_e43_admin;
CREATE TEMP TABLE e43_spied (at text, usr name, super boolean);
CREATE FUNCTION pg_temp.e43_spy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO pg_temp.e43_spied SELECT TG_NAME, current_user, r.rolsuper
      FROM pg_roles r WHERE r.rolname = current_user;
    RETURN NULL;
END $$;
-- The name purge_audit once used for its own temporary table.
CREATE TEMP TABLE tenancy_audit_purge_plan (tenant_id uuid PRIMARY KEY, cutoff timestamptz, sealed_below bigint);
CREATE TRIGGER spy AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON pg_temp.tenancy_audit_purge_plan
    FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.e43_spy();
SELECT tenancy.purge_audit();
SELECT is((SELECT count(*) FROM pg_temp.e43_spied), 0::bigint,
          'purge_audit never touches a temporary table the caller made');
RESET ROLE;

-- The attacker's spy: logs who runs it, whenever it runs.
CREATE ROLE regress_tenancy_e43_owner NOLOGIN;       -- owns tables, no administrator
GRANT regress_tenancy_e43_owner TO regress_tenancy_e43_admin;
CREATE SCHEMA regress_e43 AUTHORIZATION regress_tenancy_e43_owner;
GRANT USAGE ON SCHEMA regress_e43 TO PUBLIC;
CREATE TABLE regress_e43.spied (at text, usr name, super boolean);
GRANT INSERT ON regress_e43.spied TO PUBLIC;
SET ROLE regress_tenancy_e43_owner;
CREATE FUNCTION regress_e43.spy(at text) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    INSERT INTO regress_e43.spied SELECT at, current_user, r.rolsuper
      FROM pg_roles r WHERE r.rolname = current_user;
    RETURN true;
END $$;
-- "IMMUTABLE", so PostgreSQL folds a call with constant arguments (in an
-- index predicate, when the index is first used) as whoever plans.
CREATE FUNCTION regress_e43.imm(at text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN RETURN regress_e43.spy(at); END $$;
-- A cast used by a foreign key check.
CREATE TYPE regress_e43.ct AS (v int);
CREATE FUNCTION regress_e43.ct_to_int(c regress_e43.ct) RETURNS int LANGUAGE plpgsql AS $$
BEGIN PERFORM regress_e43.spy('cast'); RETURN c.v; END $$;
CREATE CAST (regress_e43.ct AS int) WITH FUNCTION regress_e43.ct_to_int(regress_e43.ct) AS IMPLICIT;
CREATE TABLE regress_e43.ref (id int PRIMARY KEY);
INSERT INTO regress_e43.ref VALUES (1);
GRANT ALL ON ALL FUNCTIONS IN SCHEMA regress_e43 TO PUBLIC;
RESET ROLE;
DO $$
BEGIN
    PERFORM tenancy.create_tenant('e43-acme', 'Acme', 'basic', 'e4300000-0000-4000-8000-000000000001');
    PERFORM tenancy.create_tenant('e43-globex', 'Globex', 'basic', 'e4300000-0000-4000-8000-000000000002');
END $$;

-- 2. isolate_tenant: ATTACH checks the parent's foreign key ----------------
SET ROLE regress_tenancy_e43_owner;
CREATE TABLE regress_e43.fk (tenant_id uuid NOT NULL, id int, r regress_e43.ct,
                             FOREIGN KEY (r) REFERENCES regress_e43.ref (id)) PARTITION BY LIST (tenant_id);
RESET ROLE;
SELECT tenancy.partition_table('regress_e43.fk', buckets => 2);
INSERT INTO regress_e43.fk VALUES ('e4300000-0000-4000-8000-000000000001', 1, ROW(1));
DELETE FROM regress_e43.spied;
SELECT lives_ok($$ SELECT tenancy.isolate_tenant('e43-acme', 'regress_e43.fk') $$,
                'isolate_tenant on a table with a foreign key through the owner''s cast');
SELECT is((SELECT count(*) FROM regress_e43.spied WHERE super OR usr <> 'regress_tenancy_e43_owner'), 0::bigint,
          '... ran the owner''s cast as the owner only, never as a superuser');

-- 3. create_tenant and offboard_tenant: an index predicate folded ------------
SET ROLE regress_tenancy_e43_owner;
CREATE TABLE regress_e43.lp (tenant_id uuid NOT NULL, id int) PARTITION BY LIST (tenant_id);
RESET ROLE;
SELECT tenancy.partition_table('regress_e43.lp');
SET ROLE regress_tenancy_e43_owner;
CREATE INDEX lp_spy ON regress_e43.lp (id) WHERE regress_e43.imm('index predicate');
RESET ROLE;
DELETE FROM regress_e43.spied;
SELECT lives_ok($$ SELECT tenancy.create_tenant('e43-hooli', 'Hooli', 'basic', 'e4300000-0000-4000-8000-000000000003') $$,
                'create_tenant adds a partition to a table whose index predicate is the owner''s code');
SELECT lives_ok($$ SELECT tenancy.offboard_tenant('e43-globex') $$,
                'offboard_tenant drops a partition of it');
SELECT is((SELECT count(*) FROM regress_e43.spied WHERE super), 0::bigint,
          '... neither ran the owner''s code as a superuser');

-- 4. The event trigger: a registered table's new child -----------------------
SET ROLE regress_tenancy_e43_owner;
CREATE TABLE regress_e43.plain (tenant_id uuid NOT NULL, id int);
RESET ROLE;
SELECT tenancy.register_table('regress_e43.plain');
SET ROLE regress_tenancy_e43_owner;
CREATE TABLE regress_e43.plain_child (tenant_id uuid NOT NULL, id int);
CREATE INDEX plain_child_spy ON regress_e43.plain_child (id) WHERE regress_e43.imm('child predicate');
RESET ROLE;
DELETE FROM regress_e43.spied;
SET ROLE regress_tenancy_e43_owner;
SELECT lives_ok($$ ALTER TABLE regress_e43.plain_child INHERIT regress_e43.plain $$,
                'the owner attaches a child; the event trigger protects it');
RESET ROLE;
SELECT is((SELECT count(*) FROM regress_e43.spied WHERE super), 0::bigint,
          '... without running the owner''s code as a superuser');
SELECT ok((SELECT relforcerowsecurity FROM pg_class WHERE oid = 'regress_e43.plain_child'::regclass),
          '... and the child got the contract all the same');
SELECT is((SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_tenancy_e43_owner'), false,
          'the owner is still no superuser');

-- 5. The partition step of offboarding, called directly ------------------------
INSERT INTO regress_e43.lp VALUES ('e4300000-0000-4000-8000-000000000001', 7);
SET ROLE regress_tenancy_e43_admin;
SELECT throws_ok($$ SELECT tenancy._partition_remove('regress_e43.lp', 'e4300000-0000-4000-8000-000000000001', NULL) $$,
                 '55000', NULL, 'an administrator cannot drop an active tenant''s partition around offboard_tenant');
RESET ROLE;
SELECT is((SELECT count(*) FROM regress_e43.lp WHERE tenant_id = 'e4300000-0000-4000-8000-000000000001'), 1::bigint,
          '... its rows are still there');

-- 6. tenancy._run_as_owner, which administrators may call ---------------------
-- It must give nothing SET ROLE would not: no temporary or non-table
-- relation, and never the owner's FORCE ROW LEVEL SECURITY set aside.
SET ROLE regress_tenancy_e43_owner;
CREATE TABLE regress_e43.forced (who name, v int);
INSERT INTO regress_e43.forced VALUES ('someone_else', 100), ('regress_tenancy_e43_admin', 1);
ALTER TABLE regress_e43.forced ENABLE ROW LEVEL SECURITY;
ALTER TABLE regress_e43.forced FORCE ROW LEVEL SECURITY;
CREATE POLICY mine ON regress_e43.forced USING (who = session_user OR who = current_setting('regress.e43_who', true));
CREATE FUNCTION regress_e43.forced_count() RETURNS bigint LANGUAGE sql SECURITY DEFINER
    AS $$ SELECT count(*) FROM regress_e43.forced $$;
GRANT EXECUTE ON FUNCTION regress_e43.forced_count() TO PUBLIC;
RESET ROLE;
SET ROLE regress_tenancy_e43_admin;
SET regress.e43_who = 'regress_tenancy_e43_admin';
CREATE TEMP TABLE e43_mine (x int);
SELECT throws_ok($$ SELECT tenancy._run_as_owner('e43_mine', 'SELECT regress_e43.forced_count()', NULL) $$,
                 '42809', NULL, '_run_as_owner refuses a temporary table');
SELECT is(tenancy._run_as_owner('regress_e43.plain', 'SELECT regress_e43.forced_count()', NULL), 1::bigint,
          '... and as an owner whose privileges the caller has, the owner''s FORCE RLS still applies');
SELECT throws_ok($$ SELECT tenancy._run_as_owner('tenancy.tenants', 'SELECT 1', NULL) $$,
                 '42501', NULL, '... and it refuses a table whose owner''s privileges the caller lacks');
RESET regress.e43_who;
RESET ROLE;

-- 7. The registry guard and ids no relation has yet ----------------------------
SET ROLE regress_tenancy_e43_admin;
SELECT throws_ok($$ INSERT INTO tenancy.tables (relid, tenant_column, partitioned)
                    SELECT (max(oid::bigint) + 1)::oid::regclass, 'tenant_id', true FROM pg_class $$,
                 '42809', NULL, 'an administrator cannot claim the id of a table not created yet');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
