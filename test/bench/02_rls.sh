#!/usr/bin/env bash
# Benchmark: row-level security through tenancy.current_tenant() (issue #3,
# item 6).
#
# 100 tenants x 10,000 rows, the same rows in three tables:
#
#   plain  items_plain  no RLS; every query carries a hand-written
#                       WHERE tenant_id = $1 (the physical limit)
#   rls    items_rls    registered with tenancy.register_table(): FORCE RLS,
#                       policy tenant_id = tenancy.current_tenant()
#   guc    items_guc    the common hand-rolled policy
#                       tenant_id = current_setting('app.tenant_id')::uuid
#
# Queries (one per pgbench transaction):
#
#   point  SELECT name, amount ... WHERE id = :id               (1 row)
#   range  SELECT sum(amount) ... WHERE id BETWEEN :lo AND :lo + 99
#   count  SELECT count(*) ...                                  (whole tenant)
#   like   SELECT sum(amount) ... WHERE name LIKE 'item-042%'   (100 rows)
#
# each with -M prepared and -M simple, -c 1 and -c 8.  For plain, :tid is a
# pgbench variable (-D): a bound parameter $n under -M prepared, a quoted
# literal under -M simple.  The RLS tables get their tenant per connection
# (PGOPTIONS='-c tenancy.tenant=t42' or '-c app.tenant_id=<uuid>').  All
# clients of a run work in one tenant (t42).
#
# The like query is the known trap: under any RLS policy a predicate whose
# operator is not LEAKPROOF (textlike here) may not run before the policy,
# so on stock PostgreSQL it is no index condition any more.  It runs three
# ways: plain, rls with tenancy.leakproof_like = off (stock planning), and
# rls with tenancy's planner guard (tenancy.leakproof_like = on, the
# default), which routes constant patterns to leakproof wrappers.
#
# Variants of a cell run interleaved, each as its own pgbench; with
# BENCH_ROUNDS > 1 every cell runs that many times and the best tps counts.
# Goals: rls/plain >= 0.97 for point and range; rls (guard)/plain >= 0.80
# for like.  Figures, not assertions: the script fails only if something is
# broken.  Also timed: registering 100 fresh empty tables.
#
# Needs PGHOST/PGPORT/PGUSER of a superuser (run.sh sets them) and a server
# with tenancy installed.  Knobs: BENCH_SECONDS (8), BENCH_ROUNDS (2),
# BENCH_JOBS (2: pgbench threads, at most one per client).
set -euo pipefail
cd "$(dirname "$0")/../.."

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PATH="$("$PG_CONFIG" --bindir):$PATH"
export PATH

SECONDS_PER_RUN=${BENCH_SECONDS:-8}
ROUNDS=${BENCH_ROUNDS:-2}
JOBS=${BENCH_JOBS:-2}
DB=tenancy_bench_rls
ROLE=bench_rls
TENANTS=100
ROWS_PER_TENANT=10000
TENANT_N=42
REGISTER_TABLES=100
LIKE_PREFIX=item-042
RESULTS_DIR=test/bench/results
RESULTS=$RESULTS_DIR/rls.txt

QUERIES=(point range count)
MODES=(prepared simple)
CLIENT_COUNTS=(1 8)
VARIANTS=(plain rls guc)
LIKE_VARIANTS=(plain rls rlslp)

WORK=$(mktemp -d /tmp/tenancy-bench-rls.XXXXXX)
chmod 755 "$WORK"

admin() { PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 "$@"; }

