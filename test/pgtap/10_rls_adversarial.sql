-- Adversarial row-level security: non-superuser tenant roles attack tables
-- registered with tenancy.register_table() by every route we know of --
-- reading, writing, moving and upserting other tenants' rows, MERGE, COPY,
-- TRUNCATE, partitions and inheritance children read directly, leaky
-- functions and operators (also after tenancy.mark_leakproof()),
-- row_security = off, planner statistics, views, SECURITY DEFINER functions,
-- prepared statements and cursors across tenant switches, parallel workers.
-- Every attempt must fail closed: an error, or nothing of the other tenant.
-- Client-side COPY FROM STDIN / TO STDOUT is in test/concurrency/copy_rls.sh.
BEGIN;
SELECT plan(145);

-- Fixtures (as superuser) ------------------------------------------------------
-- a: tenant rls10-acme only; b: tenant rls10-globex only; app: both (an
-- application role that switches tenants); owner: owns the tables, a
-- tenancy_admin member but no superuser, so FORCE ROW LEVEL SECURITY binds it.
CREATE ROLE regress_tenancy_rls_a LOGIN;
CREATE ROLE regress_tenancy_rls_b LOGIN;
CREATE ROLE regress_tenancy_rls_app NOLOGIN;
CREATE ROLE regress_tenancy_rls_owner NOLOGIN IN ROLE tenancy_admin;
DO $$
BEGIN
    PERFORM tenancy.create_tenant('rls10-acme', 'Acme', 'basic', 'aaaa0010-0000-4000-8000-00000000000a');
    PERFORM tenancy.create_tenant('rls10-globex', 'Globex', 'basic', 'bbbb0010-0000-4000-8000-00000000000b');
    PERFORM tenancy.grant_tenant('regress_tenancy_rls_a', 'rls10-acme');
    PERFORM tenancy.grant_tenant('regress_tenancy_rls_b', 'rls10-globex');
    PERFORM tenancy.grant_tenant('regress_tenancy_rls_app', 'rls10-acme');
    PERFORM tenancy.grant_tenant('regress_tenancy_rls_app', 'rls10-globex');
END
$$;

CREATE SCHEMA regress_rls_adv AUTHORIZATION regress_tenancy_rls_owner;
GRANT USAGE ON SCHEMA regress_rls_adv TO PUBLIC;
-- The attacker's own schema, for views, functions, operators and tables.
CREATE SCHEMA regress_rls_adv_mine AUTHORIZATION regress_tenancy_rls_a;

SET ROLE regress_tenancy_rls_owner;
-- code is UNIQUE without the tenant column on purpose (ON CONFLICT target).
CREATE TABLE regress_rls_adv.docs (
    tenant_id uuid NOT NULL, id int NOT NULL, secret text NOT NULL, code text UNIQUE,
    PRIMARY KEY (tenant_id, id));
INSERT INTO regress_rls_adv.docs VALUES
    ('aaaa0010-0000-4000-8000-00000000000a', 1, 'acme-one', 'a1'),
    ('aaaa0010-0000-4000-8000-00000000000a', 2, 'acme-two', 'a2'),
    ('bbbb0010-0000-4000-8000-00000000000b', 3, 'globex-secret', 'b3'),
    ('bbbb0010-0000-4000-8000-00000000000b', 4, 'globex-secret\', 'b4');
CREATE TABLE regress_rls_adv.lines (
    tenant_id uuid NOT NULL, id int NOT NULL, doc_id int NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, doc_id) REFERENCES regress_rls_adv.docs (tenant_id, id));
INSERT INTO regress_rls_adv.lines VALUES
    ('aaaa0010-0000-4000-8000-00000000000a', 1, 1), ('bbbb0010-0000-4000-8000-00000000000b', 1, 3);
CREATE TABLE regress_rls_adv.orders (
    tenant_id uuid NOT NULL, id int NOT NULL, total int NOT NULL, PRIMARY KEY (tenant_id, id)
) PARTITION BY LIST (tenant_id);
CREATE TABLE regress_rls_adv.orders_acme PARTITION OF regress_rls_adv.orders
    FOR VALUES IN ('aaaa0010-0000-4000-8000-00000000000a');
CREATE TABLE regress_rls_adv.orders_globex PARTITION OF regress_rls_adv.orders
    FOR VALUES IN ('bbbb0010-0000-4000-8000-00000000000b');
INSERT INTO regress_rls_adv.orders VALUES
    ('aaaa0010-0000-4000-8000-00000000000a', 1, 10), ('bbbb0010-0000-4000-8000-00000000000b', 2, 20);
CREATE TABLE regress_rls_adv.notes (tenant_id uuid NOT NULL, body text NOT NULL);
CREATE TABLE regress_rls_adv.notes_archive () INHERITS (regress_rls_adv.notes);
INSERT INTO regress_rls_adv.notes VALUES
    ('aaaa0010-0000-4000-8000-00000000000a', 'acme-note'), ('bbbb0010-0000-4000-8000-00000000000b', 'globex-note');
INSERT INTO regress_rls_adv.notes_archive VALUES
    ('aaaa0010-0000-4000-8000-00000000000a', 'acme-old'), ('bbbb0010-0000-4000-8000-00000000000b', 'globex-old');
-- Everything granted to everyone first: register_table must take TRUNCATE back.
GRANT ALL ON ALL TABLES IN SCHEMA regress_rls_adv TO PUBLIC;
RESET ROLE;
SELECT tenancy.register_table('regress_rls_adv.docs');
SELECT tenancy.register_table('regress_rls_adv.lines');
SELECT tenancy.register_table('regress_rls_adv.orders');
SELECT tenancy.register_table('regress_rls_adv.notes');

-- Views and SECURITY DEFINER functions the administrators provide.
SET ROLE regress_tenancy_rls_owner;
CREATE VIEW regress_rls_adv.docs_owner_view AS SELECT secret FROM regress_rls_adv.docs;
CREATE FUNCTION regress_rls_adv.count_docs() RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog AS $$ SELECT count(*) FROM regress_rls_adv.docs $$;
CREATE FUNCTION regress_rls_adv.docs_of(t uuid) RETURNS SETOF text LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog AS $$ SELECT secret FROM regress_rls_adv.docs WHERE tenant_id = t $$;
GRANT SELECT ON regress_rls_adv.docs_owner_view TO PUBLIC;
RESET ROLE;
CREATE VIEW regress_rls_adv.docs_invoker_view WITH (security_invoker) AS
    SELECT secret FROM regress_rls_adv.docs;
