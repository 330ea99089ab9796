-- Partitions per tenant: partition_table, create/offboard, buckets and
\set SHOW_CONTEXT never
-- isolate_tenant, the partitions view, and plans folded for the tenant.
CREATE SCHEMA regress_part;
GRANT USAGE ON SCHEMA regress_part TO PUBLIC;
SELECT tenancy.create_tenant('part-a', id => '5a000000-0000-4000-8000-00000000000a') IS NOT NULL AS a,
       tenancy.create_tenant('part-b', id => '5b000000-0000-4000-8000-00000000000b') IS NOT NULL AS b;
SELECT tenancy.grant_tenant('regress_tenancy_alice', 'part-a');
SELECT tenancy.grant_tenant('regress_tenancy_alice', 'part-b');
SELECT tenancy.grant_tenant('regress_tenancy_bob', 'part-b');

-- What partition_table refuses, and why.
CREATE TABLE regress_part.plain (tenant_id uuid NOT NULL, id int);
SELECT tenancy.partition_table('regress_part.plain');
CREATE TABLE regress_part.by_id (tenant_id uuid NOT NULL, id int) PARTITION BY LIST (id);
SELECT tenancy.partition_table('regress_part.by_id');
CREATE TABLE regress_part.by_range (tenant_id uuid NOT NULL, id int) PARTITION BY RANGE (tenant_id);
SELECT tenancy.partition_table('regress_part.by_range');
CREATE TABLE regress_part.pt_orders (
    tenant_id uuid NOT NULL, id int NOT NULL, amount int NOT NULL,
    PRIMARY KEY (tenant_id, id)
) PARTITION BY LIST (tenant_id);
SELECT tenancy.partition_table('regress_part.pt_orders', buckets => 0);
SELECT tenancy.partition_table(NULL);
SELECT tenancy.isolate_tenant('part-a', 'regress_part.pt_orders');

-- One list partition per tenant; create_tenant adds one, in the same
-- transaction.
SELECT tenancy.partition_table('regress_part.pt_orders') >= 2 AS created;
SELECT tenancy.partition_table('regress_part.pt_orders') AS again;
BEGIN;
SELECT tenancy.create_tenant('part-c', id => '5c000000-0000-4000-8000-00000000000c') IS NOT NULL AS c;
SELECT tenant, partition, kind FROM tenancy.partitions
 WHERE parent = 'regress_part.pt_orders'::regclass AND tenant LIKE 'part-%' ORDER BY tenant;
ROLLBACK;
SELECT count(*) AS partitions_of_c FROM tenancy.partitions WHERE tenant = 'part-c';
SELECT tenancy.create_tenant('part-c', id => '5c000000-0000-4000-8000-00000000000c') IS NOT NULL AS c;
SELECT tenancy.grant_tenant('regress_tenancy_alice', 'part-c');
SELECT tenant, partition, kind, rows, bytes > 0 AS has_bytes FROM tenancy.partitions
 WHERE parent = 'regress_part.pt_orders'::regclass AND tenant LIKE 'part-%' ORDER BY tenant;
-- Partitions carry the policy, FORCE RLS and the parent's owner.
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner) AS owner,
       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'tenancy_isolation') AS policy
  FROM pg_class c WHERE c.relnamespace = 'regress_part'::regnamespace AND c.relname LIKE 'pt_orders_part%'
   AND c.relkind = 'r' ORDER BY 1;
-- A long parent name and slug still give a readable, unique name.
CREATE TABLE regress_part.a_table_with_a_rather_long_name_for_its_partitions (
    tenant_id uuid NOT NULL, id int) PARTITION BY LIST (tenant_id);
SELECT tenancy.partition_table('regress_part.a_table_with_a_rather_long_name_for_its_partitions') >= 3 AS created;
SELECT tenancy.create_tenant('part-a-tenant-with-a-slug-long-enough-to-need-cutting') IS NOT NULL AS long;
SELECT c.relname, octet_length(c.relname) <= 63 AS fits FROM tenancy.partitions p
  JOIN pg_class c ON c.oid = p.partition
 WHERE p.tenant = 'part-a-tenant-with-a-slug-long-enough-to-need-cutting' ORDER BY 1;

