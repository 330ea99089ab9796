-- Partitions per tenant ------------------------------------------------------
--
-- A registered table declared PARTITION BY LIST (tenant_id) is put under
-- tenancy.partition_table().  Two layouts, or both:
--   - a list partition per tenant: create_tenant adds one, offboard_tenant
--     drops (or archives) it;
--   - a DEFAULT partition, itself PARTITION BY HASH (tenant_id) into
--     buckets, holding the many small tenants; isolate_tenant moves one
--     large tenant from it into a list partition of its own, online.
-- Which one applies to new tenants follows from the table: with a default
-- partition, new tenants live there; without one, each gets a partition.
--
-- Partition DDL on behalf of create_tenant, offboard_tenant and
-- isolate_tenant is started by SECURITY DEFINER functions, only on tables
-- their owner put under partition_table(), and every statement on those
-- tables runs as their owner (tenancy._run_as_owner): partitions belong to
-- the owner, and the owner's code never runs with the extension owner's
-- rights.

-- A row of tenancy.tables is its table owner's consent: the SECURITY
-- DEFINER event trigger then applies the contract to the table's children,
-- and with the partitioned flag these functions create and drop its
-- partitions.  Administrators may write the registry, but only a table's
-- owner (or a superuser) may add a row for it, point a row at another table
-- or column, or set the flag.  ALWAYS, so not even a replica session skips
-- it.
CREATE FUNCTION tenancy._tables_guard() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_owner oid;
    v_kind  "char";
BEGIN
    IF TG_OP = 'INSERT' OR NEW.relid <> OLD.relid OR NEW.tenant_column <> OLD.tenant_column
       OR (NEW.partitioned AND NOT OLD.partitioned) THEN
        SELECT c.relowner, c.relkind INTO v_owner, v_kind FROM pg_class c WHERE c.oid = NEW.relid;
        -- (an id no relation has yet would be claimed for whoever creates it)
        IF v_owner IS NULL OR v_kind NOT IN ('r', 'p') THEN
            RAISE EXCEPTION 'cannot register % with tenancy: not an existing table', NEW.relid::oid
                USING ERRCODE = '42809',
                      HINT = 'Register ordinary or partitioned tables that exist, with tenancy.register_table().';
        END IF;
        IF NOT pg_has_role(current_user, v_owner, 'USAGE') THEN
            RAISE EXCEPTION 'permission denied to register table % with tenancy', NEW.relid
                USING ERRCODE = '42501',
                      DETAIL = format('Role "%s" does not own it; tenancy changes a registered table (its children''s policies, its partitions) on the owner''s behalf only when the owner asked.',
                                      current_user),
                      HINT = format('Have its owner, role "%s", call tenancy.register_table(%L) or tenancy.partition_table(%L).',
                                    v_owner::regrole, NEW.relid::text, NEW.relid::text);
        END IF;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION tenancy._tables_guard() IS 'Trigger on tenancy.tables: only a table''s owner (or a superuser) registers it, points a row at another table or column, or flags it as partitioned per tenant.';
REVOKE ALL ON FUNCTION tenancy._tables_guard() FROM PUBLIC;
CREATE TRIGGER tables_guard BEFORE INSERT OR UPDATE ON tenancy.tables
    FOR EACH ROW EXECUTE FUNCTION tenancy._tables_guard();
ALTER TABLE tenancy.tables ENABLE ALWAYS TRIGGER tables_guard;

