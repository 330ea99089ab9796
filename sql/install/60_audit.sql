-- Audit trail: the C row trigger, the time-partitioned audit log, retention
-- by plan, and tamper evidence by chained keyed hashes (seals).
--
-- tenancy.audit_log is partitioned by month on "at".  Only its parent and
-- its DEFAULT partition belong to the extension; the monthly partitions are
-- created at run time by tenancy.maintain_audit(), so pg_dump carries them
-- (DDL and rows) like any other table, and DROP EXTENSION drops them with
-- their parent.  Tenant roles read their own tenant's entries (RLS) and
-- nothing else; nobody but the log's owner (a superuser) may write it: the
-- trigger writes as that owner.  UPDATE, DELETE and TRUNCATE are refused
-- to everyone but superusers, also through privileges granted later.

-- CACHE: each backend takes ids 64 at a time (no shared buffer lock per entry).
CREATE SEQUENCE tenancy.audit_log_id_seq AS bigint CACHE 64;
COMMENT ON SEQUENCE tenancy.audit_log_id_seq IS 'Ids of tenancy.audit_log entries.';

CREATE TABLE tenancy.audit_log (
    id               bigint NOT NULL DEFAULT pg_catalog.nextval('tenancy.audit_log_id_seq'),
    tenant_id        uuid,
    at               timestamptz NOT NULL DEFAULT pg_catalog.now(),
    txid             bigint NOT NULL,
    table_name       text NOT NULL,
    op               text NOT NULL CHECK (op IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'OFFBOARD')),
    row_key          jsonb,
    old              jsonb,
    new              jsonb,
    db_user          text NOT NULL,
    "session_user"   text NOT NULL,
    application_name text,
    client_addr      inet
) PARTITION BY RANGE (at);
ALTER SEQUENCE tenancy.audit_log_id_seq OWNED BY tenancy.audit_log.id;
COMMENT ON TABLE tenancy.audit_log IS 'The audit trail: one entry per audited row change (and per TRUNCATE), partitioned by month.';
COMMENT ON COLUMN tenancy.audit_log.id IS 'Entry id: unique, increasing in the order a session wrote its entries.';
COMMENT ON COLUMN tenancy.audit_log.tenant_id IS 'The tenant of the row (for TRUNCATE: the tenant in force, if any).';
COMMENT ON COLUMN tenancy.audit_log.at IS 'Start of the writing transaction (now()).';
COMMENT ON COLUMN tenancy.audit_log.txid IS 'Id of the writing top-level transaction (as txid_current()).';
COMMENT ON COLUMN tenancy.audit_log.table_name IS 'Qualified name of the audited (registered) table, at the time of writing.';
COMMENT ON COLUMN tenancy.audit_log.op IS 'INSERT, UPDATE, DELETE or TRUNCATE (of an audited table), or OFFBOARD (of a tenant).';
COMMENT ON COLUMN tenancy.audit_log.row_key IS 'The row''s primary key (else replica identity index) columns; without either, every audited column.';
COMMENT ON COLUMN tenancy.audit_log.old IS 'DELETE: the old row; UPDATE: the previous values of the changed columns.';
COMMENT ON COLUMN tenancy.audit_log.new IS 'INSERT: the new row; UPDATE: the new values of the changed columns.';
COMMENT ON COLUMN tenancy.audit_log.db_user IS 'current_user of the writer.';
COMMENT ON COLUMN tenancy.audit_log."session_user" IS 'session_user of the writer.';
COMMENT ON COLUMN tenancy.audit_log.application_name IS 'application_name of the writer''s session.';
COMMENT ON COLUMN tenancy.audit_log.client_addr IS 'Client address of the writer''s session (NULL over a unix socket).';

CREATE TABLE tenancy.audit_log_default PARTITION OF tenancy.audit_log DEFAULT;
COMMENT ON TABLE tenancy.audit_log_default IS 'Audit entries of months that have no partition yet (see tenancy.maintain_audit()).';
-- Partitions carry the parent's column comments (maintain_audit copies them too).
DO $$
DECLARE
    v record;
BEGIN
    FOR v IN SELECT a.attname, col_description(a.attrelid, a.attnum) AS c FROM pg_attribute a
              WHERE a.attrelid = 'tenancy.audit_log'::regclass AND a.attnum > 0 AND NOT a.attisdropped LOOP
        EXECUTE format('COMMENT ON COLUMN tenancy.audit_log_default.%I IS %L', v.attname, v.c);
    END LOOP;
END
$$;
-- BRIN on txid, per partition: txids grow with the log, so a block range
-- summary finds a seal's entries, at far less cost to writers than a
-- btree.  Not a partitioned index on the parent: that one would belong to
-- the extension, exist before pg_restore attaches the dumped partitions
-- and clash with their dumped indexes.
CREATE INDEX audit_log_default_txid_idx ON tenancy.audit_log_default USING brin (txid) WITH (pages_per_range = 32);

SELECT pg_catalog.pg_extension_config_dump('tenancy.audit_log_default', '');
SELECT pg_catalog.pg_extension_config_dump('tenancy.audit_log_id_seq', '');

-- Append-only --------------------------------------------------------------

CREATE FUNCTION tenancy._audit_log_guard() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = current_user AND r.rolsuper) THEN
        RAISE EXCEPTION 'tenancy.audit_log is append-only: % is not allowed', TG_OP
            USING ERRCODE = '42501',
                  DETAIL = format('Role "%s" tried to %s %s.', current_user, lower(TG_OP), TG_TABLE_NAME),
                  HINT = 'Entries expire through tenancy.purge_audit().';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;
