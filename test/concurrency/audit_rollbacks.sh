#!/usr/bin/env bash
# Audit under concurrency: rolled-back transactions and subtransactions
# leave no audit entries, committed ones lose none, and sealing while
# writers run neither blocks them nor mistakes a late commit for tampering.
#
# Two pgbench runs at once (one per tenant, real non-superuser member
# logins, AUDIT_CLIENTS clients each, AUDIT_SECONDS seconds) do, per
# transaction: INSERT a row, then in a savepoint UPDATE it and sometimes
# DELETE it, sometimes ROLLBACK TO SAVEPOINT, and ROLLBACK the whole
# transaction about a third of the time.  Next to every audited statement
# the transaction records what it did in an unaudited table (same
# transaction, same savepoint), which is the ground truth.  Meanwhile a
# third session runs tenancy.seal_audit() in a loop.  At the end the audit
# log must equal the ground truth exactly (tenant, op, row id), and
# tenancy.verify_audit() must report nothing.
# Needs PGHOST/PGPORT/PGUSER of a superuser (run.sh sets them); prints TAP.
set -euo pipefail
cd "$(dirname "$0")/../.."

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PATH="$("$PG_CONFIG" --bindir):$PATH"
export PATH

DB=tenancy_audit_rb
A=regress_tenancy_audit_rb_a
B=regress_tenancy_audit_rb_b
CLIENTS=${AUDIT_CLIENTS:-4}
SECONDS_RUN=${AUDIT_SECONDS:-8}
WORK=$(mktemp -d /tmp/tenancy-audit-rb.XXXXXX)

