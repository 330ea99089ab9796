-- Row-level security generator: register_table, unregister_table, the
-- auto_register event trigger, and the isolation linter check_isolation().
--
-- A registered table gets: a uuid tenant column (NOT NULL, DEFAULT
-- tenancy.current_tenant(), FK to tenancy.tenants ON DELETE CASCADE), an
-- index leading with it, ENABLE + FORCE ROW LEVEL SECURITY and one policy
-- tenancy_isolation, on itself and on every partition or inheritance child,
-- now and later (the event trigger).  TRUNCATE, which RLS does not govern,
-- is revoked from every role but the owner and administrators.

GRANT REFERENCES (id) ON tenancy.tenants TO tenancy_admin;

-- One statement as a table's owner, security-restricted, its FORCE RLS not
-- applied (src/partition.c).  Every statement the extension runs on an
-- application table goes through it, so the owner's code (index
-- predicates, casts in foreign-key checks, triggers) never runs with the
-- rights of a superuser or administrator calling in.  The caller must have
-- the owner's privileges already.
CREATE FUNCTION tenancy._run_as_owner(rel regclass, statement text, tenant uuid) RETURNS bigint
    LANGUAGE C VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'tenancy_run_as_owner';
COMMENT ON FUNCTION tenancy._run_as_owner(regclass, text, uuid) IS 'Run one statement ($1 = tenant, when given) as the owner of a table, as a security-restricted operation, for a caller with the owner''s privileges; returns the bigint it yields, else the rows processed.';
REVOKE ALL ON FUNCTION tenancy._run_as_owner(regclass, text, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy._run_as_owner(regclass, text, uuid) TO tenancy_admin;

-- The policy expression, as PostgreSQL deparses it, for comparisons.
CREATE FUNCTION tenancy._policy_expr(col name) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT format('(%I = tenancy.current_tenant())', _policy_expr.col) $$;
COMMENT ON FUNCTION tenancy._policy_expr(name) IS 'The tenancy_isolation policy expression for a tenant column, as pg_policies shows it.';
REVOKE ALL ON FUNCTION tenancy._policy_expr(name) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy._policy_expr(name) TO tenancy_admin;

-- The table and every partition or inheritance descendant of it.  Level
-- by level, so that each step is an index scan of pg_inherits (a
-- recursive CTE gets a hash join over all of pg_inherits, which costs
-- milliseconds once tables have thousands of partitions).
CREATE FUNCTION tenancy._table_tree(tbl regclass) RETURNS TABLE (relid regclass, depth int)
    LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 10
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_level oid[] := ARRAY[_table_tree.tbl::oid];
BEGIN
    depth := 0;
    WHILE cardinality(v_level) > 0 LOOP
        RETURN QUERY SELECT l::regclass, depth FROM unnest(v_level) l;
        v_level := ARRAY(SELECT i.inhrelid FROM pg_inherits i
                          WHERE i.inhparent = ANY (v_level) ORDER BY i.inhrelid);
        depth := depth + 1;
    END LOOP;
END
$$;
COMMENT ON FUNCTION tenancy._table_tree(regclass) IS 'A table with all its partitions and inheritance children, recursively.';
REVOKE ALL ON FUNCTION tenancy._table_tree(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy._table_tree(regclass) TO tenancy_admin;

-- The registered table a relation belongs to (itself or an ancestor; the
-- topmost if several are).  Level by level, as _table_tree.
CREATE FUNCTION tenancy._registered_root(rel regclass) RETURNS regclass
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_level oid[] := ARRAY[_registered_root.rel::oid];
    v_found regclass;
BEGIN
    WHILE cardinality(v_level) > 0 LOOP
        v_found := coalesce((SELECT min(t.relid::oid)::regclass FROM tenancy.tables t
                              WHERE t.relid::oid = ANY (v_level)), v_found);
        v_level := ARRAY(SELECT i.inhparent FROM pg_inherits i WHERE i.inhrelid = ANY (v_level));
    END LOOP;
    RETURN v_found;
END
$$;
COMMENT ON FUNCTION tenancy._registered_root(regclass) IS 'The registered table that a relation is, or descends from; NULL if none.';
REVOKE ALL ON FUNCTION tenancy._registered_root(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy._registered_root(regclass) TO tenancy_admin;

-- Is a role an administrator?  The same check as the tenant context's.
CREATE FUNCTION tenancy._is_admin_role(role oid) RETURNS boolean
    LANGUAGE C STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tenancy_is_admin_role';
COMMENT ON FUNCTION tenancy._is_admin_role(oid) IS 'Is the role a superuser or does it have the privileges of tenancy_admin?';
REVOKE ALL ON FUNCTION tenancy._is_admin_role(oid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy._is_admin_role(oid) TO tenancy_admin;

-- "Our own DDL is running", for the event trigger (src/catalog.c): a flag
-- only these functions set, ending with the transaction.
CREATE FUNCTION tenancy._internal_ddl(on_ boolean) RETURNS boolean
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'tenancy_internal_ddl';
COMMENT ON FUNCTION tenancy._internal_ddl(boolean) IS 'Mark the DDL that follows, until false or the end of the (sub)transaction, as tenancy''s own: the event trigger leaves it alone; returns the previous state.';
REVOKE ALL ON FUNCTION tenancy._internal_ddl(boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy._internal_ddl(boolean) TO tenancy_admin;
CREATE FUNCTION tenancy._in_internal_ddl() RETURNS boolean
    LANGUAGE C VOLATILE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tenancy_in_internal_ddl';
COMMENT ON FUNCTION tenancy._in_internal_ddl() IS 'Is tenancy''s own DDL running (set by tenancy._internal_ddl)?';
REVOKE ALL ON FUNCTION tenancy._in_internal_ddl() FROM PUBLIC;

-- Bring one relation of a registered tree up to the contract.  Every step
-- checks first, so running it again changes nothing.
CREATE FUNCTION tenancy._protect(rel regclass, col name) RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_class  pg_class%ROWTYPE;
    v_att    pg_attribute%ROWTYPE;
    v_grant  record;
    v_name   text;
    v_alter  text[];
    v_lend   boolean := false;
BEGIN
    SELECT * INTO v_class FROM pg_class c WHERE c.oid = _protect.rel;
    SELECT * INTO v_att FROM pg_attribute a
     WHERE a.attrelid = _protect.rel AND a.attname = _protect.col AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column "%" of relation % does not exist', _protect.col, _protect.rel
            USING ERRCODE = '42703',
                  HINT = 'A registered table and its children keep their tenant column; to drop it, run tenancy.unregister_table() first.';
    END IF;

    -- Column, flags and foreign key in one ALTER TABLE (one pass of its
    -- machinery, one firing of the event trigger).
    IF NOT v_att.attnotnull THEN
        v_alter := array_append(v_alter, format('ALTER COLUMN %I SET NOT NULL', _protect.col));
    END IF;
    IF NOT v_att.atthasdef THEN
        v_alter := array_append(v_alter, format('ALTER COLUMN %I SET DEFAULT tenancy.current_tenant()', _protect.col));
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint k
                    WHERE k.conrelid = _protect.rel AND k.contype = 'f'
                      AND k.confrelid = 'tenancy.tenants'::regclass
                      AND k.conkey = ARRAY[v_att.attnum]) THEN
        v_name := left(v_class.relname || '_' || _protect.col, 51) || '_tenant_fkey';
        v_alter := array_append(v_alter, format('ADD CONSTRAINT %I FOREIGN KEY (%I) REFERENCES tenancy.tenants (id) ON DELETE CASCADE',
                                                v_name, _protect.col));
        v_lend := NOT has_column_privilege(v_class.relowner, 'tenancy.tenants', 'id', 'REFERENCES');
    END IF;
    IF NOT v_class.relrowsecurity THEN
        v_alter := array_append(v_alter, 'ENABLE ROW LEVEL SECURITY');
    END IF;
    IF NOT v_class.relforcerowsecurity THEN
        v_alter := array_append(v_alter, 'FORCE ROW LEVEL SECURITY');
    END IF;
    -- Every statement on the table as its owner (tenancy._run_as_owner).
    -- The foreign key needs REFERENCES on tenancy.tenants (id), which
    -- administrators hold; an owner who is none gets it for this statement.
    IF v_alter IS NOT NULL THEN
        IF v_lend THEN
            EXECUTE format('GRANT REFERENCES (id) ON tenancy.tenants TO %s', v_class.relowner::regrole);
        END IF;
        PERFORM tenancy._run_as_owner(_protect.rel,
            format('ALTER TABLE %s %s', _protect.rel, array_to_string(v_alter, ', ')), NULL);
        IF v_lend THEN
            EXECUTE format('REVOKE REFERENCES (id) ON tenancy.tenants FROM %s', v_class.relowner::regrole);
        END IF;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_index i
                    WHERE i.indrelid = _protect.rel AND i.indkey[0] = v_att.attnum) THEN
        PERFORM tenancy._run_as_owner(_protect.rel, format('CREATE INDEX ON %s (%I)', _protect.rel, _protect.col), NULL);
    END IF;

    -- The policy, exactly (pg_policies shows the same pg_get_expr text).
    IF NOT EXISTS (SELECT 1 FROM pg_policy p
                    WHERE p.polrelid = _protect.rel AND p.polname = 'tenancy_isolation'
                      AND p.polpermissive AND p.polcmd = '*' AND p.polroles = '{0}'
                      AND pg_get_expr(p.polqual, p.polrelid) = tenancy._policy_expr(_protect.col)
                      AND pg_get_expr(p.polwithcheck, p.polrelid) = tenancy._policy_expr(_protect.col)) THEN
        IF EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = _protect.rel
                      AND p.polname = 'tenancy_isolation') THEN
            PERFORM tenancy._run_as_owner(_protect.rel, format('DROP POLICY tenancy_isolation ON %s', _protect.rel), NULL);
        END IF;
        PERFORM tenancy._run_as_owner(_protect.rel,
            format('CREATE POLICY tenancy_isolation ON %s AS PERMISSIVE FOR ALL TO PUBLIC '
                   'USING (%I = tenancy.current_tenant()) WITH CHECK (%I = tenancy.current_tenant())',
                   _protect.rel, _protect.col, _protect.col), NULL);
    END IF;

    -- Privileges that reach around RLS: only the owner and administrators
    -- keep them.  TRUNCATE empties every tenant; a TRIGGER sees every
    -- tenant's rows as they are written; REFERENCES lets a foreign key of
    -- one's own probe which keys exist (foreign key checks bypass RLS).
    FOR v_grant IN
        SELECT DISTINCT a.grantee, a.privilege_type FROM aclexplode(v_class.relacl) a
         WHERE a.privilege_type IN ('TRUNCATE', 'TRIGGER', 'REFERENCES')
           AND a.grantee <> v_class.relowner
           AND NOT tenancy._is_admin_role(a.grantee)
    LOOP
        PERFORM tenancy._run_as_owner(_protect.rel,
            format('REVOKE %s ON %s FROM %s', v_grant.privilege_type, _protect.rel,
                   CASE WHEN v_grant.grantee = 0 THEN 'PUBLIC'
                        ELSE quote_ident((SELECT rolname FROM pg_roles WHERE oid = v_grant.grantee)) END), NULL);
    END LOOP;
END
$$;
COMMENT ON FUNCTION tenancy._protect(regclass, name) IS 'Apply the registration contract to one relation (idempotent).';
REVOKE ALL ON FUNCTION tenancy._protect(regclass, name) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy._protect(regclass, name) TO tenancy_admin;

-- The relations of a tree that _protect must see after DDL on its top:
-- the top itself, checked in full, and those below it that visibly lack
-- part of the contract.  One query over the catalogs, so that DDL on a
-- parent of ten thousand partitions does not run _protect ten thousand
-- times.  (Below the top only ALTER TABLE on the parent can have changed
-- anything, and it changes columns, RLS flags and constraints, not
-- policy expressions.)
CREATE FUNCTION tenancy._unprotected(rel regclass, col name) RETURNS SETOF regclass
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT t.relid FROM tenancy._table_tree(_unprotected.rel) t
      JOIN pg_class c ON c.oid = t.relid
     WHERE t.depth = 0
        OR NOT (c.relrowsecurity AND c.relforcerowsecurity)
        OR NOT EXISTS (SELECT 1 FROM pg_attribute a
                        WHERE a.attrelid = c.oid AND a.attname = _unprotected.col
                          AND a.attnotnull AND a.atthasdef AND NOT a.attisdropped)
        OR NOT EXISTS (SELECT 1 FROM pg_policy p
                        WHERE p.polrelid = c.oid AND p.polname = 'tenancy_isolation')
        OR NOT EXISTS (SELECT 1 FROM pg_constraint k
                        WHERE k.conrelid = c.oid AND k.contype = 'f'
                          AND k.confrelid = 'tenancy.tenants'::regclass)
        OR NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid)
        OR EXISTS (SELECT 1 FROM aclexplode(c.relacl) a
                    WHERE a.privilege_type IN ('TRUNCATE', 'TRIGGER', 'REFERENCES')
                      AND a.grantee <> c.relowner AND NOT tenancy._is_admin_role(a.grantee))
     ORDER BY t.depth
$$;
COMMENT ON FUNCTION tenancy._unprotected(regclass, name) IS 'A relation and those of its partitions and children that visibly lack part of the registration contract.';
REVOKE ALL ON FUNCTION tenancy._unprotected(regclass, name) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy._unprotected(regclass, name) TO tenancy_admin;

CREATE FUNCTION tenancy.register_table(tbl regclass, tenant_column name DEFAULT 'tenant_id')
    RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_class  pg_class%ROWTYPE;
    v_nsp    name;
    v_att    pg_attribute%ROWTYPE;
    v_known  name;
    v_rel    regclass;
    v_rows   boolean;
BEGIN
    IF register_table.tbl IS NULL OR register_table.tenant_column IS NULL THEN
        RAISE EXCEPTION 'table and tenant column must not be null'
            USING ERRCODE = '22004',
                  HINT = 'Call tenancy.register_table(''schema.table'') or give the column as second argument.';
    END IF;
    SELECT * INTO v_class FROM pg_class c WHERE c.oid = register_table.tbl;
    SELECT n.nspname INTO v_nsp FROM pg_namespace n WHERE n.oid = v_class.relnamespace;

    IF v_class.relkind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION 'cannot register % as a tenant table', register_table.tbl
            USING ERRCODE = '42809',
                  DETAIL = format('It is a %s; only ordinary and partitioned tables hold tenant rows.',
                                  CASE v_class.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                                       WHEN 'f' THEN 'foreign table' WHEN 'S' THEN 'sequence'
                                       WHEN 'i' THEN 'index' WHEN 'I' THEN 'index' ELSE 'relation' END),
                  HINT = 'Register the tables it reads; views should be created WITH (security_invoker).';
    END IF;
    IF v_class.relpersistence = 't' THEN
        RAISE EXCEPTION 'cannot register temporary table %', register_table.tbl
            USING ERRCODE = '0A000',
                  HINT = 'A temporary table is private to its session already.';
    END IF;
    IF v_nsp IN ('pg_catalog', 'information_schema', 'tenancy', 'tenancy_archive') OR v_nsp LIKE 'pg\_toast%' THEN
        RAISE EXCEPTION 'cannot register % in schema "%"', register_table.tbl, v_nsp
            USING ERRCODE = '42809',
                  HINT = 'Register tables of your application''s schemas only.';
    END IF;
    IF v_class.relispartition OR EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = register_table.tbl) THEN
        v_rel := tenancy._registered_root(register_table.tbl);
        RAISE EXCEPTION 'cannot register % on its own: it is a partition or inheritance child', register_table.tbl
            USING ERRCODE = '42809',
                  DETAIL = CASE WHEN v_rel IS NULL THEN 'Its parent would stay queryable without the policy.'
                                ELSE format('It is covered through the registered table %s.', v_rel) END,
                  HINT = 'Register the topmost parent table; its partitions and children are covered with it.';
    END IF;
    SELECT t.tenant_column INTO v_known FROM tenancy.tables t WHERE t.relid = register_table.tbl;
    IF v_known IS NOT NULL AND v_known <> register_table.tenant_column THEN
        RAISE EXCEPTION '% is already registered with tenant column "%"', register_table.tbl, v_known
            USING ERRCODE = '55000',
                  HINT = 'Call tenancy.unregister_table() first to change the column.';
    END IF;
    IF NOT pg_has_role(v_class.relowner, 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table % to register it', register_table.tbl
            USING ERRCODE = '42501',
                  HINT = 'Run tenancy.register_table() as the table''s owner (a member of tenancy_admin), or as a superuser.';
    END IF;

    SELECT * INTO v_att FROM pg_attribute a
     WHERE a.attrelid = register_table.tbl AND a.attname = register_table.tenant_column
       AND NOT a.attisdropped AND a.attnum > 0;
    IF NOT FOUND THEN
        -- Queries and DDL on the table run as its owner (see _protect).
        v_rows := tenancy._run_as_owner(register_table.tbl,
                      format('SELECT 1 FROM %s LIMIT 1', register_table.tbl), NULL) > 0;
        IF v_rows AND tenancy.current_tenant_slug() IS NULL THEN
            RAISE EXCEPTION 'table % has rows but no column "%"', register_table.tbl, register_table.tenant_column
                USING ERRCODE = '55000',
                      DETAIL = 'Registering would have to assign its existing rows to a tenant.',
                      HINT = 'Add and fill the column yourself, or SET tenancy.tenant to the tenant that owns every existing row, then register again.';
        END IF;
        IF v_rows THEN
            -- Every existing row goes to the tenant in force (evaluated once).
            PERFORM tenancy._run_as_owner(register_table.tbl,
                format('ALTER TABLE %s ADD COLUMN %I uuid NOT NULL DEFAULT tenancy.current_tenant()',
                       register_table.tbl, register_table.tenant_column), NULL);
        ELSE
            PERFORM tenancy._run_as_owner(register_table.tbl,
                format('ALTER TABLE %s ADD COLUMN %I uuid', register_table.tbl, register_table.tenant_column), NULL);
        END IF;
    ELSIF v_att.atttypid <> 'uuid'::regtype THEN
        RAISE EXCEPTION 'column "%" of % has type %, not uuid', register_table.tenant_column,
                        register_table.tbl, format_type(v_att.atttypid, v_att.atttypmod)
            USING ERRCODE = '42804',
                  HINT = 'Tenant columns hold tenancy.tenants.id: convert it with ALTER TABLE ... ALTER COLUMN ... TYPE uuid USING ..., or name another column.';
    ELSIF NOT v_att.attnotnull THEN
        v_rows := tenancy._run_as_owner(register_table.tbl,
                      format('SELECT 1 FROM %s WHERE %I IS NULL LIMIT 1', register_table.tbl,
                             register_table.tenant_column), NULL) > 0;
        IF v_rows THEN
            RAISE EXCEPTION 'column "%" of % has NULL values', register_table.tenant_column, register_table.tbl
                USING ERRCODE = '23502',
                      HINT = 'Assign every row to a tenant first (UPDATE ... SET ' || quote_ident(register_table.tenant_column) || ' = ...).';
        END IF;
    END IF;

    FOR v_rel IN SELECT t.relid FROM tenancy._table_tree(register_table.tbl) t ORDER BY t.depth LOOP
        PERFORM tenancy._protect(v_rel, register_table.tenant_column);
    END LOOP;

    -- Administrators export and offboard tenants through the policy.
    IF NOT has_schema_privilege('tenancy_admin', v_class.relnamespace, 'USAGE') THEN
        IF pg_has_role((SELECT n.nspowner FROM pg_namespace n WHERE n.oid = v_class.relnamespace), 'USAGE') THEN
            EXECUTE format('GRANT USAGE ON SCHEMA %I TO tenancy_admin', v_nsp);
        ELSE
            RAISE WARNING 'tenancy_admin has no USAGE on schema "%"', v_nsp
                USING HINT = format('export_tenant() and offboard_tenant() need it: GRANT USAGE ON SCHEMA %I TO tenancy_admin;', v_nsp);
        END IF;
    END IF;
    PERFORM tenancy._run_as_owner(register_table.tbl,
        format('GRANT SELECT, DELETE ON %s TO tenancy_admin', register_table.tbl), NULL);

    INSERT INTO tenancy.tables AS t (relid, tenant_column)
    VALUES (register_table.tbl, register_table.tenant_column)
    ON CONFLICT (relid) DO NOTHING;
END
$$;
COMMENT ON FUNCTION tenancy.register_table(regclass, name) IS 'Make a table tenant-scoped: tenant column, index, FORCE RLS and the tenancy_isolation policy, on it and all its partitions and children (idempotent).';
REVOKE ALL ON FUNCTION tenancy.register_table(regclass, name) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy.register_table(regclass, name) TO tenancy_admin;

CREATE FUNCTION tenancy.unregister_table(tbl regclass)
    RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_rel regclass;
BEGIN
    IF unregister_table.tbl IS NULL THEN
        RAISE EXCEPTION 'table must not be null' USING ERRCODE = '22004',
              HINT = 'Pass a registered table, e.g. ''public.orders''.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM tenancy.tables t WHERE t.relid = unregister_table.tbl) THEN
        RAISE EXCEPTION 'table % is not registered', unregister_table.tbl
            USING ERRCODE = '22023',
                  HINT = 'Registered tables are listed in tenancy.tables.';
    END IF;
    IF (SELECT t.audited FROM tenancy.tables t WHERE t.relid = unregister_table.tbl) THEN
        RAISE EXCEPTION 'table % is audited', unregister_table.tbl
            USING ERRCODE = '55000',
                  DETAIL = 'Unregistering would leave its audit trigger without a registered tenant column.',
                  HINT = format('Stop auditing it first: SELECT tenancy.disable_audit(%L);', unregister_table.tbl::text);
    END IF;
    -- Leave the registry first, and keep the event trigger out of the
    -- ALTER TABLEs below, so that it neither puts back what they remove nor
    -- registers the table again (in a managed schema).
    DELETE FROM tenancy.tables t WHERE t.relid = unregister_table.tbl;
    PERFORM tenancy._internal_ddl(true);
    FOR v_rel IN SELECT t.relid FROM tenancy._table_tree(unregister_table.tbl) t ORDER BY t.depth DESC LOOP
        IF EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = v_rel AND p.polname = 'tenancy_isolation') THEN
            EXECUTE format('DROP POLICY tenancy_isolation ON %s', v_rel);
        END IF;
        EXECUTE format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY', v_rel);
        IF NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = v_rel) THEN
            EXECUTE format('ALTER TABLE %s DISABLE ROW LEVEL SECURITY', v_rel);
        END IF;
    END LOOP;
    PERFORM tenancy._internal_ddl(false);