GRANT SELECT ON regress_rls_adv.docs_invoker_view TO PUBLIC;
-- Test helpers: run a query through RETURN QUERY EXECUTE (which may use
-- parallel workers), and take one row from a cursor.
CREATE FUNCTION regress_rls_adv.run(q text) RETURNS SETOF text
    LANGUAGE plpgsql AS $$ BEGIN RETURN QUERY EXECUTE q; END $$;
CREATE FUNCTION regress_rls_adv.fetch_one(c refcursor) RETURNS text
    LANGUAGE plpgsql AS $$ DECLARE v text; BEGIN FETCH c INTO v; RETURN v; END $$;
CREATE FUNCTION regress_rls_adv.sqlstate_of(q text) RETURNS text
    LANGUAGE plpgsql AS $$ BEGIN EXECUTE q; RETURN '00000'; EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE; END $$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA regress_rls_adv TO PUBLIC;
-- Statistics for the pg_stats checks.
CREATE STATISTICS regress_rls_adv.docs_stats (mcv) ON secret, code FROM regress_rls_adv.docs;
ANALYZE regress_rls_adv.docs, regress_rls_adv.orders, regress_rls_adv.orders_globex,
        regress_rls_adv.notes, regress_rls_adv.notes_archive;

SELECT is((SELECT count(*)::int FROM aclexplode((SELECT relacl FROM pg_class WHERE oid = c.oid)) a
            WHERE a.privilege_type = 'TRUNCATE' AND a.grantee = 0), 0,
          format('setup: TRUNCATE on %s was taken back from PUBLIC by register_table', c.oid::regclass))
  FROM pg_class c
 WHERE c.oid IN ('regress_rls_adv.docs'::regclass, 'regress_rls_adv.orders_globex'::regclass,
                 'regress_rls_adv.notes_archive'::regclass)
 ORDER BY c.oid;

-- Baseline ---------------------------------------------------------------------
SET ROLE regress_tenancy_rls_a;
SELECT throws_ok($$ SELECT count(*) FROM regress_rls_adv.docs $$, '42501', 'tenancy: no tenant is set',
                 'without a tenant, reading a registered table fails loudly');
SELECT throws_ok($$ INSERT INTO regress_rls_adv.docs (id, secret) VALUES (9, 'x') $$, '42501', NULL,
                 'without a tenant, writing a registered table fails loudly');
SELECT throws_ok($$ SET tenancy.tenant = 'rls10-globex' $$, '42501', NULL,
                 'a cannot enter the other tenant');
SET tenancy.tenant = 'rls10-acme';
SELECT results_eq($$ SELECT secret FROM regress_rls_adv.docs ORDER BY secret $$,
                  ARRAY['acme-one', 'acme-two'], 'a sees exactly its own rows');

-- Reading another tenant's rows ------------------------------------------------
SELECT is_empty($$ SELECT * FROM regress_rls_adv.docs WHERE tenant_id = 'bbbb0010-0000-4000-8000-00000000000b' $$,
                'read: naming the other tenant''s id returns nothing');
SELECT results_eq($$ SELECT secret FROM regress_rls_adv.docs WHERE secret LIKE 'globex%' OR true ORDER BY 1 $$,
                  ARRAY['acme-one', 'acme-two'], 'read: an always-true predicate widens nothing');
SELECT is_empty($$ SELECT * FROM regress_rls_adv.docs WHERE ctid IN ('(0,3)', '(0,4)') $$,
                'read: a TID scan at the other tenant''s tuples returns nothing');
SELECT results_eq($$ SELECT secret FROM regress_rls_adv.docs TABLESAMPLE SYSTEM (100) ORDER BY 1 $$,
                  ARRAY['acme-one', 'acme-two'], 'read: TABLESAMPLE sees own rows only');
SELECT is_empty($$ SELECT * FROM regress_rls_adv.docs WHERE id IN (3, 4) FOR UPDATE $$,
                'read: SELECT ... FOR UPDATE cannot lock the other tenant''s rows');
SELECT is_empty($$ SELECT * FROM regress_rls_adv.lines l JOIN regress_rls_adv.docs d USING (tenant_id)
                    WHERE d.secret LIKE 'globex%' $$,
                'read: joins see own rows only');

-- Updating and deleting another tenant's rows ----------------------------------
SELECT is_empty($$ UPDATE regress_rls_adv.docs SET secret = 'defaced'
                    WHERE tenant_id = 'bbbb0010-0000-4000-8000-00000000000b' RETURNING secret $$,
                'update: the other tenant''s rows are not touched');
SELECT is_empty($$ UPDATE regress_rls_adv.docs d SET secret = 'defaced' FROM regress_rls_adv.lines l
                    WHERE l.doc_id = d.id AND d.id = 3 RETURNING d.secret $$,
                'update ... FROM: the other tenant''s rows are not touched');
SELECT is_empty($$ DELETE FROM regress_rls_adv.docs WHERE id IN (3, 4) RETURNING secret $$,
                'delete: the other tenant''s rows are not removed');
SELECT results_eq($$ WITH d AS (DELETE FROM regress_rls_adv.docs WHERE secret LIKE 'globex%' RETURNING 1)
                     SELECT count(*)::int FROM d $$,
                  ARRAY[0], 'delete in a writable CTE removes nothing of the other tenant');

-- Moving a row to another tenant ---------------------------------------------
SELECT throws_ok($$ UPDATE regress_rls_adv.docs SET tenant_id = 'bbbb0010-0000-4000-8000-00000000000b' WHERE id = 1 $$,
                 '42501', 'new row violates row-level security policy for table "docs"',
                 'move: UPDATE of the tenant column to another tenant is refused');
SELECT throws_ok($$ UPDATE regress_rls_adv.orders SET tenant_id = 'bbbb0010-0000-4000-8000-00000000000b' $$,
                 '42501', NULL, 'move: UPDATE across partitions (row movement) is refused');
SELECT throws_ok($$ UPDATE regress_rls_adv.notes SET tenant_id = 'bbbb0010-0000-4000-8000-00000000000b' $$,
                 '42501', NULL, 'move: UPDATE of parent and inheritance child rows is refused');
SELECT throws_ok($$ INSERT INTO regress_rls_adv.docs VALUES ('aaaa0010-0000-4000-8000-00000000000a', 1, 'x', NULL)
                    ON CONFLICT (tenant_id, id) DO UPDATE SET tenant_id = 'bbbb0010-0000-4000-8000-00000000000b' $$,
                 '42501', NULL, 'move: an upsert''s DO UPDATE of the tenant column is refused');
