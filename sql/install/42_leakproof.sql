-- Opt-in LEAKPROOF marking for a curated list of built-in text-search
-- functions, so that under row level security a predicate such as
-- name LIKE 'abc%' can still be an index condition.  docs/reference/rls.md
-- gives the reasoning for each function.  LIKE's one data-dependent error
-- concerns its pattern; src/leakproof.c's planner guard routes every LIKE
-- whose pattern comes from a row through _like_row_pattern, which is not
-- leakproof, so that such a clause stays behind the policy.

CREATE FUNCTION tenancy._like_row_pattern(fn regproc, value text, pattern text) RETURNS boolean
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tenancy_like_row_pattern';
COMMENT ON FUNCTION tenancy._like_row_pattern(regproc, text, text) IS 'LIKE-family built-in fn, not leakproof: the planner guard''s replacement when the pattern comes from a row.';

CREATE FUNCTION tenancy._leakproof_guard_active() RETURNS boolean
    LANGUAGE C STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tenancy_leakproof_guard_active';
COMMENT ON FUNCTION tenancy._leakproof_guard_active() IS 'Is the planner guard installed (tenancy in shared_preload_libraries)?';
REVOKE ALL ON FUNCTION tenancy._leakproof_guard_active() FROM PUBLIC;

CREATE FUNCTION tenancy._leakproof_candidates()
    RETURNS TABLE (fn regprocedure, operator text, reason text)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
    VALUES
      ('pg_catalog.textlike(text,text)'::regprocedure, '~~ (LIKE)',
       'Pure comparison, no side effects, returns only true/false. Its one data-dependent error, "LIKE pattern must not end with escape character", concerns the pattern operand only.'),
      ('pg_catalog.textnlike(text,text)'::regprocedure, '!~~ (NOT LIKE)', 'Negation of textlike; same reasoning.'),
      ('pg_catalog.bpcharlike(character,text)'::regprocedure, '~~ on char(n)', 'textlike on blank-padded strings; same reasoning.'),
      ('pg_catalog.texticlike(text,text)'::regprocedure, '~~* (ILIKE)', 'Case-folding LIKE; same reasoning as textlike.'),
      ('pg_catalog.texticnlike(text,text)'::regprocedure, '!~~* (NOT ILIKE)', 'Negation of texticlike; same reasoning.'),
      ('pg_catalog.bpchariclike(character,text)'::regprocedure, '~~* on char(n)', 'texticlike on blank-padded strings; same reasoning.'),
      ('pg_catalog.starts_with(text,text)'::regprocedure, '^@ (starts_with)', 'Prefix comparison with no error path at all.'),
      ('pg_catalog.ts_match_vq(tsvector,tsquery)'::regprocedure, '@@ (tsvector @@ tsquery)', 'Evaluates a query against a document; its errors depend on the query''s shape (stack depth), not on row values.')
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
    IF mark_leakproof.enable AND NOT tenancy._leakproof_guard_active() THEN
        RAISE EXCEPTION 'tenancy is not loaded through shared_preload_libraries'
            USING ERRCODE = '55000',
                  DETAIL = 'The planner guard that keeps row-derived LIKE patterns behind the policy needs it.',
                  HINT = 'Add tenancy to shared_preload_libraries and restart, then run tenancy.mark_leakproof() again.';
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
COMMENT ON FUNCTION tenancy.mark_leakproof(boolean) IS 'Superuser only: mark (or with false, unmark) a curated list of built-in LIKE/ILIKE/starts_with/@@ functions LEAKPROOF so they stay index conditions under RLS.';
REVOKE ALL ON FUNCTION tenancy.mark_leakproof(boolean) FROM PUBLIC;
