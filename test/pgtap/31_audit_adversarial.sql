-- Audit trail (SPEC section 6) against hostile tenant roles: real
-- non-superuser logins that are members of one tenant try to read other
-- tenants' entries (directly, through partitions, views, functions, errors
-- and statistics), forge entries, change or remove entries, and switch the
-- trigger off.  Every attempt must fail closed.
BEGIN;
SELECT plan(48);
SET client_min_messages = warning;

-- Fixtures (as superuser) ------------------------------------------------------
CREATE ROLE regress_tenancy_aud_a LOGIN;
CREATE ROLE regress_tenancy_aud_b LOGIN;
CREATE ROLE regress_tenancy_aud_owner LOGIN;   -- owns the application table
DO $$
BEGIN
    PERFORM tenancy.create_tenant('aud31-acme', 'Acme', 'premium', 'aaaa0031-0000-4000-8000-00000000000a');
    PERFORM tenancy.create_tenant('aud31-globex', 'Globex', 'premium', 'bbbb0031-0000-4000-8000-00000000000b');
    PERFORM tenancy.grant_tenant('regress_tenancy_aud_a', 'aud31-acme', 'admin');
    PERFORM tenancy.grant_tenant('regress_tenancy_aud_b', 'aud31-globex');
END
$$;
CREATE SCHEMA regress_aud31 AUTHORIZATION regress_tenancy_aud_owner;
GRANT USAGE ON SCHEMA regress_aud31 TO PUBLIC;
CREATE SCHEMA regress_aud31_a AUTHORIZATION regress_tenancy_aud_a;
SET ROLE regress_tenancy_aud_owner;
CREATE TABLE regress_aud31.notes (tenant_id uuid NOT NULL, id int NOT NULL, body text,
                                  PRIMARY KEY (tenant_id, id));
GRANT SELECT, INSERT, UPDATE, DELETE ON regress_aud31.notes TO PUBLIC;
RESET ROLE;
SELECT tenancy.register_table('regress_aud31.notes');
SELECT tenancy.enable_audit('regress_aud31.notes');

SET ROLE regress_tenancy_aud_b;
SET tenancy.tenant = 'aud31-globex';
INSERT INTO regress_aud31.notes (id, body) VALUES (1, 'globex secret one'), (2, 'globex secret two');
UPDATE regress_aud31.notes SET body = 'globex secret changed' WHERE id = 1;
RESET tenancy.tenant;
RESET ROLE;
SET ROLE regress_tenancy_aud_a;
SET tenancy.tenant = 'aud31-acme';
INSERT INTO regress_aud31.notes (id, body) VALUES (1, 'acme note');
RESET tenancy.tenant;
RESET ROLE;
ANALYZE tenancy.audit_log;

-- Reading: own entries only ----------------------------------------------------
SET ROLE regress_tenancy_aud_a;
SET tenancy.tenant = 'aud31-acme';
SELECT results_eq($$ SELECT op, new ->> 'body' FROM tenancy.audit_log ORDER BY id $$,
                  $$ VALUES ('INSERT'::text, 'acme note'::text) $$,
                  'a tenant sees exactly its own entries');
SELECT is((SELECT count(*) FROM tenancy.audit_log WHERE tenant_id = 'bbbb0031-0000-4000-8000-00000000000b'), 0::bigint,
          'asking for another tenant by id returns nothing');
SELECT is((SELECT count(*) FROM tenancy.audit_log WHERE new::text LIKE '%globex%'), 0::bigint,
          'searching the values of other tenants returns nothing');
SELECT lives_ok($$ SELECT count(*) FROM tenancy.audit_log
                    WHERE 1 / (CASE WHEN tenant_id = 'bbbb0031-0000-4000-8000-00000000000b' THEN 0 ELSE 1 END) = 1 $$,
                'an error-raising predicate never sees other tenants'' entries');
SELECT throws_ok($$ SELECT count(*) FROM tenancy.audit_log_default $$, '42501', NULL,
                 'the DEFAULT partition cannot be read directly');
SELECT throws_ok(format('SELECT count(*) FROM %s', (SELECT i.inhrelid::regclass FROM pg_inherits i
                                                     JOIN pg_class c ON c.oid = i.inhrelid
                                                    WHERE i.inhparent = 'tenancy.audit_log'::regclass
                                                      AND c.relname <> 'audit_log_default' LIMIT 1)),
                 '42501', NULL, 'a monthly partition cannot be read directly');
SELECT throws_ok($$ SELECT last_value FROM tenancy.audit_log_id_seq $$, '42501', NULL,
                 'the id sequence cannot be read');