cleanup() {
    local rc=$?
    admin -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" \
        -c "DROP ROLE IF EXISTS $ROLE" >/dev/null 2>&1 || true
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT

started_all=$(date +%s)
echo "bench: rls (tenants=$TENANTS rows/tenant=$ROWS_PER_TENANT clients=${CLIENT_COUNTS[*]} jobs<=$JOBS seconds=$SECONDS_PER_RUN rounds=$ROUNDS)"

# --- set-up -----------------------------------------------------------------

admin -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "DROP ROLE IF EXISTS $ROLE"
admin -d postgres -c "CREATE DATABASE $DB" -c "CREATE ROLE $ROLE LOGIN"

# Tenant n has slug 't<n>' and uuid 00000000-0000-4000-8000-00000000<1000+n>
# (as in 01_context.sh).
SLUG=t$TENANT_N
TID=$(printf '00000000-0000-4000-8000-%012d' $((1000 + TENANT_N)))

started=$(date +%s)
admin -d "$DB" -o /dev/null <<SQL
CREATE EXTENSION tenancy;
CREATE TABLE bench_tenants (
    n    int PRIMARY KEY,
    slug text NOT NULL UNIQUE,
    id   uuid NOT NULL UNIQUE
);
INSERT INTO bench_tenants
SELECT n, 't' || n,
       ('00000000-0000-4000-8000-' || lpad((1000 + n)::text, 12, '0'))::uuid
  FROM generate_series(1, $TENANTS) n;
SELECT count(tenancy.create_tenant(slug, NULL, 'basic', id)) FROM bench_tenants;
SELECT count(tenancy.grant_tenant('$ROLE', slug)) FROM bench_tenants;

-- Three tables, the same rows in the same physical order; indexes built
-- after the load.
CREATE TABLE items_plain (
    tenant_id uuid    NOT NULL,
    id        bigint  NOT NULL,
    name      text    NOT NULL,
    amount    numeric NOT NULL
);
INSERT INTO items_plain (tenant_id, id, name, amount)
SELECT t.id, i, 'item-' || lpad(i::text, 5, '0'), ((i * 7919 + t.n) % 100000) / 100.0
  FROM bench_tenants t, generate_series(1, $ROWS_PER_TENANT) i
 ORDER BY t.n, i;
CREATE TABLE items_rls (LIKE items_plain INCLUDING ALL);
CREATE TABLE items_guc (LIKE items_plain INCLUDING ALL);
INSERT INTO items_rls SELECT * FROM items_plain ORDER BY tenant_id, id;
INSERT INTO items_guc SELECT * FROM items_plain ORDER BY tenant_id, id;
ALTER TABLE items_plain ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE items_rls   ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE items_guc   ADD PRIMARY KEY (tenant_id, id);
CREATE INDEX items_plain_name ON items_plain (tenant_id, name text_pattern_ops);
CREATE INDEX items_rls_name   ON items_rls   (tenant_id, name text_pattern_ops);
CREATE INDEX items_guc_name   ON items_guc   (tenant_id, name text_pattern_ops);

-- rls: the extension's policy (tenant_id = tenancy.current_tenant()).
SELECT tenancy.register_table('items_rls');
-- guc: the usual hand-written policy on an unvalidated placeholder.
ALTER TABLE items_guc ENABLE ROW LEVEL SECURITY;
ALTER TABLE items_guc FORCE ROW LEVEL SECURITY;
CREATE POLICY guc_isolation ON items_guc
    USING (tenant_id = current_setting('app.tenant_id')::uuid)
    WITH CHECK (tenant_id = current_setting('app.tenant_id')::uuid);

GRANT SELECT ON items_plain, items_rls, items_guc TO $ROLE;
VACUUM (ANALYZE) items_plain, items_rls, items_guc;
SQL
echo "bench: loaded 3 x $(admin -d "$DB" -Atc "SELECT count(*) FROM items_plain") rows in $(( $(date +%s) - started ))s"

# Warm shared buffers so the first variant does not pay for cold reads.
if admin -d postgres -Atc "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_prewarm'" | grep -q 1; then
    admin -d "$DB" -Atc "CREATE EXTENSION pg_prewarm" \
        -c "SELECT sum(pg_prewarm(c.oid)) FROM pg_class c
             WHERE c.relname ~ '^items_(plain|rls|guc)' AND c.relkind IN ('r', 'i')" >/dev/null
else
    admin -d "$DB" -Atc "SELECT count(*) FROM items_plain" -c "SELECT count(*) FROM items_rls" \
        -c "SELECT count(*) FROM items_guc" >/dev/null
fi

# The role must be subject to RLS: not superuser, no BYPASSRLS, not an
# administrator, not the owner.
check=$(admin -d "$DB" -Atc "SELECT r.rolsuper OR r.rolbypassrls OR pg_has_role(r.oid, 'tenancy_admin', 'USAGE')
                               FROM pg_roles r WHERE r.rolname = '$ROLE'")
if [ "$check" != f ]; then
    echo "bench: $ROLE must be neither superuser, BYPASSRLS nor tenancy_admin" >&2
    exit 1
fi

# --- queries, checks and plans ------------------------------------------------

# The SQL of query $1 for variant $2, with :tid (plain), :id and :lo.
query_sql() {
    local q=$1 v=$2 t pred=""
    case $v in
    plain)     t=items_plain; pred="tenant_id = :tid AND " ;;
    rls|rlslp) t=items_rls ;;
    guc)       t=items_guc ;;
    esac
    case $q in
    point) printf '%s\n' "SELECT name, amount FROM $t WHERE ${pred}id = :id;" ;;
    range) printf '%s\n' "SELECT sum(amount) FROM $t WHERE ${pred}id BETWEEN :lo AND :lo + 99;" ;;
    count) printf '%s\n' "SELECT count(*) FROM $t${pred:+ WHERE ${pred% AND }};" ;;
    like)  printf '%s\n' "SELECT sum(amount) FROM $t WHERE ${pred}name LIKE '$LIKE_PREFIX%';" ;;
    esac
}
# Connection options and pgbench variables of variant $1 under protocol $2.
PGOPTS_OF() {
    case $1 in
    plain)     echo "" ;;
    rls|rlslp) echo "-c tenancy.tenant=$SLUG" ;;
    guc)       echo "-c app.tenant_id=$TID" ;;
    esac
}
tid_value() { if [ "$1" = simple ]; then echo "'$TID'"; else echo "$TID"; fi; }