SELECT throws_ok($$ MERGE INTO regress_rls_adv.docs d USING (VALUES (1)) s(i) ON d.id = s.i
                     WHEN MATCHED THEN UPDATE SET tenant_id = 'bbbb0010-0000-4000-8000-00000000000b' $$,
                 '42501', NULL, 'move: MERGE ... UPDATE of the tenant column is refused');

-- Inserting into another tenant ----------------------------------------------
SELECT throws_ok($$ INSERT INTO regress_rls_adv.docs VALUES ('bbbb0010-0000-4000-8000-00000000000b', 9, 'planted', 'p9') $$,
                 '42501', 'new row violates row-level security policy for table "docs"',
                 'insert: a row for the other tenant is refused');
SELECT throws_ok($$ INSERT INTO regress_rls_adv.docs SELECT 'bbbb0010-0000-4000-8000-00000000000b'::uuid, 10, 'planted', NULL $$,
                 '42501', NULL, 'insert ... select: a row for the other tenant is refused');
SELECT throws_ok($$ INSERT INTO regress_rls_adv.orders VALUES ('bbbb0010-0000-4000-8000-00000000000b', 9, 1) $$,
                 '42501', NULL, 'insert: through the partitioned parent into the other tenant''s partition is refused');
SELECT throws_ok($$ INSERT INTO regress_rls_adv.lines VALUES ('aaaa0010-0000-4000-8000-00000000000a', 9, 3) $$,
                 '23503', NULL, 'insert: a reference to the other tenant''s row fails the tenant-scoped foreign key');
SELECT results_eq($$ INSERT INTO regress_rls_adv.docs (id, secret) VALUES (5, 'acme-five') RETURNING tenant_id $$,
                  ARRAY['aaaa0010-0000-4000-8000-00000000000a'::uuid],
                  'insert without the tenant column lands in the current tenant');

-- INSERT ... ON CONFLICT against another tenant's key -------------------------
SELECT throws_ok($$ INSERT INTO regress_rls_adv.docs VALUES ('bbbb0010-0000-4000-8000-00000000000b', 3, 'x', NULL)
                    ON CONFLICT (tenant_id, id) DO UPDATE SET secret = 'pwned' $$,
                 '42501', NULL, 'upsert: DO UPDATE on the other tenant''s primary key is refused');
SELECT throws_ok($$ INSERT INTO regress_rls_adv.docs VALUES ('bbbb0010-0000-4000-8000-00000000000b', 3, 'x', NULL)
                    ON CONFLICT (tenant_id, id) DO NOTHING $$,
                 '42501', NULL, 'upsert: DO NOTHING with the other tenant''s id is refused as well');
SELECT throws_ok($$ INSERT INTO regress_rls_adv.docs (id, secret, code) VALUES (6, 'x', 'b3')
                    ON CONFLICT (code) DO UPDATE SET secret = 'pwned' $$,
                 '42501', 'new row violates row-level security policy (USING expression) for table "docs"',
                 'upsert: DO UPDATE through a global unique key onto the other tenant''s row is refused');
SELECT is_empty($$ INSERT INTO regress_rls_adv.docs (id, secret, code) VALUES (6, 'x', 'b3')
                   ON CONFLICT (code) DO NOTHING RETURNING * $$,
                'upsert: DO NOTHING on the other tenant''s unique value changes nothing');
SELECT is_empty($$ INSERT INTO regress_rls_adv.docs (id, secret, code) VALUES (6, 'x', 'b3')
                   ON CONFLICT DO NOTHING RETURNING * $$,
                'upsert: DO NOTHING without a target changes nothing');

-- MERGE ------------------------------------------------------------------------
SELECT throws_ok($$ MERGE INTO regress_rls_adv.docs d
                    USING (VALUES ('bbbb0010-0000-4000-8000-00000000000b'::uuid, 3)) s(t, i)
                       ON d.tenant_id = s.t AND d.id = s.i
                     WHEN MATCHED THEN UPDATE SET secret = 'pwned'
                     WHEN NOT MATCHED THEN INSERT VALUES (s.t, s.i, 'planted', NULL) $$,
                 '42501', NULL, 'merge: the other tenant''s row is not matched and cannot be inserted');
SELECT lives_ok($$ MERGE INTO regress_rls_adv.docs d
                   USING (VALUES (3), (4)) s(i) ON d.id = s.i
                    WHEN MATCHED THEN DELETE $$,
                'merge: WHEN MATCHED THEN DELETE runs ...');
SELECT lives_ok($$ MERGE INTO regress_rls_adv.docs d
                   USING (VALUES (3), (4)) s(i) ON d.id = s.i
                    WHEN MATCHED THEN UPDATE SET secret = 'pwned' $$,
                'merge: ... and so does WHEN MATCHED THEN UPDATE (both checked below to have touched nothing)');

-- Direct reads and writes of partitions and inheritance children --------------
SELECT is_empty($$ SELECT * FROM regress_rls_adv.orders_globex $$,
                'partition: reading the other tenant''s partition directly returns nothing');
SELECT results_eq($$ SELECT total FROM regress_rls_adv.orders_acme $$, ARRAY[10],
                  'partition: its own partition read directly shows its row');
SELECT throws_ok($$ INSERT INTO regress_rls_adv.orders_globex VALUES ('bbbb0010-0000-4000-8000-00000000000b', 9, 1) $$,
                 '42501', NULL, 'partition: inserting into the other tenant''s partition directly is refused');
SELECT is_empty($$ UPDATE regress_rls_adv.orders_globex SET total = 0 RETURNING * $$,
                'partition: updating the other tenant''s partition directly touches nothing');
SELECT is_empty($$ DELETE FROM regress_rls_adv.orders_globex RETURNING * $$,
                'partition: deleting from the other tenant''s partition directly removes nothing');
SELECT results_eq($$ SELECT body FROM regress_rls_adv.notes_archive $$, ARRAY['acme-old'],
                  'inheritance child read directly: own rows only');
SELECT results_eq($$ SELECT body FROM ONLY regress_rls_adv.notes $$, ARRAY['acme-note'],
                  'inheritance parent read with ONLY: own rows only');
SELECT results_eq($$ SELECT body FROM regress_rls_adv.notes ORDER BY 1 $$, ARRAY['acme-note', 'acme-old'],
                  'inheritance parent with its child: own rows only');
SELECT is_empty($$ DELETE FROM regress_rls_adv.notes_archive WHERE body LIKE 'globex%' RETURNING * $$,
                'inheritance child: deleting the other tenant''s rows directly removes nothing');
SELECT throws_ok($$ CREATE TABLE regress_rls_adv_mine.orders_mine PARTITION OF regress_rls_adv.orders DEFAULT $$,
                 '42501', NULL, 'a tenant cannot graft its own partition onto a registered table');
