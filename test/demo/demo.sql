-- make demo: a walk through tenancy on a throwaway cluster.
-- docs/tutorial.md explains each step.
\pset footer off
\set VERBOSITY default
\set ECHO queries
\echo
\echo '== 1. Install the extension (an administrator, once per database)'
CREATE DATABASE tenancy_demo;
\c tenancy_demo
CREATE EXTENSION tenancy;
SELECT name, max_rows, statement_timeout, features FROM tenancy.plans ORDER BY name;

\echo
\echo '== 2. Tenants, and the roles the application servers log in as (never superusers)'
CREATE ROLE app_acme LOGIN;
CREATE ROLE app_globex LOGIN;
CREATE ROLE support LOGIN IN ROLE tenancy_admin;
SELECT tenancy.create_tenant('acme', 'Acme Corp', 'premium') IS NOT NULL AS acme_created;
SELECT tenancy.create_tenant('globex', 'Globex Inc') IS NOT NULL AS globex_created;
SELECT tenancy.grant_tenant('app_acme', 'acme');
SELECT tenancy.grant_tenant('app_globex', 'globex');
SELECT slug, name, plan, status FROM tenancy.tenants ORDER BY slug;
SELECT id AS acme_id FROM tenancy.tenants WHERE slug = 'acme' \gset

\echo
\echo '== 3. One shared table, made tenant-scoped by register_table'
CREATE TABLE public.invoices (
    id        bigint GENERATED ALWAYS AS IDENTITY,
    customer  text NOT NULL,
    amount    numeric(12,2) NOT NULL,
    card      bytea,
    PRIMARY KEY (id)
);
SELECT tenancy.register_table('public.invoices');
\d public.invoices
-- The linter explains what is still open: the primary key should include tenant_id.
SELECT severity, object, problem FROM tenancy.check_isolation();
ALTER TABLE public.invoices DROP CONSTRAINT invoices_pkey, ADD PRIMARY KEY (tenant_id, id);
SELECT count(*) AS findings FROM tenancy.check_isolation();
GRANT SELECT, INSERT, UPDATE, DELETE ON public.invoices TO app_acme, app_globex;
GRANT SELECT ON public.invoices TO support;

\echo
\echo '== 4. The Acme application server: SET the tenant, then work as usual'
SET ROLE app_acme;
SET tenancy.tenant = 'acme';
SHOW tenancy.tenant;
INSERT INTO public.invoices (customer, amount, card)
VALUES ('Wile E. Coyote', 120.00, tenancy.encrypt('4242 4242 4242 4242', 'invoices.card')),
       ('Road Runner', 9.99, NULL);
-- The card number is stored encrypted with Acme's own key (AES-256-GCM).
SELECT customer, amount, length(card) AS card_bytes,
       tenancy.decrypt_text(card, 'invoices.card') AS card
  FROM public.invoices ORDER BY id;
RESET ROLE;
SELECT card AS acme_card FROM public.invoices WHERE card IS NOT NULL \gset

\echo
\echo '== 5. The Globex application server sees only Globex rows'
SET ROLE app_globex;
SET tenancy.tenant = 'globex';
INSERT INTO public.invoices (customer, amount) VALUES ('Hank Scorpio', 1000000.00);
SELECT customer, amount FROM public.invoices ORDER BY id;
SELECT count(*) AS rows_visible_to_globex FROM public.invoices;

\echo
\echo '== 6. Attacks from the Globex role all fail closed'
\set ON_ERROR_STOP 0
SET tenancy.tenant = 'acme';
SELECT set_config('tenancy.tenant', 'acme', true);
INSERT INTO public.invoices (tenant_id, customer, amount) VALUES (:'acme_id', 'planted', 1);
UPDATE public.invoices SET tenant_id = :'acme_id';
SELECT slug FROM tenancy.tenants;
-- Even holding Acme's ciphertext (say, from a stolen backup), Globex cannot decrypt it.
SELECT tenancy.decrypt_text(:'acme_card', 'invoices.card');
SELECT tenancy.suspend_tenant('acme');
\set ON_ERROR_STOP 1

\echo
\echo '== 7. A forgotten SET fails loudly instead of returning nothing'
RESET tenancy.tenant;
\set ON_ERROR_STOP 0
SELECT count(*) FROM public.invoices;
\set ON_ERROR_STOP 1
RESET ROLE;

