-- Per-tenant keys and encryption.  The C side (src/crypto.c) derives keys
-- with HKDF from the master key and the salts kept here; no key is stored.

CREATE TABLE tenancy.tenant_keys (
    tenant_id    uuid NOT NULL REFERENCES tenancy.tenants (id) ON DELETE CASCADE,
    version      int NOT NULL CHECK (version >= 1),
    salt         bytea CHECK (salt IS NULL OR length(salt) BETWEEN 16 AND 64),
    state        text NOT NULL DEFAULT 'active'
                 CHECK (state IN ('active', 'retired', 'destroyed')),
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    retired_at   timestamptz,
    destroyed_at timestamptz,
    CONSTRAINT tenant_keys_pkey PRIMARY KEY (tenant_id, version),
    CONSTRAINT tenant_keys_destroyed_check CHECK ((state = 'destroyed') = (salt IS NULL))
);
COMMENT ON TABLE tenancy.tenant_keys IS 'Key versions per tenant: the salts keys are derived from; never readable by tenant roles.';
COMMENT ON COLUMN tenancy.tenant_keys.tenant_id IS 'The tenant.';
COMMENT ON COLUMN tenancy.tenant_keys.version IS 'Key version, written into every ciphertext header.';
COMMENT ON COLUMN tenancy.tenant_keys.salt IS 'Random HKDF salt of this version; NULL once destroyed (crypto-erasure).';
COMMENT ON COLUMN tenancy.tenant_keys.state IS 'active (encrypts and decrypts), retired (decrypts only) or destroyed.';
COMMENT ON COLUMN tenancy.tenant_keys.created_at IS 'When the version was created.';
COMMENT ON COLUMN tenancy.tenant_keys.retired_at IS 'When a newer version replaced it.';
COMMENT ON COLUMN tenancy.tenant_keys.destroyed_at IS 'When it was destroyed.';
SELECT pg_catalog.pg_extension_config_dump('tenancy.tenant_keys', '');
REVOKE ALL ON tenancy.tenant_keys FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON tenancy.tenant_keys TO tenancy_admin;

CREATE TRIGGER tenant_keys_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tenancy.tenant_keys
    FOR EACH STATEMENT EXECUTE FUNCTION tenancy._catalog_changed();

CREATE FUNCTION tenancy._random_bytes(n int) RETURNS bytea
    LANGUAGE C VOLATILE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tenancy_random_bytes';