SELECT throws_ok($$ CREATE TABLE regress_rls_adv_mine.notes_mine () INHERITS (regress_rls_adv.notes) $$,
                 '42501', NULL, 'a tenant cannot graft its own inheritance child onto a registered table');
SELECT throws_ok($$ ALTER TABLE regress_rls_adv.orders DETACH PARTITION regress_rls_adv.orders_globex $$,
                 '42501', NULL, 'a tenant cannot detach a partition from its policy''s parent');

-- TRUNCATE (RLS does not govern it) -------------------------------------------
SELECT throws_ok($$ TRUNCATE regress_rls_adv.docs CASCADE $$, '42501', NULL, 'truncate: table refused');
SELECT throws_ok($$ TRUNCATE regress_rls_adv.orders $$, '42501', NULL, 'truncate: partitioned table refused');
SELECT throws_ok($$ TRUNCATE regress_rls_adv.orders_globex $$, '42501', NULL, 'truncate: a partition refused');
SELECT throws_ok($$ TRUNCATE ONLY regress_rls_adv.notes $$, '42501', NULL, 'truncate: inheritance parent refused');
SELECT throws_ok($$ TRUNCATE regress_rls_adv.notes_archive $$, '42501', NULL, 'truncate: inheritance child refused');

-- Switching the policy off --------------------------------------------------
SELECT throws_ok($$ ALTER TABLE regress_rls_adv.docs DISABLE ROW LEVEL SECURITY $$, '42501', NULL,
                 'a tenant cannot disable row level security');
SELECT throws_ok($$ ALTER TABLE regress_rls_adv.docs NO FORCE ROW LEVEL SECURITY $$, '42501', NULL,
                 'a tenant cannot un-force row level security');
SELECT throws_ok($$ DROP POLICY tenancy_isolation ON regress_rls_adv.docs $$, '42501', NULL,
                 'a tenant cannot drop the policy');
SELECT throws_ok($$ CREATE POLICY open_door ON regress_rls_adv.docs USING (true) $$, '42501', NULL,
                 'a tenant cannot add a permissive policy');
SELECT throws_ok($$ ALTER POLICY tenancy_isolation ON regress_rls_adv.docs USING (true) $$, '42501', NULL,
                 'a tenant cannot widen the policy');
-- (SET ROLE / SET SESSION AUTHORIZATION are checked against the session
-- user, a superuser here: test/concurrency/copy_rls.sh tries them from a
-- real login.)
SELECT throws_ok($$ CREATE FUNCTION regress_rls_adv_mine.lp(text) RETURNS boolean LANGUAGE sql LEAKPROOF
                    AS 'SELECT true' $$, '42501', NULL,
                 'a tenant cannot declare a function LEAKPROOF');
SELECT throws_ok($$ CREATE OR REPLACE FUNCTION tenancy.current_tenant() RETURNS uuid LANGUAGE sql
                    AS $f$ SELECT 'bbbb0010-0000-4000-8000-00000000000b'::uuid $f$ $$, '42501', NULL,
                 'a tenant cannot replace tenancy.current_tenant()');
SET row_security = off;
SELECT throws_ok($$ SELECT count(*) FROM regress_rls_adv.docs $$, '42501',
                 'query would be affected by row-level security policy for table "docs"',
                 'row_security = off: reading fails instead of bypassing the policy');
SELECT throws_ok($$ UPDATE regress_rls_adv.orders_globex SET total = 0 $$, '42501', NULL,
                 'row_security = off: writing a partition fails instead of bypassing the policy');
RESET row_security;
-- Shadowing current_tenant() and uuid = in a schema searched first does not
-- change the policy: it was bound to the real objects when it was created.
CREATE FUNCTION regress_rls_adv_mine.current_tenant() RETURNS uuid LANGUAGE sql
    AS $$ SELECT 'bbbb0010-0000-4000-8000-00000000000b'::uuid $$;
CREATE FUNCTION regress_rls_adv_mine.always(uuid, uuid) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR regress_rls_adv_mine.= (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = regress_rls_adv_mine.always);
SET search_path = regress_rls_adv_mine, pg_catalog, public;
SELECT results_eq($$ SELECT secret FROM regress_rls_adv.docs ORDER BY 1 $$,
                  ARRAY['acme-five', 'acme-one', 'acme-two'],
                  'a shadowing current_tenant() and = operator on the search_path change nothing');
RESET search_path;

-- COPY ---------------------------------------------------------------------------
-- COPY TO/FROM a server file or program needs pg_write_server_files,
-- pg_read_server_files or pg_execute_server_program.
SELECT throws_ok($$ COPY regress_rls_adv.docs TO '/tmp/regress_tenancy_rls_copy.csv' $$, '42501', NULL,
                 'copy to a server file: refused without pg_write_server_files');
SELECT throws_ok($$ COPY regress_rls_adv.docs FROM '/dev/null' $$, '42501', NULL,
                 'copy from a server file: refused without pg_read_server_files');
-- Even a tenant role given those roles gets only its own rows out, and can
-- put nothing in: COPY table TO is run as a query under the policy, and
-- COPY FROM is refused outright on a table with row level security.  The
-- program checks what it receives and fails (38000) when it differs.
RESET ROLE;
GRANT pg_execute_server_program, pg_read_server_files TO regress_tenancy_rls_a;
SET ROLE regress_tenancy_rls_a;
SELECT lives_ok($$ COPY regress_rls_adv.docs (secret) TO PROGRAM 'sort | paste -sd, - | grep -qx "acme-five,acme-one,acme-two"' $$,
                'copy table to: exactly its own rows are written');
SELECT throws_ok($$ COPY regress_rls_adv.docs (secret) TO PROGRAM 'grep -q globex' $$, '38000', NULL,
                 'copy table to: not one row of the other tenant is written (the program finds none)');
SELECT lives_ok($$ COPY (SELECT secret FROM regress_rls_adv.docs) TO PROGRAM '! grep -q globex' $$,
                'copy (query) to: nothing of the other tenant');
SELECT lives_ok($$ COPY regress_rls_adv.orders_globex TO PROGRAM 'test "$(wc -c)" -eq 0' $$,
                'copy of the other tenant''s partition writes nothing');
SELECT lives_ok($$ COPY regress_rls_adv.notes TO PROGRAM 'test "$(wc -l)" -eq 1' $$,
                'copy of an inheritance parent writes its own row only');
