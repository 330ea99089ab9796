#!/usr/bin/env bash
# Benchmark: the audit trail (issue "Audit trail in C", item 6).
#
# A 6-column table (tenant_id uuid, id bigint, a int, b text, c numeric,
# d timestamptz; primary key (tenant_id, id)), registered (RLS), four times:
#
#   none     no trigger: the limit
#   c        tenancy.enable_audit(): the C trigger, one tenancy.audit_log
#            entry per row (row key, changed columns as jsonb, who, where)
#   plpgsql  the common pattern: an AFTER ROW trigger in PL/pgSQL writing
#            to_jsonb(OLD) and to_jsonb(NEW) into an audit table
#   pgaudit  no trigger, pgaudit with pgaudit.log = 'write' for the role
#            (statement text into the server log, no row values)
#
# Workloads (one per pgbench transaction, as a non-superuser member role
# with its tenant set per connection):
#
#   insert   INSERT of one row
#   update   UPDATE of one random row (of 100,000 loaded before the
#            triggers were created)
#   batch    INSERT of 1,000 rows in one statement
#
# each with -c 1 and -c 8, BENCH_SECONDS per run, variants interleaved
# (their order rotating from round to round), a CHECKPOINT before every
# run and autovacuum off on the tables written, best of BENCH_ROUNDS;
# ratios are best tps over the best tps of "none" in the same cell.
# Goals (the issue): c/none >= 0.80 for insert and update, >= 0.50 for
# batch.  Figures, not assertions: the script fails only if something is
# broken (the C trigger's entries do not match the rows written).
#
# pgaudit needs shared_preload_libraries, so the script starts a cluster of
# its own (test/lib/cluster.sh, port BENCH_AUDIT_PORT, tenancy and pgaudit
# preloaded; pgaudit.log is set for the pgaudit role only, so the other
# variants pay only for its hooks).  It installs the Debian package
# postgresql-15-pgaudit when missing (and copies it into PG_CONFIG's
# installation when that is not the system one).
# Knobs: BENCH_SECONDS (4), BENCH_ROUNDS (3), BENCH_AUDIT_PORT (5488).
set -euo pipefail
cd "$(dirname "$0")/../.."

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
export PG_CONFIG
PATH="$("$PG_CONFIG" --bindir):$PATH"
export PATH
SECONDS_PER_RUN=${BENCH_SECONDS:-4}
ROUNDS=${BENCH_ROUNDS:-3}
DB=tenancy_bench_audit
ROLE=bench_audit
ROLE_PGAUDIT=bench_audit_pgaudit
ROWS=100000
RESULTS_DIR=test/bench/results
RESULTS=$RESULTS_DIR/audit.txt
WORKLOADS=(insert update batch)
CLIENT_COUNTS=(1 8)
VARIANTS=(none c plpgsql pgaudit)

# --- pgaudit ----------------------------------------------------------------
PKGLIB=$("$PG_CONFIG" --pkglibdir)
SHAREDIR=$("$PG_CONFIG" --sharedir)
if [ ! -f "$PKGLIB/pgaudit.so" ]; then
    if [ ! -f /usr/lib/postgresql/15/lib/pgaudit.so ]; then
        echo "bench: installing postgresql-15-pgaudit"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql-15-pgaudit >/dev/null ||
            { apt-get update -qq &&
              DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql-15-pgaudit >/dev/null; }
    fi
    if [ "$PKGLIB" != /usr/lib/postgresql/15/lib ]; then
        cp /usr/lib/postgresql/15/lib/pgaudit.so "$PKGLIB/"
        cp /usr/share/postgresql/15/extension/pgaudit* "$SHAREDIR/extension/"
    fi
fi

