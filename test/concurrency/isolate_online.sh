#!/usr/bin/env bash
# tenancy.isolate_tenant while other sessions keep writing and reading.
#
# A tenant role inserts, updates and deletes rows of four tenants in a
# hash-bucketed table (app.events) and, in the same statement, in an
# unpartitioned ledger (app.ledger), from several pgbench clients; another
# client keeps reading.  Meanwhile an administrator isolates two of the
# tenants.  Afterwards every tenant's rows in app.events must equal its
# ledger (count and checksum: no row lost, none duplicated), the isolated
# tenants' rows must all be in their own partitions, and no client may
# have failed.  Also prints how long the moves and the waits took.
# Needs PGHOST/PGPORT/PGUSER of a superuser (run.sh sets them); prints TAP.
set -euo pipefail
cd "$(dirname "$0")/../.."

DB=tenancy_isolate_online
APP=regress_tenancy_iso_app
ADMIN=regress_tenancy_iso_admin
SECONDS_WRITING=${ISOLATE_SECONDS:-10}
PGBENCH=$(${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config} --bindir)/pgbench

cleanup() {
    PGOPTIONS='-c client_min_messages=warning' psql -X -q -d postgres \
        -c "DROP DATABASE IF EXISTS $DB" \
        -c "DROP ROLE IF EXISTS $APP" -c "DROP ROLE IF EXISTS $ADMIN" >/dev/null 2>&1 || true
    rm -rf "${WORK:-}"
}
trap cleanup EXIT
cleanup
WORK=$(mktemp -d)

psql -X -q -d postgres -c "CREATE DATABASE $DB" >/dev/null
psql -X -q -o /dev/null -v ON_ERROR_STOP=1 -d $DB <<SQL
CREATE EXTENSION tenancy;
CREATE ROLE $APP LOGIN;
CREATE ROLE $ADMIN LOGIN IN ROLE tenancy_admin;
SELECT tenancy.create_tenant('iso-' || i, id => ('1500000' || i || '-0000-4000-8000-000000000000')::uuid)
  FROM generate_series(1, 4) i;
SELECT tenancy.grant_tenant('$APP', 'iso-' || i) FROM generate_series(1, 4) i;
CREATE SCHEMA app;
GRANT USAGE ON SCHEMA app TO PUBLIC;
CREATE SEQUENCE app.ids;
CREATE TABLE app.events (tenant_id uuid NOT NULL, id bigint NOT NULL, v bigint NOT NULL,
                         PRIMARY KEY (tenant_id, id)) PARTITION BY LIST (tenant_id);
SELECT tenancy.partition_table('app.events', buckets => 4);
CREATE TABLE app.ledger (tenant_id uuid NOT NULL, id bigint NOT NULL, v bigint NOT NULL,
                         PRIMARY KEY (tenant_id, id));
SELECT tenancy.register_table('app.ledger');
GRANT SELECT, INSERT, UPDATE, DELETE ON app.events, app.ledger TO $APP;
GRANT USAGE ON SEQUENCE app.ids TO $APP;
-- Big tenants to move (iso-1, iso-2) and small ones that stay.
INSERT INTO app.events SELECT t.id, nextval('app.ids'), g
  FROM tenancy.tenants t, generate_series(1, 100000) g
 WHERE t.slug LIKE 'iso-%' AND (t.slug IN ('iso-1', 'iso-2') OR g <= 10000);
INSERT INTO app.ledger SELECT * FROM app.events;
ANALYZE app.events, app.ledger;
SQL

cat >"$WORK/write.sql" <<'PGB'
\set t random(1, 4)
\set op random(1, 10)
\set r random(1, 400000)
BEGIN;
SELECT set_config('tenancy.tenant', 'iso-' || :t, true);
\if :op <= 6
WITH e AS (INSERT INTO app.events (id, v) VALUES (nextval('app.ids'), :r) RETURNING id, v)
INSERT INTO app.ledger (id, v) SELECT id, v FROM e;
\elif :op <= 9
WITH u AS (UPDATE app.events SET v = v + 1 WHERE id = :r RETURNING id)
UPDATE app.ledger l SET v = l.v + 1 FROM u WHERE l.id = u.id;
\else
WITH d AS (DELETE FROM app.events WHERE id = :r RETURNING id)
DELETE FROM app.ledger l USING d WHERE l.id = d.id;
\endif
COMMIT;
PGB
cat >"$WORK/read.sql" <<'PGB'
\set t random(1, 4)
BEGIN;
SELECT set_config('tenancy.tenant', 'iso-' || :t, true);
SELECT count(*), sum(v) FROM app.events;
COMMIT;
PGB