COMMENT ON FUNCTION tenancy._audit_log_guard() IS 'Trigger: refuse UPDATE, DELETE and TRUNCATE of audit entries to everyone but superusers.';
REVOKE ALL ON FUNCTION tenancy._audit_log_guard() FROM PUBLIC;

CREATE TRIGGER audit_log_guard BEFORE UPDATE OR DELETE ON tenancy.audit_log
    FOR EACH ROW EXECUTE FUNCTION tenancy._audit_log_guard();
CREATE TRIGGER audit_log_guard_truncate BEFORE TRUNCATE ON tenancy.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION tenancy._audit_log_guard();
CREATE TRIGGER audit_log_guard_truncate BEFORE TRUNCATE ON tenancy.audit_log_default
    FOR EACH STATEMENT EXECUTE FUNCTION tenancy._audit_log_guard();

-- Tenant roles read their tenant's entries; administrators read all.
ALTER TABLE tenancy.audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_log_tenant_read ON tenancy.audit_log
    FOR SELECT TO PUBLIC USING (tenant_id = tenancy._current_tenant_or_null());
CREATE POLICY audit_log_admin_read ON tenancy.audit_log
    FOR SELECT TO tenancy_admin USING (true);
REVOKE ALL ON tenancy.audit_log, tenancy.audit_log_default FROM PUBLIC;
GRANT SELECT ON tenancy.audit_log TO PUBLIC;
-- Partitions are read through the parent only (see _audit_close_partition).
ALTER TABLE tenancy.audit_log_default ENABLE ROW LEVEL SECURITY;

-- The trigger ---------------------------------------------------------------

CREATE FUNCTION tenancy._audit_trigger() RETURNS trigger
    LANGUAGE C
    AS 'MODULE_PATHNAME', 'tenancy_audit_trigger';
COMMENT ON FUNCTION tenancy._audit_trigger() IS 'Audit trigger (C): one tenancy.audit_log entry per changed row or TRUNCATE; arguments: tenant column, excluded columns.';
REVOKE ALL ON FUNCTION tenancy._audit_trigger() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy._audit_trigger() TO tenancy_admin;

-- Lifecycle events (offboarding) go into the log as entries of their own.
CREATE FUNCTION tenancy._audit_event(tenant_id uuid, op text, detail jsonb) RETURNS void
    LANGUAGE C VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'tenancy_audit_event';
