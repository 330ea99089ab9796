-- Catalog: plans, tenants, members, the registry of tenant tables.
--
-- Tenant roles read only their own rows (RLS); only superusers and members
-- of tenancy_admin write.  Statement triggers tell every backend to drop its
-- cached tenant lookups when tenants or members change.

CREATE TABLE tenancy.plans (
    name                      text PRIMARY KEY
                              CHECK (name ~ '^[a-z0-9][a-z0-9_-]{1,62}$'),
    max_rows                  bigint CHECK (max_rows >= 0),
    max_bytes                 bigint CHECK (max_bytes >= 0),
    statement_timeout         interval CHECK (statement_timeout >= interval '0'),
    max_statements_per_second int CHECK (max_statements_per_second > 0),
    audit_retention           interval CHECK (audit_retention > interval '0'),
    features                  text[] NOT NULL DEFAULT '{}',
    builtin                   boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE tenancy.plans IS 'Plans and their limits; NULL means unlimited.';
COMMENT ON COLUMN tenancy.plans.name IS 'Plan name, referenced by tenancy.tenants.plan.';
COMMENT ON COLUMN tenancy.plans.max_rows IS 'Most rows a tenant may keep across registered tables.';
COMMENT ON COLUMN tenancy.plans.max_bytes IS 'Most bytes a tenant may keep across registered tables.';
COMMENT ON COLUMN tenancy.plans.statement_timeout IS 'statement_timeout applied when a session enters the tenant.';
COMMENT ON COLUMN tenancy.plans.max_statements_per_second IS 'Statement rate limit per tenant (token bucket).';
COMMENT ON COLUMN tenancy.plans.audit_retention IS 'How long audit entries are kept.';
COMMENT ON COLUMN tenancy.plans.features IS 'Feature flags the plan includes.';
COMMENT ON COLUMN tenancy.plans.builtin IS 'True for the plans the extension seeds (basic, premium, enterprise).';

INSERT INTO tenancy.plans (name, max_rows, max_bytes, statement_timeout,
                           max_statements_per_second, audit_retention, features, builtin)
VALUES ('basic',      100000,   104857600,   interval '30 seconds', 50,
        interval '30 days',  '{}', true),
       ('premium',    10000000, 10737418240, interval '2 minutes',  500,
        interval '1 year',   '{encryption,audit}', true),
       ('enterprise', NULL,     NULL,        NULL,                  NULL,
        interval '7 years',  '{encryption,audit,dedicated_partition}', true);

CREATE TABLE tenancy.tenants (
    id                uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
    slug              text COLLATE "C" NOT NULL
                      CONSTRAINT tenants_slug_key UNIQUE
                      CONSTRAINT tenants_slug_check CHECK (slug ~ '^[a-z0-9][a-z0-9_-]{1,62}$'),
    name              text NOT NULL,
    status            text NOT NULL DEFAULT 'active'
                      CHECK (status IN ('active', 'suspended', 'offboarded')),
    plan              text NOT NULL DEFAULT 'basic'
                      REFERENCES tenancy.plans (name) ON UPDATE CASCADE,
    settings          jsonb NOT NULL DEFAULT '{}'
                      CHECK (pg_catalog.jsonb_typeof(settings) = 'object'),
    created_at        timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at        timestamptz NOT NULL DEFAULT pg_catalog.now(),
    status_changed_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    status_reason     text
);
COMMENT ON TABLE tenancy.tenants IS 'One row per tenant.';
COMMENT ON COLUMN tenancy.tenants.id IS 'Tenant id: the value stored in every tenant column.';
COMMENT ON COLUMN tenancy.tenants.slug IS 'Short unique name: lower-case letters, digits, "-" and "_", 2 to 63 characters.';
COMMENT ON COLUMN tenancy.tenants.name IS 'Display name.';
COMMENT ON COLUMN tenancy.tenants.status IS 'active, suspended or offboarded; only administrators may enter a tenant that is not active.';
COMMENT ON COLUMN tenancy.tenants.plan IS 'The plan whose limits apply.';
COMMENT ON COLUMN tenancy.tenants.settings IS 'Free-form per-tenant settings (a JSON object).';
COMMENT ON COLUMN tenancy.tenants.created_at IS 'When the tenant was created.';
COMMENT ON COLUMN tenancy.tenants.updated_at IS 'When the row last changed.';
COMMENT ON COLUMN tenancy.tenants.status_changed_at IS 'When the status last changed.';
COMMENT ON COLUMN tenancy.tenants.status_reason IS 'Why the status last changed (for example the reason given to suspend_tenant).';
CREATE INDEX tenants_plan_idx ON tenancy.tenants (plan);

CREATE TABLE tenancy.members (
    tenant_id  uuid NOT NULL REFERENCES tenancy.tenants (id) ON DELETE CASCADE,
    role_name  name NOT NULL,
    level      text NOT NULL DEFAULT 'operator'
               CHECK (level IN ('admin', 'operator', 'viewer')),
    granted_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT members_pkey PRIMARY KEY (tenant_id, role_name)
);
COMMENT ON TABLE tenancy.members IS 'Which role may act in which tenant, and at which level.';
COMMENT ON COLUMN tenancy.members.tenant_id IS 'The tenant.';
COMMENT ON COLUMN tenancy.members.role_name IS 'The role; members of this role (by inheritance) may enter too.';
COMMENT ON COLUMN tenancy.members.level IS 'admin, operator or viewer.';
COMMENT ON COLUMN tenancy.members.granted_at IS 'When the membership was granted or last changed.';
CREATE INDEX members_role_name_idx ON tenancy.members (role_name);

CREATE TABLE tenancy.tables (
    relid         regclass PRIMARY KEY,
    tenant_column name NOT NULL DEFAULT 'tenant_id',
    partitioned   boolean NOT NULL DEFAULT false,
    audited       boolean NOT NULL DEFAULT false,
    registered_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE tenancy.tables IS 'Registry of tenant-scoped tables.';
COMMENT ON COLUMN tenancy.tables.relid IS 'The registered table.';
COMMENT ON COLUMN tenancy.tables.tenant_column IS 'Its column holding the tenant id.';
COMMENT ON COLUMN tenancy.tables.partitioned IS 'True when partitioned per tenant by tenancy.partition_table().';
COMMENT ON COLUMN tenancy.tables.audited IS 'True when tenancy.enable_audit() is in force.';
COMMENT ON COLUMN tenancy.tables.registered_at IS 'When the table was registered.';

-- pg_dump carries the catalog's rows.  The seeded plans are dumped too, so
-- changed limits survive; _plans_upsert_builtin lets the restore overwrite
-- the seeds that CREATE EXTENSION already inserted.
SELECT pg_catalog.pg_extension_config_dump('tenancy.plans', '');
SELECT pg_catalog.pg_extension_config_dump('tenancy.tenants', '');
SELECT pg_catalog.pg_extension_config_dump('tenancy.members', '');
SELECT pg_catalog.pg_extension_config_dump('tenancy.tables', '');

-- Triggers -----------------------------------------------------------------

CREATE FUNCTION tenancy._catalog_changed() RETURNS trigger
    LANGUAGE C
    AS 'MODULE_PATHNAME', 'tenancy_catalog_changed';
COMMENT ON FUNCTION tenancy._catalog_changed() IS 'Statement trigger: invalidate every backend''s cached tenant lookups.';
REVOKE ALL ON FUNCTION tenancy._catalog_changed() FROM PUBLIC;

CREATE TRIGGER tenants_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tenancy.tenants
    FOR EACH STATEMENT EXECUTE FUNCTION tenancy._catalog_changed();
CREATE TRIGGER members_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tenancy.members
    FOR EACH STATEMENT EXECUTE FUNCTION tenancy._catalog_changed();

CREATE FUNCTION tenancy._tenants_touch() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF NEW.id IS DISTINCT FROM OLD.id THEN
        RAISE EXCEPTION 'the id of tenant "%" cannot change', OLD.slug
            USING ERRCODE = '55000',
                  HINT = 'Tenant ids are stored in every tenant table; create a new tenant instead.';
    END IF;
    IF OLD.status = 'offboarded' AND NEW.status <> 'offboarded' THEN
        RAISE EXCEPTION 'tenant "%" is offboarded', OLD.slug
            USING ERRCODE = '55000',
                  DETAIL = 'Offboarding is final: its rows and keys are gone.',
                  HINT = 'Create a new tenant instead.';
    END IF;
    NEW.updated_at := pg_catalog.now();
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        NEW.status_changed_at := pg_catalog.now();
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION tenancy._tenants_touch() IS 'Row trigger: keep updated_at and status_changed_at, forbid id changes and leaving offboarded.';
REVOKE ALL ON FUNCTION tenancy._tenants_touch() FROM PUBLIC;

CREATE TRIGGER tenants_touch
    BEFORE UPDATE ON tenancy.tenants
    FOR EACH ROW EXECUTE FUNCTION tenancy._tenants_touch();

CREATE FUNCTION tenancy._plans_upsert_builtin() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    -- Only a row named like an existing built-in plan is turned into an
    -- update: this is what lets pg_restore carry changed seed limits.
    UPDATE tenancy.plans p
       SET max_rows = NEW.max_rows, max_bytes = NEW.max_bytes,
           statement_timeout = NEW.statement_timeout,
           max_statements_per_second = NEW.max_statements_per_second,
           audit_retention = NEW.audit_retention, features = NEW.features
     WHERE p.name = NEW.name AND p.builtin;
    IF FOUND THEN
        RETURN NULL;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION tenancy._plans_upsert_builtin() IS 'Row trigger: an INSERT of a built-in plan''s name updates its limits (used by pg_restore).';
REVOKE ALL ON FUNCTION tenancy._plans_upsert_builtin() FROM PUBLIC;

CREATE TRIGGER plans_upsert_builtin
    BEFORE INSERT ON tenancy.plans
    FOR EACH ROW EXECUTE FUNCTION tenancy._plans_upsert_builtin();

-- Privileges and row-level security -----------------------------------------

CREATE FUNCTION tenancy._is_member(tenant uuid) RETURNS boolean
    LANGUAGE C STABLE STRICT PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'tenancy_is_member';
COMMENT ON FUNCTION tenancy._is_member(uuid) IS 'Is the current role an administrator or a member of the tenant (whatever its status)?';

GRANT SELECT ON tenancy.plans, tenancy.tables TO PUBLIC;
GRANT SELECT ON tenancy.tenants, tenancy.members TO PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE
   ON tenancy.plans, tenancy.tenants, tenancy.members, tenancy.tables
   TO tenancy_admin;

ALTER TABLE tenancy.tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenancy.members ENABLE ROW LEVEL SECURITY;

CREATE POLICY tenants_admin ON tenancy.tenants
    TO tenancy_admin USING (true) WITH CHECK (true);
CREATE POLICY tenants_member_read ON tenancy.tenants
    FOR SELECT TO PUBLIC USING (tenancy._is_member(id));
CREATE POLICY members_admin ON tenancy.members
    TO tenancy_admin USING (true) WITH CHECK (true);
CREATE POLICY members_own_read ON tenancy.members
    FOR SELECT TO PUBLIC
    USING (role_name IN (SELECT r.rolname FROM pg_catalog.pg_roles r
                          WHERE pg_catalog.pg_has_role(CURRENT_USER, r.oid, 'USAGE')));