\echo
\echo '== 8. Behind a transaction-mode pooler: SET LOCAL, and require_local for the role'
ALTER ROLE app_acme SET tenancy.require_local = on;
\c - app_acme
BEGIN;
SET LOCAL tenancy.tenant = 'acme';
SELECT count(*) AS acme_invoices FROM public.invoices;
COMMIT;
SET tenancy.tenant = 'acme';   -- session-level: with require_local it dies with its transaction
\set ON_ERROR_STOP 0
SELECT count(*) FROM public.invoices;
\set ON_ERROR_STOP 1
\c - postgres

\echo
\echo '== 9. Support suspends Acme: Acme sessions stop at their next statement'
\c - support
SELECT tenancy.suspend_tenant('acme', 'payment overdue');
SET tenancy.tenant = 'acme';
SELECT count(*) AS acme_invoices_seen_by_support FROM public.invoices;
\c - app_acme
\set ON_ERROR_STOP 0
SET tenancy.tenant = 'acme';
\set ON_ERROR_STOP 1
\c - support
SELECT tenancy.resume_tenant('acme');
SELECT slug, status, status_reason FROM tenancy.tenants ORDER BY slug;

\echo
\echo '== 10. Partitions per tenant: small tenants share hash buckets, a big one gets its own'
\c - postgres
CREATE TABLE public.events (
    tenant_id uuid NOT NULL,
    id        bigint GENERATED ALWAYS AS IDENTITY,
    kind      text NOT NULL,
    PRIMARY KEY (tenant_id, id)
) PARTITION BY LIST (tenant_id);
SELECT tenancy.partition_table('public.events', buckets => 4) AS partitions_created;
GRANT SELECT, INSERT ON public.events TO app_acme, app_globex;
SELECT tenancy.create_tenant('initech') IS NOT NULL AS initech_created;   -- lands in a bucket
SET tenancy.tenant = 'acme';
INSERT INTO public.events (tenant_id, kind) SELECT :'acme_id', 'click' FROM generate_series(1, 5000);
RESET tenancy.tenant;
SELECT tenant, partition, kind FROM tenancy.partitions WHERE parent = 'public.events'::regclass ORDER BY partition::text;
-- Acme grew: move it into a partition of its own while the others keep working.
\c - support
SELECT tenancy.isolate_tenant('acme', 'public.events');
\c - postgres
SELECT tenant, partition, kind FROM tenancy.partitions
 WHERE parent = 'public.events'::regclass AND kind = 'tenant';
-- Each tenant's queries are planned for its own partition or bucket (the guard re-checks the tenant when the plan runs).
\c - app_globex
SET tenancy.tenant = 'globex';
EXPLAIN (COSTS OFF) SELECT count(*) FROM public.events;
\c - postgres

\echo
\echo '== 11. Audit trail: every change recorded, in the same transaction, tamper-evident'
SELECT tenancy.enable_audit('public.invoices', exclude_columns => '{card}');
\c - app_globex
SET tenancy.tenant = 'globex';
UPDATE public.invoices SET amount = 999999.00 WHERE customer = 'Hank Scorpio';
BEGIN;
DELETE FROM public.invoices;          -- rolled back: leaves no entry
ROLLBACK;
-- Globex reads its own entries only: the changed column, before and after.
SELECT op, table_name, row_key ->> 'id' AS id, old, new, db_user FROM tenancy.audit_log ORDER BY id;
\set ON_ERROR_STOP 0
DELETE FROM tenancy.audit_log;        -- append-only
\set ON_ERROR_STOP 1
\c - postgres
SELECT count(*) AS tenants_sealed FROM tenancy.seal_audit();
SELECT count(*) AS problems FROM tenancy.verify_audit();
-- A superuser edits history behind the log's back; verification notices.
ALTER TABLE tenancy.audit_log DISABLE TRIGGER USER;
UPDATE tenancy.audit_log SET new = '{"amount": 1}' WHERE op = 'UPDATE';
ALTER TABLE tenancy.audit_log ENABLE TRIGGER USER;
SELECT problem FROM tenancy.verify_audit();

\echo
\echo '== Done. The cluster is thrown away now.'