WORK=$(mktemp -d /tmp/tenancy-bench-audit.XXXXXX)
chmod 755 "$WORK"
CLUSTER_PORT=${BENCH_AUDIT_PORT:-5488}
TENANCY_PRELOAD=tenancy,pgaudit
. test/lib/cluster.sh
cluster_start >/dev/null
# cluster_start traps EXIT with cluster_stop; remove our files first.
trap 'rm -rf "$WORK"; cluster_stop' EXIT
# pgaudit logs to the server log; keep it out of the way of the figures.
psql -X -q -d postgres -c "ALTER SYSTEM SET log_min_messages = warning" \
    -c "ALTER SYSTEM SET pgaudit.log = 'none'" -c "SELECT pg_reload_conf()" >/dev/null

admin() { PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 "$@"; }

LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench: audit (clients=${CLIENT_COUNTS[*]} seconds=$SECONDS_PER_RUN rounds=$ROUNDS rows=$ROWS)"
admin -d postgres -c "CREATE DATABASE $DB" -c "CREATE ROLE $ROLE LOGIN" -c "CREATE ROLE $ROLE_PGAUDIT LOGIN"
admin -d "$DB" -o /dev/null <<SQL
CREATE EXTENSION tenancy;
CREATE EXTENSION pgaudit;
ALTER ROLE $ROLE_PGAUDIT SET pgaudit.log = 'write';
SELECT tenancy.create_tenant('bench', id => '00000000-0000-4000-8000-000000000001');
SELECT tenancy.grant_tenant('$ROLE', 'bench'), tenancy.grant_tenant('$ROLE_PGAUDIT', 'bench');
CREATE TABLE t_none (tenant_id uuid NOT NULL, id bigint NOT NULL, a int, b text, c numeric,
                     d timestamptz, PRIMARY KEY (tenant_id, id));
CREATE TABLE t_c (LIKE t_none INCLUDING ALL);
CREATE TABLE t_plpgsql (LIKE t_none INCLUDING ALL);
CREATE TABLE t_pgaudit (LIKE t_none INCLUDING ALL);
INSERT INTO t_none SELECT '00000000-0000-4000-8000-000000000001', i, i, 'row ' || i, i / 100.0, now()
  FROM generate_series(1, $ROWS) i;
INSERT INTO t_c SELECT * FROM t_none;
INSERT INTO t_plpgsql SELECT * FROM t_none;
INSERT INTO t_pgaudit SELECT * FROM t_none;
SELECT tenancy.register_table(t) FROM unnest('{t_none,t_c,t_plpgsql,t_pgaudit}'::regclass[]) t;
CREATE SEQUENCE ids START $((ROWS + 1));
GRANT USAGE ON SEQUENCE ids TO PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON t_none, t_c, t_plpgsql, t_pgaudit TO PUBLIC;

SELECT tenancy.enable_audit('t_c');

-- The common hand-written pattern.
CREATE TABLE plain_audit (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(),
                          table_name text NOT NULL, op text NOT NULL, db_user text NOT NULL,
                          old jsonb, new jsonb);
GRANT INSERT ON plain_audit TO PUBLIC;
GRANT USAGE ON SEQUENCE plain_audit_id_seq TO PUBLIC;
CREATE FUNCTION plain_audit_trigger() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
    INSERT INTO plain_audit (table_name, op, db_user, old, new)
    VALUES (TG_TABLE_NAME, TG_OP, current_user,
            CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,
            CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END);
    RETURN NULL;
END \$\$;
CREATE TRIGGER plain_audit AFTER INSERT OR UPDATE OR DELETE ON t_plpgsql
    FOR EACH ROW EXECUTE FUNCTION plain_audit_trigger();
-- No autovacuum in the middle of a run: it would land on one variant.
DO \$\$
DECLARE r regclass;
BEGIN
    FOR r IN SELECT c.oid::regclass FROM pg_class c
              WHERE c.relkind = 'r' AND (c.relname IN ('t_none', 't_c', 't_plpgsql', 't_pgaudit', 'plain_audit')
                    OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'tenancy.audit_log'::regclass)) LOOP
        EXECUTE format('ALTER TABLE %s SET (autovacuum_enabled = off)', r);
    END LOOP;
END
\$\$;
VACUUM ANALYZE;
SQL

