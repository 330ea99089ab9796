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
\echo '== 3. One shared table; every row carries its tenant, filled in from the context'
\echo '   (tenancy.register_table() automates this in the next release; here by hand)'
CREATE TABLE public.invoices (
    tenant_id uuid NOT NULL DEFAULT tenancy.current_tenant() REFERENCES tenancy.tenants ON DELETE CASCADE,
    id        bigint GENERATED ALWAYS AS IDENTITY,
    customer  text NOT NULL,
    amount    numeric(12,2) NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
ALTER TABLE public.invoices ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.invoices FORCE ROW LEVEL SECURITY;
CREATE POLICY tenancy_isolation ON public.invoices
    USING (tenant_id = tenancy.current_tenant())
    WITH CHECK (tenant_id = tenancy.current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON public.invoices TO app_acme, app_globex;
GRANT SELECT ON public.invoices TO support;

\echo
\echo '== 4. The Acme application server: SET the tenant, then work as usual'
SET ROLE app_acme;
SET tenancy.tenant = 'acme';
SHOW tenancy.tenant;
INSERT INTO public.invoices (customer, amount) VALUES ('Wile E. Coyote', 120.00), ('Road Runner', 9.99);
SELECT customer, amount FROM public.invoices ORDER BY id;
RESET ROLE;

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
\echo '== Done. The cluster is thrown away now.'
