-- Tenant lifecycle: create, suspend, resume, grant, revoke.
--
-- These run with the caller's rights: EXECUTE is granted to tenancy_admin
-- only, and the catalog's policies let administrators write.  Every call is
-- one statement, hence atomic.

CREATE FUNCTION tenancy._resolve_tenant(tenant text) RETURNS uuid
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_id uuid;
BEGIN
    IF _resolve_tenant.tenant IS NULL THEN
        RAISE EXCEPTION 'tenant must not be null'
            USING ERRCODE = '22004',
                  HINT = 'Pass the tenant''s slug or uuid.';
    END IF;
    IF _resolve_tenant.tenant ~* '^([0-9a-f]{4}(-?[0-9a-f]{4}){7}|\{[0-9a-f]{4}(-?[0-9a-f]{4}){7}\})$' THEN
        SELECT t.id INTO v_id FROM tenancy.tenants t
         WHERE t.id = _resolve_tenant.tenant::uuid;
    ELSE
        SELECT t.id INTO v_id FROM tenancy.tenants t
         WHERE t.slug = _resolve_tenant.tenant;
    END IF;
    IF v_id IS NULL THEN
        RAISE EXCEPTION 'unknown tenant "%"', _resolve_tenant.tenant
            USING ERRCODE = '22023',
                  HINT = 'Give the slug or uuid of a tenant in tenancy.tenants.';
    END IF;
    RETURN v_id;