GRANT SELECT, INSERT, UPDATE, DELETE ON regress_part.pt_orders TO regress_tenancy_alice, regress_tenancy_bob;
SET ROLE regress_tenancy_alice;
SET tenancy.tenant = 'part-a';
INSERT INTO regress_part.pt_orders (id, amount) SELECT g, g FROM generate_series(1, 30) g;
SET tenancy.tenant = 'part-b';
INSERT INTO regress_part.pt_orders (id, amount) SELECT g, 10 * g FROM generate_series(1, 20) g;
SET tenancy.tenant = 'part-c';
INSERT INTO regress_part.pt_orders (id, amount) VALUES (1, 1000);
-- Writing another tenant's partition, through the parent or directly.
INSERT INTO regress_part.pt_orders (tenant_id, id, amount)
VALUES ('5a000000-0000-4000-8000-00000000000a', 99, 99);
SELECT count(*) FROM regress_part."pt_orders_part-a";
RESET ROLE;
SELECT tenant, (SELECT count(*) FROM regress_part.pt_orders o WHERE o.tenant_id = p.tenant_id) AS rows
  FROM tenancy.partitions p WHERE parent = 'regress_part.pt_orders'::regclass AND tenant LIKE 'part-%' ORDER BY 1;

-- Plans below do not wait for autovacuum's statistics.
ANALYZE regress_part.pt_orders;
CREATE FUNCTION regress_part.explain(query text) RETURNS SETOF text
    LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE 'EXPLAIN (COSTS OFF) ' || query;
END $$;
-- Planning for the tenant in force: one partition, a one-time guard.
SET ROLE regress_tenancy_alice;
SET tenancy.tenant = 'part-b';
EXPLAIN (COSTS OFF) SELECT * FROM regress_part.pt_orders WHERE id = 3;
EXPLAIN (COSTS OFF) UPDATE regress_part.pt_orders SET amount = amount WHERE id = 3;
SELECT count(*), sum(amount) FROM regress_part.pt_orders;
-- Stock planning, to compare: every partition, pruned at run time.
SET tenancy.fold_current_tenant = off;
SELECT regexp_replace(plan, 'Removed: \d+', 'Removed: (the other tenants)') AS plan
  FROM regress_part.explain('SELECT * FROM regress_part.pt_orders WHERE id = 3') plan;
RESET tenancy.fold_current_tenant;

-- A cached plan never serves another tenant: prepared statements (custom
-- then generic plans), forced generic plans, PL/pgSQL.
PREPARE q AS SELECT count(*), sum(amount) FROM regress_part.pt_orders;
PREPARE qp(int) AS SELECT count(*), sum(amount) FROM regress_part.pt_orders WHERE id <= $1;
SET tenancy.tenant = 'part-a';
EXECUTE q; EXECUTE q; EXECUTE q; EXECUTE q; EXECUTE q; EXECUTE q; EXECUTE q;
EXECUTE qp(10); EXECUTE qp(10); EXECUTE qp(10); EXECUTE qp(10); EXECUTE qp(10); EXECUTE qp(10); EXECUTE qp(10);
SET tenancy.tenant = 'part-b';
EXECUTE q;
EXECUTE qp(10);
SET tenancy.tenant = 'part-a';
EXECUTE q;
SET plan_cache_mode = force_generic_plan;
PREPARE qg(int) AS SELECT count(*) FROM regress_part.pt_orders WHERE id <= $1;
EXECUTE qg(100);
SET tenancy.tenant = 'part-c';
EXECUTE qg(100);
RESET plan_cache_mode;
-- Without a tenant, a cached plan stops at its guard, as current_tenant() would.
RESET tenancy.tenant;
EXECUTE q;
-- SET LOCAL: the plan survives leaving and re-entering the same tenant.
BEGIN;
SET LOCAL tenancy.tenant = 'part-b';
EXECUTE q;
COMMIT;
BEGIN;
SET LOCAL tenancy.tenant = 'part-a';
EXECUTE q;
COMMIT;
RESET ROLE;
CREATE FUNCTION regress_part.order_total() RETURNS bigint
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT sum(amount) FROM regress_part.pt_orders);
END $$;
SET ROLE regress_tenancy_alice;
SET tenancy.tenant = 'part-a';
SELECT regress_part.order_total(), regress_part.order_total();
SET tenancy.tenant = 'part-b';
SELECT regress_part.order_total();
SET tenancy.tenant = 'part-c';
SELECT regress_part.order_total();
-- A role switch with the same tenant: the guard validates the new role.
RESET ROLE;
SET ROLE regress_tenancy_bob;
EXECUTE q;
RESET ROLE;
RESET tenancy.tenant;
DEALLOCATE ALL;

-- Offboarding drops the tenant's partitions (or archives them).
SET client_min_messages = warning;
SELECT * FROM tenancy.offboard_tenant('part-c', archive => true)
 WHERE table_name::text LIKE 'regress_part.%' ORDER BY 1;