cleanup() {
    local rc=$?
    [ -n "${SEALER:-}" ] && kill "$SEALER" 2>/dev/null || true
    PGOPTIONS='-c client_min_messages=warning' psql -X -q -d postgres \
        -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" \
        -c "DROP ROLE IF EXISTS $A" -c "DROP ROLE IF EXISTS $B" >/dev/null 2>&1 || true
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
PGOPTIONS='-c client_min_messages=warning' psql -X -q -d postgres \
    -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" \
    -c "DROP ROLE IF EXISTS $A" -c "DROP ROLE IF EXISTS $B" >/dev/null

psql -X -q -d postgres -c "CREATE DATABASE $DB" >/dev/null
psql -X -q -o /dev/null -v ON_ERROR_STOP=1 -d $DB <<SQL
CREATE EXTENSION tenancy;
CREATE ROLE $A LOGIN;
CREATE ROLE $B LOGIN;
SELECT tenancy.create_tenant('acme'), tenancy.create_tenant('globex');
SELECT tenancy.grant_tenant('$A', 'acme'), tenancy.grant_tenant('$B', 'globex');
CREATE SCHEMA app;
GRANT USAGE ON SCHEMA app TO PUBLIC;
CREATE SEQUENCE app.ids;
GRANT USAGE ON SEQUENCE app.ids TO PUBLIC;
CREATE TABLE app.acct (tenant_id uuid NOT NULL, id bigint NOT NULL, v int NOT NULL, note text,
                       PRIMARY KEY (tenant_id, id));
SELECT tenancy.register_table('app.acct');
SELECT tenancy.enable_audit('app.acct');
-- The ground truth: not audited, written in the same (sub)transactions.
CREATE TABLE app.expect (tenant_id uuid NOT NULL DEFAULT tenancy.current_tenant(),
                         id bigint NOT NULL, op text NOT NULL);
GRANT SELECT, INSERT, UPDATE, DELETE ON app.acct, app.expect TO PUBLIC;
SQL

cat >"$WORK/txn.sql" <<'SQL'
\set rollback random(1, 3)
\set to_savepoint random(1, 3)
\set del random(1, 4)
BEGIN;
SELECT nextval('app.ids') AS id \gset
INSERT INTO app.acct (id, v, note) VALUES (:id, 1, repeat('n', 50));
INSERT INTO app.expect (id, op) VALUES (:id, 'INSERT');
SAVEPOINT s;
UPDATE app.acct SET v = v + 1 WHERE id = :id;
INSERT INTO app.expect (id, op) VALUES (:id, 'UPDATE');
\if :del = 1
DELETE FROM app.acct WHERE id = :id;
INSERT INTO app.expect (id, op) VALUES (:id, 'DELETE');
\endif
\if :to_savepoint = 1
ROLLBACK TO SAVEPOINT s;
\endif
\if :rollback = 1
ROLLBACK;
\else
COMMIT;
\endif
SQL

# Seal continuously while the writers run.
(
    while :; do
        psql -X -q -At -d $DB -c "SELECT count(*) FROM tenancy.seal_audit()" >/dev/null 2>>"$WORK/sealer.err" || true
        sleep 0.2
    done
) &
SEALER=$!

PGOPTIONS="-c tenancy.tenant=acme" pgbench -n -U $A -d $DB -c "$CLIENTS" -T "$SECONDS_RUN" \
    -f "$WORK/txn.sql" >"$WORK/a.out" 2>&1 &
PA=$!
PGOPTIONS="-c tenancy.tenant=globex" pgbench -n -U $B -d $DB -c "$CLIENTS" -T "$SECONDS_RUN" \
    -f "$WORK/txn.sql" >"$WORK/b.out" 2>&1 &
PB=$!
ra=0; rb=0
wait $PA || ra=$?
wait $PB || rb=$?
kill "$SEALER" 2>/dev/null || true
wait "$SEALER" 2>/dev/null || true
SEALER=

q() { psql -X -q -At -v ON_ERROR_STOP=1 -d $DB -c "$1"; }

n=0; fail=0
ok() {
    n=$((n + 1))
    if [ "$2" -eq 0 ]; then echo "ok $n - $1"
    else echo "not ok $n - $1"; [ -n "${3:-}" ] && echo "$3" | sed 's/^/#   /'; fail=1; fi
}
is() { local r=0; [ "$2" = "$3" ] || r=1; ok "$1" $r "expected: $2
got:      $3"; }

echo "1..9"
is "pgbench for tenant acme ran without client errors" 0 "$ra"
is "pgbench for tenant globex ran without client errors" 0 "$rb"
txns=$(( $(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$WORK/a.out") +
         $(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$WORK/b.out") ))
attempted=$(q "SELECT last_value FROM app.ids")
committed=$(q "SELECT count(*) FROM app.expect WHERE op = 'INSERT'")
echo "# $txns transactions, $attempted rows attempted, $committed committed"
ok "many transactions ran ($txns)" $([ "$txns" -ge 200 ] && echo 0 || echo 1)
ok "some were rolled back and some committed ($committed of $attempted)" \
    $([ "$committed" -gt 0 ] && [ "$committed" -lt "$attempted" ] && echo 0 || echo 1)
sp=$(q "SELECT count(*) FROM app.expect e WHERE e.op = 'INSERT' AND NOT EXISTS
          (SELECT 1 FROM app.expect u WHERE u.id = e.id AND u.op = 'UPDATE')")
ok "some savepoints were rolled back inside committed transactions ($sp)" $([ "$sp" -gt 0 ] && echo 0 || echo 1)

counts_expect=$(q "SELECT string_agg(op || '=' || n, ' ' ORDER BY op) FROM
                    (SELECT op, count(*) n FROM app.expect GROUP BY op) x")
counts_audit=$(q "SELECT string_agg(op || '=' || n, ' ' ORDER BY op) FROM
                   (SELECT op, count(*) n FROM tenancy.audit_log WHERE table_name = 'app.acct' GROUP BY op) x")
is "audit entries per operation equal the committed work" "$counts_expect" "$counts_audit"
diff=$(q "SELECT count(*) FROM (
            (SELECT tenant_id, id, op FROM app.expect
             EXCEPT ALL SELECT tenant_id, (row_key ->> 'id')::bigint, op FROM tenancy.audit_log WHERE table_name = 'app.acct')
            UNION ALL
            (SELECT tenant_id, (row_key ->> 'id')::bigint, op FROM tenancy.audit_log WHERE table_name = 'app.acct'
             EXCEPT ALL SELECT tenant_id, id, op FROM app.expect)) d")
is "no entry lost, none left by rolled-back work (tenant, row, op)" 0 "$diff"

q "SELECT count(*) FROM tenancy.seal_audit()" >/dev/null
runs=$(q "SELECT count(*) FROM tenancy.audit_seal_runs")
ok "sealing ran many times while writers were busy ($runs runs)" $([ "$runs" -ge 3 ] && echo 0 || echo 1) \
    "$(cat "$WORK/sealer.err" 2>/dev/null)"
problems=$(q "SELECT count(*) FROM tenancy.verify_audit()")
is "verify_audit finds nothing wrong after concurrent sealing" 0 "$problems"
exit $fail
