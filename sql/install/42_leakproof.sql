-- Fast text search under row level security.
--
-- LIKE and ILIKE: src/leakproof.c's planner hook rewrites every LIKE or
-- ILIKE whose pattern is a constant or a client parameter into
-- tenancy._like / tenancy._ilike, which are LEAKPROOF and carry the
-- built-ins' planner support functions, so name LIKE 'abc%' stays an index
-- condition under the policy.  The built-ins themselves stay as they are.
--
-- starts_with (^@) is LEAKPROOF in PostgreSQL already.  tsvector @@
-- tsquery: tenancy.mark_leakproof(), run by a superuser, marks it LEAKPROOF
-- (opt-in; docs/reference/rls.md gives the reasoning).

CREATE FUNCTION tenancy._like(value text, pattern text) RETURNS boolean
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    SUPPORT pg_catalog.textlike_support
    AS 'MODULE_PATHNAME', 'tenancy_like';
COMMENT ON FUNCTION tenancy._like(text, text) IS 'LIKE, leakproof: put in place by the planner guard only where the pattern is a constant or client parameter.';

CREATE FUNCTION tenancy._ilike(value text, pattern text) RETURNS boolean
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    SUPPORT pg_catalog.texticlike_support
    AS 'MODULE_PATHNAME', 'tenancy_ilike';
COMMENT ON FUNCTION tenancy._ilike(text, text) IS 'ILIKE, leakproof: put in place by the planner guard only where the pattern is a constant or client parameter.';

CREATE FUNCTION tenancy._leakproof_guard_active() RETURNS boolean
    LANGUAGE C STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tenancy_leakproof_guard_active';
COMMENT ON FUNCTION tenancy._leakproof_guard_active() IS 'Is the planner guard installed (tenancy in shared_preload_libraries)?';
REVOKE ALL ON FUNCTION tenancy._leakproof_guard_active() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy._leakproof_guard_active() TO tenancy_admin;

CREATE FUNCTION tenancy._leakproof_candidates()
    RETURNS TABLE (fn regprocedure, operator text, reason text)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
    VALUES
      ('pg_catalog.ts_match_vq(tsvector,tsquery)'::regprocedure, '@@ (tsvector @@ tsquery)',
       'Evaluates a parsed query against a parsed document without side effects; it raises no error that depends on the document''s content.')
$$;
COMMENT ON FUNCTION tenancy._leakproof_candidates() IS 'The curated built-in functions tenancy.mark_leakproof() may mark LEAKPROOF, with the reason for each.';
REVOKE ALL ON FUNCTION tenancy._leakproof_candidates() FROM PUBLIC;

CREATE FUNCTION tenancy.mark_leakproof(enable boolean DEFAULT true)
    RETURNS TABLE (function regprocedure, operator text, leakproof boolean, reason text)
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_c record;
BEGIN
    IF mark_leakproof.enable IS NULL THEN
        RAISE EXCEPTION 'enable must not be null' USING ERRCODE = '22004',
              HINT = 'true marks the curated functions LEAKPROOF, false reverts them.';
    END IF;
    IF NOT (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user) THEN
        RAISE EXCEPTION 'only superusers may change LEAKPROOF markings'
            USING ERRCODE = '42501',
                  HINT = 'Run SELECT tenancy.mark_leakproof(); as a superuser.';
    END IF;
    FOR v_c IN SELECT * FROM tenancy._leakproof_candidates() LOOP
        EXECUTE format('ALTER FUNCTION %s %s', v_c.fn,
                       CASE WHEN mark_leakproof.enable THEN 'LEAKPROOF' ELSE 'NOT LEAKPROOF' END);
        function := v_c.fn;
        operator := v_c.operator;
        leakproof := (SELECT p.proleakproof FROM pg_proc p WHERE p.oid = v_c.fn);
        reason := v_c.reason;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION tenancy.mark_leakproof(boolean) IS 'Superuser only: mark (or with false, unmark) tsvector @@ tsquery LEAKPROOF so full-text search stays an index condition under RLS (LIKE and ILIKE need no marking).';
REVOKE ALL ON FUNCTION tenancy.mark_leakproof(boolean) FROM PUBLIC;