COMMENT ON FUNCTION tenancy._random_bytes(int) IS 'n bytes from OpenSSL''s CSPRNG (for salts).';
REVOKE ALL ON FUNCTION tenancy._random_bytes(int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy._random_bytes(int) TO tenancy_admin;

-- Encryption for the tenant in force ---------------------------------------

CREATE FUNCTION tenancy.encrypt(data bytea, context text DEFAULT '') RETURNS bytea
    LANGUAGE C VOLATILE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tenancy_encrypt';
COMMENT ON FUNCTION tenancy.encrypt(bytea, text) IS 'Encrypt for the current tenant with AES-256-GCM; the tenant and context are authenticated with the value.';

CREATE FUNCTION tenancy.encrypt(data text, context text DEFAULT '') RETURNS bytea
    LANGUAGE C VOLATILE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tenancy_encrypt';
COMMENT ON FUNCTION tenancy.encrypt(text, text) IS 'Encrypt text for the current tenant with AES-256-GCM (decrypt it with tenancy.decrypt_text).';

CREATE FUNCTION tenancy.decrypt(data bytea, context text DEFAULT '') RETURNS bytea
    LANGUAGE C STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tenancy_decrypt';
COMMENT ON FUNCTION tenancy.decrypt(bytea, text) IS 'Decrypt a value of the current tenant; 22023 for anything foreign, altered or malformed.';

CREATE FUNCTION tenancy.decrypt_text(data bytea, context text DEFAULT '') RETURNS text
    LANGUAGE C STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tenancy_decrypt_text';
COMMENT ON FUNCTION tenancy.decrypt_text(bytea, text) IS 'Decrypt a value of the current tenant to text.';

CREATE FUNCTION tenancy.reencrypt(data bytea, context text DEFAULT '') RETURNS bytea
    LANGUAGE C VOLATILE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tenancy_reencrypt';
COMMENT ON FUNCTION tenancy.reencrypt(bytea, text) IS 'Re-encrypt a value of the current tenant under its current key version (unchanged if already current).';

CREATE FUNCTION tenancy.blind_index(value text, purpose text) RETURNS bytea
    LANGUAGE C STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tenancy_blind_index';
COMMENT ON FUNCTION tenancy.blind_index(text, text) IS 'Tenant-keyed HMAC-SHA256 of a value, for equality lookups on encrypted columns.';

-- Primitives ----------------------------------------------------------------

CREATE FUNCTION tenancy.hkdf(ikm bytea, salt bytea, info bytea, length int,
                             digest text DEFAULT 'sha256') RETURNS bytea
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tenancy_hkdf';
COMMENT ON FUNCTION tenancy.hkdf(bytea, bytea, bytea, int, text) IS 'HKDF (RFC 5869) extract-and-expand.';

CREATE FUNCTION tenancy.pbkdf2(password bytea, salt bytea, iterations int, length int,
                               digest text DEFAULT 'sha256') RETURNS bytea
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tenancy_pbkdf2';
COMMENT ON FUNCTION tenancy.pbkdf2(bytea, bytea, int, int, text) IS 'PBKDF2-HMAC (RFC 8018) with the given digest.';

-- Key administration ------------------------------------------------------

CREATE FUNCTION tenancy._derive_key(tenant_id uuid, slug text, purpose text, length int) RETURNS bytea
    LANGUAGE C STABLE STRICT PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'tenancy_derive_key_internal';
COMMENT ON FUNCTION tenancy._derive_key(uuid, text, text, int) IS 'Derive a tenant key for a purpose (called by derive_key after its checks).';
REVOKE ALL ON FUNCTION tenancy._derive_key(uuid, text, text, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy._derive_key(uuid, text, text, int) TO tenancy_admin;

CREATE FUNCTION tenancy.derive_key(tenant text, purpose text, length int DEFAULT 32) RETURNS bytea
    LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_id uuid := tenancy._resolve_tenant(derive_key.tenant);
BEGIN
    IF derive_key.purpose IS NULL OR derive_key.purpose = '' OR derive_key.length IS NULL THEN
        RAISE EXCEPTION 'purpose and length must not be null or empty' USING ERRCODE = '22004',
              HINT = 'Name what the key is for, e.g. ''webhook-signing''.';
    END IF;
    RETURN tenancy._derive_key(v_id, (SELECT t.slug FROM tenancy.tenants t WHERE t.id = v_id),
                               derive_key.purpose, derive_key.length);
END
$$;
COMMENT ON FUNCTION tenancy.derive_key(text, text, int) IS 'Administrators only: a key of the tenant for an outside purpose (16 to 64 bytes), from its current key version.';
REVOKE ALL ON FUNCTION tenancy.derive_key(text, text, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy.derive_key(text, text, int) TO tenancy_admin;

CREATE FUNCTION tenancy.rotate_key(tenant text) RETURNS int
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_id      uuid := tenancy._resolve_tenant(rotate_key.tenant);
    v_version int;
BEGIN
    IF (SELECT t.status FROM tenancy.tenants t WHERE t.id = v_id FOR UPDATE) = 'offboarded' THEN
        RAISE EXCEPTION 'tenant "%" is offboarded', rotate_key.tenant
            USING ERRCODE = '55000', HINT = 'An offboarded tenant has no keys.';
    END IF;
    SELECT coalesce(max(k.version), 0) + 1 INTO v_version
      FROM tenancy.tenant_keys k WHERE k.tenant_id = v_id;
    UPDATE tenancy.tenant_keys k SET state = 'retired', retired_at = now()
     WHERE k.tenant_id = v_id AND k.state = 'active';
    INSERT INTO tenancy.tenant_keys (tenant_id, version, salt)
    VALUES (v_id, v_version, tenancy._random_bytes(32));
    RETURN v_version;
END
$$;
COMMENT ON FUNCTION tenancy.rotate_key(text) IS 'Start a new key version for new encryptions; older versions still decrypt. Returns the new version.';
REVOKE ALL ON FUNCTION tenancy.rotate_key(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy.rotate_key(text) TO tenancy_admin;

CREATE FUNCTION tenancy.destroy_keys(tenant text) RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_id uuid := tenancy._resolve_tenant(destroy_keys.tenant);
BEGIN
    UPDATE tenancy.tenant_keys k
       SET salt = NULL, state = 'destroyed', destroyed_at = now()
     WHERE k.tenant_id = v_id AND k.state <> 'destroyed';
END
$$;
COMMENT ON FUNCTION tenancy.destroy_keys(text) IS 'Crypto-erasure: wipe every key version of a tenant, so that nothing it encrypted decrypts again, for anyone.';
REVOKE ALL ON FUNCTION tenancy.destroy_keys(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy.destroy_keys(text) TO tenancy_admin;

-- Lifecycle hooks, called by create_tenant and offboard_tenant (PL/pgSQL
-- resolves them at run time, so they can live here).  Later subsystems
-- (partitions, audit) add their steps to these bodies.
CREATE FUNCTION tenancy._on_tenant_created(tenant_id uuid) RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    INSERT INTO tenancy.tenant_keys (tenant_id, version, salt)
    VALUES (_on_tenant_created.tenant_id, 1, tenancy._random_bytes(32));
    PERFORM tenancy._partitions_on_create(_on_tenant_created.tenant_id);
END
$$;

CREATE FUNCTION tenancy._on_tenant_offboarded(tenant_id uuid, archive boolean) RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    PERFORM tenancy.destroy_keys(_on_tenant_offboarded.tenant_id::text);
    PERFORM tenancy._audit_event(_on_tenant_offboarded.tenant_id, 'OFFBOARD',
                                 jsonb_build_object('archive', _on_tenant_offboarded.archive));
END
$$;
COMMENT ON FUNCTION tenancy._on_tenant_created(uuid) IS 'Called by create_tenant for each new tenant: creates its key version 1 and its partitions.';
COMMENT ON FUNCTION tenancy._on_tenant_offboarded(uuid, boolean) IS 'Called by offboard_tenant: destroys the tenant''s keys (crypto-erasure) and records the offboarding in the audit log.';
REVOKE ALL ON FUNCTION tenancy._on_tenant_created(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy._on_tenant_created(uuid) TO tenancy_admin;
REVOKE ALL ON FUNCTION tenancy._on_tenant_offboarded(uuid, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy._on_tenant_offboarded(uuid, boolean) TO tenancy_admin;

-- Per-tenant settings, secrets encrypted ------------------------------------
--
-- Tenant roles read their own tenant's row already (catalog RLS); members
-- at level admin or operator may also update its settings column, through
-- the policy below.  No SECURITY DEFINER: every check runs as the caller.

CREATE FUNCTION tenancy._may_write_settings() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL RESTRICTED
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT pg_has_role(current_user, 'tenancy_admin', 'USAGE')
        OR EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = current_user AND r.rolsuper)
        OR EXISTS (SELECT 1 FROM tenancy.members m   -- RLS: the caller's own rows
                    WHERE m.tenant_id = tenancy._current_tenant_or_null()
                      AND m.level IN ('admin', 'operator'))
$$;
COMMENT ON FUNCTION tenancy._may_write_settings() IS 'May the current role change the current tenant''s settings (a member at level admin or operator, or an administrator)?';

GRANT UPDATE (settings) ON tenancy.tenants TO PUBLIC;
CREATE POLICY tenants_member_settings ON tenancy.tenants
    FOR UPDATE TO PUBLIC
    USING (id = tenancy._current_tenant_or_null() AND tenancy._may_write_settings())
    WITH CHECK (id = tenancy._current_tenant_or_null() AND tenancy._may_write_settings());

CREATE FUNCTION tenancy.set_setting(key text, value jsonb, secret boolean DEFAULT false)
    RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_stored jsonb;
BEGIN
    IF set_setting.key IS NULL OR set_setting.key = '' OR set_setting.secret IS NULL THEN
        RAISE EXCEPTION 'setting key and secret flag must not be null or empty'
            USING ERRCODE = '22004', HINT = 'Name the setting, e.g. ''smtp_password''.';
    END IF;
    PERFORM tenancy.current_tenant();  -- no tenant: fail loudly here
    IF NOT tenancy._may_write_settings() THEN
        RAISE EXCEPTION 'permission denied to change settings of tenant "%"', tenancy.current_tenant_slug()
            USING ERRCODE = '42501', HINT = 'Tenant members at level admin or operator may change settings.';
    END IF;
    v_stored := CASE WHEN set_setting.value IS NULL THEN NULL
                     WHEN set_setting.secret
                     THEN jsonb_build_object('tenancy_secret',
                              encode(tenancy.encrypt(set_setting.value::text, 'setting:' || set_setting.key), 'base64'))
                     ELSE set_setting.value END;
    UPDATE tenancy.tenants t
       SET settings = CASE WHEN v_stored IS NULL THEN t.settings - set_setting.key
                           ELSE jsonb_set(t.settings, ARRAY[set_setting.key], v_stored) END
     WHERE t.id = tenancy.current_tenant();
END
$$;
COMMENT ON FUNCTION tenancy.set_setting(text, jsonb, boolean) IS 'Set (or with NULL remove) a setting of the current tenant; a secret one is stored encrypted with the tenant''s key.';

CREATE FUNCTION tenancy.get_setting(key text) RETURNS jsonb
    LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v jsonb;
BEGIN
    SELECT t.settings -> get_setting.key INTO v FROM tenancy.tenants t
     WHERE t.id = tenancy.current_tenant();
    IF jsonb_typeof(v) = 'object' AND v ? 'tenancy_secret'
       AND (SELECT count(*) FROM jsonb_object_keys(v)) = 1 THEN
        RETURN tenancy.decrypt_text(decode(v ->> 'tenancy_secret', 'base64'),
                                    'setting:' || get_setting.key)::jsonb;
    END IF;
    RETURN v;
END
$$;
COMMENT ON FUNCTION tenancy.get_setting(text) IS 'A setting of the current tenant (secrets decrypted); NULL when unset.';