COMMENT ON FUNCTION tenancy._audit_event(uuid, text, jsonb) IS 'Record a lifecycle event of a tenant (op OFFBOARD) in the audit log.';
REVOKE ALL ON FUNCTION tenancy._audit_event(uuid, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy._audit_event(uuid, text, jsonb) TO tenancy_admin;

-- Monthly partitions ----------------------------------------------------------

CREATE FUNCTION tenancy._audit_close_partition(part regclass) RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_grantee oid;
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', _audit_close_partition.part);
    EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', _audit_close_partition.part);
    FOR v_grantee IN
        SELECT DISTINCT x.grantee FROM pg_class c, aclexplode(c.relacl) x
         WHERE c.oid = _audit_close_partition.part AND x.grantee <> c.relowner AND x.grantee <> 0
    LOOP
        EXECUTE format('REVOKE ALL ON %s FROM %I', _audit_close_partition.part, v_grantee::regrole::name);
    END LOOP;
END
$$;
COMMENT ON FUNCTION tenancy._audit_close_partition(regclass) IS 'Close an audit_log partition to everyone but its owner: RLS without policies, every grant revoked.';
REVOKE ALL ON FUNCTION tenancy._audit_close_partition(regclass) FROM PUBLIC;

-- Months are UTC months whatever the session's TimeZone, so that every
-- run agrees on the bounds.  Partitions are closed to everyone but their
-- owner even when default privileges grant more (RLS on, no policy, every
-- grant revoked): entries are read through the parent.
CREATE FUNCTION tenancy.maintain_audit(months_ahead int DEFAULT 3) RETURNS int
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET TimeZone = 'UTC'
    AS $$
DECLARE
    v_month   date := date_trunc('month', now())::date;
    v_from    timestamptz;
    v_to      timestamptz;
    v_name    text;
    v_created int := 0;
    v_moved   bigint;
BEGIN
    IF maintain_audit.months_ahead IS NULL OR maintain_audit.months_ahead NOT BETWEEN 0 AND 120 THEN
        RAISE EXCEPTION 'months_ahead % is out of range', coalesce(maintain_audit.months_ahead::text, 'NULL')
            USING ERRCODE = '22023', HINT = 'Give 0 to 120 months.';
    END IF;
    FOR i IN 0 .. maintain_audit.months_ahead LOOP
        v_from := (v_month + make_interval(months => i))::timestamptz;
        v_to := (v_month + make_interval(months => i + 1))::timestamptz;
        v_name := 'audit_log_p' || to_char(v_month + make_interval(months => i), 'YYYYMM');
        CONTINUE WHEN to_regclass(format('tenancy.%I', v_name)) IS NOT NULL;
        -- Entries of that month already in the DEFAULT partition move in.
        EXECUTE format('CREATE TABLE tenancy.%I (LIKE tenancy.audit_log INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING COMMENTS)', v_name);
        EXECUTE format('WITH moved AS (DELETE FROM tenancy.audit_log_default d WHERE d.at >= $1 AND d.at < $2 RETURNING d.*)
                        INSERT INTO tenancy.%I SELECT * FROM moved', v_name) USING v_from, v_to;
        GET DIAGNOSTICS v_moved = ROW_COUNT;
        EXECUTE format('ALTER TABLE tenancy.audit_log ATTACH PARTITION tenancy.%I FOR VALUES FROM (%L) TO (%L)',
                       v_name, v_from, v_to);
        EXECUTE format('CREATE INDEX %I ON tenancy.%I USING brin (txid) WITH (pages_per_range = 32)',
                       v_name || '_txid_idx', v_name);
        EXECUTE format('CREATE TRIGGER audit_log_guard_truncate BEFORE TRUNCATE ON tenancy.%I
                        FOR EACH STATEMENT EXECUTE FUNCTION tenancy._audit_log_guard()', v_name);
        PERFORM tenancy._audit_close_partition(format('tenancy.%I', v_name)::regclass);
        EXECUTE format('COMMENT ON TABLE tenancy.%I IS %L', v_name,
                       format('Audit entries of %s (created by tenancy.maintain_audit()).',
                              to_char(v_month + make_interval(months => i), 'YYYY-MM')));
        v_created := v_created + 1;
    END LOOP;
    RETURN v_created;
END
$$;
COMMENT ON FUNCTION tenancy.maintain_audit(int) IS 'Create the monthly audit_log partitions from this month to months_ahead months ahead; returns how many were created.';
REVOKE ALL ON FUNCTION tenancy.maintain_audit(int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy.maintain_audit(int) TO tenancy_admin;

-- enable_audit / disable_audit -----------------------------------------------

-- (Re)create a table's two audit triggers.  Their arguments: the tenant
-- column, the excluded columns by their current names, and, after an
-- empty argument (no column is named ''), names excluded columns had
-- before a rename or a drop: a column that takes such a name again is
-- excluded too (src/audit.c).
CREATE FUNCTION tenancy._audit_set_triggers(tbl regclass, tenant_column name,
                                            excluded text[], former text[])
    RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_args text;
    v_trg  name;
BEGIN
    SELECT string_agg(quote_literal(a), ', ' ORDER BY o) INTO v_args
      FROM unnest(ARRAY[_audit_set_triggers.tenant_column::text] || _audit_set_triggers.excluded
                  || CASE WHEN cardinality(_audit_set_triggers.former) > 0
                          THEN ARRAY['']::text[] || _audit_set_triggers.former END) WITH ORDINALITY u(a, o);
    FOR v_trg IN SELECT g.tgname FROM pg_trigger g
                   WHERE g.tgrelid = _audit_set_triggers.tbl
                     AND g.tgname IN ('tenancy_audit', 'tenancy_audit_truncate') LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', v_trg, _audit_set_triggers.tbl);
    END LOOP;
    EXECUTE format('CREATE TRIGGER tenancy_audit AFTER INSERT OR UPDATE OR DELETE ON %s
                    FOR EACH ROW EXECUTE FUNCTION tenancy._audit_trigger(%s)', _audit_set_triggers.tbl, v_args);
    EXECUTE format('CREATE TRIGGER tenancy_audit_truncate AFTER TRUNCATE ON %s
                    FOR EACH STATEMENT EXECUTE FUNCTION tenancy._audit_trigger(%s)', _audit_set_triggers.tbl, v_args);
END
$$;
COMMENT ON FUNCTION tenancy._audit_set_triggers(regclass, name, text[], text[]) IS 'Create the audit triggers of a table: tenant column, excluded columns, and former names of excluded columns.';
REVOKE ALL ON FUNCTION tenancy._audit_set_triggers(regclass, name, text[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy._audit_set_triggers(regclass, name, text[], text[]) TO tenancy_admin;

-- The arguments of a table's audit row trigger (NULL when not audited).
CREATE FUNCTION tenancy._audit_trigger_args(tbl regclass) RETURNS text[]
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_raw  bytea;
    v_args text[] := '{}';
    v_at   int;
BEGIN
    SELECT g.tgargs INTO v_raw FROM pg_trigger g
     WHERE g.tgrelid = _audit_trigger_args.tbl AND g.tgname = 'tenancy_audit';
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    -- Each argument ends with a zero byte.
    WHILE length(v_raw) > 0 LOOP
        v_at := position('\x00'::bytea IN v_raw);
        v_args := v_args || convert_from(substr(v_raw, 1, v_at - 1), getdatabaseencoding());
        v_raw := substr(v_raw, v_at + 1);
    END LOOP;
    RETURN v_args;
END
$$;
COMMENT ON FUNCTION tenancy._audit_trigger_args(regclass) IS 'The arguments of a table''s tenancy_audit trigger, or NULL when it has none.';
REVOKE ALL ON FUNCTION tenancy._audit_trigger_args(regclass) FROM PUBLIC;

-- Called by the event trigger after every ALTER TABLE of a registered
-- table (renamed_attnum: the column a RENAME COLUMN renamed, else 0).  An
-- excluded column that was renamed stays excluded under its new name, and
-- its old name stays excluded too (the usual migration adds a new column
-- by the old name and copies the values into it); one that was dropped
-- leaves its name excluded.
CREATE FUNCTION tenancy._audit_follow_columns(tbl regclass, renamed_attnum int2)
    RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_args    text[] := tenancy._audit_trigger_args(_audit_follow_columns.tbl);
    v_sep     int;
    v_live    text[];
    v_former  text[];
    v_gone    text[];
    v_renamed text;
BEGIN
    IF v_args IS NULL THEN
        RETURN;
    END IF;
    v_sep := coalesce(array_position(v_args, ''), cardinality(v_args) + 1);
    v_live := v_args[2:v_sep - 1];
    v_former := v_args[v_sep + 1:];
    SELECT coalesce(array_agg(x), '{}') INTO v_gone FROM unnest(v_live) x
     WHERE NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = _audit_follow_columns.tbl
                          AND a.attname = x AND a.attnum > 0 AND NOT a.attisdropped);
    IF cardinality(v_gone) = 0 THEN
        RETURN;
    END IF;
    SELECT a.attname INTO v_renamed FROM pg_attribute a
     WHERE a.attrelid = _audit_follow_columns.tbl AND a.attnum = _audit_follow_columns.renamed_attnum
       AND _audit_follow_columns.renamed_attnum > 0 AND NOT a.attisdropped;
    SELECT coalesce(array_agg(x), '{}') INTO v_live FROM unnest(v_live) x WHERE x <> ALL (v_gone);
    IF v_renamed IS NOT NULL AND v_renamed <> ALL (v_live) THEN
        v_live := v_live || v_renamed::text;
    END IF;
    SELECT coalesce(array_agg(DISTINCT x), '{}') INTO v_former FROM unnest(v_former || v_gone) x;
    PERFORM tenancy._audit_set_triggers(_audit_follow_columns.tbl, v_args[1]::name, v_live, v_former);
END
$$;
COMMENT ON FUNCTION tenancy._audit_follow_columns(regclass, int2) IS 'Event trigger helper: keep excluded columns excluded across RENAME COLUMN and DROP COLUMN.';
REVOKE ALL ON FUNCTION tenancy._audit_follow_columns(regclass, int2) FROM PUBLIC;

CREATE FUNCTION tenancy.enable_audit(tbl regclass, exclude_columns text[] DEFAULT '{}')
    RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_col   name;
    v_owner oid;
    v_bad   text;
BEGIN
    IF enable_audit.tbl IS NULL OR enable_audit.exclude_columns IS NULL
       OR array_position(enable_audit.exclude_columns, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'table and excluded columns must not be null'
            USING ERRCODE = '22004',
                  HINT = 'Call tenancy.enable_audit(''schema.table'') or pass the columns to leave out, e.g. ''{password_hash}''.';
    END IF;
    SELECT t.tenant_column INTO v_col FROM tenancy.tables t WHERE t.relid = enable_audit.tbl;
    IF v_col IS NULL THEN
        RAISE EXCEPTION 'table % is not registered', enable_audit.tbl
            USING ERRCODE = '55000',
                  DETAIL = 'Only registered tenant tables can be audited: each entry records the row''s tenant.',
                  HINT = format('Register it first: SELECT tenancy.register_table(%L);', enable_audit.tbl::text);
    END IF;
    SELECT c.relowner INTO v_owner FROM pg_class c WHERE c.oid = enable_audit.tbl;
    IF NOT pg_has_role(v_owner, 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table % to audit it', enable_audit.tbl
            USING ERRCODE = '42501', HINT = 'Ask its owner, or a superuser, to call tenancy.enable_audit().';
    END IF;
    SELECT string_agg(format('"%s"', x), ', ') INTO v_bad
      FROM unnest(enable_audit.exclude_columns) x
     WHERE NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = enable_audit.tbl
                          AND a.attname = x AND a.attnum > 0 AND NOT a.attisdropped);
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'table % has no column %', enable_audit.tbl, v_bad
            USING ERRCODE = '42703', HINT = 'Name existing columns, spelt as in the table (case matters).';
    END IF;

    PERFORM tenancy._audit_set_triggers(enable_audit.tbl, v_col, enable_audit.exclude_columns, '{}');
    UPDATE tenancy.tables t SET audited = true WHERE t.relid = enable_audit.tbl;
    PERFORM tenancy.maintain_audit();
END
$$;
COMMENT ON FUNCTION tenancy.enable_audit(regclass, text[]) IS 'Audit a registered table: every INSERT, UPDATE, DELETE and TRUNCATE is recorded in tenancy.audit_log, leaving out the excluded columns.';
REVOKE ALL ON FUNCTION tenancy.enable_audit(regclass, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy.enable_audit(regclass, text[]) TO tenancy_admin;

CREATE FUNCTION tenancy.disable_audit(tbl regclass) RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_owner oid;
    v_trg   name;
BEGIN
    IF disable_audit.tbl IS NULL THEN
        RAISE EXCEPTION 'table must not be null' USING ERRCODE = '22004',
              HINT = 'Call tenancy.disable_audit(''schema.table'').';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM tenancy.tables t WHERE t.relid = disable_audit.tbl) THEN
        RAISE EXCEPTION 'table % is not registered', disable_audit.tbl
            USING ERRCODE = '55000', HINT = 'Only registered tables are audited; see tenancy.tables.';
    END IF;
    SELECT c.relowner INTO v_owner FROM pg_class c WHERE c.oid = disable_audit.tbl;
    IF NOT pg_has_role(v_owner, 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table % to stop auditing it', disable_audit.tbl
            USING ERRCODE = '42501', HINT = 'Ask its owner, or a superuser, to call tenancy.disable_audit().';
    END IF;
    FOR v_trg IN SELECT g.tgname FROM pg_trigger g
                   WHERE g.tgrelid = disable_audit.tbl AND g.tgname IN ('tenancy_audit', 'tenancy_audit_truncate') LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', v_trg, disable_audit.tbl);
    END LOOP;
    UPDATE tenancy.tables t SET audited = false WHERE t.relid = disable_audit.tbl;
END
$$;
COMMENT ON FUNCTION tenancy.disable_audit(regclass) IS 'Stop auditing a table; its existing audit entries stay.';
REVOKE ALL ON FUNCTION tenancy.disable_audit(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy.disable_audit(regclass) TO tenancy_admin;

-- Sealing ---------------------------------------------------------------------
--
-- A seal run takes a horizon H = xmin of its snapshot: every transaction
-- below H has finished, so the entries with txid < H are all there will
-- ever be.  Run n covers, per tenant, the entries with txid in
-- [H(n-1), H(n)), ordered by id: their ids and 8-byte keyed tags are kept
-- in the seal, and the seal's MAC chains to the tenant's previous seal.
-- An entry of a transaction still running at sealing time has txid >= H
-- and is sealed by the next run.

CREATE TABLE tenancy.audit_seal_runs (
    seal_no   bigint PRIMARY KEY,
    horizon   bigint NOT NULL,
    sealed_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    sealed_by text NOT NULL DEFAULT session_user,
    prev_mac  bytea NOT NULL,
    mac       bytea NOT NULL
);
COMMENT ON TABLE tenancy.audit_seal_runs IS 'One row per tenancy.seal_audit() run that sealed something.';
COMMENT ON COLUMN tenancy.audit_seal_runs.seal_no IS 'Run number, increasing.';
COMMENT ON COLUMN tenancy.audit_seal_runs.horizon IS 'Entries of transactions with txid below this are covered by this run or earlier ones.';
COMMENT ON COLUMN tenancy.audit_seal_runs.sealed_at IS 'When the run happened.';
COMMENT ON COLUMN tenancy.audit_seal_runs.sealed_by IS 'session_user of the run.';
COMMENT ON COLUMN tenancy.audit_seal_runs.prev_mac IS 'MAC of the previous run (32 zero bytes for the first).';
COMMENT ON COLUMN tenancy.audit_seal_runs.mac IS 'HMAC-SHA256 over prev_mac, seal_no, horizon and the MACs of the run''s seals, in tenant order.';

CREATE TABLE tenancy.audit_seals (
    tenant_id  uuid NOT NULL,
    seal_no    bigint NOT NULL REFERENCES tenancy.audit_seal_runs (seal_no),
    txid_from  bigint NOT NULL,
    txid_to    bigint NOT NULL,
    entries    bigint NOT NULL,
    last_at    timestamptz,
    tags       bytea NOT NULL,
    prev_mac   bytea NOT NULL,
    mac        bytea NOT NULL,
    purged_at  timestamptz,
    purge_mac  bytea,
    PRIMARY KEY (tenant_id, seal_no)
);
COMMENT ON TABLE tenancy.audit_seals IS 'Per tenant and seal run: which entries were sealed, their keyed tags, and the chained MAC.';
COMMENT ON COLUMN tenancy.audit_seals.tenant_id IS 'The tenant (the nil uuid for entries without a tenant).';
COMMENT ON COLUMN tenancy.audit_seals.seal_no IS 'The seal run.';
COMMENT ON COLUMN tenancy.audit_seals.txid_from IS 'Covers entries with txid >= this ...';
COMMENT ON COLUMN tenancy.audit_seals.txid_to IS '... and < this.';
COMMENT ON COLUMN tenancy.audit_seals.entries IS 'How many entries were sealed.';
COMMENT ON COLUMN tenancy.audit_seals.last_at IS 'Latest "at" of the sealed entries (purge_audit removes a seal''s entries only when all are expired).';
COMMENT ON COLUMN tenancy.audit_seals.tags IS 'Per sealed entry, in id order: its id (8 bytes) and the first 8 bytes of its keyed hash.';
COMMENT ON COLUMN tenancy.audit_seals.prev_mac IS 'MAC of the tenant''s previous seal (32 zero bytes for the first).';
COMMENT ON COLUMN tenancy.audit_seals.mac IS 'HMAC-SHA256 over prev_mac, the seal''s fields (last_at included) and the SHA-256 of tags.';
COMMENT ON COLUMN tenancy.audit_seals.purged_at IS 'When tenancy.purge_audit() removed the sealed entries (retention).';
COMMENT ON COLUMN tenancy.audit_seals.purge_mac IS 'HMAC-SHA256 binding purged_at to the seal, so a purge cannot be faked.';
SELECT pg_catalog.pg_extension_config_dump('tenancy.audit_seal_runs', '');
SELECT pg_catalog.pg_extension_config_dump('tenancy.audit_seals', '');
REVOKE ALL ON tenancy.audit_seal_runs, tenancy.audit_seals FROM PUBLIC;
GRANT SELECT ON tenancy.audit_seal_runs, tenancy.audit_seals TO tenancy_admin;

CREATE FUNCTION tenancy._audit_mac(data bytea) RETURNS bytea
    LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'tenancy_audit_mac';
COMMENT ON FUNCTION tenancy._audit_mac(bytea) IS 'HMAC-SHA256 under the audit sealing key (derived from the master key).';
REVOKE ALL ON FUNCTION tenancy._audit_mac(bytea) FROM PUBLIC;

-- An entry's tag: its id and a keyed hash of its columns' binary forms
-- (independent of settings and byte order; see src/audit.c).
CREATE FUNCTION tenancy._audit_tag(e tenancy.audit_log) RETURNS bytea
    LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'tenancy_audit_tag';
COMMENT ON FUNCTION tenancy._audit_tag(tenancy.audit_log) IS 'An entry''s id (8 bytes) and the first 8 bytes of its keyed hash.';
REVOKE ALL ON FUNCTION tenancy._audit_tag(tenancy.audit_log) FROM PUBLIC;

CREATE FUNCTION tenancy._audit_seal_mac(s tenancy.audit_seals) RETURNS bytea
    LANGUAGE sql VOLATILE PARALLEL RESTRICTED
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT tenancy._audit_mac(s.prev_mac || uuid_send(s.tenant_id) || int8send(s.seal_no)
                              || int8send(s.txid_from) || int8send(s.txid_to) || int8send(s.entries)
                              || coalesce(timestamptz_send(s.last_at), '\x'::bytea)
                              || sha256(s.tags))
$$;
COMMENT ON FUNCTION tenancy._audit_seal_mac(tenancy.audit_seals) IS 'The MAC a seal must carry.';
REVOKE ALL ON FUNCTION tenancy._audit_seal_mac(tenancy.audit_seals) FROM PUBLIC;

-- A run's MAC binds its horizon (where the next run starts, and below which
-- verify_audit expects every entry to be sealed) and its seals: a seal
-- removed, or a horizon moved, breaks it.
CREATE FUNCTION tenancy._audit_run_mac(r tenancy.audit_seal_runs) RETURNS bytea
    LANGUAGE sql VOLATILE PARALLEL RESTRICTED
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT tenancy._audit_mac('\x72756e'::bytea || r.prev_mac || int8send(r.seal_no) || int8send(r.horizon)
                              || sha256(coalesce((SELECT string_agg(uuid_send(s.tenant_id) || s.mac, ''::bytea
                                                                    ORDER BY s.tenant_id)
                                                    FROM tenancy.audit_seals s
                                                   WHERE s.seal_no = r.seal_no), '\x'::bytea)))
$$;
COMMENT ON FUNCTION tenancy._audit_run_mac(tenancy.audit_seal_runs) IS 'The MAC a seal run must carry.';
REVOKE ALL ON FUNCTION tenancy._audit_run_mac(tenancy.audit_seal_runs) FROM PUBLIC;

CREATE FUNCTION tenancy._audit_purge_mac(s tenancy.audit_seals) RETURNS bytea
    LANGUAGE sql VOLATILE PARALLEL RESTRICTED
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT tenancy._audit_mac('\x707572676564'::bytea || s.mac || convert_to(extract(epoch FROM s.purged_at)::text, 'UTF8')) $$;
COMMENT ON FUNCTION tenancy._audit_purge_mac(tenancy.audit_seals) IS 'The MAC a purged seal''s purge mark must carry.';
REVOKE ALL ON FUNCTION tenancy._audit_purge_mac(tenancy.audit_seals) FROM PUBLIC;

CREATE FUNCTION tenancy.seal_audit()
    RETURNS TABLE (seal_no bigint, tenant_id uuid, entries bigint, mac bytea)
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_nil     uuid := '00000000-0000-0000-0000-000000000000';
    v_zero    bytea := decode(repeat('00', 32), 'hex');
    v_from    bigint;
    v_horizon bigint;
    v_no      bigint;
    v_seal    tenancy.audit_seals;
BEGIN
    -- One seal run at a time; writers of the log are never blocked.
    LOCK TABLE tenancy.audit_seal_runs IN SHARE ROW EXCLUSIVE MODE;
    SELECT coalesce(max(r.horizon), 0), coalesce(max(r.seal_no), 0) + 1 INTO v_from, v_no
      FROM tenancy.audit_seal_runs r;
    v_horizon := pg_snapshot_xmin(pg_current_snapshot())::text::bigint;
    IF v_horizon <= v_from OR NOT EXISTS (SELECT 1 FROM tenancy.audit_log e
                                           WHERE e.txid >= v_from AND e.txid < v_horizon) THEN
        RETURN;
    END IF;
    INSERT INTO tenancy.audit_seal_runs (seal_no, horizon, prev_mac, mac)
    VALUES (v_no, v_horizon,
            coalesce((SELECT r.mac FROM tenancy.audit_seal_runs r ORDER BY r.seal_no DESC LIMIT 1),
                     v_zero),
            '\x'::bytea);
    FOR v_seal IN
        SELECT g.t, v_no, v_from, v_horizon, g.n, g.last_at, g.tags,
               coalesce((SELECT s.mac FROM tenancy.audit_seals s WHERE s.tenant_id = g.t
                          ORDER BY s.seal_no DESC LIMIT 1), v_zero),
               '\x'::bytea, NULL::timestamptz, NULL::bytea
          FROM (SELECT coalesce(e.tenant_id, v_nil) AS t, count(*) AS n, max(e.at) AS last_at,
                       string_agg(tenancy._audit_tag(e), ''::bytea ORDER BY e.id) AS tags
                  FROM tenancy.audit_log e
                 WHERE e.txid >= v_from AND e.txid < v_horizon
                 GROUP BY 1) g
         ORDER BY g.t
    LOOP
        v_seal.mac := tenancy._audit_seal_mac(v_seal);
        INSERT INTO tenancy.audit_seals SELECT v_seal.*;
        seal_no := v_no;
        tenant_id := v_seal.tenant_id;
        entries := v_seal.entries;
        mac := v_seal.mac;
        RETURN NEXT;
    END LOOP;
    UPDATE tenancy.audit_seal_runs r SET mac = tenancy._audit_run_mac(r) WHERE r.seal_no = v_no;
END
$$;
COMMENT ON FUNCTION tenancy.seal_audit() IS 'Seal the audit entries of transactions finished since the last seal, per tenant, with a chained HMAC; returns one row per tenant sealed.';
REVOKE ALL ON FUNCTION tenancy.seal_audit() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy.seal_audit() TO tenancy_admin;

CREATE FUNCTION tenancy.verify_audit(tenant text DEFAULT NULL)
    RETURNS TABLE (tenant_id uuid, seal_no bigint, entry_id bigint, problem text)
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_nil     uuid := '00000000-0000-0000-0000-000000000000';
    v_zero    bytea := decode(repeat('00', 32), 'hex');
    v_horizon bigint;
    v_tenant  uuid;
    v_prev    bytea;
    v_seal    tenancy.audit_seals;
    v_run     tenancy.audit_seal_runs;
    v_row     record;
BEGIN
    IF verify_audit.tenant IS NOT NULL THEN
        v_tenant := tenancy._resolve_tenant(verify_audit.tenant);
    END IF;
    SELECT coalesce(max(r.horizon), 0) INTO v_horizon FROM tenancy.audit_seal_runs r;
    -- The runs: their chain, horizons and sets of seals.
    v_prev := v_zero;
    tenant_id := NULL;
    entry_id := NULL;
    FOR v_run IN SELECT * FROM tenancy.audit_seal_runs r ORDER BY r.seal_no LOOP
        seal_no := v_run.seal_no;
        IF v_run.prev_mac <> v_prev THEN
            problem := 'seal run chain broken: an earlier run was removed or altered';
            RETURN NEXT;
        END IF;
        IF v_run.mac <> tenancy._audit_run_mac(v_run) THEN
            problem := 'seal run altered: its horizon changed, or one of its seals was removed or altered';
            RETURN NEXT;
        END IF;
        v_prev := v_run.mac;
    END LOOP;
    FOR tenant_id IN
        SELECT s.tenant_id FROM tenancy.audit_seals s WHERE v_tenant IS NULL OR s.tenant_id = v_tenant
        UNION
        SELECT coalesce(e.tenant_id, v_nil) FROM tenancy.audit_log e
         WHERE e.txid < v_horizon AND (v_tenant IS NULL OR e.tenant_id = v_tenant)
        ORDER BY 1
    LOOP
        v_prev := v_zero;
        FOR v_seal IN SELECT * FROM tenancy.audit_seals s WHERE s.tenant_id = verify_audit.tenant_id
                       ORDER BY s.seal_no LOOP
            seal_no := v_seal.seal_no;
            entry_id := NULL;
            IF v_seal.prev_mac <> v_prev THEN
                problem := 'seal chain broken: an earlier seal was removed or altered';
                RETURN NEXT;
            END IF;
            IF v_seal.mac <> tenancy._audit_seal_mac(v_seal) THEN
                problem := 'seal altered';
                RETURN NEXT;
            END IF;
            v_prev := v_seal.mac;
            IF v_seal.purged_at IS NOT NULL THEN
                IF v_seal.purge_mac IS DISTINCT FROM tenancy._audit_purge_mac(v_seal) THEN
                    problem := 'purge mark forged: entries removed outside tenancy.purge_audit()';
                    RETURN NEXT;
                END IF;
                -- purge_audit removed every entry of a purged seal.
                FOR entry_id IN
                    SELECT e.id FROM tenancy.audit_log e
                     WHERE coalesce(e.tenant_id, v_nil) = v_seal.tenant_id
                       AND e.txid >= v_seal.txid_from AND e.txid < v_seal.txid_to
                     ORDER BY e.id
                LOOP
                    problem := 'inserted after sealing';
                    RETURN NEXT;
                END LOOP;
                CONTINUE;
            END IF;
            FOR v_row IN
                WITH sealed AS (
                    SELECT ('x' || encode(substr(v_seal.tags, i * 16 + 1, 8), 'hex'))::bit(64)::bigint AS id,
                           substr(v_seal.tags, i * 16 + 9, 8) AS tag
                      FROM generate_series(0, length(v_seal.tags) / 16 - 1) i),
                present AS (
                    -- (a copy of an entry has its id: the second is an insertion)
                    SELECT e.id, substr(tenancy._audit_tag(e), 9, 8) AS tag,
                           row_number() OVER (PARTITION BY e.id) AS copy
                      FROM tenancy.audit_log e
                     WHERE coalesce(e.tenant_id, v_nil) = v_seal.tenant_id
                       AND e.txid >= v_seal.txid_from AND e.txid < v_seal.txid_to)
                SELECT coalesce(s.id, p.id) AS id,
                       CASE WHEN p.id IS NULL THEN 'removed after sealing'
                            WHEN s.id IS NULL THEN 'inserted after sealing'
                            ELSE 'changed after sealing' END AS problem
                  FROM sealed s FULL JOIN (SELECT * FROM present WHERE copy = 1) p ON p.id = s.id
                 WHERE s.id IS NULL OR p.id IS NULL OR s.tag <> p.tag
                UNION ALL
                SELECT p.id, 'inserted after sealing' FROM present p WHERE p.copy > 1
                 ORDER BY 1
            LOOP
                entry_id := v_row.id;
                problem := v_row.problem;
                RETURN NEXT;
            END LOOP;
        END LOOP;
        -- Entries inside the sealed horizon that no seal of the tenant covers.
        seal_no := NULL;
        FOR entry_id IN
            SELECT e.id FROM tenancy.audit_log e
             WHERE coalesce(e.tenant_id, v_nil) = verify_audit.tenant_id AND e.txid < v_horizon
               AND NOT EXISTS (SELECT 1 FROM tenancy.audit_seals s
                                WHERE s.tenant_id = verify_audit.tenant_id
                                  AND e.txid >= s.txid_from AND e.txid < s.txid_to)
             ORDER BY e.id
        LOOP
            problem := 'inserted after sealing';
            RETURN NEXT;
        END LOOP;
    END LOOP;
END
$$;
COMMENT ON FUNCTION tenancy.verify_audit(text) IS 'Check the sealed audit entries (of one tenant, or all): one row per entry changed, removed or inserted after sealing and per altered seal; no rows when intact.';
REVOKE ALL ON FUNCTION tenancy.verify_audit(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy.verify_audit(text) TO tenancy_admin;

-- Retention -------------------------------------------------------------------

-- Per tenant (and the nil uuid for entries without a tenant): the cutoff
-- (NULL: keep) and the txid below which its sealed entries may go (whole
-- seals only, oldest first, so the chain stays verifiable).
CREATE FUNCTION tenancy._audit_purge_plan(before timestamptz)
    RETURNS TABLE (tenant_id uuid, cutoff timestamptz, sealed_below bigint)
    LANGUAGE sql STABLE PARALLEL RESTRICTED
    SET search_path = pg_catalog, pg_temp
    AS $$
    WITH c AS (
        SELECT t.id AS tenant_id,
               CASE WHEN p.audit_retention IS NULL THEN NULL
                    ELSE least(now() - p.audit_retention, coalesce(_audit_purge_plan.before, 'infinity')) END AS cutoff
          FROM tenancy.tenants t JOIN tenancy.plans p ON p.name = t.plan
        UNION ALL
        SELECT '00000000-0000-0000-0000-000000000000'::uuid, _audit_purge_plan.before)
    SELECT c.tenant_id, c.cutoff,
           coalesce((SELECT max(s.txid_to) FROM tenancy.audit_seals s
                      WHERE s.tenant_id = c.tenant_id
                        AND s.seal_no < coalesce((SELECT min(s2.seal_no) FROM tenancy.audit_seals s2
                                                   WHERE s2.tenant_id = c.tenant_id
                                                     AND s2.last_at >= c.cutoff), 9223372036854775807)), 0)
      FROM c WHERE c.cutoff IS NOT NULL
$$;
COMMENT ON FUNCTION tenancy._audit_purge_plan(timestamptz) IS 'Per tenant: the audit retention cutoff and the txid below which its sealed entries may be removed.';
REVOKE ALL ON FUNCTION tenancy._audit_purge_plan(timestamptz) FROM PUBLIC;

CREATE FUNCTION tenancy.purge_audit(before timestamptz DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_nil     uuid := '00000000-0000-0000-0000-000000000000';
    v_horizon bigint;
    v_part    record;
    v_n       bigint;
    v_total   bigint := 0;
    v_keep    boolean;
    v_plan    jsonb;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'tenancy.purge_audit() must run at READ COMMITTED isolation'
            USING ERRCODE = '25001',
                  DETAIL = 'It waits for writers still in a month it may drop, then must see what they committed.',
                  HINT = 'Call it outside an explicit REPEATABLE READ or SERIALIZABLE transaction.';
    END IF;
    -- Purges and seals must not interleave (a seal could cover rows a
    -- concurrent purge is removing).
    LOCK TABLE tenancy.audit_seal_runs IN SHARE ROW EXCLUSIVE MODE;
    SELECT coalesce(max(r.horizon), 0) INTO v_horizon FROM tenancy.audit_seal_runs r;
    -- The plan, computed once (a value, not a temporary table: the caller
    -- could have made one of that name first, with triggers of its own).
    SELECT coalesce(jsonb_agg(p), '[]') INTO v_plan FROM tenancy._audit_purge_plan(purge_audit.before) p;

    UPDATE tenancy.audit_seals s SET purged_at = now()
      FROM jsonb_to_recordset(v_plan) AS p(tenant_id uuid, cutoff timestamptz, sealed_below bigint)
     WHERE s.tenant_id = p.tenant_id AND s.txid_to <= p.sealed_below AND s.purged_at IS NULL;
    UPDATE tenancy.audit_seals s SET purge_mac = tenancy._audit_purge_mac(s)
     WHERE s.purged_at IS NOT NULL AND s.purge_mac IS NULL;

    FOR v_part IN
        SELECT i.inhrelid::regclass AS part, pg_get_expr(c.relpartbound, c.oid) AS bound
          FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'tenancy.audit_log'::regclass
         ORDER BY c.relname
    LOOP
        -- A whole partition of a past month goes when none of its entries
        -- is to be kept.  Its lock first: a transaction that began in that
        -- month may still be writing there, and its entries, invisible
        -- until it commits, must be seen before the partition is judged.
        v_keep := true;
        IF v_part.bound <> 'DEFAULT'
           AND substring(v_part.bound FROM 'TO \(''([^'']*)''\)')::timestamptz <= now() THEN
            EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', v_part.part);
            EXECUTE format(
                'SELECT EXISTS (SELECT 1 FROM %s e LEFT JOIN jsonb_to_recordset($3) AS p(tenant_id uuid, cutoff timestamptz, sealed_below bigint)
                                    ON p.tenant_id = coalesce(e.tenant_id, $1)
                                 WHERE NOT coalesce(e.at < p.cutoff AND (e.txid < p.sealed_below OR e.txid >= $2), false))',
                v_part.part) INTO v_keep USING v_nil, v_horizon, v_plan;
        END IF;
        IF NOT v_keep THEN
            EXECUTE format('SELECT count(*) FROM %s', v_part.part) INTO v_n;
            EXECUTE format('DROP TABLE %s', v_part.part);
        ELSE
            EXECUTE format(
                'DELETE FROM %s e USING jsonb_to_recordset($3) AS p(tenant_id uuid, cutoff timestamptz, sealed_below bigint)
                  WHERE p.tenant_id = coalesce(e.tenant_id, $1)
                    AND e.at < p.cutoff AND (e.txid < p.sealed_below OR e.txid >= $2)',
                v_part.part) USING v_nil, v_horizon, v_plan;
            GET DIAGNOSTICS v_n = ROW_COUNT;
        END IF;
        v_total := v_total + v_n;
    END LOOP;
    RETURN v_total;
END
$$;
COMMENT ON FUNCTION tenancy.purge_audit(timestamptz) IS 'Remove audit entries older than each tenant''s plan audit_retention (and than "before", when given), dropping whole monthly partitions where possible; returns how many entries went.';
REVOKE ALL ON FUNCTION tenancy.purge_audit(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy.purge_audit(timestamptz) TO tenancy_admin;
