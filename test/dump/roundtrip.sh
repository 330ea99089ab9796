#!/usr/bin/env bash
# pg_dump / pg_restore round trip: tenants, plans (changed seeds and new
# ones), members, the table registry, partitions per tenant (list, buckets,
# an isolated tenant, a spare made ahead) and their rows come back
# identical, and the restored database enforces the tenant context as
# before.
# Needs PGHOST/PGPORT/PGUSER of a superuser (run.sh sets them).
set -euo pipefail

SRC=tenancy_dump_src
DST=tenancy_dump_dst
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"; dropdb --if-exists $SRC; dropdb --if-exists $DST' EXIT

PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -d postgres <<'SQL'
DROP DATABASE IF EXISTS tenancy_dump_src;
DROP DATABASE IF EXISTS tenancy_dump_dst;
CREATE DATABASE tenancy_dump_src;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'regress_tenancy_dump') THEN
    CREATE ROLE regress_tenancy_dump LOGIN;
  END IF;
END $$;
SQL

psql -X -q -o /dev/null -v ON_ERROR_STOP=1 -d $SRC <<'SQL'
CREATE EXTENSION tenancy;
INSERT INTO tenancy.plans (name, max_rows, features) VALUES ('startup', 5000, '{audit}');
UPDATE tenancy.plans SET max_rows = 123456 WHERE name = 'basic';
SELECT tenancy.create_tenant('acme', 'Acme Corp', 'startup', '11111111-1111-4111-8111-111111111111');
SELECT tenancy.create_tenant('globex', 'Globex', 'premium');
SELECT tenancy.create_tenant('initech');
SELECT tenancy.suspend_tenant('globex', 'unpaid');
SELECT tenancy.rotate_key('acme');
CREATE TABLE public.vault (c bytea);
SET tenancy.tenant = 'acme';
INSERT INTO public.vault SELECT tenancy.encrypt('kept across dump', 'v');
RESET tenancy.tenant;
UPDATE tenancy.tenants SET settings = '{"region": "eu", "seats": 12}' WHERE slug = 'acme';
SELECT tenancy.grant_tenant('regress_tenancy_dump', 'acme', 'admin');
SELECT tenancy.grant_tenant('regress_tenancy_dump', 'globex', 'viewer');
CREATE TABLE public.orders (tenant_id uuid NOT NULL, id int NOT NULL, PRIMARY KEY (tenant_id, id));
INSERT INTO tenancy.tables (relid, tenant_column) VALUES ('public.orders', 'tenant_id');
-- Partitions per tenant: list partitions, hash buckets with an isolated
-- tenant, and a spare made ahead.
CREATE TABLE public.invoices (tenant_id uuid NOT NULL, id int NOT NULL, total int,
                              PRIMARY KEY (tenant_id, id)) PARTITION BY LIST (tenant_id);
SELECT tenancy.partition_table('public.invoices');
CREATE TABLE public.events (tenant_id uuid NOT NULL, id int NOT NULL, kind text,
                            PRIMARY KEY (tenant_id, id)) PARTITION BY LIST (tenant_id);
SELECT tenancy.partition_table('public.events', buckets => 4);
INSERT INTO public.invoices SELECT t.id, g, g FROM tenancy.tenants t, generate_series(1, 20) g;
INSERT INTO public.events SELECT t.id, g, 'e' FROM tenancy.tenants t, generate_series(1, 30) g;
SELECT tenancy.isolate_tenant('acme', 'public.events');
SELECT tenancy.premake_partitions(1);
-- Audit: entries in a monthly partition and in DEFAULT, sealed.
CREATE TABLE public.notes (tenant_id uuid NOT NULL, id int NOT NULL, body text, PRIMARY KEY (tenant_id, id));
-- (registered with register_table: its foreign key, index and policy come
-- back through the dump, with the event trigger staying out of the restore)
SELECT tenancy.register_table('public.notes');
SELECT tenancy.enable_audit('public.notes');
SET tenancy.tenant = 'acme';
INSERT INTO public.notes (tenant_id, id, body) VALUES (tenancy.current_tenant(), 1, 'one'), (tenancy.current_tenant(), 2, 'two');
UPDATE public.notes SET body = 'uno' WHERE id = 1;
RESET tenancy.tenant;
INSERT INTO tenancy.audit_log (tenant_id, at, txid, table_name, op, db_user, "session_user")
VALUES ('11111111-1111-4111-8111-111111111111', now() + interval '2 years', 1, 'public.notes', 'DELETE', 'x', 'x');
SELECT tenancy.seal_audit();
SQL