for q in "${QUERIES[@]}" like; do
    for v in plain rls guc; do
        {
            case $q in
            point) echo "\\set id random(1, $ROWS_PER_TENANT)" ;;
            range) echo "\\set lo random(1, $((ROWS_PER_TENANT - 99)))" ;;
            esac
            query_sql "$q" "$v"
        } > "$WORK/$q.$v.sql"
    done
    cp "$WORK/$q.rls.sql" "$WORK/$q.rlslp.sql"
done

# As the role, with the tenant set as pgbench sets it: one query's result
# (id 4242, lo 4200).
as_role() { # variant sql
    PGOPTIONS="$(PGOPTS_OF "$1")" psql -X -q -At -v ON_ERROR_STOP=1 -U "$ROLE" -d "$DB" -c "$2"
}
concrete() { # query variant
    local s
    s=$(query_sql "$1" "$2")
    s=${s//:tid/\'$TID\'}; s=${s//:id/4242}; s=${s//:lo/4200}
    printf '%s' "$s"
}

LEAKPROOF=unset
# on: tenancy's planner guard (the default); off: stock PostgreSQL behaviour.
set_leakproof() { # on|off
    [ "$LEAKPROOF" = "$1" ] && return 0
    admin -d "$DB" -c "ALTER ROLE $ROLE SET tenancy.leakproof_like = $1"
    if [ "$(psql -X -q -At -U "$ROLE" -d "$DB" -c "SHOW tenancy.leakproof_like")" != "$1" ]; then
        echo "bench: tenancy.leakproof_like = $1 did not take effect" >&2
        exit 1
    fi
    LEAKPROOF=$1
}

# Isolation is in force: the role sees one tenant's rows through both
# policies, and nothing with no tenant set.
for v in rls guc; do
    n=$(as_role "$v" "SELECT count(*) FROM items_$v")
    if [ "$n" != "$ROWS_PER_TENANT" ]; then
        echo "bench: $ROLE sees $n rows of items_$v in $SLUG, expected $ROWS_PER_TENANT" >&2
        exit 1
    fi
done
if psql -X -q -At -U "$ROLE" -d "$DB" -c "SELECT count(*) FROM items_rls" >/dev/null 2>&1; then
    echo "bench: $ROLE read items_rls with no tenant set" >&2
    exit 1
fi
# Every variant of every query gives the same answer.
for q in "${QUERIES[@]}" like; do
    ref=$(as_role plain "$(concrete "$q" plain)")
    [ -n "$ref" ] || { echo "bench: query $q returns nothing" >&2; exit 1; }
    for v in rls guc; do
        got=$(as_role "$v" "$(concrete "$q" "$v")")
        if [ "$got" != "$ref" ]; then
            echo "bench: query $q on items_$v gives '$got', items_plain gives '$ref'" >&2
            exit 1
        fi
    done
done
like_rows=$(as_role plain "SELECT count(*) FROM items_plain WHERE tenant_id = '$TID' AND name LIKE '$LIKE_PREFIX%'")
echo "bench: every variant gives the same results; isolation in force (like matches $like_rows rows)"

# Plans, as the role with its tenant set.
explain() { # variant query [analyze]
    local opts="COSTS OFF"
    [ -n "${3:-}" ] && opts="ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF"
    as_role "$1" "EXPLAIN ($opts) $(concrete "$2" "$1")" | sed 's/^/    /'
}
# How often one query calls tenancy.current_tenant(), planning included:
# a superuser session with track_functions = all acts as the role in t42.
calls_per_query() { # query simple|prepared
    local sql
    sql=$(concrete "$1" rls)
    {
        echo "SET track_functions = 'all'; SET ROLE $ROLE; SET tenancy.tenant = '$SLUG';"
        echo "BEGIN;"
        if [ "$2" = prepared ]; then
            echo "PREPARE q AS ${sql%;};"
            for _ in $(seq 100); do echo "EXECUTE q;"; done
        else
            for _ in $(seq 100); do echo "$sql"; done
        fi
        echo "\\o"
        echo "SELECT round(pg_stat_get_xact_function_calls('tenancy.current_tenant()'::regprocedure) / 100.0, 2);"
        echo "COMMIT;"
    } | admin -d "$DB" -At -o /dev/null
}

PLANS=$WORK/plans.txt
{
    echo "plans (EXPLAIN (COSTS OFF) as $ROLE, tenant $SLUG; plain with the uuid literal):"
    for q in "${QUERIES[@]}"; do
        for v in "${VARIANTS[@]}"; do
            echo "  $q, $v: $(concrete "$q" "$v")"
            explain "$v" "$q"
        done
    done
    echo
    echo "generic plans of the point query, as -M prepared ends up with (plan_cache_mode = force_generic_plan):"
    for v in "${VARIANTS[@]}"; do
        if [ "$v" = plain ]; then
            prep="PREPARE q(uuid, bigint) AS SELECT name, amount FROM items_plain WHERE tenant_id = \$1 AND id = \$2"
            exe="EXECUTE q('$TID', 4242)"
        else
            prep="PREPARE q(bigint) AS SELECT name, amount FROM items_$v WHERE id = \$1"
            exe="EXECUTE q(4242)"
        fi
        echo "  point, $v: ${prep#PREPARE q* AS }"
        as_role "$v" "SET plan_cache_mode = force_generic_plan; $prep; EXPLAIN (COSTS OFF) $exe" | sed 's/^/    /'
    done
    echo
    echo "the like query (EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) as $ROLE, tenant $SLUG):"
    echo "  plain: $(concrete like plain)"
    explain plain like analyze
    for state in off on; do
        set_leakproof "$state"
        for v in rls guc; do
            echo "  $v, $( [ "$state" = on ] && echo "tenancy.leakproof_like = on (the default: planner guard)" || echo "tenancy.leakproof_like = off (stock PostgreSQL)"): $(concrete like "$v")"
            explain "$v" like analyze
        done
    done
    set_leakproof off
    echo
    echo "calls of tenancy.current_tenant() per query (track_functions = all, 100 executions in one transaction):"
    for q in "${QUERIES[@]}" like; do
        printf '  %-6s simple (planned each time): %s   PREPARE + EXECUTE (planned once): %s\n' "$q" \
            "$(calls_per_query "$q" simple)" "$(calls_per_query "$q" prepared)"
    done
} > "$PLANS"
cat "$PLANS"

# --- register_table timing ----------------------------------------------------

# 100 fresh empty tables of each kind, each register_table() its own
# transaction; per-table times from clock_timestamp() in the server.
admin -d "$DB" -o /dev/null <<SQL
CREATE SCHEMA reg;
CREATE TABLE reg_times (kind text, n int, ms double precision);
DO \$\$
BEGIN
    FOR n IN 1..$REGISTER_TABLES LOOP
        EXECUTE format('CREATE TABLE reg.with_col_%s (tenant_id uuid NOT NULL, id bigint, note text, PRIMARY KEY (tenant_id, id))', n);
        EXECUTE format('CREATE TABLE reg.no_col_%s (id bigint PRIMARY KEY, note text)', n);
    END LOOP;
END
\$\$;
SQL
declare -A REG_WALL
for kind in with_col no_col; do
    t0=$(date +%s%N)
    admin -d "$DB" -o /dev/null <<SQL
DO \$\$
DECLARE
    t0 timestamptz;
BEGIN
    FOR n IN 1..$REGISTER_TABLES LOOP
        t0 := clock_timestamp();
        PERFORM tenancy.register_table(format('reg.${kind}_%s', n)::regclass);
        INSERT INTO reg_times VALUES ('$kind', n, extract(epoch FROM clock_timestamp() - t0) * 1000);
        COMMIT;
    END LOOP;
END
\$\$;
SQL
    REG_WALL[$kind]=$(( ($(date +%s%N) - t0) / 1000000 ))
done
registered=$(admin -d "$DB" -Atc "SELECT count(*) FROM tenancy.tables t JOIN pg_class c ON c.oid = t.relid
                                   JOIN pg_namespace s ON s.oid = c.relnamespace
                                  WHERE s.nspname = 'reg' AND c.relforcerowsecurity")
if [ "$registered" != $((2 * REGISTER_TABLES)) ]; then
    echo "bench: only $registered of $((2 * REGISTER_TABLES)) tables registered" >&2
    exit 1
fi
REG_STATS=$(admin -d "$DB" -At -F ' ' -c "
    SELECT kind, round(sum(ms)::numeric), round(avg(ms)::numeric, 1),
           round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ms))::numeric, 1),
           round(max(ms)::numeric, 1)
      FROM reg_times GROUP BY kind ORDER BY kind DESC")