SELECT throws_ok($$ COPY regress_rls_adv.docs FROM PROGRAM 'echo bbbb0010-0000-4000-8000-00000000000b,8,planted,p8' (FORMAT csv) $$,
                 '0A000', 'COPY FROM not supported with row-level security',
                 'copy from: another tenant''s row cannot be loaded');
SELECT throws_ok($$ COPY regress_rls_adv.docs FROM PROGRAM 'echo aaaa0010-0000-4000-8000-00000000000a,8,own,p8' (FORMAT csv) $$,
                 '0A000', NULL, 'copy from: refused even for its own rows (use INSERT)');
SELECT throws_ok($$ COPY regress_rls_adv.orders_globex FROM PROGRAM 'echo bbbb0010-0000-4000-8000-00000000000b,8,1' (FORMAT csv) $$,
                 '0A000', NULL, 'copy from into the other tenant''s partition directly is refused');
RESET ROLE;
REVOKE pg_execute_server_program, pg_read_server_files FROM regress_tenancy_rls_a;
SET ROLE regress_tenancy_rls_a;

-- A cheap non-LEAKPROOF function that raises on what it sees ------------------
-- Written by the attacker: it raises when it is shown the other tenant's
-- secret, and records every value it is shown in a table of its own.
CREATE TABLE regress_rls_adv_mine.seen (v text);
CREATE FUNCTION regress_rls_adv_mine.leak(text) RETURNS boolean
    LANGUAGE plpgsql COST 0.0000001 PARALLEL SAFE AS $$
BEGIN
    IF $1 LIKE 'globex%' THEN
        RAISE EXCEPTION 'leaked: %', $1;
    END IF;
    RETURN true;
END $$;
CREATE FUNCTION regress_rls_adv_mine.spy(text) RETURNS boolean
    LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN
    INSERT INTO regress_rls_adv_mine.seen VALUES ($1);
    RETURN true;
END $$;
CREATE FUNCTION regress_rls_adv_mine.leak_eq(text, text) RETURNS boolean
    LANGUAGE sql COST 0.0000001 AS $$ SELECT regress_rls_adv_mine.leak($1) $$;
CREATE OPERATOR regress_rls_adv_mine.=== (LEFTARG = text, RIGHTARG = text,
                                         FUNCTION = regress_rls_adv_mine.leak_eq);
CREATE VIEW regress_rls_adv_mine.barrier WITH (security_barrier) AS
    SELECT secret FROM regress_rls_adv.docs WHERE regress_rls_adv_mine.leak(secret);

SELECT results_eq($$ SELECT secret FROM regress_rls_adv.docs WHERE regress_rls_adv_mine.leak(secret) ORDER BY 1 $$,
                  ARRAY['acme-five', 'acme-one', 'acme-two'],
                  'leaky function in WHERE: never shown the other tenant''s values');
SELECT lives_ok($$ SELECT * FROM regress_rls_adv.docs d JOIN regress_rls_adv.lines l
                       ON regress_rls_adv_mine.leak(d.secret) $$,
                'leaky function in a join condition: never shown the other tenant''s values');
SELECT lives_ok($$ SELECT 1 WHERE EXISTS (SELECT 1 FROM regress_rls_adv.docs WHERE regress_rls_adv_mine.leak(secret)) $$,
                'leaky function in an EXISTS subquery');
SELECT lives_ok($$ SELECT count(*) FILTER (WHERE regress_rls_adv_mine.leak(secret)) FROM regress_rls_adv.docs
                    GROUP BY regress_rls_adv_mine.leak(code) ORDER BY regress_rls_adv_mine.leak(min(secret)) $$,
                'leaky function in FILTER, GROUP BY and ORDER BY');
SELECT lives_ok($$ SELECT * FROM regress_rls_adv.docs WHERE secret OPERATOR(regress_rls_adv_mine.===) 'x' $$,
                'leaky operator in WHERE');
SELECT lives_ok($$ SELECT * FROM regress_rls_adv_mine.barrier $$,
                'leaky function inside the attacker''s own security_barrier view');
SELECT lives_ok($$ SELECT * FROM regress_rls_adv.docs WHERE id = 3 AND regress_rls_adv_mine.leak(secret) $$,
                'leaky function next to a key lookup of the other tenant''s row');
SELECT lives_ok($$ SELECT * FROM regress_rls_adv.orders o JOIN regress_rls_adv.docs d ON d.tenant_id = o.tenant_id
                    WHERE regress_rls_adv_mine.leak(d.secret) $$,
                'leaky function over a partitioned join');
SET enable_indexscan = off;
SET enable_bitmapscan = off;
SELECT lives_ok($$ SELECT * FROM regress_rls_adv.docs WHERE regress_rls_adv_mine.leak(secret) $$,
                'leaky function with index scans disabled (sequential scan)');
SELECT lives_ok($$ SELECT * FROM regress_rls_adv.docs WHERE regress_rls_adv_mine.spy(secret) $$,
                'recording function in WHERE runs ...');
SELECT results_eq($$ SELECT v FROM regress_rls_adv_mine.seen ORDER BY 1 $$,
                  ARRAY['acme-five', 'acme-one', 'acme-two'],
                  '... and was shown its own values only');
RESET enable_indexscan;
RESET enable_bitmapscan;

-- The same after tenancy.mark_leakproof() (@@ LEAKPROOF); LIKE/ILIKE with a
-- constant pattern go through the leakproof wrappers of the planner guard.
RESET ROLE;
SELECT is((SELECT count(*)::int FROM tenancy.mark_leakproof() WHERE leakproof), 1,
          'mark_leakproof(): the curated functions are LEAKPROOF now');
SET ROLE regress_tenancy_rls_a;
SET enable_indexscan = off;
SET enable_bitmapscan = off;
SELECT lives_ok($$ SELECT * FROM regress_rls_adv.docs WHERE regress_rls_adv_mine.leak(secret) $$,
                'after mark_leakproof: a leaky function still sees nothing of the other tenant');
SELECT lives_ok($$ SELECT * FROM regress_rls_adv.docs WHERE secret LIKE 'globex%' AND regress_rls_adv_mine.leak(secret) $$,
                'after mark_leakproof: a leaky function behind a LEAKPROOF LIKE still sees nothing');
SELECT is((SELECT count(*)::int FROM regress_rls_adv.docs WHERE secret LIKE 'globex%' OR secret ILIKE 'GLOBEX%'
              OR starts_with(secret, 'globex')), 0,
          'after mark_leakproof: LIKE, ILIKE and starts_with find nothing of the other tenant');
