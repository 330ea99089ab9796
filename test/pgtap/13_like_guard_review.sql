-- The LIKE/ILIKE planner guard (src/leakproof.c) against a tenant role, from
-- an adversarial review: tenancy._like and _ilike are LEAKPROOF, so they may
-- run on rows the policy hides, and the built-ins' one data-dependent error
-- ("LIKE pattern must not end with escape character") is raised only once
-- the characters before the trailing backslash have matched the row.  So
-- the error must never depend on other tenants' rows: not in a scan, not
-- with a parameter pattern, not while planning (selectivity over the
-- statistics of every tenant); and since the query's other leakproof
-- conditions run first, the wrappers must raise no error at all (a row as
-- the pattern, an escape at the end, a collation LIKE refuses).
BEGIN;
SELECT plan(12);

CREATE ROLE regress_tenancy_lk_a LOGIN;
CREATE ROLE regress_tenancy_lk_owner NOLOGIN IN ROLE tenancy_admin;
DO $$
BEGIN
    PERFORM tenancy.create_tenant('lk13-acme', 'Acme', 'basic', 'aaaa0013-0000-4000-8000-00000000000a');
    PERFORM tenancy.create_tenant('lk13-globex', 'Globex', 'basic', 'bbbb0013-0000-4000-8000-00000000000b');
    PERFORM tenancy.grant_tenant('regress_tenancy_lk_a', 'lk13-acme');
END
$$;
CREATE SCHEMA regress_lk13 AUTHORIZATION regress_tenancy_lk_owner;
GRANT USAGE ON SCHEMA regress_lk13 TO PUBLIC;
SET ROLE regress_tenancy_lk_owner;
CREATE TABLE regress_lk13.docs (tenant_id uuid NOT NULL, id int NOT NULL, secret text NOT NULL,
                                PRIMARY KEY (tenant_id, id));
CREATE INDEX ON regress_lk13.docs (secret text_pattern_ops);
INSERT INTO regress_lk13.docs VALUES ('aaaa0013-0000-4000-8000-00000000000a', 1, 'acme-one');
-- globex: a secret, and a value frequent enough to be a most-common value.
INSERT INTO regress_lk13.docs SELECT 'bbbb0013-0000-4000-8000-00000000000b', g,
       CASE WHEN g = 1 THEN 'globex-password=hunter2' ELSE 'globex-merger' END
  FROM generate_series(1, 200) g;
GRANT SELECT ON regress_lk13.docs TO PUBLIC;
RESET ROLE;
SELECT tenancy.register_table('regress_lk13.docs');
CREATE COLLATION regress_lk13.nd (provider = icu, locale = 'und', deterministic = false);
ANALYZE regress_lk13.docs;
-- The same rows never analyzed: no statistics for the planner to evaluate
-- the wrappers on, so only execution could raise.
CREATE TABLE regress_lk13.raw (LIKE regress_lk13.docs INCLUDING ALL);
INSERT INTO regress_lk13.raw SELECT * FROM regress_lk13.docs;
ALTER TABLE regress_lk13.raw OWNER TO regress_tenancy_lk_owner;
GRANT SELECT ON regress_lk13.raw TO PUBLIC;
SELECT tenancy.register_table('regress_lk13.raw');

-- The SQLSTATE a statement ends with ('00000' when it succeeds); the
-- pattern reaches it as a PL/pgSQL variable (a parameter) when $2 is given.
CREATE FUNCTION regress_lk13.state(q text, pattern text DEFAULT NULL) RETURNS text
    LANGUAGE plpgsql AS $$
BEGIN
    IF pattern IS NULL THEN
        EXECUTE q;
    ELSE
        EXECUTE q USING pattern;
    END IF;
    RETURN '00000';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
GRANT EXECUTE ON FUNCTION regress_lk13.state(text, text) TO PUBLIC;

