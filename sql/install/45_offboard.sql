-- Tenant export (GDPR) and offboarding over every registered table.
--
-- Both run with the caller's rights, inside the tenant: the function's
-- "SET tenancy.tenant = ''" clause saves the caller's context and restores
-- it on exit, and set_config(..., true) enters the tenant in between, so
-- row level security scopes every statement as well as the explicit WHERE.
-- register_table grants SELECT and DELETE on registered tables to
-- tenancy_admin for this; no SECURITY DEFINER, so no table trigger ever
-- runs with more rights than the administrator who called.

CREATE SCHEMA tenancy_archive;
COMMENT ON SCHEMA tenancy_archive IS 'Rows and partitions kept by tenancy.offboard_tenant(archive => true).';
GRANT USAGE, CREATE ON SCHEMA tenancy_archive TO tenancy_admin;

-- Registered tables, referencing tables before the tables they reference,
-- so that every DELETE counts its own rows rather than cascaded ones.
CREATE FUNCTION tenancy._tables_in_delete_order()
    RETURNS TABLE (relid regclass, tenant_column name)
    LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_left  oid[];
    v_next  oid[];
    v_oid   oid;
BEGIN
    SELECT array_agg(t.relid::oid ORDER BY t.relid::oid) INTO v_left FROM tenancy.tables t
     WHERE EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.relid::oid);
    WHILE coalesce(array_length(v_left, 1), 0) > 0 LOOP
        -- Tables no remaining table references (by a foreign key of its tree).
        SELECT array_agg(l ORDER BY l) INTO v_next FROM unnest(v_left) l
         WHERE NOT EXISTS (
             SELECT 1 FROM pg_constraint k
              WHERE k.contype = 'f'
                AND k.confrelid IN (SELECT tt.relid FROM tenancy._table_tree(l::regclass) tt)
                AND k.conrelid NOT IN (SELECT tt.relid FROM tenancy._table_tree(l::regclass) tt)
                AND EXISTS (SELECT 1 FROM unnest(v_left) o, tenancy._table_tree(o::regclass) ot
                             WHERE o <> l AND ot.relid = k.conrelid));
        IF v_next IS NULL THEN
            v_next := v_left;  -- a cycle: ON DELETE CASCADE sorts it out
        END IF;
        FOREACH v_oid IN ARRAY v_next LOOP
            relid := v_oid::regclass;
            SELECT t.tenant_column INTO tenant_column FROM tenancy.tables t WHERE t.relid = v_oid::regclass;
            RETURN NEXT;
        END LOOP;
        SELECT coalesce(array_agg(l), '{}') INTO v_left FROM unnest(v_left) l WHERE NOT l = ANY (v_next);
    END LOOP;
END
$$;
COMMENT ON FUNCTION tenancy._tables_in_delete_order() IS 'Registered tables ordered so that referencing tables come before referenced ones.';
REVOKE ALL ON FUNCTION tenancy._tables_in_delete_order() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy._tables_in_delete_order() TO tenancy_admin;

CREATE FUNCTION tenancy.export_tenant(tenant text)
    RETURNS TABLE (table_name regclass, "row" jsonb)
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    SET tenancy.tenant = ''
    AS $$
DECLARE
    v_id  uuid := tenancy._resolve_tenant(export_tenant.tenant);
    v_tab record;
BEGIN
    PERFORM set_config('tenancy.tenant', v_id::text, true);
    FOR v_tab IN SELECT t.relid, t.tenant_column FROM tenancy.tables t
                  WHERE EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.relid::oid)
                  ORDER BY t.relid::text LOOP
        table_name := v_tab.relid;
        FOR "row" IN EXECUTE format('SELECT to_jsonb(x) FROM %s x WHERE x.%I = $1', v_tab.relid, v_tab.tenant_column)
                     USING v_id LOOP
            RETURN NEXT;
        END LOOP;
    END LOOP;