echo "bench: registered $((2 * REGISTER_TABLES)) tables"

# --- runs ---------------------------------------------------------------------

declare -A BEST RUNS
run_one() { # query variant mode clients round
    local q=$1 v=$2 mode=$3 c=$4 round=$5 j tps
    local key=$q/$mode/$c/$v log=$WORK/$q.$v.$mode.$c.$round.log
    j=$(( c < JOBS ? c : JOBS ))
    if [ "$q" = like ]; then
        if [ "$v" = rlslp ]; then set_leakproof on; else set_leakproof off; fi
    fi
    if ! PGOPTIONS="$(PGOPTS_OF "$v")" pgbench -n -M "$mode" -c "$c" -j "$j" -T "$SECONDS_PER_RUN" \
            -U "$ROLE" -d "$DB" -D "tid=$(tid_value "$mode")" -f "$WORK/$q.$v.sql" >"$log" 2>&1; then
        echo "bench: pgbench failed for $key:" >&2
        tail -n 30 "$log" >&2
        exit 1
    fi
    if grep -qiE 'warning|error' "$log"; then
        echo "bench: $key logged warnings or errors:" >&2
        grep -iE 'warning|error' "$log" | sort | uniq -c | head >&2
        exit 1
    fi
    tps=$(awk '/^tps = / { print $3; exit }' "$log")
    [ -n "$tps" ] || { echo "bench: no tps for $key" >&2; cat "$log" >&2; exit 1; }
    RUNS[$key]="${RUNS[$key]:-}${RUNS[$key]:+/}$(printf '%.0f' "$tps")"
    if [ -z "${BEST[$key]:-}" ] || awk -v a="$tps" -v b="${BEST[$key]}" 'BEGIN { exit !(a > b) }'; then
        BEST[$key]=$tps
    fi
    printf 'bench: round %d  %-5s %-8s -c %d  %-5s %10.0f tps\n' "$round" "$q" "$mode" "$c" "$v" "$tps"
}