-- The row value as the LIKE pattern: a pattern ending in the escape character
-- raises an error.  Were a LEAKPROOF LIKE evaluated before the policy, on
-- the other tenant's rows, the error would tell that one of them is
-- 'globex-secret\' (one bit per query).  tenancy's planner guard
-- (src/leakproof.c) must keep every row-derived pattern behind the policy,
-- whatever form the query gives it.
CREATE FUNCTION regress_rls_adv_mine.lk(text, text) RETURNS boolean LANGUAGE sql IMMUTABLE
    AS 'SELECT $1 LIKE $2';
SELECT lives_ok($$ SELECT count(*) FROM regress_rls_adv.docs WHERE 'globex-secretX' LIKE secret $$,
                'after mark_leakproof: a row value used as LIKE pattern reveals nothing of the other tenant by an error');
SELECT lives_ok($$ SELECT count(*) FROM regress_rls_adv.docs WHERE 'globex-secretX' ILIKE secret $$,
                'after mark_leakproof: ... nor as ILIKE pattern');
SELECT lives_ok($$ SELECT count(*) FROM regress_rls_adv.docs WHERE textlike('globex-secretX', secret) $$,
                'after mark_leakproof: ... nor through textlike() called by name');
SELECT lives_ok($$ SELECT count(*) FROM regress_rls_adv.docs WHERE 'globex-secretX' LIKE ANY (ARRAY[secret]) $$,
                'after mark_leakproof: ... nor as LIKE ANY (ARRAY[column])');
SELECT lives_ok($$ SELECT count(*) FROM regress_rls_adv.docs WHERE regress_rls_adv_mine.lk('globex-secretX', secret) $$,
                'after mark_leakproof: ... nor through a SQL function the planner inlines');
SELECT lives_ok($$ SELECT count(*) FROM regress_rls_adv.docs d, LATERAL (SELECT 1 WHERE 'globex-secretX' LIKE d.secret) s $$,
                'after mark_leakproof: ... nor from a LATERAL subquery (outer reference)');
SELECT lives_ok($$ SELECT count(*) FROM regress_rls_adv.docs d WHERE EXISTS (SELECT 1 WHERE 'globex-secretX' LIKE d.secret) $$,
                'after mark_leakproof: ... nor from a correlated EXISTS');
SELECT lives_ok($$ SELECT count(*) FROM regress_rls_adv.docs WHERE 'globex-secretX' LIKE (secret COLLATE "C") $$,
                'after mark_leakproof: ... nor with a COLLATE clause around the column');
RESET enable_indexscan;
RESET enable_bitmapscan;
RESET ROLE;
SELECT is((SELECT count(*)::int FROM tenancy.mark_leakproof(false) WHERE NOT leakproof), 1,
          'mark_leakproof(false) reverts the markings');
SET ROLE regress_tenancy_rls_a;