END
$$;
COMMENT ON FUNCTION tenancy._resolve_tenant(text) IS 'Resolve a slug or uuid to a tenant id; 22023 when unknown, 22004 when NULL.';
REVOKE ALL ON FUNCTION tenancy._resolve_tenant(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy._resolve_tenant(text) TO tenancy_admin;

CREATE FUNCTION tenancy._slug_hint(slug text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT CASE WHEN v.s ~ '^[a-z0-9][a-z0-9_-]{1,62}$' THEN format('Try %L.', v.s)
                ELSE 'For example ''acme'' or ''acme-eu''.' END
      FROM (SELECT left(trim(both '-_' FROM
                  regexp_replace(lower(coalesce(_slug_hint.slug, '')), '[^a-z0-9_-]+', '-', 'g')), 63) AS s) v
$$;
COMMENT ON FUNCTION tenancy._slug_hint(text) IS 'A hint for an invalid slug: the nearest valid one, when there is one.';
REVOKE ALL ON FUNCTION tenancy._slug_hint(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy._slug_hint(text) TO tenancy_admin;

CREATE FUNCTION tenancy.create_tenant(slug text, name text DEFAULT NULL,
                                      plan text DEFAULT 'basic', id uuid DEFAULT NULL)
    RETURNS uuid
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_id uuid;
BEGIN
    IF create_tenant.slug IS NULL THEN
        RAISE EXCEPTION 'tenant slug must not be null'
            USING ERRCODE = '22004',
                  HINT = 'Pass a slug such as ''acme''.';
    END IF;
    IF create_tenant.slug !~ '^[a-z0-9][a-z0-9_-]{1,62}$' THEN
        RAISE EXCEPTION 'invalid tenant slug "%"', create_tenant.slug
            USING ERRCODE = '22023',
                  DETAIL = 'A slug has 2 to 63 characters: lower-case letters, digits, "-" and "_", starting with a letter or digit.',
                  HINT = tenancy._slug_hint(create_tenant.slug);
    END IF;
    IF create_tenant.slug ~ '^([0-9a-f]{4}(-?[0-9a-f]{4}){7})$' THEN
        RAISE EXCEPTION 'invalid tenant slug "%"', create_tenant.slug
            USING ERRCODE = '22023',
                  DETAIL = 'It reads as a uuid, so SET tenancy.tenant would look it up as a tenant id.',
                  HINT = 'Choose a slug that is not 32 hexadecimal digits.';
    END IF;
    IF create_tenant.plan IS NULL THEN
        RAISE EXCEPTION 'plan must not be null'
            USING ERRCODE = '22004',
                  HINT = 'Omit it for the default plan ''basic''.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM tenancy.plans p WHERE p.name = create_tenant.plan) THEN
        RAISE EXCEPTION 'unknown plan "%"', create_tenant.plan
            USING ERRCODE = '22023',
                  HINT = 'Known plans: ' || (SELECT string_agg(p.name, ', ' ORDER BY p.name) FROM tenancy.plans p) || '.';
    END IF;
    IF EXISTS (SELECT 1 FROM tenancy.tenants t WHERE t.slug = create_tenant.slug) THEN
        RAISE EXCEPTION 'tenant "%" already exists', create_tenant.slug
            USING ERRCODE = '23505',
                  HINT = 'Choose another slug.';
    END IF;
    IF create_tenant.id IS NOT NULL
       AND EXISTS (SELECT 1 FROM tenancy.tenants t WHERE t.id = create_tenant.id) THEN
        RAISE EXCEPTION 'a tenant with id "%" already exists', create_tenant.id
            USING ERRCODE = '23505',
                  HINT = 'Omit the id to have one generated.';
    END IF;

    -- An explicit id that was a spare is a spare no more (its partitions,
    -- made ahead, are renamed after the tenant).
    IF create_tenant.id IS NOT NULL THEN
        DELETE FROM tenancy.spare_tenant_ids s WHERE s.id = create_tenant.id;
    END IF;

    BEGIN
        INSERT INTO tenancy.tenants AS t (id, slug, name, plan)
        VALUES (coalesce(create_tenant.id, tenancy._take_spare_id(), gen_random_uuid()), create_tenant.slug,
                coalesce(create_tenant.name, create_tenant.slug), create_tenant.plan)
        RETURNING t.id INTO v_id;
    EXCEPTION WHEN unique_violation THEN
        -- A concurrent create_tenant committed the same slug or id first.
        RAISE EXCEPTION 'tenant "%" already exists', create_tenant.slug
            USING ERRCODE = '23505',
                  DETAIL = 'Another session concurrently created a tenant with this slug or id.',
                  HINT = 'Choose another slug (or omit the id).';
    END;

    PERFORM tenancy._on_tenant_created(v_id);
    RETURN v_id;
END
$$;
COMMENT ON FUNCTION tenancy.create_tenant(text, text, text, uuid) IS 'Create a tenant (and what each subsystem keeps per tenant); returns its id.';
REVOKE ALL ON FUNCTION tenancy.create_tenant(text, text, text, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy.create_tenant(text, text, text, uuid) TO tenancy_admin;

CREATE FUNCTION tenancy.suspend_tenant(tenant text, reason text DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_id     uuid := tenancy._resolve_tenant(suspend_tenant.tenant);
    v_status text;
BEGIN
    SELECT t.status INTO v_status FROM tenancy.tenants t WHERE t.id = v_id FOR UPDATE;
    IF v_status = 'offboarded' THEN
        RAISE EXCEPTION 'tenant "%" is offboarded', suspend_tenant.tenant
            USING ERRCODE = '55000',
                  HINT = 'An offboarded tenant can be neither suspended nor resumed.';
    END IF;
    UPDATE tenancy.tenants t
       SET status = 'suspended',
           status_reason = CASE WHEN v_status = 'suspended'
                                THEN coalesce(suspend_tenant.reason, t.status_reason)
                                ELSE suspend_tenant.reason END
     WHERE t.id = v_id;
END
$$;
COMMENT ON FUNCTION tenancy.suspend_tenant(text, text) IS 'Suspend a tenant: its non-administrator sessions stop working from their next statement.';
REVOKE ALL ON FUNCTION tenancy.suspend_tenant(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy.suspend_tenant(text, text) TO tenancy_admin;

CREATE FUNCTION tenancy.resume_tenant(tenant text)
    RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_id     uuid := tenancy._resolve_tenant(resume_tenant.tenant);
    v_status text;
BEGIN
    SELECT t.status INTO v_status FROM tenancy.tenants t WHERE t.id = v_id FOR UPDATE;
    IF v_status = 'offboarded' THEN
        RAISE EXCEPTION 'tenant "%" is offboarded', resume_tenant.tenant
            USING ERRCODE = '55000',
                  HINT = 'An offboarded tenant can be neither suspended nor resumed.';
    END IF;
    IF v_status = 'suspended' THEN
        UPDATE tenancy.tenants t SET status = 'active', status_reason = NULL
         WHERE t.id = v_id;
    END IF;
END
$$;
COMMENT ON FUNCTION tenancy.resume_tenant(text) IS 'Make a suspended tenant active again.';
REVOKE ALL ON FUNCTION tenancy.resume_tenant(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy.resume_tenant(text) TO tenancy_admin;

CREATE FUNCTION tenancy.grant_tenant(role name, tenant text, level text DEFAULT 'operator')
    RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_id uuid;
BEGIN
    IF grant_tenant.role IS NULL THEN
        RAISE EXCEPTION 'role must not be null'
            USING ERRCODE = '22004', HINT = 'Pass the name of an existing role.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = grant_tenant.role) THEN
        RAISE EXCEPTION 'role "%" does not exist', grant_tenant.role
            USING ERRCODE = '42704', HINT = 'Create it with CREATE ROLE first.';
    END IF;
    IF grant_tenant.level IS NULL
       OR grant_tenant.level NOT IN ('admin', 'operator', 'viewer') THEN
        RAISE EXCEPTION 'invalid membership level "%"', coalesce(grant_tenant.level, 'NULL')
            USING ERRCODE = '22023', HINT = 'Use admin, operator or viewer.';
    END IF;
    v_id := tenancy._resolve_tenant(grant_tenant.tenant);
    IF EXISTS (SELECT 1 FROM tenancy.tenants t WHERE t.id = v_id AND t.status = 'offboarded') THEN
        RAISE EXCEPTION 'tenant "%" is offboarded', grant_tenant.tenant
            USING ERRCODE = '55000', HINT = 'Grant access to an active or suspended tenant.';
    END IF;
    INSERT INTO tenancy.members AS m (tenant_id, role_name, level)
    VALUES (v_id, grant_tenant.role, grant_tenant.level)
    ON CONFLICT (tenant_id, role_name)
    DO UPDATE SET level = EXCLUDED.level, granted_at = now()
    WHERE m.level IS DISTINCT FROM EXCLUDED.level;
END
$$;
COMMENT ON FUNCTION tenancy.grant_tenant(name, text, text) IS 'Let a role (and roles that inherit from it) enter a tenant, at level admin, operator or viewer.';
REVOKE ALL ON FUNCTION tenancy.grant_tenant(name, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy.grant_tenant(name, text, text) TO tenancy_admin;

CREATE FUNCTION tenancy.revoke_tenant(role name, tenant text)
    RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_id uuid;
BEGIN
    IF revoke_tenant.role IS NULL THEN
        RAISE EXCEPTION 'role must not be null'
            USING ERRCODE = '22004', HINT = 'Pass the name of a member role.';
    END IF;
    v_id := tenancy._resolve_tenant(revoke_tenant.tenant);
    DELETE FROM tenancy.members m
     WHERE m.tenant_id = v_id AND m.role_name = revoke_tenant.role;
    IF NOT FOUND THEN
        RAISE NOTICE 'role "%" was not a member of tenant "%"', revoke_tenant.role, revoke_tenant.tenant;
    END IF;
END
$$;
COMMENT ON FUNCTION tenancy.revoke_tenant(name, text) IS 'Take a role''s membership of a tenant away; its sessions lose the tenant at their next statement.';
REVOKE ALL ON FUNCTION tenancy.revoke_tenant(name, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy.revoke_tenant(name, text) TO tenancy_admin;