SET ROLE regress_tenancy_lk_a;
SET tenancy.tenant = 'lk13-acme';
-- Sequential scans evaluate the guard's LEAKPROOF function before the policy.
SET enable_indexscan = off;
SET enable_bitmapscan = off;
SELECT is(regress_lk13.state($$ SELECT count(*) FROM regress_lk13.docs WHERE secret LIKE 'globex-password=h\' $$),
          regress_lk13.state($$ SELECT count(*) FROM regress_lk13.docs WHERE secret LIKE 'zzz\' $$),
          'a constant pattern ending in a backslash: the same outcome whether another tenant''s row matches its prefix or not');
SELECT is(regress_lk13.state($$ SELECT count(*) FROM regress_lk13.docs WHERE secret ILIKE 'GLOBEX-PASSWORD=H\' $$),
          regress_lk13.state($$ SELECT count(*) FROM regress_lk13.docs WHERE secret ILIKE 'ZZZ\' $$),
          '... and for ILIKE');
SELECT is(regress_lk13.state($$ SELECT count(*) FROM regress_lk13.docs WHERE secret LIKE $1 $$, 'globex-password=h%\'),
          regress_lk13.state($$ SELECT count(*) FROM regress_lk13.docs WHERE secret LIKE $1 $$, 'zzz%\'),
          'a parameter pattern ending in a backslash: the same outcome whatever other tenants hold');
SELECT is(regress_lk13.state($$ SELECT count(*) FROM regress_lk13.docs WHERE secret LIKE $1 $$, 'acme%\'),
          '22025', '... left to the built-in behind the policy: the error comes from the tenant''s own row');
SELECT is(regress_lk13.state($$ SELECT count(*) FROM regress_lk13.docs WHERE secret ILIKE $1 $$, 'GLOBEX-P%\'),
          regress_lk13.state($$ SELECT count(*) FROM regress_lk13.docs WHERE secret ILIKE $1 $$, 'ZZZ%\'),
          '... and for ILIKE');
-- Planning: the selectivity of a LEAKPROOF function is estimated from the
-- most-common values of every tenant.
SELECT is(regress_lk13.state($$ EXPLAIN SELECT * FROM regress_lk13.docs WHERE secret LIKE 'globex-m%\' $$),
          regress_lk13.state($$ EXPLAIN SELECT * FROM regress_lk13.docs WHERE secret LIKE 'zzz%\' $$),
          'EXPLAIN alone: the same outcome whether another tenant''s most-common value matches or not');
-- Other leakproof conditions run first, so any error the wrappers raised
-- would tell whether a hidden row passed them: they raise none.
SELECT is(regress_lk13.state($$ SELECT count(*) FROM regress_lk13.raw
                                WHERE secret >= 'globex-password=h' AND secret < 'globex-password=i'
                                  AND tenancy._like('x', secret) $$),
          regress_lk13.state($$ SELECT count(*) FROM regress_lk13.raw
                                WHERE secret >= 'zzz' AND secret < 'zzzz' AND tenancy._like('x', secret) $$),
          'tenancy._like called with a row as its pattern: the same outcome whatever other tenants hold');
SELECT is((SELECT count(*) FROM regress_lk13.raw WHERE tenancy._ilike('x', secret || '') IS NULL), 1::bigint,
          '... it yields NULL for every row (here the tenant''s one row), never an error');
SELECT is(regress_lk13.state($$ SELECT count(*) FROM regress_lk13.raw
                                WHERE secret >= 'globex-password=h' AND secret < 'globex-password=i'
                                  AND tenancy._like(secret, 'x\') $$),
          regress_lk13.state($$ SELECT count(*) FROM regress_lk13.raw
                                WHERE secret >= 'zzz' AND secret < 'zzzz' AND tenancy._like(secret, 'x\') $$),
          'tenancy._like called with a pattern ending in an escape: the same outcome whatever other tenants hold');
PREPARE lk13_p(text) AS SELECT count(*) FROM regress_lk13.raw
 WHERE secret >= 'globex-password=h' AND secret < 'globex-password=i' AND secret LIKE $1;
PREPARE lk13_q(text) AS SELECT count(*) FROM regress_lk13.raw
 WHERE secret >= 'zzz' AND secret < 'zzzz' AND secret LIKE $1;
SELECT is(regress_lk13.state($$ EXECUTE lk13_p('x\') $$), regress_lk13.state($$ EXECUTE lk13_q('x\') $$),
          'a prepared statement given a pattern ending in an escape: the same outcome whatever other tenants hold');
SELECT is(regress_lk13.state($$ SELECT count(*) FROM regress_lk13.raw
                                WHERE secret >= 'globex-password=h' AND secret < 'globex-password=i'
                                  AND secret COLLATE regress_lk13.nd LIKE 'x' $$),
          regress_lk13.state($$ SELECT count(*) FROM regress_lk13.raw
                                WHERE secret >= 'zzz' AND secret < 'zzzz'
                                  AND secret COLLATE regress_lk13.nd LIKE 'x' $$),
          'LIKE under a nondeterministic collation (which LIKE refuses): the same outcome whatever other tenants hold');
RESET enable_indexscan;
RESET enable_bitmapscan;
SELECT results_eq($$ SELECT secret FROM regress_lk13.docs WHERE secret LIKE 'acme%' $$,
                  ARRAY['acme-one'], 'valid patterns still find the tenant''s rows');
RESET tenancy.tenant;
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