-- Planner statistics --------------------------------------------------------
-- pg_stats and pg_stats_ext hide a table's statistics from a role subject
-- to its row level security (row_security_active()); PostgreSQL 15 does so
-- for partitions and inheritance children as well, since they have RLS too.
-- (Not asserted, as PostgreSQL itself allows it: the planner still uses the
-- statistics for LEAKPROOF operators such as =, so EXPLAIN's row estimate
-- for secret = 'x' tells whether 'x' is common among all tenants' rows, and
-- pg_class.reltuples counts every tenant's rows.)
SELECT ok((SELECT count(*) FROM pg_stats WHERE schemaname = 'regress_rls_adv' AND tablename = 'docs') = 0,
          'pg_stats shows a tenant role nothing of a table under row level security');
SELECT ok((SELECT count(*) FROM pg_stats WHERE schemaname = 'regress_rls_adv') = 0,
          'pg_stats shows it nothing of the partitioned table, its partitions, the inheritance parent or child');
SELECT ok((SELECT count(*) FROM pg_stats_ext WHERE schemaname = 'regress_rls_adv' AND tablename = 'docs') = 0,
          'pg_stats_ext (most common value combinations) shows it nothing either');
SELECT throws_ok($$ SELECT * FROM pg_statistic $$, '42501', NULL, 'pg_statistic cannot be read');
SELECT throws_ok($$ SELECT * FROM pg_statistic_ext_data $$, '42501', NULL, 'pg_statistic_ext_data cannot be read');
RESET ROLE;
SELECT ok((SELECT count(*) FROM pg_stats WHERE schemaname = 'regress_rls_adv' AND tablename = 'docs'
              AND attname = 'secret' AND histogram_bounds::text LIKE '%globex%') > 0
          AND (SELECT count(*) FROM pg_stats WHERE schemaname = 'regress_rls_adv' AND tablename = 'orders_globex') > 0
          AND (SELECT count(*) FROM pg_stats_ext WHERE schemaname = 'regress_rls_adv' AND tablename = 'docs') > 0,
          '(control: the statistics exist, and a superuser sees them)');
SET ROLE regress_tenancy_rls_a;

-- Views ------------------------------------------------------------------------
CREATE VIEW regress_rls_adv_mine.all_docs AS SELECT secret FROM regress_rls_adv.docs;
SELECT results_eq($$ SELECT secret FROM regress_rls_adv_mine.all_docs ORDER BY 1 $$,
                  ARRAY['acme-five', 'acme-one', 'acme-two'],
                  'view created by the tenant: own rows only');
SELECT results_eq($$ SELECT secret FROM regress_rls_adv.docs_owner_view ORDER BY 1 $$,
                  ARRAY['acme-five', 'acme-one', 'acme-two'],
                  'view owned by the non-superuser table owner (FORCE): own rows only');
SELECT results_eq($$ SELECT secret FROM regress_rls_adv.docs_invoker_view ORDER BY 1 $$,
                  ARRAY['acme-five', 'acme-one', 'acme-two'],
                  'security_invoker view owned by a superuser: own rows only');
GRANT USAGE ON SCHEMA regress_rls_adv_mine TO regress_tenancy_rls_b;
GRANT SELECT ON regress_rls_adv_mine.all_docs TO regress_tenancy_rls_b;
CREATE MATERIALIZED VIEW regress_rls_adv_mine.snapshot AS SELECT secret FROM regress_rls_adv.docs;
SELECT is((SELECT count(*)::int FROM regress_rls_adv_mine.snapshot WHERE secret LIKE 'globex%'), 0,
          'materialized view created by the tenant stores none of the other tenant''s rows');

-- SECURITY DEFINER functions ------------------------------------------------------
SELECT is(regress_rls_adv.count_docs(), 3::bigint,
          'SECURITY DEFINER function of the table owner counts own rows only');
SELECT is_empty($$ SELECT * FROM regress_rls_adv.docs_of('bbbb0010-0000-4000-8000-00000000000b') $$,
                'SECURITY DEFINER function asked for the other tenant''s rows returns nothing');
CREATE FUNCTION regress_rls_adv_mine.definer_peek() RETURNS bigint LANGUAGE sql SECURITY DEFINER
    AS $$ SELECT count(*) FROM regress_rls_adv.docs WHERE secret LIKE 'globex%' $$;
SELECT is(regress_rls_adv_mine.definer_peek(), 0::bigint,
          'SECURITY DEFINER function written by the tenant sees nothing of the other tenant');
SELECT throws_ok($$ CREATE FUNCTION regress_rls_adv_mine.sneak() RETURNS bigint LANGUAGE sql
                    SET tenancy.tenant = 'rls10-globex' AS 'SELECT count(*) FROM regress_rls_adv.docs' $$,
                 '42501', NULL, 'a function SET clause cannot enter the other tenant');

-- Tenant b, symmetrically (a few) --------------------------------------------
RESET tenancy.tenant;
RESET ROLE;
SET ROLE regress_tenancy_rls_b;
SET tenancy.tenant = 'rls10-globex';
SELECT results_eq($$ SELECT secret FROM regress_rls_adv.docs_owner_view ORDER BY 1 $$,
                  ARRAY['globex-secret', 'globex-secret\'], 'b through the owner''s view: its own rows');
SELECT is(regress_rls_adv.count_docs(), 2::bigint, 'b through the SECURITY DEFINER function: its own count');
SELECT results_eq($$ SELECT secret FROM regress_rls_adv_mine.all_docs ORDER BY 1 $$,
                  ARRAY['globex-secret', 'globex-secret\'],
                  'b through a view a owns and shared: rows of b''s tenant, never a''s');
RESET tenancy.tenant;
RESET ROLE;

-- Prepared statements and cursors across tenant switches ------------------------
SET ROLE regress_tenancy_rls_app;
SET plan_cache_mode = force_generic_plan;
PREPARE rls_q AS SELECT secret FROM regress_rls_adv.docs ORDER BY 1;
-- rls_k is planned as an index scan: the policy's current_tenant() is then
-- an index key, computed when the scan starts rather than per row.
SET enable_seqscan = off;
PREPARE rls_k(int) AS SELECT secret FROM regress_rls_adv.docs WHERE id = $1;
SET tenancy.tenant = 'rls10-acme';
SELECT results_eq('rls_q', ARRAY['acme-five', 'acme-one', 'acme-two'], 'prepared (generic plan), acme: its rows');
SET tenancy.tenant = 'rls10-globex';
SELECT results_eq('rls_q', ARRAY['globex-secret', 'globex-secret\'], 'prepared, switched to globex: its rows only');
SELECT results_eq('EXECUTE rls_k(3)', ARRAY['globex-secret'], 'prepared key lookup, globex: its row');
SET tenancy.tenant = 'rls10-acme';
SELECT results_eq('rls_q', ARRAY['acme-five', 'acme-one', 'acme-two'], 'prepared, back in acme: nothing of globex');
SELECT is_empty('EXECUTE rls_k(3)', 'prepared key lookup of a globex row, in acme: nothing');
SELECT ok(EXISTS (SELECT 1 FROM regress_rls_adv.run('EXPLAIN (COSTS OFF) EXECUTE rls_k(4)') l
                   WHERE l ~ 'Index Cond: .*tenant_id = (tenancy\.current_tenant\(\)|''[-0-9a-f]+''::uuid)'),
          'the prepared key lookup is an index scan keyed on the tenant (folded for it when preloaded)');
SELECT is_empty('EXECUTE rls_k(4)', 'prepared index lookup of a globex row, in acme: nothing');
SELECT ok((SELECT generic_plans >= 4 AND custom_plans = 0 FROM pg_prepared_statements WHERE name = 'rls_k'),
          'every execution used the one generic plan');
RESET enable_seqscan;
-- A cursor opened in acme and continued after switching to globex: with
-- the library preloaded the cursor is pinned to acme and refuses to be
-- read in globex (55000); without it, rows fetched after the switch pass
-- the policy for globex.  Either way no acme row reaches globex.
DECLARE rls_c1 NO SCROLL CURSOR FOR SELECT secret FROM regress_rls_adv.docs;
SELECT alike(regress_rls_adv.fetch_one('rls_c1'), 'acme-%', 'cursor in acme: first row is acme''s');
SET tenancy.tenant = 'rls10-globex';
SELECT throws_ok('FETCH ALL FROM rls_c1', '55000',
                 'tenancy: a cursor opened in another tenant cannot be read in tenant "rls10-globex"',
                 'cursor continued after switching to globex: refused, no acme row');
SET tenancy.tenant = 'rls10-acme';
CLOSE rls_c1;
-- A role that cannot switch tenant keeps its cursor in its own tenant.
RESET tenancy.tenant;
RESET ROLE;
SET ROLE regress_tenancy_rls_a;
SET tenancy.tenant = 'rls10-acme';
DECLARE rls_c2 NO SCROLL CURSOR FOR SELECT secret FROM regress_rls_adv.docs;
SELECT alike(regress_rls_adv.fetch_one('rls_c2'), 'acme-%', 'cursor of a: first row');
SELECT throws_ok($$ SET tenancy.tenant = 'rls10-globex' $$, '42501', NULL, 'a cannot switch to globex mid-cursor');
SELECT ok(NOT EXISTS (SELECT 1 FROM regress_rls_adv.run('FETCH ALL FROM rls_c2') s WHERE s NOT LIKE 'acme-%'),
          'the rest of a''s cursor is acme''s rows only');
CLOSE rls_c2;
-- Another role taking over the session (SET ROLE, as a pooler or an
-- authenticator switching end users does) without setting a tenant of its
-- own must not run on the context the previous role set.
RESET tenancy.tenant;
RESET ROLE;
SET ROLE regress_tenancy_rls_app;
SET tenancy.tenant = 'rls10-acme';
DECLARE rls_c3 NO SCROLL CURSOR FOR SELECT secret FROM regress_rls_adv.docs;
RESET ROLE;
SET ROLE regress_tenancy_rls_b;
SELECT throws_ok('EXECUTE rls_q', '42501', NULL,
                 'b, after SET ROLE from a session in acme: a prepared statement does not run in acme');
SELECT throws_ok($$ SELECT regress_rls_adv.fetch_one('rls_c3') $$, '42501', NULL,
                 'b, after SET ROLE: a cursor declared in acme yields no acme row');
SELECT throws_ok($$ SELECT secret FROM regress_rls_adv.docs $$, '42501', NULL,
                 'b, after SET ROLE: a plain query does not run in acme');
CLOSE rls_c3;
SET tenancy.tenant = 'rls10-globex';
SELECT results_eq('rls_q', ARRAY['globex-secret', 'globex-secret\'],
                  'b in its own tenant: the prepared statement returns globex rows only');
RESET tenancy.tenant;
RESET ROLE;
DEALLOCATE rls_q;
DEALLOCATE rls_k;
RESET plan_cache_mode;

-- Parallel query ----------------------------------------------------------------
SET ROLE regress_tenancy_rls_a;
SET tenancy.tenant = 'rls10-acme';
SET force_parallel_mode = on;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT ok(EXISTS (SELECT 1 FROM regress_rls_adv.run(
                    'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*) FROM regress_rls_adv.docs') l
                   WHERE l ~ 'Workers Launched: [1-9]'),
          'parallel: the tenant''s query runs in parallel workers');
SELECT results_eq($$ SELECT * FROM regress_rls_adv.run('SELECT count(*)::text FROM regress_rls_adv.docs') $$,
                  ARRAY['3'], 'parallel: count is own rows only');
SELECT results_eq($$ SELECT * FROM regress_rls_adv.run(
                       'SELECT secret FROM regress_rls_adv.docs WHERE regress_rls_adv_mine.leak(secret) ORDER BY 1') $$,
                  ARRAY['acme-five', 'acme-one', 'acme-two'],
                  'parallel: a PARALLEL SAFE leaky function in the workers sees nothing of the other tenant');
SELECT results_eq($$ SELECT * FROM regress_rls_adv.run('SELECT sum(total)::text FROM regress_rls_adv.orders') $$,
                  ARRAY['10'], 'parallel: partitioned table, own partition only');
RESET force_parallel_mode;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- Administration functions are not for tenants -----------------------------------
SELECT throws_ok($$ SELECT * FROM tenancy.export_tenant('rls10-globex') $$, '42501', NULL,
                 'a tenant cannot export the other tenant');
SELECT throws_ok($$ SELECT tenancy.unregister_table('regress_rls_adv.docs') $$, '42501', NULL,
                 'a tenant cannot unregister a table');
SELECT throws_ok($$ SELECT * FROM tenancy.mark_leakproof() $$, '42501', NULL,
                 'a tenant cannot mark functions LEAKPROOF');
RESET tenancy.tenant;
RESET ROLE;

-- Privileges row level security does not govern: TRIGGER and REFERENCES ------
-- The GRANT ALL of the setup gave PUBLIC these too.  A trigger of the
-- attacker's on the shared table would run in every other tenant's writes
-- and could copy their rows out; a foreign key of its own onto the table is
-- checked without row level security, so it would tell which of the other
-- tenant's keys exist (and block their deletion).
SET ROLE regress_tenancy_rls_a;
SET tenancy.tenant = 'rls10-acme';
CREATE TABLE regress_rls_adv_mine.loot (v text);
CREATE FUNCTION regress_rls_adv_mine.steal() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    AS $$ BEGIN INSERT INTO regress_rls_adv_mine.loot VALUES (NEW.secret); RETURN NEW; END $$;
SELECT throws_ok($$ CREATE TRIGGER steal BEFORE INSERT OR UPDATE ON regress_rls_adv.docs
                    FOR EACH ROW EXECUTE FUNCTION regress_rls_adv_mine.steal() $$, '42501', NULL,
                 'trigger: a tenant cannot attach a trigger of its own to a registered table');
CREATE TABLE regress_rls_adv_mine.probe (tenant_id uuid, id int);
SELECT throws_ok($$ ALTER TABLE regress_rls_adv_mine.probe ADD CONSTRAINT probe_fkey FOREIGN KEY (tenant_id, id)
                    REFERENCES regress_rls_adv.docs (tenant_id, id) $$, '42501', NULL,
                 'references: a tenant cannot point a foreign key of its own at a registered table');
SELECT is(regress_rls_adv.sqlstate_of($$ INSERT INTO regress_rls_adv_mine.probe VALUES ('bbbb0010-0000-4000-8000-00000000000b', 3) $$),
          regress_rls_adv.sqlstate_of($$ INSERT INTO regress_rls_adv_mine.probe VALUES ('bbbb0010-0000-4000-8000-00000000000b', 999) $$),
          'references: the other tenant''s existing and missing keys behave alike (no existence oracle)');
RESET tenancy.tenant;
RESET ROLE;
SET ROLE regress_tenancy_rls_b;
SET tenancy.tenant = 'rls10-globex';
INSERT INTO regress_rls_adv.docs (id, secret) VALUES (7, 'globex-new-secret');
UPDATE regress_rls_adv.docs SET code = 'b3' WHERE id = 3;
RESET tenancy.tenant;
RESET ROLE;
SET ROLE regress_tenancy_rls_a;
SELECT is_empty($$ SELECT v FROM regress_rls_adv_mine.loot $$,
                'trigger: nothing of the other tenant''s writes reached a table of the attacker');
RESET ROLE;
DROP TRIGGER IF EXISTS steal ON regress_rls_adv.docs;
ALTER TABLE regress_rls_adv_mine.probe DROP CONSTRAINT IF EXISTS probe_fkey;
DELETE FROM regress_rls_adv.docs WHERE id = 7;

-- After all attacks: the other tenant's data is intact --------------------------
SELECT results_eq($$ SELECT id, secret, code FROM regress_rls_adv.docs
                      WHERE tenant_id = 'bbbb0010-0000-4000-8000-00000000000b' ORDER BY id $$,
                  $$ VALUES (3, 'globex-secret', 'b3'), (4, 'globex-secret\', 'b4') $$,
                  'globex''s docs are intact');
SELECT results_eq($$ SELECT tenant_id::text, total FROM regress_rls_adv.orders ORDER BY 1 $$,
                  $$ VALUES ('aaaa0010-0000-4000-8000-00000000000a', 10), ('bbbb0010-0000-4000-8000-00000000000b', 20) $$,
                  'orders are intact in both partitions');
SELECT results_eq($$ SELECT body FROM regress_rls_adv.notes WHERE tenant_id = 'bbbb0010-0000-4000-8000-00000000000b' ORDER BY 1 $$,
                  ARRAY['globex-note', 'globex-old'], 'globex''s notes are intact in parent and child');
SELECT is((SELECT count(*)::int FROM regress_rls_adv.docs WHERE secret IN ('planted', 'pwned', 'defaced')), 0,
          'nothing was planted or defaced anywhere');

SELECT * FROM finish();
ROLLBACK;
