-- The isolation linter, and the registry's cleanup on DROP.

CREATE FUNCTION tenancy._on_drop() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    DELETE FROM tenancy.tables t
     WHERE t.relid::oid IN (SELECT d.objid FROM pg_event_trigger_dropped_objects() d
                             WHERE d.classid = 'pg_class'::regclass AND d.objsubid = 0);
END
$$;
COMMENT ON FUNCTION tenancy._on_drop() IS 'Event trigger: forget dropped tables in tenancy.tables.';
REVOKE ALL ON FUNCTION tenancy._on_drop() FROM PUBLIC;

CREATE EVENT TRIGGER tenancy_on_drop ON sql_drop
    WHEN TAG IN ('DROP TABLE', 'DROP SCHEMA', 'DROP OWNED')
    EXECUTE FUNCTION tenancy._on_drop();

CREATE FUNCTION tenancy.check_isolation()
    RETURNS TABLE (severity text, object text, problem text, fix text)
    LANGUAGE sql STABLE PARALLEL RESTRICTED
    SET search_path = pg_catalog, pg_temp
    SET jit = off  -- a large query over small catalogs: compiling it costs seconds
    AS $$
WITH RECURSIVE
reg AS (
    SELECT t.relid::oid AS root, t.tenant_column AS col FROM tenancy.tables t
     WHERE EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.relid::oid)
),
tree(root, relid, col, depth) AS (
    SELECT r.root, r.root, r.col, 0 FROM reg r
    UNION ALL
    SELECT tr.root, i.inhrelid, tr.col, tr.depth + 1
      FROM pg_inherits i JOIN tree tr ON i.inhparent = tr.relid
),
rel AS MATERIALIZED (
    SELECT tr.root, tr.relid, tr.col, tr.depth, c.relname, c.relkind, c.relispartition,
           c.relrowsecurity, c.relforcerowsecurity, c.relowner, c.relacl,
           format('%s', tr.relid::regclass) AS name,
           format('%s', tr.root::regclass) AS root_name,
           (SELECT a.attnum FROM pg_attribute a
             WHERE a.attrelid = tr.relid AND a.attname = tr.col AND NOT a.attisdropped) AS colnum
      FROM tree tr JOIN pg_class c ON c.oid = tr.relid
),
bypass AS MATERIALIZED (
    SELECT r.oid FROM pg_roles r WHERE r.rolsuper OR r.rolbypassrls
),
-- Each relation's tenancy_isolation policy, if it is exactly the contract.
good_policy AS MATERIALIZED (
    SELECT r.relid FROM rel r JOIN pg_policy p ON p.polrelid = r.relid
     WHERE p.polname = 'tenancy_isolation' AND p.polpermissive AND p.polcmd = '*'
       AND p.polroles = '{0}'
       AND pg_get_expr(p.polqual, p.polrelid) = tenancy._policy_expr(r.col)
       AND pg_get_expr(p.polwithcheck, p.polrelid) = tenancy._policy_expr(r.col)
),
secdef AS MATERIALIZED (
    SELECT f.oid, f.proowner, f.prosrc FROM pg_proc f
      JOIN pg_namespace fn ON fn.oid = f.pronamespace
     WHERE f.prosecdef AND f.proowner IN (SELECT oid FROM bypass)
       AND fn.nspname NOT IN ('pg_catalog', 'information_schema', 'tenancy')
),
findings(severity, object, problem, fix) AS (
    -- Registry rows whose table is gone.
    SELECT 'error', format('tenancy.tables row %s', t.relid::oid),
           'the registered table no longer exists',
           format('DELETE FROM tenancy.tables WHERE relid = %s;', t.relid::oid)
      FROM tenancy.tables t
     WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.relid::oid)
    UNION ALL
    SELECT 'error', r.name,
           CASE WHEN r.depth = 0 THEN 'row level security is disabled'
                ELSE format('row level security is disabled on this partition or child of %s: it can be queried directly around the parent''s policy', r.root_name) END,
           format('SELECT tenancy.register_table(%L);', r.root_name)
      FROM rel r WHERE NOT r.relrowsecurity AND r.relkind IN ('r', 'p')
    UNION ALL
    SELECT 'error', r.name,
           'row level security is not forced: the table owner bypasses the policy',
           format('ALTER TABLE %s FORCE ROW LEVEL SECURITY;  -- or SELECT tenancy.register_table(%L);', r.name, r.root_name)
      FROM rel r WHERE r.relrowsecurity AND NOT r.relforcerowsecurity
    UNION ALL
    SELECT 'error', r.name,
           CASE WHEN r.depth = 0 THEN 'the tenancy_isolation policy is missing or was changed'
                ELSE format('partition or child of %s lacks the tenancy_isolation policy: it can be queried directly', r.root_name) END,
           format('SELECT tenancy.register_table(%L);', r.root_name)
      FROM rel r
     WHERE r.relid NOT IN (SELECT g.relid FROM good_policy g)
    UNION ALL
    SELECT 'error', format('policy %I on %s', p.polname, r.name),
           'an extra permissive policy: permissive policies are OR-ed, so it widens what tenants see or write',
           format('ALTER POLICY is not enough: DROP POLICY %I ON %s; and recreate it AS RESTRICTIVE if it narrows access.', p.polname, r.name)
      FROM rel r JOIN pg_policy p ON p.polrelid = r.relid
     WHERE p.polpermissive AND p.polname <> 'tenancy_isolation'
    UNION ALL
    SELECT 'error', r.name,
           format('%s is granted to %s: %s', a.privilege_type,
                  CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
                  CASE a.privilege_type
                       WHEN 'TRUNCATE' THEN 'TRUNCATE is not subject to row level security and empties every tenant'
                       WHEN 'TRIGGER' THEN 'a trigger of that role would see every tenant''s rows as they are written'
                       ELSE 'a foreign key of that role could probe which keys exist in other tenants (foreign key checks bypass row level security)' END),
           format('REVOKE %s ON %s FROM %s;', a.privilege_type, r.name,
                  CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END)
      FROM rel r, aclexplode(r.relacl) a
     WHERE a.privilege_type IN ('TRUNCATE', 'TRIGGER', 'REFERENCES') AND a.grantee <> r.relowner
       AND NOT tenancy._is_admin_role(a.grantee)
    UNION ALL
    -- Unique keys without the tenant column leak existence across tenants.
    SELECT 'warning', format('index %s on %s', i.indexrelid::regclass, r.name),
           'a primary key, exclusion constraint or unique index without the tenant column: inserting a value another tenant already has fails, which tells that it exists',
           format('Replace it with one that leads with %I, e.g. UNIQUE (%I, ...).', r.col, r.col)
      FROM rel r JOIN pg_index i ON i.indrelid = r.relid
     WHERE (i.indisunique OR i.indisexclusion) AND NOT r.relispartition AND r.colnum IS NOT NULL
       AND NOT (r.colnum = ANY (i.indkey::int2[]))
    UNION ALL
    -- Foreign keys between tenant tables must carry the tenant column.
    SELECT 'warning', format('constraint %I on %s', k.conname, r.name),
           format('a foreign key to tenant table %s without the tenant column: a row can reference another tenant''s row', k.confrelid::regclass),
           format('Make it FOREIGN KEY (%I, ...) REFERENCES %s (%I, ...), with a unique key on the referenced side that includes it.',
                  r.col, k.confrelid::regclass, (SELECT rr.col FROM rel rr WHERE rr.relid = k.confrelid LIMIT 1))
      FROM rel r JOIN pg_constraint k ON k.conrelid = r.relid AND k.contype = 'f'
     WHERE NOT r.relispartition AND k.conparentid = 0
       AND k.confrelid IN (SELECT relid FROM rel)
       AND NOT (r.colnum = ANY (k.conkey))
    UNION ALL
    -- Views over tenant tables that run as an owner who bypasses RLS.
    SELECT DISTINCT 'error', format('view %s', v.oid::regclass),
           format('reads tenant table %s with the rights of its owner %s, who bypasses row level security',
                  r.name, quote_ident(pg_get_userbyid(v.relowner))),
           format('ALTER VIEW %s SET (security_invoker = true);', v.oid::regclass)
      FROM rel r
      JOIN pg_depend d ON d.refobjid = r.relid AND d.classid = 'pg_rewrite'::regclass
      JOIN pg_rewrite w ON w.oid = d.objid
      JOIN pg_class v ON v.oid = w.ev_class AND v.relkind = 'v' AND v.oid <> r.relid
     WHERE v.relowner IN (SELECT oid FROM bypass)
       AND NOT coalesce('security_invoker=true' = ANY (v.reloptions)
                        OR 'security_invoker=on' = ANY (v.reloptions)
                        OR 'security_invoker=1' = ANY (v.reloptions), false)
    UNION ALL
    SELECT DISTINCT 'error', format('materialized view %s', v.oid::regclass),
           format('stores rows of tenant table %s for every tenant; materialized views have no row level security', r.name),
           format('DROP MATERIALIZED VIEW %s; keep per-tenant aggregates in a registered table, or REVOKE SELECT ON it FROM tenant roles.', v.oid::regclass)
      FROM rel r
      JOIN pg_depend d ON d.refobjid = r.relid AND d.classid = 'pg_rewrite'::regclass
      JOIN pg_rewrite w ON w.oid = d.objid
      JOIN pg_class v ON v.oid = w.ev_class AND v.relkind = 'm'
    UNION ALL
    -- SECURITY DEFINER functions whose owner bypasses RLS and that name a tenant table.
    SELECT DISTINCT 'warning', format('function %s', f.oid::regprocedure),
           format('SECURITY DEFINER as %s, who bypasses row level security, and reads tenant table %s',
                  quote_ident(pg_get_userbyid(f.proowner)), r.name),
           format('Make it SECURITY INVOKER, or have it owned by a role without BYPASSRLS: ALTER FUNCTION %s OWNER TO <role>;', f.oid::regprocedure)
      FROM secdef f
      JOIN rel r ON r.depth = 0 AND f.prosrc ~* ('\m' || r.relname || '\M')
    UNION ALL
    -- LIKE-family built-ins marked LEAKPROOF by hand: a pattern taken from
    -- a row could then run before the policy, and its error tell about it.
    SELECT 'error', format('function %s', p.oid::regprocedure),
           'is marked LEAKPROOF, but raises an error that depends on its pattern: a pattern read from another tenant''s row could be evaluated before the policy and reveal it',
           format('ALTER FUNCTION %s NOT LEAKPROOF;  -- tenancy keeps constant-pattern LIKE fast without it', p.oid::regprocedure)
      FROM pg_proc p
     WHERE p.oid IN ('pg_catalog.textlike(text,text)'::regprocedure, 'pg_catalog.textnlike(text,text)'::regprocedure,
                     'pg_catalog.texticlike(text,text)'::regprocedure, 'pg_catalog.texticnlike(text,text)'::regprocedure,
                     'pg_catalog.bpcharlike(character,text)'::regprocedure, 'pg_catalog.bpchariclike(character,text)'::regprocedure,
                     'pg_catalog.textregexeq(text,text)'::regprocedure, 'pg_catalog.texticregexeq(text,text)'::regprocedure)
       AND p.proleakproof
    UNION ALL
    -- Memberships outlive DROP ROLE (roles belong to the cluster); a new
    -- role of the same name would inherit them.
    SELECT 'warning', format('membership of role %I in tenant %s', m.role_name, t.slug),
           'the role does not exist: a role created later with this name would enter the tenant',
           format('SELECT tenancy.revoke_tenant(%L, %L);', m.role_name, t.slug)
      FROM tenancy.members m JOIN tenancy.tenants t ON t.id = m.tenant_id
     WHERE NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = m.role_name)
    UNION ALL
    -- Tables that look tenant-scoped but are not registered.
    SELECT DISTINCT 'warning', format('%s', c.oid::regclass),
           format('has tenant column %I but is not registered: nothing isolates its rows', a.attname),
           format('SELECT tenancy.register_table(%L, %L);', c.oid::regclass, a.attname)
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
       AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'tenancy', 'tenancy_archive')
       AND n.nspname NOT LIKE 'pg\_%'
       AND c.relpersistence <> 't'
       AND NOT EXISTS (SELECT 1 FROM tree tr WHERE tr.relid = c.oid)
       AND (a.attname = 'tenant_id'
            OR EXISTS (SELECT 1 FROM pg_constraint k
                        WHERE k.conrelid = c.oid AND k.contype = 'f'
                          AND k.confrelid = 'tenancy.tenants'::regclass
                          AND a.attnum = ANY (k.conkey)))
)
SELECT f.severity, f.object, f.problem, f.fix FROM findings f
 ORDER BY CASE f.severity WHEN 'error' THEN 0 ELSE 1 END, f.object, f.problem
$$;
COMMENT ON FUNCTION tenancy.check_isolation() IS 'Lint the database for ways around tenant isolation; no rows means none was found.';
REVOKE ALL ON FUNCTION tenancy.check_isolation() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy.check_isolation() TO tenancy_admin;