"$PGBENCH" -n -U $APP -d $DB -c 3 -T "$SECONDS_WRITING" -f "$WORK/write.sql" -r >"$WORK/write.out" 2>&1 &
writers=$!
"$PGBENCH" -n -U $APP -d $DB -c 1 -T "$SECONDS_WRITING" -f "$WORK/read.sql" -r >"$WORK/read.out" 2>&1 &
readers=$!

sleep 2
t0=$(date +%s%N)
psql -X -q -U $ADMIN -d $DB -v ON_ERROR_STOP=1 -c "SELECT tenancy.isolate_tenant('iso-1', 'app.events')" \
    >"$WORK/move1.out" 2>&1 && move1=ok || move1=failed
t1=$(date +%s%N)
sleep 2
psql -X -q -U $ADMIN -d $DB -v ON_ERROR_STOP=1 -c "SELECT tenancy.isolate_tenant('iso-2', 'app.events')" \
    >"$WORK/move2.out" 2>&1 && move2=ok || move2=failed
t2=$(date +%s%N)
wait $writers && writers_rc=0 || writers_rc=$?
wait $readers && readers_rc=0 || readers_rc=$?

n=0
check() {  # check <description> <command...>
    n=$((n + 1))
    local desc=$1; shift
    if "$@"; then echo "ok $n - $desc"; else echo "not ok $n - $desc"; fi
}
q() { psql -X -At -d $DB -c "$1"; }

echo "1..9"
check "isolate_tenant('iso-1') succeeded while clients wrote" [ "$move1" = ok ]
[ "$move1" = ok ] || sed 's/^/# /' "$WORK/move1.out"
check "isolate_tenant('iso-2') succeeded while clients wrote" [ "$move2" = ok ]
[ "$move2" = ok ] || sed 's/^/# /' "$WORK/move2.out"
check "no writer failed (pgbench exit $writers_rc)" \
    sh -c "[ $writers_rc -eq 0 ] && ! grep -q 'aborted\|ERROR' '$WORK/write.out'"
grep -E 'ERROR|aborted' "$WORK/write.out" | head -5 | sed 's/^/# /' || true
check "no reader failed (pgbench exit $readers_rc)" \
    sh -c "[ $readers_rc -eq 0 ] && ! grep -q 'aborted\|ERROR' '$WORK/read.out'"
grep -E 'ERROR|aborted' "$WORK/read.out" | head -5 | sed 's/^/# /' || true
committed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$WORK/write.out")
check "writers committed transactions during the moves ($committed)" [ "${committed:-0}" -gt 0 ]

cmp_sql="
WITH e AS (SELECT tenant_id, count(*) AS n, md5(string_agg(id || ':' || v, ',' ORDER BY id)) AS h
             FROM app.events GROUP BY tenant_id),
     l AS (SELECT tenant_id, count(*) AS n, md5(string_agg(id || ':' || v, ',' ORDER BY id)) AS h
             FROM app.ledger GROUP BY tenant_id)
SELECT count(*) FILTER (WHERE e.n IS DISTINCT FROM l.n OR e.h IS DISTINCT FROM l.h)
  FROM e FULL JOIN l USING (tenant_id)"
check "every tenant's rows equal its ledger: none lost, none duplicated" [ "$(q "$cmp_sql")" = 0 ]
check "iso-1 and iso-2 have partitions of their own" \
    [ "$(q "SELECT string_agg(tenant, ',' ORDER BY tenant) FROM tenancy.partitions WHERE parent = 'app.events'::regclass AND kind = 'tenant'")" = "iso-1,iso-2" ]
check "none of their rows is left in the buckets" \
    [ "$(q "SELECT count(*) FROM app.events_default t JOIN tenancy.tenants n ON n.id = t.tenant_id WHERE n.slug IN ('iso-1', 'iso-2')")" = 0 ]
check "their partitions hold all their rows" \
    [ "$(q "SELECT (SELECT count(*) FROM app.\"events_iso-1\") + (SELECT count(*) FROM app.\"events_iso-2\") = (SELECT count(*) FROM app.ledger l JOIN tenancy.tenants n ON n.id = l.tenant_id WHERE n.slug IN ('iso-1', 'iso-2'))")" = t ]

echo "# moves: iso-1 $(( (t1 - t0) / 1000000 )) ms, iso-2 $(( (t2 - t1 - 2000000000) / 1000000 )) ms (100k rows each, 20k left in the buckets)"
echo "# writers: $committed transactions; $(grep -E 'latency average' "$WORK/write.out" | head -1)"
echo "# readers: $(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$WORK/read.out") transactions; $(grep -E 'latency average' "$WORK/read.out" | head -1)"