for round in $(seq 1 "$ROUNDS"); do
    for q in "${QUERIES[@]}" like; do
        for mode in "${MODES[@]}"; do
            for c in "${CLIENT_COUNTS[@]}"; do
                if [ "$q" = like ]; then vs=("${LIKE_VARIANTS[@]}"); else vs=("${VARIANTS[@]}"); fi
                # Alternate the order between rounds.
                if (( round % 2 == 0 )); then
                    for (( i = ${#vs[@]} - 1; i >= 0; i-- )); do run_one "$q" "${vs[$i]}" "$mode" "$c" "$round"; done
                else
                    for v in "${vs[@]}"; do run_one "$q" "$v" "$mode" "$c" "$round"; done
                fi
            done
        done
    done
done
set_leakproof off

# --- report -------------------------------------------------------------------

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
verdict() { awk -v r="$1" -v g="$2" 'BEGIN { print (r >= g ? "met" : "NOT met") }'; }

mkdir -p "$RESULTS_DIR"
{
    echo "tenancy benchmark: row-level security (issue #3)"
    echo "date:     $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "commit:   $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src sql 2>/dev/null || echo ' (src/sql modified)')"
    echo "server:   $(psql -X -Atc 'SHOW server_version' -d postgres), shared_buffers $(psql -X -Atc 'SHOW shared_buffers' -d postgres)"
    echo "machine:  $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "pgbench:  -n -T $SECONDS_PER_RUN -c C -j min(C,$JOBS), role $ROLE (member of all $TENANTS tenants; not superuser, no BYPASSRLS), all clients in tenant $SLUG"
    echo "data:     $TENANTS tenants x $ROWS_PER_TENANT rows in each of items_plain (no RLS), items_rls (tenancy.register_table),"
    echo "          items_guc (USING tenant_id = current_setting('app.tenant_id')::uuid); (tenant_id uuid, id bigint, name text,"
    echo "          amount numeric), PRIMARY KEY (tenant_id, id), INDEX (tenant_id, name text_pattern_ops)"
    echo "method:   variants of a cell interleaved, best of $ROUNDS round(s); tps with one query per transaction"
    echo "queries:  point  $(query_sql point rls)"
    echo "          range  $(query_sql range rls)"
    echo "          count  $(query_sql count rls)"
    echo "          like   $(query_sql like rls)   ($like_rows rows)"
    echo "          plain adds 'tenant_id = :tid AND' (-M prepared: a bound parameter; -M simple: a literal)"
    echo
    printf '%-6s %-8s %3s %9s %9s %9s %9s %-18s %9s\n' \
        query protocol -c "plain" "rls" "guc" "rls/plain" "goal" "guc/plain"
    for q in "${QUERIES[@]}"; do
        for mode in "${MODES[@]}"; do
            for c in "${CLIENT_COUNTS[@]}"; do
                p=${BEST[$q/$mode/$c/plain]}; r=${BEST[$q/$mode/$c/rls]}; g=${BEST[$q/$mode/$c/guc]}
                rr=$(ratio "$r" "$p")
                if [ "$q" = count ]; then goal="(no goal)"; else goal=">= 0.97 $(verdict "$rr" 0.97)"; fi
                printf '%-6s %-8s %3d %9.0f %9.0f %9.0f %9s %-18s %9s\n' \
                    "$q" "$mode" "$c" "$p" "$r" "$g" "$rr" "$goal" "$(ratio "$g" "$p")"
            done
        done
    done
    echo
    echo "like: name LIKE '$LIKE_PREFIX%' ($like_rows rows); rls = stock planning (tenancy.leakproof_like = off),"
    echo "      rls+lp = tenancy's planner guard (tenancy.leakproof_like = on, the default)"
    printf '%-6s %-8s %3s %9s %9s %9s %9s %12s %-18s\n' \
        query protocol -c "plain" "rls" "rls+lp" "rls/plain" "rls+lp/plain" "goal"
    for mode in "${MODES[@]}"; do
        for c in "${CLIENT_COUNTS[@]}"; do
            p=${BEST[like/$mode/$c/plain]}; r=${BEST[like/$mode/$c/rls]}; l=${BEST[like/$mode/$c/rlslp]}
            rl=$(ratio "$l" "$p")
            printf '%-6s %-8s %3d %9.0f %9.0f %9.0f %9s %12s %-18s\n' \
                like "$mode" "$c" "$p" "$r" "$l" "$(ratio "$r" "$p")" "$rl" ">= 0.80 $(verdict "$rl" 0.80)"
        done
    done
    if (( ROUNDS > 1 )); then
        echo
        echo "every run (tps, round 1/round 2/...):"
        for q in "${QUERIES[@]}" like; do
            for mode in "${MODES[@]}"; do
                for c in "${CLIENT_COUNTS[@]}"; do
                    if [ "$q" = like ]; then vs=("${LIKE_VARIANTS[@]}"); else vs=("${VARIANTS[@]}"); fi
                    line=$(printf '%-6s %-8s -c %-2d' "$q" "$mode" "$c")
                    for v in "${vs[@]}"; do line+=$(printf '  %s %s' "$v" "${RUNS[$q/$mode/$c/$v]}"); done
                    echo "  $line"
                done
            done
        done
    fi
    echo
    echo "register_table on $REGISTER_TABLES fresh empty tables, each call its own transaction:"
    while read -r kind total avg med max; do
        case $kind in
        with_col) label="with tenant_id uuid NOT NULL, PRIMARY KEY (tenant_id, id)" ;;
        no_col)   label="without tenant column (register adds column, FK, index)" ;;
        esac
        printf '  %-58s %6s ms in all (%s ms wall), %s ms/table (median %s, max %s)\n' \
            "$label" "$total" "${REG_WALL[$kind]}" "$avg" "$med" "$max"
    done <<< "$REG_STATS"
    echo
    cat "$PLANS"
} | tee "$RESULTS"
echo "bench: results saved to $RESULTS ($(( $(date +%s) - started_all ))s in all)"
