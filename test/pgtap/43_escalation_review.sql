-- Privilege escalation through the extension's SECURITY DEFINER code, from
-- an adversarial review: an administrator who is no superuser, or a table
-- owner, plants code (a trigger, a cast used by a foreign key, an IMMUTABLE
-- function in an index predicate) that the extension's own functions would
-- run as the extension owner.  Each attempt must leave no trace of a
-- superuser in the spy's log.
BEGIN;
SELECT plan(1);
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

SELECT * FROM finish();
ROLLBACK;