SELECT throws_ok($$ SELECT count(*) FROM tenancy.audit_seals $$, '42501', NULL,
                 'the seals (which hold every tenant''s tags) cannot be read');
SELECT throws_ok($$ SELECT count(*) FROM tenancy.audit_seal_runs $$, '42501', NULL,
                 'the seal runs cannot be read');
SELECT is((SELECT count(*) FROM pg_stats WHERE schemaname = 'tenancy' AND tablename LIKE 'audit_log%'), 0::bigint,
          'planner statistics of the log are hidden from tenant roles');
CREATE VIEW regress_aud31_a.all_entries AS SELECT * FROM tenancy.audit_log;
SELECT is((SELECT count(*) FROM regress_aud31_a.all_entries WHERE tenant_id <> 'aaaa0031-0000-4000-8000-00000000000a'), 0::bigint,
          'a view of its own over the log still sees only its tenant');
SELECT throws_ok($$ SELECT * FROM tenancy.verify_audit('aud31-globex') $$, '42501', NULL,
                 'verify_audit (which names entries) is for administrators');
SELECT throws_ok($$ SELECT * FROM tenancy.seal_audit() $$, '42501', NULL, 'seal_audit is for administrators');
SELECT throws_ok($$ SELECT tenancy._audit_tag(e) FROM tenancy.audit_log e $$, '42501', NULL,
                 'the entry tag function is not callable');
SELECT throws_ok($$ SELECT tenancy._audit_mac('x') $$, '42501', NULL, 'the sealing MAC is not callable');
SELECT throws_ok($$ SELECT * FROM tenancy._audit_purge_plan(NULL) $$, '42501', NULL,
                 'the purge plan helper is not callable');
RESET tenancy.tenant;
SELECT throws_ok($$ SELECT count(*) FROM tenancy.audit_log WHERE tenant_id = tenancy.current_tenant() $$, '42501', NULL,
                 'without a tenant, asking for the current tenant''s entries fails loudly');
SELECT is((SELECT count(*) FROM tenancy.audit_log), 0::bigint, 'without a tenant, nothing is visible');

-- Forging ---------------------------------------------------------------------
SET tenancy.tenant = 'aud31-acme';
SELECT throws_ok($$ INSERT INTO tenancy.audit_log (tenant_id, txid, table_name, op, db_user, "session_user")
                    VALUES ('aaaa0031-0000-4000-8000-00000000000a', 1, 'regress_aud31.notes', 'DELETE', 'x', 'x') $$,
                 '42501', NULL, 'no forged entry for its own tenant');
SELECT throws_ok($$ INSERT INTO tenancy.audit_log (tenant_id, txid, table_name, op, db_user, "session_user")
                    VALUES ('bbbb0031-0000-4000-8000-00000000000b', 1, 'regress_aud31.notes', 'DELETE', 'x', 'x') $$,
                 '42501', NULL, 'no forged entry for another tenant');
SELECT throws_ok($$ INSERT INTO tenancy.audit_log_default (id, tenant_id, txid, table_name, op, db_user, "session_user")
                    VALUES (-1, 'aaaa0031-0000-4000-8000-00000000000a', 1, 'x', 'DELETE', 'x', 'x') $$,
                 '42501', NULL, 'no forged entry straight into a partition');
SELECT throws_ok($$ COPY tenancy.audit_log (tenant_id, txid, table_name, op, db_user, "session_user") FROM PROGRAM 'true' $$,
                 '42501', NULL, 'no COPY into the log');
CREATE TABLE regress_aud31_a.mine (tenant_id uuid NOT NULL DEFAULT 'bbbb0031-0000-4000-8000-00000000000b', x int);
SELECT throws_ok($$ CREATE TRIGGER forge AFTER INSERT ON regress_aud31_a.mine
                    FOR EACH ROW EXECUTE FUNCTION tenancy._audit_trigger('tenant_id') $$,
                 '42501', NULL, 'the audit trigger function cannot be attached to a table of its own');
SELECT throws_ok($$ SELECT tenancy._audit_trigger() $$, '42501', NULL,
                 'the trigger function cannot be called');
SELECT throws_ok($$ INSERT INTO regress_aud31.notes (tenant_id, id, body)
                    VALUES ('bbbb0031-0000-4000-8000-00000000000b', 9, 'planted') $$,
                 '42501', NULL, 'a row (and so an entry) for another tenant cannot be written');
SELECT throws_ok($$ SELECT nextval('tenancy.audit_log_id_seq') $$, '42501', NULL,
                 'entry ids cannot be consumed');