RESET client_min_messages;
SELECT count(*) AS partitions_left FROM tenancy.partitions WHERE tenant = 'part-c';
SELECT count(*) AS archived FROM tenancy_archive."pt_orders__part-c";
SELECT c.relname, c.relispartition FROM pg_class c WHERE c.relnamespace = 'tenancy_archive'::regnamespace
   AND c.relname LIKE 'pt\_%part-c' AND c.relkind = 'r' ORDER BY 1;
-- A new tenant after that still gets its partition.
SELECT tenancy.create_tenant('part-d', id => '5d000000-0000-4000-8000-00000000000d') IS NOT NULL AS d;
SELECT tenant, partition FROM tenancy.partitions
 WHERE parent = 'regress_part.pt_orders'::regclass AND tenant LIKE 'part-%' ORDER BY 1;
SET client_min_messages = warning;
SELECT * FROM tenancy.offboard_tenant('part-d') WHERE table_name::text LIKE 'regress_part.%' ORDER BY 1;
RESET client_min_messages;
SELECT to_regclass('regress_part."pt_orders_part-d"') AS dropped;

-- Hash buckets for small tenants, and isolating a large one.
CREATE TABLE regress_part.events (
    tenant_id uuid NOT NULL, id int NOT NULL, payload text,
    PRIMARY KEY (tenant_id, id)
) PARTITION BY LIST (tenant_id);
SELECT tenancy.partition_table('regress_part.events', buckets => 4);
SELECT tenancy.partition_table('regress_part.events', buckets => 4);
SELECT partition, kind FROM tenancy.partitions WHERE parent = 'regress_part.events'::regclass ORDER BY 1;
-- New tenants live in the buckets: no partition of their own.
SELECT tenancy.create_tenant('part-e', id => '5e000000-0000-4000-8000-00000000000e') IS NOT NULL AS e;
SELECT tenancy.grant_tenant('regress_tenancy_alice', 'part-e');
SELECT count(*) AS own_partitions FROM tenancy.partitions
 WHERE parent = 'regress_part.events'::regclass AND kind = 'tenant';
GRANT SELECT, INSERT ON regress_part.events TO regress_tenancy_alice;
SET ROLE regress_tenancy_alice;
SET tenancy.tenant = 'part-a';
INSERT INTO regress_part.events (id, payload) SELECT g, repeat('a', g) FROM generate_series(1, 200) g;
SET tenancy.tenant = 'part-b';
INSERT INTO regress_part.events (id, payload) SELECT g, 'b' FROM generate_series(1, 50) g;
SET tenancy.tenant = 'part-e';
INSERT INTO regress_part.events (id, payload) SELECT g, 'e' FROM generate_series(1, 10) g;
RESET ROLE;
ANALYZE regress_part.events;
SET ROLE regress_tenancy_alice;
-- Folded: one bucket is scanned.
EXPLAIN (COSTS OFF) SELECT count(*) FROM regress_part.events;
RESET ROLE;
RESET tenancy.tenant;
SELECT tenant_id, count(*), md5(string_agg(id || ':' || payload, ',' ORDER BY id)) AS checksum
  INTO TEMP before FROM regress_part.events GROUP BY tenant_id;

-- Tenant roles cannot isolate; administrators can.
SET ROLE regress_tenancy_alice;
SELECT tenancy.isolate_tenant('part-a', 'regress_part.events');
RESET ROLE;
SET ROLE regress_tenancy_admin;
SELECT tenancy.isolate_tenant('part-a', 'regress_part.events');
RESET ROLE;
SELECT tenant, partition, kind FROM tenancy.partitions
 WHERE parent = 'regress_part.events'::regclass AND kind = 'tenant' ORDER BY 1;
SELECT b.tenant_id = a.tenant_id AS same_tenant, b.count = a.count AS same_count,
       b.checksum = a.checksum AS same_rows
  FROM before b JOIN (SELECT tenant_id, count(*), md5(string_agg(id || ':' || payload, ',' ORDER BY id)) AS checksum
                        FROM regress_part.events GROUP BY tenant_id) a USING (tenant_id)
 ORDER BY b.count;
SELECT count(*) AS left_in_buckets FROM regress_part.events_default
 WHERE tenant_id = '5a000000-0000-4000-8000-00000000000a';
SELECT count(*) AS in_own_partition FROM regress_part."events_part-a";
SELECT c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner) AS owner,
       (SELECT count(*) FROM pg_constraint k WHERE k.conrelid = c.oid AND k.conname = 'tenancy_isolating') AS helper_check
  FROM pg_class c WHERE c.oid = 'regress_part."events_part-a"'::regclass;
