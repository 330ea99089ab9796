-- Tenant context: the functions policies and applications call.
-- The GUCs tenancy.tenant and tenancy.require_local are defined in C.

CREATE FUNCTION tenancy.current_tenant() RETURNS uuid
    LANGUAGE C STABLE PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'tenancy_current_tenant';
COMMENT ON FUNCTION tenancy.current_tenant() IS 'The id of the tenant in force; raises 42501 when no tenant is set.';

CREATE FUNCTION tenancy.current_tenant_slug() RETURNS text
    LANGUAGE C STABLE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'tenancy_current_tenant_slug';
COMMENT ON FUNCTION tenancy.current_tenant_slug() IS 'The slug of the tenant in force, or NULL when none is set.';

CREATE FUNCTION tenancy._current_tenant_or_null() RETURNS uuid
    LANGUAGE C STABLE PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'tenancy_current_tenant_or_null';
COMMENT ON FUNCTION tenancy._current_tenant_or_null() IS 'The id of the tenant in force, or NULL when none is set (for the catalog''s own policies).';

-- Administrators may set the superuser-only settings, per role or session
-- (ALTER ROLE app SET tenancy.require_local = on needs this, PostgreSQL 15+).
GRANT SET ON PARAMETER tenancy.require_local TO tenancy_admin;
GRANT SET ON PARAMETER tenancy.managed_schemas TO tenancy_admin;