-- Changing and removing entries ------------------------------------------------
SELECT throws_ok($$ UPDATE tenancy.audit_log SET new = '{}' $$, '42501', NULL, 'entries cannot be updated');
SELECT throws_ok($$ DELETE FROM tenancy.audit_log $$, '42501', NULL, 'entries cannot be deleted');
SELECT throws_ok($$ TRUNCATE tenancy.audit_log $$, '42501', NULL, 'the log cannot be truncated');
SELECT throws_ok($$ DELETE FROM tenancy.audit_log_default $$, '42501', NULL,
                 'a partition''s entries cannot be deleted');
SELECT throws_ok($$ ALTER TABLE tenancy.audit_log DETACH PARTITION tenancy.audit_log_default $$, '42501', NULL,
                 'partitions cannot be detached');
SELECT throws_ok($$ DROP TABLE tenancy.audit_log_default $$, '42501', NULL, 'partitions cannot be dropped');
SELECT throws_ok($$ ALTER TABLE tenancy.audit_log DISABLE ROW LEVEL SECURITY $$, '42501', NULL,
                 'row level security of the log cannot be switched off');
SELECT throws_ok($$ SELECT tenancy.purge_audit(now() + interval '1 day') $$, '42501', NULL,
                 'purge_audit is for administrators');
SELECT throws_ok($$ SELECT tenancy.maintain_audit() $$, '42501', NULL, 'maintain_audit is for administrators');

-- Switching the trigger off ------------------------------------------------------
SELECT throws_ok($$ ALTER TABLE regress_aud31.notes DISABLE TRIGGER tenancy_audit $$, '42501', NULL,
                 'the trigger cannot be disabled');
SELECT throws_ok($$ ALTER TABLE regress_aud31.notes DISABLE TRIGGER ALL $$, '42501', NULL,
                 'all triggers cannot be disabled');
SELECT throws_ok($$ DROP TRIGGER tenancy_audit ON regress_aud31.notes $$, '42501', NULL,
                 'the trigger cannot be dropped');
SELECT throws_ok($$ SET session_replication_role = replica $$, '42501', NULL,
                 'session_replication_role (which skips ENABLE triggers) cannot be set');
SELECT throws_ok($$ TRUNCATE regress_aud31.notes $$, '42501', NULL, 'the audited table cannot be truncated');
SELECT throws_ok($$ SELECT tenancy.disable_audit('regress_aud31.notes') $$, '42501', NULL,
                 'disable_audit is for administrators');
SELECT throws_ok($$ SELECT tenancy.enable_audit('regress_aud31.notes', '{body}') $$, '42501', NULL,
                 'enable_audit (which could exclude columns) is for administrators');
SELECT throws_ok($$ ALTER TABLE regress_aud31.notes RENAME COLUMN body TO body2 $$, '42501', NULL,
                 'columns cannot be renamed around an exclusion');

-- Still audited after all this: the attacker's own writes are recorded.
UPDATE regress_aud31.notes SET body = 'acme note, changed' WHERE id = 1;
DELETE FROM regress_aud31.notes WHERE id = 1;
SELECT results_eq($$ SELECT op, db_user FROM tenancy.audit_log ORDER BY id $$,
                  $$ VALUES ('INSERT'::text, 'regress_tenancy_aud_a'::text), ('UPDATE', 'regress_tenancy_aud_a'),
                            ('DELETE', 'regress_tenancy_aud_a') $$,
                  'every write of the attacker is in the log');
RESET tenancy.tenant;
RESET ROLE;

-- The other tenant's entries are intact, and the log verifies.
SELECT results_eq($$ SELECT op, new ->> 'body' FROM tenancy.audit_log
                      WHERE tenant_id = 'bbbb0031-0000-4000-8000-00000000000b' ORDER BY id $$,
                  $$ VALUES ('INSERT'::text, 'globex secret one'::text), ('INSERT', 'globex secret two'),
                            ('UPDATE', 'globex secret changed') $$,
                  'the other tenant''s entries are untouched');
SELECT cmp_ok((SELECT count(*) FROM tenancy.seal_audit()), '>=', 0::bigint, 'the log can be sealed');
SELECT is_empty($$ SELECT * FROM tenancy.verify_audit() $$, 'and verifies clean');
-- An administrator who is not a superuser reads all but changes nothing.
CREATE ROLE regress_tenancy_aud_admin NOLOGIN IN ROLE tenancy_admin;
SET ROLE regress_tenancy_aud_admin;
SELECT throws_ok($$ DELETE FROM tenancy.audit_log $$, '42501', NULL,
                 'administrators who are not superusers cannot delete entries either');
RESET ROLE;

SELECT finish();
ROLLBACK;
