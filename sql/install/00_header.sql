-- tenancy: multi-tenant isolation inside PostgreSQL.
--
-- This script is assembled by the Makefile from sql/install/*.sql in name
-- order; edit those pieces, never the assembled sql/tenancy--VERSION.sql.

\echo Use "CREATE EXTENSION tenancy" to load this file. \quit

-- The role whose members administer every tenant.  Roles belong to the
-- cluster, not the database: it is created once and survives DROP EXTENSION.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'tenancy_admin') THEN
        CREATE ROLE tenancy_admin NOLOGIN;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA tenancy TO PUBLIC;