-- What isolate_tenant refuses, and why.
SELECT tenancy.isolate_tenant('part-a', 'regress_part.events');
SELECT tenancy.isolate_tenant('nobody', 'regress_part.events');
SELECT tenancy.isolate_tenant('part-b', 'regress_part.plain');
SELECT tenancy.isolate_tenant('part-c', 'regress_part.events');
CREATE TABLE regress_part.event_notes (
    tenant_id uuid NOT NULL, event_id int NOT NULL, note text,
    FOREIGN KEY (tenant_id, event_id) REFERENCES regress_part.events (tenant_id, id));
SELECT tenancy.isolate_tenant('part-b', 'regress_part.events');
DROP TABLE regress_part.event_notes;
-- Without a foreign key in the way, and in a bucket mode table the rest
-- keep working afterwards.
SELECT tenancy.isolate_tenant('part-b', 'regress_part.events');
SET ROLE regress_tenancy_alice;
SET tenancy.tenant = 'part-b';
SELECT count(*) FROM regress_part.events;
INSERT INTO regress_part.events (id, payload) VALUES (51, 'b');
SELECT count(*) FROM regress_part.events;
SET tenancy.tenant = 'part-e';
SELECT count(*) FROM regress_part.events;
RESET ROLE;
RESET tenancy.tenant;
SELECT count(*) AS own_partitions FROM tenancy.partitions
 WHERE parent = 'regress_part.events'::regclass AND kind = 'tenant';

-- Partitions made ahead: create_tenant takes a spare id and only renames
-- its partitions.
SELECT tenancy.premake_partitions(-1);
SELECT tenancy.premake_partitions(2);
SELECT tenancy.premake_partitions(2) AS none_needed;
SELECT count(*) AS spares, count(DISTINCT parent) AS tables FROM tenancy.partitions WHERE kind = 'spare';
SELECT id AS spare_id FROM tenancy.spare_tenant_ids ORDER BY made_at, id LIMIT 1 \gset
BEGIN;
SELECT tenancy.create_tenant('part-f') = :'spare_id' AS took_the_spare;
ROLLBACK;
SELECT count(*) AS spares_after_rollback FROM tenancy.spare_tenant_ids;
SELECT tenancy.create_tenant('part-f') = :'spare_id' AS took_the_spare;
SELECT c.relname, p.kind FROM tenancy.partitions p JOIN pg_class c ON c.oid = p.partition
 WHERE p.tenant = 'part-f' ORDER BY 1;
-- The renamed partitions keep the contract.
SELECT count(*) FILTER (WHERE c.relrowsecurity AND c.relforcerowsecurity
                          AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid
                                         AND p.polname = 'tenancy_isolation')) AS protected,
       count(*) AS partitions
  FROM tenancy.partitions p JOIN pg_class c ON c.oid = p.partition WHERE p.tenant = 'part-f';
-- An explicit id never takes a spare.
SELECT tenancy.create_tenant('part-g', id => '5f000000-0000-4000-8000-00000000000f') IS NOT NULL AS g;
SELECT count(*) AS spares_left FROM tenancy.spare_tenant_ids;
-- A table put under partition_table later covers the spares too.
CREATE TABLE regress_part.late (tenant_id uuid NOT NULL, id int) PARTITION BY LIST (tenant_id);
SELECT tenancy.partition_table('regress_part.late') > 0 AS created;
SELECT count(*) AS late_spares FROM tenancy.partitions WHERE parent = 'regress_part.late'::regclass AND kind = 'spare';
-- Tenant roles see neither the spares nor the function.
SET ROLE regress_tenancy_alice;
SELECT count(*) FROM tenancy.spare_tenant_ids;
SELECT tenancy.premake_partitions(1);
RESET ROLE;

-- A require_local context that outlived its transaction reaches no
-- parallel worker: workers get the setting's value, not its expiry.
SET tenancy.require_local = on;
SET ROLE regress_tenancy_alice;
SET force_parallel_mode = on;
SET parallel_leader_participation = off;
SET plan_cache_mode = force_generic_plan;
BEGIN;
SET tenancy.tenant = 'part-a';
PREPARE par AS SELECT count(*) FROM regress_part.pt_orders;
SELECT count(*) FROM regress_part.explain('EXECUTE par') e WHERE e LIKE '%Gather%' OR e LIKE '%Parallel%';
EXECUTE par;
COMMIT;
EXECUTE par;
SHOW tenancy.tenant;
DEALLOCATE par;
RESET plan_cache_mode;
RESET parallel_leader_participation;
RESET force_parallel_mode;
RESET ROLE;
RESET tenancy.require_local;
