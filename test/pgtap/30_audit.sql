-- Audit trail (SPEC section 6): the objects and their privileges, who may
-- enable auditing, what the entries carry for tenant roles, partitions
-- attached later, the monthly partitions (maintain_audit moving entries out
-- of DEFAULT), offboarding (entries kept, the act recorded, still
-- verifiable after crypto-erasure) and DROP EXTENSION leaving nothing.
BEGIN;
SELECT plan(40);
SET client_min_messages = warning;

-- Objects ---------------------------------------------------------------------
SELECT has_function('tenancy', 'enable_audit', ARRAY['regclass', 'text[]'], 'enable_audit(regclass, text[])');
SELECT has_function('tenancy', 'disable_audit', ARRAY['regclass'], 'disable_audit(regclass)');
SELECT has_function('tenancy', 'seal_audit', '{}'::name[], 'seal_audit()');
SELECT has_function('tenancy', 'verify_audit', ARRAY['text'], 'verify_audit(text)');
SELECT has_function('tenancy', 'purge_audit', ARRAY['timestamp with time zone'], 'purge_audit(timestamptz)');
SELECT has_function('tenancy', 'maintain_audit', ARRAY['integer'], 'maintain_audit(int)');
SELECT is(pg_get_function_arguments('tenancy.enable_audit(regclass, text[])'::regprocedure),
          'tbl regclass, exclude_columns text[] DEFAULT ''{}''::text[]', 'enable_audit''s defaults');
SELECT is(pg_get_function_arguments('tenancy.purge_audit(timestamptz)'::regprocedure),
          'before timestamp with time zone DEFAULT NULL::timestamp with time zone', 'purge_audit''s default');
SELECT is(pg_get_function_arguments('tenancy.verify_audit(text)'::regprocedure),
          'tenant text DEFAULT NULL::text', 'verify_audit''s default');
SELECT is((SELECT c.relkind::text FROM pg_class c WHERE c.oid = 'tenancy.audit_log'::regclass), 'p',
          'the log is a partitioned table');
SELECT is((SELECT pg_get_partkeydef('tenancy.audit_log'::regclass)), 'RANGE (at)', 'partitioned by time');
SELECT is_empty($$ SELECT p.oid::regprocedure FROM pg_proc p
                    WHERE p.pronamespace = 'tenancy'::regnamespace
                      AND (p.proname LIKE '%audit%' OR p.proname IN ('maintain_audit'))
                      AND obj_description(p.oid, 'pg_proc') IS NULL $$,
                'every audit function has a comment');
SELECT is_empty($$ SELECT p.oid::regprocedure FROM pg_proc p
                    WHERE p.pronamespace = 'tenancy'::regnamespace AND p.proname LIKE '\_audit%'
                      AND has_function_privilege('public', p.oid, 'EXECUTE') $$,
                'no internal audit helper is executable by PUBLIC');