-- Tenant ids made ahead, with their partitions.  Creating a list partition
-- costs PostgreSQL a rebuild of the parent's partition descriptor, which
-- grows with the number of partitions; premake_partitions() pays it ahead,
-- and create_tenant (without an explicit id) then takes a spare id and
-- only renames its partitions.
CREATE TABLE tenancy.spare_tenant_ids (
    id      uuid PRIMARY KEY,
    made_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE tenancy.spare_tenant_ids IS 'Tenant ids whose partitions were made ahead by tenancy.premake_partitions(); create_tenant takes them first.';
COMMENT ON COLUMN tenancy.spare_tenant_ids.id IS 'The id the next tenant will get.';
COMMENT ON COLUMN tenancy.spare_tenant_ids.made_at IS 'When its partitions were made.';
SELECT pg_catalog.pg_extension_config_dump('tenancy.spare_tenant_ids', '');
REVOKE ALL ON tenancy.spare_tenant_ids FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON tenancy.spare_tenant_ids TO tenancy_admin;


-- The planner's one-time check in plans folded for a tenant (src/partition.c).
CREATE FUNCTION tenancy._tenant_guard(tenant uuid) RETURNS boolean
    LANGUAGE C STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tenancy_tenant_guard';
COMMENT ON FUNCTION tenancy._tenant_guard(uuid) IS 'One-time check of a plan made for a tenant: validates the tenant context and that it is this tenant; true or an error.';
-- Every tenant role runs it, inside its own plans; it tells nothing that
-- current_tenant() does not.
GRANT EXECUTE ON FUNCTION tenancy._tenant_guard(uuid) TO PUBLIC;

CREATE FUNCTION tenancy._tenant_partition(parent regclass, tenant uuid, exclusive boolean DEFAULT true)
    RETURNS regclass
    LANGUAGE C STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tenancy_tenant_partition';
COMMENT ON FUNCTION tenancy._tenant_partition(regclass, uuid, boolean) IS 'The list partition of a parent that holds exactly this tenant (with exclusive => false: that holds it, perhaps with others), or NULL.';
REVOKE ALL ON FUNCTION tenancy._tenant_partition(regclass, uuid, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy._tenant_partition(regclass, uuid, boolean) TO tenancy_admin;

CREATE FUNCTION tenancy._partition_tenants(parent regclass)
    RETURNS TABLE (partition regclass, tenant_id uuid, kind text)
    LANGUAGE C STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tenancy_partition_tenants';
COMMENT ON FUNCTION tenancy._partition_tenants(regclass) IS 'Every partition of a parent partitioned by tenant: tenant partitions with their tenant, the default, and the buckets of a hash-partitioned default.';
REVOKE ALL ON FUNCTION tenancy._partition_tenants(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy._partition_tenants(regclass) TO tenancy_admin;

-- A readable, unique name for a new partition: <parent>_<suffix>, cut to
-- 63 bytes with a short hash of the full name when too long, and a
-- number when taken.
CREATE FUNCTION tenancy._partition_name(parent regclass, suffix text) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_rel  text;
    v_nsp  oid;
    v_name text;
    v_n    int := 1;
BEGIN
    SELECT c.relname, c.relnamespace INTO v_rel, v_nsp FROM pg_class c WHERE c.oid = _partition_name.parent;
    v_name := v_rel || '_' || _partition_name.suffix;
    IF octet_length(v_name) > 63 THEN
        v_name := left(v_rel, greatest(63 - octet_length(_partition_name.suffix) - 8, 1)) || '_'
                  || left(md5(v_name), 6) || '_' || _partition_name.suffix;
    END IF;
    -- A table takes a type name too: a free name is free in both.
    WHILE EXISTS (SELECT 1 FROM pg_class c WHERE c.relname = v_name AND c.relnamespace = v_nsp)
          OR EXISTS (SELECT 1 FROM pg_type t WHERE t.typname = v_name AND t.typnamespace = v_nsp) LOOP
        v_n := v_n + 1;
        v_name := left(v_name, 63 - length(v_n::text) - 1) || '_' || v_n;
    END LOOP;
    RETURN v_name;
END
$$;
COMMENT ON FUNCTION tenancy._partition_name(regclass, text) IS 'A free name <parent>_<suffix> (at most 63 bytes) in the parent''s schema.';
REVOKE ALL ON FUNCTION tenancy._partition_name(regclass, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy._partition_name(regclass, text) TO tenancy_admin;

-- The tenant column of a table under partition_table(), or an error.
CREATE FUNCTION tenancy._partitioned_column(parent regclass) RETURNS name
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_col name;
BEGIN
    SELECT t.tenant_column INTO v_col FROM tenancy.tables t
     WHERE t.relid = _partitioned_column.parent AND t.partitioned;
    IF v_col IS NULL THEN
        RAISE EXCEPTION 'table % is not partitioned per tenant', _partitioned_column.parent
            USING ERRCODE = '22023',
                  HINT = format('Run SELECT tenancy.partition_table(%L) first.', _partitioned_column.parent::text);
    END IF;
    RETURN v_col;
END
$$;
COMMENT ON FUNCTION tenancy._partitioned_column(regclass) IS 'The tenant column of a table under tenancy.partition_table(); raises 22023 for any other table.';
REVOKE ALL ON FUNCTION tenancy._partitioned_column(regclass) FROM PUBLIC;

-- Give one tenant (or a spare id) its list partition of a table: create
-- it, or, when it was made ahead for a spare id, rename it after the tenant.
CREATE FUNCTION tenancy._partition_create(parent regclass, tenant_id uuid) RETURNS regclass
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_suffix text;
    v_name   text;
    v_nsp    name;
    v_owner  oid;
    v_part   regclass;
BEGIN
    PERFORM tenancy._partitioned_column(_partition_create.parent);
    SELECT t.slug INTO v_suffix FROM tenancy.tenants t WHERE t.id = _partition_create.tenant_id;
    v_suffix := coalesce(v_suffix, 'spare_' || left(_partition_create.tenant_id::text, 8));
    SELECT n.nspname, c.relowner INTO v_nsp, v_owner
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = _partition_create.parent;
    -- (a partition made by hand for several tenants also holds this one)
    v_part := tenancy._tenant_partition(_partition_create.parent, _partition_create.tenant_id, false);
    IF v_part IS NOT NULL THEN
        -- Made ahead: only the name changes (the parent's partition
        -- descriptor does not), and the contract is in place already.
        IF v_suffix NOT LIKE 'spare\_%'
           AND (SELECT c.relname FROM pg_class c WHERE c.oid = v_part)
               LIKE '%spare\_' || left(_partition_create.tenant_id::text, 8) THEN
            v_name := tenancy._partition_name(_partition_create.parent, v_suffix);
            PERFORM tenancy._internal_ddl(true);
            PERFORM tenancy._run_as_owner(v_part, format('ALTER TABLE %s RENAME TO %I', v_part, v_name), NULL);
            PERFORM tenancy._internal_ddl(false);
        END IF;
        RETURN v_part;
    END IF;
    v_name := tenancy._partition_name(_partition_create.parent, v_suffix);
    -- As the table's owner (in the owner's schema, with the owner's CREATE
    -- privilege there): cloning indexes and constraints plans and runs the
    -- owner's code.
    PERFORM tenancy._run_as_owner(_partition_create.parent,
        format('CREATE TABLE %I.%I PARTITION OF %s FOR VALUES IN (%L)',
               v_nsp, v_name, _partition_create.parent, _partition_create.tenant_id), NULL);
    RETURN format('%I.%I', v_nsp, v_name)::regclass;
END
$$;
COMMENT ON FUNCTION tenancy._partition_create(regclass, uuid) IS 'Give a tenant or a spare id its list partition of a table under partition_table(): created, owned by the table''s owner, or renamed when made ahead.';
REVOKE ALL ON FUNCTION tenancy._partition_create(regclass, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy._partition_create(regclass, uuid) TO tenancy_admin;

CREATE FUNCTION tenancy.partition_table(parent regclass, buckets int DEFAULT NULL)
    RETURNS int
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_col     name;
    v_kind    "char";
    v_strat   "char";
    v_keys    int2vector;
    v_attnum  int2;
    v_default oid;
    v_made    int := 0;
    v_tenant  record;
    v_bucket  text;
    i         int;
BEGIN
    IF partition_table.parent IS NULL THEN
        RAISE EXCEPTION 'table must not be null' USING ERRCODE = '22004',
              HINT = 'Pass a table declared PARTITION BY LIST (tenant_id).';
    END IF;
    IF partition_table.buckets IS NOT NULL AND partition_table.buckets NOT BETWEEN 1 AND 1024 THEN
        RAISE EXCEPTION 'invalid number of buckets: %', partition_table.buckets
            USING ERRCODE = '22023',
                  HINT = 'Choose between 1 and 1024 hash buckets for the default partition (a power of two eases changing it later).';
    END IF;
    SELECT c.relkind INTO v_kind FROM pg_class c WHERE c.oid = partition_table.parent;
    SELECT coalesce((SELECT t.tenant_column FROM tenancy.tables t WHERE t.relid = partition_table.parent),
                    'tenant_id') INTO v_col;
    IF v_kind <> 'p' THEN
        RAISE EXCEPTION 'table % is not partitioned', partition_table.parent
            USING ERRCODE = '42809',
                  HINT = format('Create it with PARTITION BY LIST (%I), move the rows over, then call tenancy.partition_table() again.', v_col);
    END IF;
    SELECT p.partstrat, p.partattrs, p.partdefid INTO v_strat, v_keys, v_default
      FROM pg_partitioned_table p WHERE p.partrelid = partition_table.parent;
    SELECT a.attnum INTO v_attnum FROM pg_attribute a
     WHERE a.attrelid = partition_table.parent AND a.attname = v_col AND NOT a.attisdropped;
    IF v_strat <> 'l' OR array_length(v_keys::int2[], 1) <> 1 OR v_keys[0] IS DISTINCT FROM v_attnum THEN
        RAISE EXCEPTION 'table % is not partitioned by list of its tenant column "%"', partition_table.parent, v_col
            USING ERRCODE = '42P16',
                  DETAIL = format('Its partition key is %s.', pg_get_partkeydef(partition_table.parent)),
                  HINT = format('Declare it with PARTITION BY LIST (%I).', v_col);
    END IF;

    PERFORM tenancy.register_table(partition_table.parent, v_col);
    UPDATE tenancy.tables t SET partitioned = true WHERE t.relid = partition_table.parent;

    IF partition_table.buckets IS NOT NULL THEN
        IF v_default <> 0 THEN
            RAISE EXCEPTION 'table % already has a default partition %', partition_table.parent, v_default::regclass
                USING ERRCODE = '42P07',
                      HINT = 'Call tenancy.partition_table() without buckets to keep it.';
        END IF;
        -- As the table's owner, like all partition DDL (even when a
        -- superuser calls): cloning its indexes runs the owner's code.
        v_bucket := tenancy._partition_name(partition_table.parent, 'default');
        PERFORM tenancy._run_as_owner(partition_table.parent,
            format('CREATE TABLE %I.%I PARTITION OF %s DEFAULT PARTITION BY HASH (%I)',
                   (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE c.oid = partition_table.parent),
                   v_bucket, partition_table.parent, v_col), NULL);
        v_default := (SELECT p.partdefid FROM pg_partitioned_table p WHERE p.partrelid = partition_table.parent);
        FOR i IN 0 .. partition_table.buckets - 1 LOOP
            PERFORM tenancy._run_as_owner(partition_table.parent,
                format('CREATE TABLE %I.%I PARTITION OF %s FOR VALUES WITH (MODULUS %s, REMAINDER %s)',
                       (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                         WHERE c.oid = partition_table.parent),
                       tenancy._partition_name(partition_table.parent,
                                               'b' || lpad(i::text, length((partition_table.buckets - 1)::text), '0')),
                       v_default::regclass, partition_table.buckets, i), NULL);
        END LOOP;
        -- Like every partition, they belong to the table's owner.
        FOR v_bucket IN SELECT p.partition::text FROM tenancy._partition_tenants(partition_table.parent) p
                         WHERE p.kind IN ('default', 'bucket')
                           AND (SELECT c.relowner FROM pg_class c WHERE c.oid = p.partition::oid)
                               <> (SELECT c.relowner FROM pg_class c WHERE c.oid = partition_table.parent) LOOP
            EXECUTE format('ALTER TABLE %s OWNER TO %I', v_bucket,
                           (SELECT c.relowner::regrole::name FROM pg_class c WHERE c.oid = partition_table.parent));
        END LOOP;
        v_made := partition_table.buckets + 1;
    ELSIF v_default = 0 THEN
        -- No default: every tenant that will ever have rows gets a partition.
        FOR v_tenant IN SELECT t.id FROM tenancy.tenants t
                         WHERE t.status <> 'offboarded'
                        UNION ALL
                        SELECT s.id FROM tenancy.spare_tenant_ids s
                        ORDER BY 1 LOOP
            IF tenancy._tenant_partition(partition_table.parent, v_tenant.id, false) IS NULL THEN
                PERFORM tenancy._partition_create(partition_table.parent, v_tenant.id);
                v_made := v_made + 1;
            END IF;
        END LOOP;
    END IF;
    RETURN v_made;
END
$$;
COMMENT ON FUNCTION tenancy.partition_table(regclass, int) IS 'Partition a registered table per tenant: a list partition for each tenant, or with buckets a hash-partitioned default partition for them all; returns the number of partitions created.';
REVOKE ALL ON FUNCTION tenancy.partition_table(regclass, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy.partition_table(regclass, int) TO tenancy_admin;

CREATE FUNCTION tenancy.premake_partitions(spares int DEFAULT 16) RETURNS int
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_id     uuid;
    v_parent regclass;
    v_made   int := 0;
BEGIN
    IF premake_partitions.spares IS NULL OR premake_partitions.spares NOT BETWEEN 0 AND 10000 THEN
        RAISE EXCEPTION 'invalid number of spares: %', premake_partitions.spares
            USING ERRCODE = '22023', HINT = 'Keep between 0 and 10000 spare tenant ids; about a day''s sign-ups is plenty.';
    END IF;
    -- One maintenance run at a time; create_tenant is not blocked.
    PERFORM pg_advisory_xact_lock('tenancy.spare_tenant_ids'::regclass::oid::bigint);
    WHILE (SELECT count(*) FROM tenancy.spare_tenant_ids) < premake_partitions.spares LOOP
        v_id := gen_random_uuid();
        INSERT INTO tenancy.spare_tenant_ids (id) VALUES (v_id);
        FOR v_parent IN SELECT t.relid FROM tenancy.tables t
                          JOIN pg_partitioned_table p ON p.partrelid = t.relid::oid
                         WHERE t.partitioned AND p.partdefid = 0
                         ORDER BY t.relid::oid LOOP
            PERFORM tenancy._partition_create(v_parent, v_id);
        END LOOP;
        v_made := v_made + 1;
    END LOOP;
    RETURN v_made;
END
$$;
COMMENT ON FUNCTION tenancy.premake_partitions(int) IS 'Make partitions ahead for spare tenant ids until there are this many, so that create_tenant only renames them; returns how many ids it added.';
REVOKE ALL ON FUNCTION tenancy.premake_partitions(int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy.premake_partitions(int) TO tenancy_admin;

-- Called by create_tenant when no id is given: a spare id, or NULL.
CREATE FUNCTION tenancy._take_spare_id() RETURNS uuid
    LANGUAGE sql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
    DELETE FROM tenancy.spare_tenant_ids s
     WHERE s.id = (SELECT x.id FROM tenancy.spare_tenant_ids x
                    ORDER BY x.made_at, x.id LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING s.id
$$;
COMMENT ON FUNCTION tenancy._take_spare_id() IS 'Take the oldest spare tenant id (skipping ids other transactions are taking), or NULL.';
REVOKE ALL ON FUNCTION tenancy._take_spare_id() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy._take_spare_id() TO tenancy_admin;

-- Called by _on_tenant_created: a partition in every table that has no
-- default partition to hold the new tenant.
CREATE FUNCTION tenancy._partitions_on_create(tenant_id uuid) RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_parent regclass;
BEGIN
    FOR v_parent IN SELECT t.relid FROM tenancy.tables t
                      JOIN pg_partitioned_table p ON p.partrelid = t.relid::oid
                     WHERE t.partitioned AND p.partdefid = 0
                     ORDER BY t.relid::oid LOOP
        PERFORM tenancy._partition_create(v_parent, _partitions_on_create.tenant_id);
    END LOOP;
END
$$;
COMMENT ON FUNCTION tenancy._partitions_on_create(uuid) IS 'Create a new tenant''s partition in every table partitioned per tenant without a default partition.';
REVOKE ALL ON FUNCTION tenancy._partitions_on_create(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy._partitions_on_create(uuid) TO tenancy_admin;

-- Called by offboard_tenant for each table: take the tenant's own
-- partition out (detached into tenancy_archive, or dropped).  Returns the
-- number of rows it held, or NULL when the tenant has no partition there.
CREATE FUNCTION tenancy._partition_remove(parent regclass, tenant_id uuid, archive_as text)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_part regclass;
    v_rows bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM tenancy.tables t WHERE t.relid = _partition_remove.parent AND t.partitioned) THEN
        RETURN NULL;
    END IF;
    -- Only for offboard_tenant: never a way around it (its audit entry,
    -- the tenant's status) for a tenant still in service.
    IF NOT EXISTS (SELECT 1 FROM tenancy.tenants t
                    WHERE t.id = _partition_remove.tenant_id AND t.status = 'offboarded') THEN
        RAISE EXCEPTION 'tenant % is not being offboarded', _partition_remove.tenant_id
            USING ERRCODE = '55000',
                  HINT = 'Partitions of a tenant are removed by tenancy.offboard_tenant() only.';
    END IF;
    v_part := tenancy._tenant_partition(_partition_remove.parent, _partition_remove.tenant_id);
    IF v_part IS NULL THEN
        RETURN NULL;
    END IF;
    -- As the table's owner: the count plans a query on the partition, and
    -- DETACH checks the foreign keys that reference it.
    v_rows := tenancy._run_as_owner(v_part, format('SELECT count(*) FROM %s', v_part), NULL);
    PERFORM tenancy._run_as_owner(_partition_remove.parent,
        format('ALTER TABLE %s DETACH PARTITION %s', _partition_remove.parent, v_part), NULL);
    IF _partition_remove.archive_as IS NULL THEN
        PERFORM tenancy._run_as_owner(v_part, format('DROP TABLE %s', v_part), NULL);
    ELSE
        -- Moving and renaming run none of the owner's code; the owner has
        -- no CREATE on tenancy_archive.
        EXECUTE format('ALTER TABLE %s SET SCHEMA tenancy_archive', v_part);
        EXECUTE format('ALTER TABLE tenancy_archive.%I RENAME TO %I',
                       (SELECT c.relname FROM pg_class c WHERE c.oid = v_part), _partition_remove.archive_as);
    END IF;
    RETURN v_rows;
END
$$;
COMMENT ON FUNCTION tenancy._partition_remove(regclass, uuid, text) IS 'Detach a tenant''s own partition and drop it, or keep it in tenancy_archive under the given name; returns its row count, NULL if it has none.';
REVOKE ALL ON FUNCTION tenancy._partition_remove(regclass, uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy._partition_remove(regclass, uuid, text) TO tenancy_admin;

CREATE FUNCTION tenancy.isolate_tenant(tenant text, parent regclass)
    RETURNS regclass
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET tenancy.tenant = ''
    AS $$
DECLARE
    v_id      uuid := tenancy._resolve_tenant(isolate_tenant.tenant);
    v_status  text;
    v_slug    text;
    v_col     name;
    v_default oid;
    v_part    regclass;
    v_nsp     name;
    v_name    text;
    v_owner   oid;
    v_cols    text;
    v_fk      record;
    v_moved   bigint;
BEGIN
    IF isolate_tenant.parent IS NULL THEN
        RAISE EXCEPTION 'table must not be null' USING ERRCODE = '22004',
              HINT = 'Pass a table under tenancy.partition_table().';
    END IF;
    SELECT t.status, t.slug INTO v_status, v_slug FROM tenancy.tenants t WHERE t.id = v_id;
    IF v_status = 'offboarded' THEN
        RAISE EXCEPTION 'tenant "%" is offboarded', isolate_tenant.tenant
            USING ERRCODE = '55000', HINT = 'Offboarded tenants have no rows to isolate.';
    END IF;
    v_col := tenancy._partitioned_column(isolate_tenant.parent);
    v_part := tenancy._tenant_partition(isolate_tenant.parent, v_id);
    IF v_part IS NOT NULL THEN
        RAISE EXCEPTION 'tenant "%" already has its own partition % of %', v_slug, v_part, isolate_tenant.parent
            USING ERRCODE = '42P07', HINT = 'Nothing to do: its rows are isolated already.';
    END IF;
    v_part := tenancy._tenant_partition(isolate_tenant.parent, v_id, false);
    IF v_part IS NOT NULL THEN
        RAISE EXCEPTION 'tenant "%" shares partition % of % with other tenants', v_slug, v_part, isolate_tenant.parent
            USING ERRCODE = '55000',
                  HINT = 'isolate_tenant moves tenants out of the default partition only; split a partition made by hand yourself (DETACH, then re-create).';
    END IF;
    SELECT p.partdefid INTO v_default FROM pg_partitioned_table p WHERE p.partrelid = isolate_tenant.parent;
    IF v_default = 0 THEN
        -- Nowhere its rows could be: just give it a partition.
        RETURN tenancy._partition_create(isolate_tenant.parent, v_id);
    END IF;

    -- Moving a row deletes it from the default partition and inserts it
    -- into the new one: foreign keys from other tables would see it go.
    FOR v_fk IN SELECT k.conname, k.conrelid::regclass AS referencing
                  FROM pg_constraint k
                 WHERE k.contype = 'f' AND k.conparentid = 0
                   AND k.confrelid IN (SELECT tt.relid FROM tenancy._table_tree(isolate_tenant.parent) tt)
                   AND k.conrelid NOT IN (SELECT tt.relid FROM tenancy._table_tree(isolate_tenant.parent) tt)
                 ORDER BY 1 LIMIT 1 LOOP
        RAISE EXCEPTION 'cannot isolate tenant "%" in %: foreign key % of % references it', v_slug,
                        isolate_tenant.parent, v_fk.conname, v_fk.referencing
            USING ERRCODE = '0A000',
                  DETAIL = 'Isolating moves the tenant''s rows out of the default partition; the foreign key would see them deleted.',
                  HINT = format('Drop the foreign key, isolate the tenant, then add it back (ADD CONSTRAINT ... NOT VALID, then VALIDATE CONSTRAINT): ALTER TABLE %s DROP CONSTRAINT %I;',
                                v_fk.referencing, v_fk.conname);
    END LOOP;

    SELECT n.nspname, c.relowner INTO v_nsp, v_owner
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = isolate_tenant.parent;
    SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO v_cols
      FROM pg_attribute a
     WHERE a.attrelid = isolate_tenant.parent AND a.attnum > 0 AND NOT a.attisdropped
       AND a.attgenerated = '';
    v_name := tenancy._partition_name(isolate_tenant.parent, v_slug);

    -- 1. Every session using the table waits from here to commit.  Writers
    --    must not route a row with the old partition bounds; readers must
    --    not plan with them either: a reader that had pruned to the bucket
    --    and then waited for the default partition would run after the
    --    commit and find the tenant in neither place.
    --    Every statement on the table from here runs as its owner.
    PERFORM tenancy._run_as_owner(isolate_tenant.parent,
        format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', isolate_tenant.parent), NULL);

    -- 2. The new table, not yet a partition (the event trigger protects it
    --    when it is attached).  Its CHECK constraint spares ATTACH a scan.
    PERFORM tenancy._internal_ddl(true);
    PERFORM tenancy._run_as_owner(isolate_tenant.parent,
        format('CREATE TABLE %I.%I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED '
               'INCLUDING STORAGE INCLUDING COMPRESSION)', v_nsp, v_name, isolate_tenant.parent), NULL);
    v_part := format('%I.%I', v_nsp, v_name)::regclass;
    PERFORM tenancy._run_as_owner(v_part,
        format('ALTER TABLE %s ADD CONSTRAINT tenancy_isolating CHECK (%I = %L::uuid)', v_part, v_col, v_id), NULL);
    PERFORM tenancy._internal_ddl(false);

    -- 3. Move the rows.  Row triggers (an audit trail among them) and
    --    foreign key actions do not fire: this is a move, not a delete
    --    and an insert.  The default partition is pruned to one bucket.
    --    As the table's owner, never as the extension's: triggers enabled
    --    ALWAYS or REPLICA, CHECK constraints, generated columns and
    --    index expressions are the owner's code.
    PERFORM set_config('session_replication_role', 'replica', true);
    PERFORM tenancy._run_as_owner(v_part,
        format('INSERT INTO %s (%s) SELECT %s FROM %s WHERE %I = $1', v_part, v_cols, v_cols,
               v_default::regclass, v_col), v_id);
    v_moved := tenancy._run_as_owner(v_default::regclass,
        format('DELETE FROM %s WHERE %I = $1', v_default::regclass, v_col), v_id);
    PERFORM set_config('session_replication_role', 'origin', true);

    -- 4. Attach: PostgreSQL checks the default partition holds none of the
    --    tenant's rows any more, under ACCESS EXCLUSIVE on it, by a scan.
    --    ATTACH also checks the parent's foreign keys on the new partition.
    PERFORM tenancy._run_as_owner(isolate_tenant.parent,
        format('ALTER TABLE %s ATTACH PARTITION %s FOR VALUES IN (%L)', isolate_tenant.parent, v_part, v_id), NULL);
    PERFORM tenancy._run_as_owner(v_part, format('ALTER TABLE %s DROP CONSTRAINT tenancy_isolating', v_part), NULL);
    RAISE NOTICE 'tenant "%": % rows moved into %', v_slug, v_moved, v_part;
    RETURN v_part;
END
$$;
COMMENT ON FUNCTION tenancy.isolate_tenant(text, regclass) IS 'Move one tenant out of the default partition into a list partition of its own, in one transaction, while other sessions wait; returns the new partition.';
REVOKE ALL ON FUNCTION tenancy.isolate_tenant(text, regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy.isolate_tenant(text, regclass) TO tenancy_admin;

-- Behind the view, with JIT off: the planner's estimates for a function
-- scan per registered table are large enough to trigger JIT compilation,
-- which would cost more than the query.
CREATE FUNCTION tenancy._partitions()
    RETURNS TABLE (parent regclass, tenant text, partition regclass, rows bigint, bytes bigint,
                   kind text, tenant_id uuid)
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    SET jit = off
    AS $$
SELECT t.relid AS parent,
       tn.slug AS tenant,
       p.partition,
       CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint END AS rows,
       pg_catalog.pg_total_relation_size(p.partition) AS bytes,
       CASE WHEN p.kind = 'tenant' AND tn.id IS NULL
                 AND EXISTS (SELECT 1 FROM tenancy.spare_tenant_ids s WHERE s.id = p.tenant_id)
            THEN 'spare' ELSE p.kind END AS kind,
       p.tenant_id
  FROM tenancy.tables t
 CROSS JOIN LATERAL tenancy._partition_tenants(t.relid) p
  JOIN pg_catalog.pg_class c ON c.oid = p.partition::oid
  LEFT JOIN tenancy.tenants tn ON tn.id = p.tenant_id
 WHERE t.partitioned
$$;
COMMENT ON FUNCTION tenancy._partitions() IS 'The rows of the tenancy.partitions view.';
REVOKE ALL ON FUNCTION tenancy._partitions() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy._partitions() TO tenancy_admin;

CREATE VIEW tenancy.partitions AS
SELECT parent, tenant, partition, rows, bytes, kind, tenant_id FROM tenancy._partitions();
COMMENT ON VIEW tenancy.partitions IS 'Partitions of the tables partitioned per tenant: parent, tenant, partition, estimated rows (NULL before the first ANALYZE), bytes with indexes and TOAST, kind (tenant, default, bucket, spare).';
REVOKE ALL ON tenancy.partitions FROM PUBLIC;
GRANT SELECT ON tenancy.partitions TO tenancy_admin;