snapshot() {
    psql -X -At -v ON_ERROR_STOP=1 -d "$1" <<'SQL'
SELECT 'plan', name, max_rows, max_bytes, statement_timeout, max_statements_per_second,
       audit_retention, features, builtin FROM tenancy.plans ORDER BY name;
SELECT 'tenant', id, slug, name, status, plan, settings, created_at, updated_at,
       status_changed_at, status_reason FROM tenancy.tenants ORDER BY slug;
SELECT 'member', t.slug, m.role_name, m.level, m.granted_at
  FROM tenancy.members m JOIN tenancy.tenants t ON t.id = m.tenant_id ORDER BY 2, 3;
SELECT 'table', relid::text, tenant_column, partitioned, audited FROM tenancy.tables ORDER BY 2;
SELECT 'key', t.slug, k.version, k.state, encode(k.salt, 'hex'), k.created_at
  FROM tenancy.tenant_keys k JOIN tenancy.tenants t ON t.id = k.tenant_id ORDER BY 2, 3;
SELECT 'spare', id FROM tenancy.spare_tenant_ids ORDER BY 2;
SELECT 'partition', parent::text, tenant, partition::text, kind, tenant_id FROM tenancy.partitions ORDER BY 2, 4;
SELECT 'protected', c.oid::regclass::text, c.relrowsecurity, c.relforcerowsecurity,
       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'tenancy_isolation')
  FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') ORDER BY 2;
SELECT 'rows', tableoid::regclass::text, tenant_id, count(*), sum(id) FROM public.invoices GROUP BY 2, 3 ORDER BY 2, 3;
SELECT 'rows', tableoid::regclass::text, tenant_id, count(*), sum(id) FROM public.events GROUP BY 2, 3 ORDER BY 2, 3;
SELECT 'audit', tableoid::regclass, e.* FROM tenancy.audit_log e ORDER BY id;
SELECT 'seal', s.* FROM tenancy.audit_seals s ORDER BY tenant_id, seal_no;
SELECT 'seal run', r.* FROM tenancy.audit_seal_runs r ORDER BY seal_no;
SQL
}

snapshot $SRC > "$WORK/before.txt"
pg_dump -Fc -f "$WORK/dump.pgc" $SRC
createdb $DST
pg_restore --exit-on-error -d $DST "$WORK/dump.pgc"
snapshot $DST > "$WORK/after.txt"

fail=0
if diff -u "$WORK/before.txt" "$WORK/after.txt"; then
    echo "ok 1 - catalog rows identical after pg_dump/pg_restore ($(wc -l < "$WORK/after.txt") rows)"
else
    echo "not ok 1 - catalog rows differ after pg_dump/pg_restore"; fail=1
fi

# The restored catalog still drives the context.
out=$(psql -X -q -At -d $DST -c "SET ROLE regress_tenancy_dump" \
      -c "SET tenancy.tenant = 'acme'" -c "SELECT tenancy.current_tenant()" 2>&1)
if [ "$out" = "11111111-1111-4111-8111-111111111111" ]; then
    echo "ok 2 - restored member enters its tenant"
else
    echo "not ok 2 - restored member enters its tenant: $out"; fail=1
fi
if out=$(psql -X -q -At -d $DST -c "SET ROLE regress_tenancy_dump" \
         -c "SET tenancy.tenant = 'globex'" 2>&1); then
    echo "not ok 3 - suspended tenant refused after restore: $out"; fail=1
else
    echo "ok 3 - suspended tenant refused after restore"
fi
if out=$(psql -X -q -At -d $DST -c "SET ROLE regress_tenancy_dump" \
         -c "SET tenancy.tenant = 'initech'" 2>&1); then
    echo "not ok 4 - non-member refused after restore: $out"; fail=1
else
    echo "ok 4 - non-member refused after restore"
fi
out=$(psql -X -q -At -d $DST -c "SET tenancy.tenant = 'acme'" \
      -c "SELECT tenancy.decrypt_text(c, 'v') FROM public.vault" 2>&1)
if [ "$out" = "kept across dump" ]; then
    echo "ok 5 - a value encrypted before the dump decrypts after the restore (same master key)"
else
    echo "not ok 5 - a value encrypted before the dump decrypts after the restore: $out"; fail=1
fi
# A tenant created after the restore takes the restored spare and finds
# its partitions.
out=$(psql -X -q -At -d $DST -c "SELECT tenancy.create_tenant('hooli') = (SELECT id FROM tenancy.spare_tenant_ids)" \
      -c "SELECT string_agg(partition::text, ',' ORDER BY 1) FROM tenancy.partitions WHERE tenant = 'hooli'" 2>&1)
if [ "$out" = "$(printf 't\ninvoices_hooli')" ]; then
    echo "ok 6 - after the restore, create_tenant takes the restored spare and renames its partition"
else
    echo "not ok 6 - after the restore, create_tenant takes the restored spare: $out"; fail=1
fi
out=$(psql -X -q -At -d $DST -c "SELECT count(*) FROM tenancy.verify_audit()" 2>&1)
if [ "$out" = "0" ]; then
    echo "ok 7 - the restored audit log verifies against its seals"
else
    echo "not ok 7 - the restored audit log verifies against its seals: $out"; fail=1
fi
out=$(psql -X -q -At -d $DST -c "SET tenancy.tenant = 'acme'" -c "DELETE FROM public.notes WHERE id = 2" \
      -c "SELECT count(*) FROM tenancy.audit_log WHERE op = 'DELETE' AND row_key ->> 'id' = '2'
                 AND id > (SELECT max(id) FROM tenancy.audit_log WHERE op <> 'DELETE' OR row_key ->> 'id' <> '2')" 2>&1)
if [ "$out" = "1" ]; then
    echo "ok 8 - the restored table is still audited, with ids continuing after the old ones"
else
    echo "not ok 8 - the restored table is still audited: $out"; fail=1
fi
echo "1..8"
exit $fail