SELECT is_empty($$ SELECT p.oid::regprocedure FROM pg_proc p
                    WHERE p.pronamespace = 'tenancy'::regnamespace AND p.proname LIKE '%audit%'
                      AND p.prosecdef AND NOT (p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp']) $$,
                'every SECURITY DEFINER audit function pins search_path');
SELECT ok(NOT has_table_privilege('public', 'tenancy.audit_log', 'INSERT,UPDATE,DELETE,TRUNCATE'),
          'PUBLIC may not write the log');
SELECT ok(NOT has_table_privilege('tenancy_admin', 'tenancy.audit_log', 'INSERT,UPDATE,DELETE,TRUNCATE'),
          'tenancy_admin may not write the log');

-- Fixtures ----------------------------------------------------------------------
CREATE ROLE regress_tenancy_aud30_a LOGIN;
CREATE ROLE regress_tenancy_aud30_admin LOGIN IN ROLE tenancy_admin;
CREATE ROLE regress_tenancy_aud30_other LOGIN;
DO $$
BEGIN
    PERFORM tenancy.create_tenant('aud30-acme', 'Acme', 'premium', 'aaaa0030-0000-4000-8000-00000000000a');
    PERFORM tenancy.create_tenant('aud30-leaving', 'Leaving', 'basic', 'eeee0030-0000-4000-8000-00000000000e');
    PERFORM tenancy.grant_tenant('regress_tenancy_aud30_a', 'aud30-acme');
    PERFORM tenancy.grant_tenant('regress_tenancy_aud30_a', 'aud30-leaving');
END
$$;
CREATE SCHEMA regress_aud30 AUTHORIZATION regress_tenancy_aud30_admin;
GRANT USAGE ON SCHEMA regress_aud30 TO PUBLIC;
GRANT CREATE ON SCHEMA regress_aud30 TO regress_tenancy_aud30_other;

-- Who may enable auditing: an administrator who owns the table --------------------
SET ROLE regress_tenancy_aud30_admin;
CREATE TABLE regress_aud30.items (tenant_id uuid NOT NULL, id int NOT NULL, name text, price numeric,
                                  PRIMARY KEY (tenant_id, id)) PARTITION BY LIST (tenant_id);
CREATE TABLE regress_aud30.items_acme PARTITION OF regress_aud30.items FOR VALUES IN ('aaaa0030-0000-4000-8000-00000000000a');
GRANT SELECT, INSERT, UPDATE, DELETE ON regress_aud30.items TO PUBLIC;
SELECT lives_ok($$ SELECT tenancy.register_table('regress_aud30.items') $$, 'an administrator registers its table');
SELECT lives_ok($$ SELECT tenancy.enable_audit('regress_aud30.items', '{price}') $$,
                'an administrator who owns the table enables auditing');
SELECT lives_ok($$ SELECT tenancy.enable_audit('regress_aud30.items', '{price}') $$, 'enable_audit is idempotent');
SELECT is((SELECT count(*)::int FROM pg_trigger WHERE tgrelid = 'regress_aud30.items'::regclass AND tgname LIKE 'tenancy_audit%'),
          2, 'one row trigger and one TRUNCATE trigger, not more');
RESET ROLE;
SET ROLE regress_tenancy_aud30_other;
CREATE TABLE regress_aud30.others (tenant_id uuid NOT NULL, x int);
RESET ROLE;
SELECT tenancy.register_table('regress_aud30.others');
SET ROLE regress_tenancy_aud30_admin;
SELECT throws_ok($$ SELECT tenancy.enable_audit('regress_aud30.others') $$, '42501', NULL,
                 'an administrator cannot audit a table it does not own');
RESET ROLE;

-- A partition attached later is audited too -----------------------------------------
CREATE TABLE regress_aud30.items_leaving (LIKE regress_aud30.items);
ALTER TABLE regress_aud30.items ATTACH PARTITION regress_aud30.items_leaving
    FOR VALUES IN ('eeee0030-0000-4000-8000-00000000000e');
SELECT is((SELECT count(*)::int FROM pg_trigger WHERE tgrelid = 'regress_aud30.items_leaving'::regclass
            AND tgname = 'tenancy_audit'), 1, 'an attached partition gets the audit trigger');

-- Entries written by a tenant role --------------------------------------------------
SET ROLE regress_tenancy_aud30_a;
SET application_name = 'aud30-app';
SET tenancy.tenant = 'aud30-acme';
INSERT INTO regress_aud30.items (id, name, price) VALUES (1, 'widget', 9.99);
SET tenancy.tenant = 'aud30-leaving';
INSERT INTO regress_aud30.items (id, name, price) VALUES (1, 'gadget', 5), (2, 'gizmo', 6);
RESET tenancy.tenant;
RESET application_name;
RESET ROLE;
SELECT results_eq($$ SELECT tenant_id, table_name, op, row_key ->> 'id', new, db_user, application_name
                       FROM tenancy.audit_log WHERE table_name = 'regress_aud30.items' ORDER BY id $$,
                  $$ VALUES ('aaaa0030-0000-4000-8000-00000000000a'::uuid, 'regress_aud30.items'::text, 'INSERT'::text, '1'::text,
                             '{"id": 1, "name": "widget", "tenant_id": "aaaa0030-0000-4000-8000-00000000000a"}'::jsonb,
                             'regress_tenancy_aud30_a'::text, 'aud30-app'::text),
                            ('eeee0030-0000-4000-8000-00000000000e', 'regress_aud30.items', 'INSERT', '1',
                             '{"id": 1, "name": "gadget", "tenant_id": "eeee0030-0000-4000-8000-00000000000e"}',
                             'regress_tenancy_aud30_a', 'aud30-app'),
                            ('eeee0030-0000-4000-8000-00000000000e', 'regress_aud30.items', 'INSERT', '2',
                             '{"id": 2, "name": "gizmo", "tenant_id": "eeee0030-0000-4000-8000-00000000000e"}',
                             'regress_tenancy_aud30_a', 'aud30-app') $$,
                  'entries name the parent, the row''s tenant, the role and the application; the excluded column is absent');
SELECT is((SELECT count(DISTINCT txid)::int FROM tenancy.audit_log WHERE table_name = 'regress_aud30.items'), 1,
          'one transaction, one txid (this test runs in one transaction)');
SELECT ok((SELECT bool_and(txid = txid_current()) FROM tenancy.audit_log WHERE table_name = 'regress_aud30.items'),
          'txid is the writing transaction''s txid_current()');
SELECT ok((SELECT bool_and(at = now()) FROM tenancy.audit_log WHERE table_name = 'regress_aud30.items'),
          'at is the writing transaction''s now()');
SELECT ok((SELECT bool_and(tableoid <> 'tenancy.audit_log_default'::regclass) FROM tenancy.audit_log
            WHERE table_name = 'regress_aud30.items'), 'entries land in the month''s partition, not DEFAULT');

-- maintain_audit: creates months ahead, moving entries out of DEFAULT --------------------
INSERT INTO tenancy.audit_log (tenant_id, at, txid, table_name, op, db_user, "session_user")
VALUES ('aaaa0030-0000-4000-8000-00000000000a', date_trunc('month', now()) + interval '6 months 3 days', 1,
        'regress_aud30.future', 'INSERT', 'x', 'x');
SELECT is((SELECT tableoid::regclass::text FROM tenancy.audit_log WHERE table_name = 'regress_aud30.future'),
          'tenancy.audit_log_default', 'an entry beyond the partitions lands in DEFAULT');
SELECT cmp_ok(tenancy.maintain_audit(7), '>=', 3, 'maintain_audit(7) creates the missing months');
SELECT is((SELECT tableoid::regclass::text FROM tenancy.audit_log WHERE table_name = 'regress_aud30.future'),
          'tenancy.audit_log_p' || to_char(date_trunc('month', now()) + interval '6 months', 'YYYYMM'),
          'and moves the entry into its month');
SELECT is(tenancy.maintain_audit(7), 0, 'maintain_audit is idempotent');
SELECT is_empty($$ SELECT c.relname, a.attname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                    WHERE i.inhparent = 'tenancy.audit_log'::regclass AND col_description(c.oid, a.attnum) IS NULL $$,
                'every partition''s columns carry comments');

-- Offboarding: the tenant's entries stay, the act is recorded, sealing holds ---------------
SELECT cmp_ok((SELECT count(*) FROM tenancy.seal_audit()), '>=', 0::bigint, 'seal before offboarding');
SELECT ok(EXISTS (SELECT 1 FROM tenancy.offboard_tenant('aud30-leaving')), 'offboard a tenant with audited rows');
SELECT is((SELECT new FROM tenancy.audit_log
             WHERE tenant_id = 'eeee0030-0000-4000-8000-00000000000e' AND op = 'OFFBOARD'),
          '{"archive": false}'::jsonb, 'offboard_tenant recorded the act (through _on_tenant_offboarded)');
SELECT results_eq($$ SELECT op, count(*)::int FROM tenancy.audit_log
                      WHERE tenant_id = 'eeee0030-0000-4000-8000-00000000000e' GROUP BY op ORDER BY op $$,
                  $$ VALUES ('DELETE'::text, 2), ('INSERT', 2), ('OFFBOARD', 1) $$,
                  'the offboarded tenant''s history is kept, with the deletions and the act');
SELECT throws_ok($$ SELECT tenancy._audit_event('eeee0030-0000-4000-8000-00000000000e', 'REBOOT', NULL) $$, '22023', NULL,
                 'unknown lifecycle events are refused');
SELECT is_empty($$ SELECT * FROM tenancy.verify_audit() $$,
                'sealed entries still verify after the tenant''s keys were destroyed');

-- DROP EXTENSION leaves nothing behind ---------------------------------------------------
DROP EXTENSION tenancy CASCADE;
SELECT is_empty($$ SELECT c.oid::regclass FROM pg_class c WHERE c.relname LIKE 'audit\_%' $$,
                'no audit table, partition, index or sequence survives DROP EXTENSION');
SELECT is_empty($$ SELECT tgname FROM pg_trigger WHERE tgname LIKE 'tenancy\_audit%' $$,
                'no audit trigger survives on application tables');

SELECT finish();
ROLLBACK;