for v in "${VARIANTS[@]}"; do
    cat >"$WORK/insert_$v.sql" <<SQL
INSERT INTO t_$v (id, a, b, c, d) VALUES (nextval('ids'), 1, 'hello world', 12.50, now());
SQL
    cat >"$WORK/update_$v.sql" <<SQL
\set id random(1, $ROWS)
UPDATE t_$v SET a = a + 1, b = 'changed ' || :id WHERE id = :id;
SQL
    cat >"$WORK/batch_$v.sql" <<SQL
INSERT INTO t_$v (id, a, b, c, d)
SELECT nextval('ids'), g, 'hello world', g / 100.0, now() FROM generate_series(1, 1000) g;
SQL
done

# run WORKLOAD VARIANT CLIENTS -> tps
run() {
    local w=$1 v=$2 c=$3 role=$ROLE
    [ "$v" = pgaudit ] && role=$ROLE_PGAUDIT
    PGOPTIONS="-c tenancy.tenant=bench" pgbench -n -M prepared -U "$role" -d "$DB" \
        -c "$c" -j "$(( c < 2 ? c : 2 ))" -T "$SECONDS_PER_RUN" -f "$WORK/${w}_$v.sql" 2>"$WORK/err" |
        sed -n 's/^tps = \([0-9.]*\) .*/\1/p' || { cat "$WORK/err" >&2; return 1; }
}

declare -A BEST
for r in $(seq "$ROUNDS"); do
    for w in "${WORKLOADS[@]}"; do
        for c in "${CLIENT_COUNTS[@]}"; do
            # rotate the order of the variants from round to round
            for k in "${!VARIANTS[@]}"; do
                v=${VARIANTS[$(( (k + r - 1) % ${#VARIANTS[@]} ))]}
                admin -d "$DB" -c "CHECKPOINT" >/dev/null
                tps=$(run "$w" "$v" "$c")
                [ -n "$tps" ] || { echo "bench: $w/$v/-c $c produced no figure" >&2; cat "$WORK/err" >&2; exit 1; }
                key="$w/$c/$v"
                if [ -z "${BEST[$key]:-}" ] || awk -v a="$tps" -v b="${BEST[$key]}" 'BEGIN{exit !(a>b)}'; then
                    BEST[$key]=$tps
                fi
            done
        done
    done
done

# The C trigger wrote one entry per row change it saw: a sanity check.
rows_c=$(admin -d "$DB" -Atc "SELECT (SELECT count(*) FROM t_c) - $ROWS")
ins_c=$(admin -d "$DB" -Atc "SELECT count(*) FROM tenancy.audit_log WHERE table_name = 'public.t_c' AND op = 'INSERT'")
if [ "$rows_c" != "$ins_c" ]; then
    echo "bench: the C trigger recorded $ins_c INSERTs for $rows_c rows inserted" >&2
    exit 1
fi
LOG_BYTES=$(as_pg du -sb "$CLUSTER_DIR/server.log" | cut -f1)

mkdir -p "$RESULTS_DIR"
{
    echo "audit benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load at start $LOAD_AT_START"
    echo "best tps of $ROUNDS rounds x ${SECONDS_PER_RUN}s; ratio = variant / none"
    printf '%-8s %3s %10s %10s %6s %10s %6s %10s %6s\n' workload c none c c/none plpgsql pl/none pgaudit pga/none
    for w in "${WORKLOADS[@]}"; do
        for c in "${CLIENT_COUNTS[@]}"; do
            n=${BEST[$w/$c/none]}
            printf '%-8s %3s %10.1f' "$w" "$c" "$n"
            for v in c plpgsql pgaudit; do
                x=${BEST[$w/$c/$v]}
                printf ' %10.1f %6.2f' "$x" "$(awk -v a="$x" -v b="$n" 'BEGIN{print a/b}')"
            done
            echo
        done
    done
    echo "C trigger entries checked: $ins_c INSERT entries for $rows_c rows"
    echo "server log after the run (pgaudit writes it): $LOG_BYTES bytes"
} | tee "$RESULTS"