END
$$;
COMMENT ON FUNCTION tenancy.export_tenant(text) IS 'Every row of a tenant in every registered table, as jsonb (for GDPR export).';
REVOKE ALL ON FUNCTION tenancy.export_tenant(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy.export_tenant(text) TO tenancy_admin;

CREATE FUNCTION tenancy.offboard_tenant(tenant text, archive boolean DEFAULT false)
    RETURNS TABLE (table_name regclass, rows_removed bigint)
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    SET tenancy.tenant = ''
    AS $$
DECLARE
    v_id     uuid := tenancy._resolve_tenant(offboard_tenant.tenant);
    v_slug   text;
    v_status text;
    v_tab    record;
    v_total  bigint := 0;
    v_tables int := 0;
    v_arch   text;
BEGIN
    IF offboard_tenant.archive IS NULL THEN
        RAISE EXCEPTION 'archive must not be null' USING ERRCODE = '22004',
              HINT = 'Pass true to keep the rows in schema tenancy_archive, false to delete them.';
    END IF;
    SELECT t.slug, t.status INTO v_slug, v_status FROM tenancy.tenants t WHERE t.id = v_id FOR UPDATE;
    IF v_status = 'offboarded' THEN
        RAISE EXCEPTION 'tenant "%" is already offboarded', offboard_tenant.tenant
            USING ERRCODE = '55000', HINT = 'Nothing is left to remove.';
    END IF;

    -- Offboarded first (final, see tenants_touch): the partition step
    -- below refuses a tenant that is not.
    UPDATE tenancy.tenants t
       SET status = 'offboarded', status_reason = format('being offboarded by %s', session_user)
     WHERE t.id = v_id;
    PERFORM set_config('tenancy.tenant', v_id::text, true);
    FOR v_tab IN SELECT * FROM tenancy._tables_in_delete_order() LOOP
        v_arch := NULL;
        IF offboard_tenant.archive THEN
            -- <table>__<slug>; tables of the same name in other schemas
            -- get a short hash of their qualified name as well.
            v_arch := left((SELECT c.relname FROM pg_class c WHERE c.oid = v_tab.relid), 40) || '__' || v_slug;
            IF to_regclass(format('tenancy_archive.%I', v_arch)) IS NOT NULL THEN
                v_arch := left((SELECT c.relname FROM pg_class c WHERE c.oid = v_tab.relid), 33) || '_'
                          || left(md5(v_tab.relid::text), 6) || '__' || v_slug;
            END IF;
        END IF;
        -- A partition of its own is taken out whole (detached and dropped,
        -- or detached into tenancy_archive); otherwise rows are copied and
        -- deleted.
        rows_removed := tenancy._partition_remove(v_tab.relid, v_id, v_arch);
        IF rows_removed IS NULL THEN
            IF v_arch IS NOT NULL THEN
                EXECUTE format('CREATE TABLE tenancy_archive.%I AS SELECT * FROM %s x WHERE x.%I = $1',
                               v_arch, v_tab.relid, v_tab.tenant_column) USING v_id;
            END IF;
            EXECUTE format('DELETE FROM %s x WHERE x.%I = $1', v_tab.relid, v_tab.tenant_column) USING v_id;
            GET DIAGNOSTICS rows_removed = ROW_COUNT;
        END IF;
        table_name := v_tab.relid;
        v_total := v_total + rows_removed;
        v_tables := v_tables + 1;
        RETURN NEXT;
    END LOOP;

    PERFORM tenancy._on_tenant_offboarded(v_id, offboard_tenant.archive);
    DELETE FROM tenancy.members m WHERE m.tenant_id = v_id;
    UPDATE tenancy.tenants t
       SET status = 'offboarded',
           status_reason = format('offboarded by %s at %s: %s rows removed from %s tables%s',
                                  session_user, now(), v_total, v_tables,
                                  CASE WHEN offboard_tenant.archive THEN ', archived in schema tenancy_archive' ELSE '' END)
     WHERE t.id = v_id;
    RAISE NOTICE 'tenant "%" offboarded: % rows removed from % tables', v_slug, v_total, v_tables;
END
$$;
COMMENT ON FUNCTION tenancy.offboard_tenant(text, boolean) IS 'Remove every row of a tenant from every registered table (archiving them on request), drop its memberships and mark it offboarded, atomically.';
REVOKE ALL ON FUNCTION tenancy.offboard_tenant(text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy.offboard_tenant(text, boolean) TO tenancy_admin;
