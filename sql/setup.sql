-- Install the extension and the roles the other regression files use.
-- Roles are cluster-wide: drop leftovers of an earlier run first.
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_tenancy_admin, regress_tenancy_alice,
    regress_tenancy_bob, regress_tenancy_group, regress_tenancy_carol;
RESET client_min_messages;

CREATE EXTENSION tenancy;

SELECT extname, extversion, extrelocatable, n.nspname AS schema
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE extname = 'tenancy';

-- tenancy_admin exists and is not a login role.
SELECT rolname, rolcanlogin, rolsuper FROM pg_roles WHERE rolname = 'tenancy_admin';

CREATE ROLE regress_tenancy_admin LOGIN IN ROLE tenancy_admin;
CREATE ROLE regress_tenancy_alice LOGIN;
CREATE ROLE regress_tenancy_bob LOGIN;
CREATE ROLE regress_tenancy_group NOLOGIN;
CREATE ROLE regress_tenancy_carol LOGIN IN ROLE regress_tenancy_group;

-- The library is preloaded by the test cluster.
SHOW shared_preload_libraries;

-- A schema the tenant roles may create functions in.
CREATE SCHEMA regress_tenancy_s AUTHORIZATION regress_tenancy_alice;
GRANT USAGE ON SCHEMA regress_tenancy_s TO PUBLIC;