END
$$;
COMMENT ON FUNCTION tenancy.unregister_table(regclass) IS 'Remove the tenancy_isolation policies and FORCE RLS that register_table added; the tenant column, its index and foreign key stay.';
REVOKE ALL ON FUNCTION tenancy.unregister_table(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy.unregister_table(regclass) TO tenancy_admin;

-- Event trigger: cover partitions and children created or attached later,
-- and register new tables in tenancy.managed_schemas.
CREATE FUNCTION tenancy.auto_register() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_cmd     record;
    v_root    regclass;
    v_col     name;
    v_rel     regclass;
    v_schemas text[];
BEGIN
    -- Our own DDL below fires this trigger again: nothing to do then.
    IF tenancy._in_internal_ddl() THEN
        RETURN;
    END IF;
    -- Excluded columns of audited tables follow renames and drops
    -- (tenancy._audit_follow_columns, defined with the audit trail); in
    -- every session, since a rename must never expose an excluded column.
    FOR v_cmd IN
        SELECT DISTINCT c.objid::regclass AS rel, c.objsubid
          FROM pg_event_trigger_ddl_commands() c
         WHERE c.command_tag = 'ALTER TABLE' AND c.classid = 'pg_class'::regclass
           AND EXISTS (SELECT 1 FROM tenancy.tables t WHERE t.relid = c.objid::regclass AND t.audited)
    LOOP
        PERFORM tenancy._audit_follow_columns(v_cmd.rel, v_cmd.objsubid::int2);
    END LOOP;
    -- A restore (pg_restore, or psql replaying pg_dump's output, both SET
    -- row_security = off) recreates the policies, indexes and foreign keys
    -- itself, after the ALTER TABLEs that would fire us: adding them here
    -- first would make its own statements fail.  Only owners change these
    -- tables, and they may turn RLS off anyway; check_isolation() reports
    -- anything left open.
    IF current_setting('row_security') = 'off' THEN
        RETURN;
    END IF;
    SELECT array_agg(btrim(x)) INTO v_schemas
      FROM unnest(string_to_array(coalesce(current_setting('tenancy.managed_schemas', true), ''), ',')) x;
    PERFORM tenancy._internal_ddl(true);

    -- No join with pg_class here: the planner would hash all of it for
    -- each command (milliseconds once there are thousands of partitions).
    FOR v_cmd IN
        SELECT DISTINCT c.objid::regclass AS rel, c.schema_name
          FROM pg_event_trigger_ddl_commands() c
         WHERE c.object_type IN ('table', 'table column')
           AND c.classid = 'pg_class'::regclass
    LOOP
        CONTINUE WHEN (SELECT k.relkind FROM pg_class k WHERE k.oid = v_cmd.rel::oid) NOT IN ('r', 'p');
        v_root := tenancy._registered_root(v_cmd.rel);
        IF v_root IS NOT NULL THEN
            SELECT t.tenant_column INTO v_col FROM tenancy.tables t WHERE t.relid = v_root;
            FOR v_rel IN SELECT tenancy._unprotected(v_cmd.rel, v_col) LOOP
                PERFORM tenancy._protect(v_rel, v_col);
            END LOOP;
        ELSIF v_cmd.schema_name = ANY (v_schemas)
              AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = v_cmd.rel)
              AND EXISTS (SELECT 1 FROM pg_attribute a
                           WHERE a.attrelid = v_cmd.rel AND a.attname = 'tenant_id'
                             AND NOT a.attisdropped) THEN
            PERFORM tenancy.register_table(v_cmd.rel, 'tenant_id');
        END IF;
    END LOOP;
    PERFORM tenancy._internal_ddl(false);
END
$$;
COMMENT ON FUNCTION tenancy.auto_register() IS 'Event trigger: protect partitions and children added to registered tables, and register new tables with a tenant_id column in tenancy.managed_schemas.';
REVOKE ALL ON FUNCTION tenancy.auto_register() FROM PUBLIC;

CREATE EVENT TRIGGER tenancy_auto_register ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'ALTER TABLE')
    EXECUTE FUNCTION tenancy.auto_register();
