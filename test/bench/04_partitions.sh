#!/usr/bin/env bash
# Benchmark: partitions per tenant (issue #5, items 5 and 6).
#
# Three tables declared PARTITION BY LIST (tenant_id) are put under
# tenancy.partition_table() while there are no tenants yet (list mode, no
# default partition); then tenants are created one by one with
# tenancy.create_tenant(), each call its own transaction (autocommit, from
# one psql session, timed by psql's \timing: round trip and commit
# included), so each tenant gets its partition in all three tables.
#
# Item 6, create_tenant at scale: the time of every create_tenant from 0 to
# the largest scale, as median / p90 per window of 1,000 tenants, and the
# median of the last 100.  Then, at the largest scale, the other lever:
# tenancy.premake_partitions(100) makes partitions ahead for spare ids, and
# 100 create_tenant calls without an id take them (rename only).  At each
# scale the pieces are timed too (each in a transaction that is rolled
# back): create_tenant as a whole, the three CREATE TABLE ... PARTITION OF
# alone (the event trigger kept out through the extension's own flag,
# tenancy._internal_ddl(true)), the same with the event
# trigger, and the pieces of the trigger on an existing partition
# (_registered_root, _unprotected, _protect).  With BENCH_PERF=1 (the
# default when perf is there and we are root) a perf profile of 20
# create_tenant calls at the largest scale is summarised.
#
# Item 5, planning at scale: when the tenant count reaches each of
# BENCH_SCALES, the queries below run against the parent `items` (1,000
# rows in each of the queried tenants t00001 and t00002, the other
# partitions empty; PRIMARY KEY (tenant_id, id)):
#
#   point  SELECT * FROM items WHERE id = :id
#   range  SELECT count(*), sum(v) FROM items WHERE id BETWEEN :a AND :a + 99
#
# in three variants:
#
#   on       role bench_part (member of the queried tenants; not superuser,
#            no BYPASSRLS, not tenancy_admin), RLS applies, tenant set per
#            connection (PGOPTIONS='-c tenancy.tenant=t00001'), planner
#            folding on (tenancy.fold_current_tenant = on, the default)
#   off      the same with tenancy.fold_current_tenant = off: stock
#            PostgreSQL planning of a STABLE current_tenant(), pruning at
#            executor start-up only
#   literal  role bench_part_lit (BYPASSRLS, no tenant context), the tenant
#            as a literal in the query text:
#            ... WHERE tenant_id = '<uuid>' AND id = :id
#            plan-time pruning without RLS: the physical limit
#
# with pgbench -M simple and -M prepared, -c 1 and -c 2 (two pgbench
# processes of one client each, in tenants t00001 and t00002: pgbench
# cannot give its clients different connection options).  Latency is the
# mean per transaction from pgbench's transaction log, leaving out each
# session's warm-up (its 1st transaction, which loads the partitions into the
# relation cache; with -M prepared its first 6, the 6th building the generic
# plan; both are reported on their own); best of BENCH_ROUNDS.
# Goal (issue): at 10,000 partitions, on within 1.5x of literal on both
# protocols (literal/on >= 0.67).  Also reported: planning time alone
# (EXPLAIN (SUMMARY ON), median of 6 in a warm session, and the first of a
# fresh session), and the time of the executions of a prepared statement
# (PREPARE + EXECUTE from psql), the 6th being where the generic plan is
# built.  A check first: all variants give the same answers, and a plan
# cached in one tenant serves the other tenant's rows after a switch.
#
# 10,000 partitions need max_locks_per_transaction above its default (a
# query planned over all partitions locks every partition and its index):
# when the largest scale is over 1,000 and the setting is below 1024, the
# script sets it with ALTER SYSTEM, restarts the server (pg_ctl, as the
# postgres OS user when root) and restores it the same way at exit.
#
# Figures, not assertions: the script fails only if something is broken.
# Needs PGHOST/PGPORT/PGUSER of a superuser (run.sh sets them) on this
# machine.  Knobs: BENCH_SCALES ("10 1000 10000"), BENCH_SECONDS (2),
# BENCH_ROUNDS (2), BENCH_CLIENTS ("1 2"), BENCH_PERF (1 if perf exists),
# BENCH_SPARES (100: partitions made ahead at the largest scale, 0 = skip),
# BENCH_VARIANTS ("on off literal"), BENCH_RESULTS (the results file).
set -euo pipefail
cd "$(dirname "$0")/../.."

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PGBIN=$("$PG_CONFIG" --bindir)
PATH="$PGBIN:$PATH"
export PATH

read -r -a SCALES <<< "${BENCH_SCALES:-10 1000 10000}"
SECONDS_PER_RUN=${BENCH_SECONDS:-2}
ROUNDS=${BENCH_ROUNDS:-2}
read -r -a CLIENT_COUNTS <<< "${BENCH_CLIENTS:-1 2}"
if [ -z "${BENCH_PERF:-}" ]; then
    if command -v perf >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then BENCH_PERF=1; else BENCH_PERF=0; fi
fi
DB=tenancy_bench_part
ROLE=bench_part
LIT=bench_part_lit
ROWS=1000          # rows in each queried tenant
PIECE_REPS=5
RESULTS_DIR=test/bench/results
RESULTS=${BENCH_RESULTS:-$RESULTS_DIR/partitions.txt}
TABLES=(items orders events)
QUERIES=(point range)
MODES=(simple prepared)
read -r -a VARIANTS <<< "${BENCH_VARIANTS:-on off literal}"

mapfile -t SCALES < <(printf '%s\n' "${SCALES[@]}" | sort -n -u)
MAX_SCALE=${SCALES[-1]}
if (( SCALES[0] < 2 )); then echo "bench: scales must be >= 2" >&2; exit 2; fi

slug_of() { printf 't%05d' "$1"; }
uuid_of() { printf '00000000-0000-4000-8000-%012d' "$1"; }
Q_SLUG=("$(slug_of 1)" "$(slug_of 2)")
Q_UUID=("$(uuid_of 1)" "$(uuid_of 2)")

WORK=$(mktemp -d /tmp/tenancy-bench-part.XXXXXX)
chmod 755 "$WORK"

admin() { PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 "$@"; }
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

LOCKS_CHANGED=0
DATADIR=
restart_server() {
    local log
    log="$(dirname "$DATADIR")/server.log"
    [ -w "$(dirname "$DATADIR")" ] || [ "$(id -u)" -eq 0 ] || log=/dev/null
    as_pg "$PGBIN/pg_ctl" -D "$DATADIR" -m fast -w -t 120 -l "$log" restart >/dev/null
}

cleanup() {
    local rc=$?
    admin -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" \
        -c "DROP ROLE IF EXISTS $ROLE" -c "DROP ROLE IF EXISTS $LIT" >/dev/null 2>&1 || true
    if (( LOCKS_CHANGED )); then
        admin -d postgres -c "ALTER SYSTEM RESET max_locks_per_transaction" >/dev/null 2>&1 &&
            restart_server >/dev/null 2>&1 &&
            echo "bench: max_locks_per_transaction restored to $(psql -X -Atc 'SHOW max_locks_per_transaction' -d postgres)"
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) { print "-"; exit } m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.3f\n", m }'; }
pct() { # p: the p-th percentile (nearest rank)
    sort -g | awk -v p="$1" '{ a[NR] = $1 } END { if (NR == 0) { print "-"; exit } i = int(NR * p / 100 + 0.999999); if (i < 1) i = 1; printf "%.3f\n", a[i] }'
}
# Times of the statements after each "@tag" line of psql \timing output:
# prints "tag ms" lines.
tagged_times() { awk '/^@/ { tag = substr($1, 2); next } /^Time: / { if (tag != "") { print tag, $2; tag = "" } }'; }

started_all=$(date +%s)
LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench: partitions (scales=${SCALES[*]} tables=${#TABLES[@]} clients=${CLIENT_COUNTS[*]} seconds=$SECONDS_PER_RUN rounds=$ROUNDS)"

# --- server settings ------------------------------------------------------------

LOCKS_BEFORE=$(psql -X -Atc "SHOW max_locks_per_transaction" -d postgres)
if (( MAX_SCALE > 1000 && LOCKS_BEFORE < 1024 )); then
    DATADIR=$(psql -X -Atc "SHOW data_directory" -d postgres)
    admin -d postgres -c "ALTER SYSTEM SET max_locks_per_transaction = 1024"
    LOCKS_CHANGED=1
    restart_server
    echo "bench: max_locks_per_transaction $LOCKS_BEFORE -> $(psql -X -Atc 'SHOW max_locks_per_transaction' -d postgres) (server restarted)"
fi
LOCKS_USED=$(psql -X -Atc "SHOW max_locks_per_transaction" -d postgres)

# --- set-up ---------------------------------------------------------------------

admin -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" \
    -c "DROP ROLE IF EXISTS $ROLE" -c "DROP ROLE IF EXISTS $LIT"
admin -d postgres -c "CREATE DATABASE $DB" -c "CREATE ROLE $ROLE LOGIN" -c "CREATE ROLE $LIT LOGIN BYPASSRLS"
admin -d "$DB" -o /dev/null <<SQL
CREATE EXTENSION tenancy;
CREATE TABLE items  (tenant_id uuid NOT NULL, id bigint NOT NULL, v bigint NOT NULL,
                     PRIMARY KEY (tenant_id, id)) PARTITION BY LIST (tenant_id);
CREATE TABLE orders (tenant_id uuid NOT NULL, id bigint NOT NULL, total numeric, placed date,
                     PRIMARY KEY (tenant_id, id)) PARTITION BY LIST (tenant_id);
CREATE TABLE events (tenant_id uuid NOT NULL, id bigint NOT NULL, kind int, at timestamptz,
                     PRIMARY KEY (tenant_id, id)) PARTITION BY LIST (tenant_id);
SELECT tenancy.partition_table('items'), tenancy.partition_table('orders'), tenancy.partition_table('events');
GRANT SELECT ON items TO $ROLE, $LIT;
SQL

# --- create_tenant: from 0 to the largest scale, one transaction each -----------

CREATED=0
CT_TIMES=$WORK/create_tenant.times     # "n ms"
: > "$CT_TIMES"
create_up_to() { # n
    local from=$((CREATED + 1)) to=$1 t0
    (( to >= from )) || return 0
    t0=$(date +%s)
    seq "$from" "$to" | awk '{ printf "SELECT tenancy.create_tenant(%s, NULL, %s, %s);\n",
                                "'"'"'t" sprintf("%05d", $1) "'"'"'", "'"'"'basic'"'"'",
                                "'"'"'00000000-0000-4000-8000-" sprintf("%012d", $1) "'"'"'" }' > "$WORK/create.sql"
    { echo '\timing on'; cat "$WORK/create.sql"; } |
        admin -d "$DB" -o /dev/null | awk '/^Time: / { print $2 }' > "$WORK/create.out"
    if [ "$(wc -l < "$WORK/create.out")" -ne $((to - from + 1)) ]; then
        echo "bench: expected $((to - from + 1)) timings from create_tenant, got $(wc -l < "$WORK/create.out")" >&2
        exit 1
    fi
    awk -v first="$from" '{ print first + NR - 1, $1 }' "$WORK/create.out" >> "$CT_TIMES"
    CREATED=$to
    echo "bench: created tenants $from..$to in $(( $(date +%s) - t0 ))s (median of the last 100: $(tail -n 100 "$CT_TIMES" | cut -d' ' -f2 | median) ms)"
}

# Keeps the event trigger out of the DDL that follows in the transaction,
# the way the extension keeps it out of its own DDL.
QUIET_TRIGGER="SELECT tenancy._internal_ddl(true);"

# The pieces of create_tenant at the current scale (rolled back).
declare -A PIECE
time_pieces() { # scale
    local s=$1 r t part
    part=$(admin -d "$DB" -Atc "SELECT tenancy._tenant_partition('items', '${Q_UUID[0]}')")
    {
        echo '\timing on'
        for r in $(seq 1 "$PIECE_REPS"); do
            local probe
            probe=$(printf 'ffffffff-0000-4000-8000-%012d' "$r")
            echo "BEGIN;"
            echo "\\echo @create_tenant"
            echo "SELECT tenancy.create_tenant('probe-$r');"
            echo "ROLLBACK;"
            echo "BEGIN;"
            echo "$QUIET_TRIGGER"
            for t in "${TABLES[@]}"; do
                echo "\\echo @ddl_$t"
                echo "CREATE TABLE probe_$t PARTITION OF $t FOR VALUES IN ('$probe');"
            done
            echo "ROLLBACK;"
            echo "BEGIN;"
            for t in "${TABLES[@]}"; do
                echo "\\echo @ddltrig_$t"
                echo "CREATE TABLE probe_$t PARTITION OF $t FOR VALUES IN ('$probe');"
            done
            echo "ROLLBACK;"
            echo "BEGIN;"
            echo "\\echo @registered_root"
            echo "SELECT tenancy._registered_root('$part');"
            echo "\\echo @unprotected"
            echo "SELECT count(*) FROM tenancy._unprotected('$part', 'tenant_id');"
            echo "\\echo @protect"
            echo "SELECT tenancy._protect('$part', 'tenant_id');"
            echo "\\echo @partition_name"
            echo "SELECT tenancy._partition_name('items', 'probe');"
            echo "ROLLBACK;"
        done
    } > "$WORK/pieces.sql"
    admin -d "$DB" -o /dev/null -f "$WORK/pieces.sql" | tagged_times > "$WORK/pieces.$s.out"
    for t in create_tenant ddl ddltrig registered_root unprotected protect partition_name; do
        case $t in
        ddl|ddltrig)
            PIECE[$s/$t]=$(awk -v p="$t" '$1 ~ "^" p "_" { if ($1 == p "_items") r++; x[r] += $2 }
                                          END { for (i = 1; i <= r; i++) print x[i] }' "$WORK/pieces.$s.out" | median) ;;
        *)
            PIECE[$s/$t]=$(awk -v p="$t" '$1 == p { print $2 }' "$WORK/pieces.$s.out" | median) ;;
        esac
    done
}

# --- queries --------------------------------------------------------------------

query_sql() { # query variant client(0|1)
    local pred=""
    [ "$2" = literal ] && pred="tenant_id = '${Q_UUID[$3]}' AND "
    case $1 in
    point) echo "SELECT * FROM items WHERE ${pred}id = :id;" ;;
    range) echo "SELECT count(*), sum(v) FROM items WHERE ${pred}id BETWEEN :a AND :a + 99;" ;;
    esac
}
concrete() { local s; s=$(query_sql "$@"); s=${s//:id/420}; s=${s//:a/400}; printf '%s' "${s%;}"; }
user_of() { if [ "$1" = literal ]; then echo "$LIT"; else echo "$ROLE"; fi; }
opts_of() { # variant client
    case $1 in
    on)      echo "-c tenancy.tenant=${Q_SLUG[$2]}" ;;
    off)     echo "-c tenancy.tenant=${Q_SLUG[$2]} -c tenancy.fold_current_tenant=off" ;;
    literal) echo "" ;;
    esac
}
as_variant() { # variant client psql-args...
    local v=$1 c=$2; shift 2
    PGOPTIONS="$(opts_of "$v" "$c")" psql -X -q -At -v ON_ERROR_STOP=1 -U "$(user_of "$v")" -d "$DB" "$@"
}

for q in "${QUERIES[@]}"; do
    for v in "${VARIANTS[@]}"; do
        for c in 0 1; do
            {
                case $q in
                point) echo "\\set id random(1, $ROWS)" ;;
                range) echo "\\set a random(1, $((ROWS - 99)))" ;;
                esac
                query_sql "$q" "$v" "$c"
            } > "$WORK/$q.$v.$c.sql"
        done
    done
done

loaded=0
prepare_queries() {
    (( loaded )) && return 0
    admin -d "$DB" -o /dev/null <<SQL
SELECT tenancy.grant_tenant('$ROLE', '${Q_SLUG[0]}'), tenancy.grant_tenant('$ROLE', '${Q_SLUG[1]}');
INSERT INTO items (tenant_id, id, v)
SELECT t.id, g, (g * 7919) % 1000 FROM (VALUES ('${Q_UUID[0]}'::uuid), ('${Q_UUID[1]}'::uuid)) t(id),
       generate_series(1, $ROWS) g;
SQL
    local p
    for c in 0 1; do
        p=$(admin -d "$DB" -Atc "SELECT tenancy._tenant_partition('items', '${Q_UUID[$c]}')")
        admin -d "$DB" -c "VACUUM (ANALYZE) $p"
    done
    check=$(admin -d "$DB" -Atc "SELECT r.rolsuper OR r.rolbypassrls OR pg_has_role(r.oid, 'tenancy_admin', 'USAGE')
                                   FROM pg_roles r WHERE r.rolname = '$ROLE'")
    if [ "$check" != f ]; then
        echo "bench: $ROLE must be neither superuser, BYPASSRLS nor tenancy_admin" >&2
        exit 1
    fi
    loaded=1
}

# Same answers everywhere; a plan cached in one tenant answers for the other
# after a switch.
check_answers() { # scale
    local q v c ref got
    for q in "${QUERIES[@]}"; do
        for c in 0 1; do
            ref=$(as_variant literal "$c" -c "$(concrete "$q" literal "$c")")
            [ -n "$ref" ] || { echo "bench: $q returns nothing" >&2; exit 1; }
            for v in on off; do
                got=$(as_variant "$v" "$c" -c "$(concrete "$q" "$v" "$c")")
                if [ "$got" != "$ref" ]; then
                    echo "bench: scale $1, $q in ${Q_SLUG[$c]}: $v gives '$got', literal '$ref'" >&2
                    exit 1
                fi
            done
        done
    done
    for v in on off; do
        got=$(as_variant "$v" 0 <<SQL
PREPARE q(bigint) AS SELECT tenant_id FROM items WHERE id = \$1;
EXECUTE q(1); EXECUTE q(2); EXECUTE q(3); EXECUTE q(4); EXECUTE q(5); EXECUTE q(6); EXECUTE q(7);
SET tenancy.tenant = '${Q_SLUG[1]}';
EXECUTE q(8);
SET tenancy.tenant = '${Q_SLUG[0]}';
EXECUTE q(9);
SQL
)
        if [ "$(echo "$got" | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')" != "${Q_UUID[0]}:8 ${Q_UUID[1]}:1 " ]; then
            echo "bench: scale $1, folding $v: a cached plan served the wrong tenant after a switch: $got" >&2
            exit 1
        fi
    done
    if psql -X -q -At -U "$ROLE" -d "$DB" -c "SELECT count(*) FROM items" >/dev/null 2>&1; then
        echo "bench: $ROLE read items with no tenant set" >&2
        exit 1
    fi
}

declare -A PLAN_WARM PLAN_COLD PREP
planning_times() { # scale
    local s=$1 q v out removed
    for q in "${QUERIES[@]}"; do
        for v in "${VARIANTS[@]}"; do
            out=$(for _ in 1 2 3 4 5 6 7; do echo "EXPLAIN (SUMMARY ON) $(concrete "$q" "$v" 0);"; done |
                as_variant "$v" 0 | awk '/^Planning Time:/ { print $3 }')
            PLAN_COLD[$s/$q/$v]=$(echo "$out" | head -n 1)
            PLAN_WARM[$s/$q/$v]=$(echo "$out" | tail -n +2 | median)
        done
    done
    # Executions of a prepared point lookup: 1st (fresh session), 2nd-5th
    # (custom plans), 6th (the generic plan is built), 7th-10th.
    for v in "${VARIANTS[@]}"; do
        local prep
        prep=$(query_sql point "$v" 0); prep=${prep//:id/\$1}; prep=${prep%;}
        out=$({
            echo '\timing on'
            echo "PREPARE q(bigint) AS $prep;"
            for i in $(seq 1 10); do echo "\\echo @e$i"; echo "EXECUTE q($((i * 37)));"; done
            echo "\\echo @plan"
            echo "EXPLAIN (COSTS OFF) EXECUTE q(1);"
        } | as_variant "$v" 0)
        PREP[$s/$v/1]=$(echo "$out" | tagged_times | awk '$1 == "e1" { print $2 }')
        PREP[$s/$v/2-5]=$(echo "$out" | tagged_times | awk '$1 ~ /^e[2-5]$/ { print $2 }' | median)
        PREP[$s/$v/6]=$(echo "$out" | tagged_times | awk '$1 == "e6" { print $2 }')
        PREP[$s/$v/7-10]=$(echo "$out" | tagged_times | awk '$1 ~ /^e([7-9]|10)$/ { print $2 }' | median)
        if echo "$out" | sed -n '/^@plan/,$p' | grep -q '\$1'; then PREP[$s/$v/plan]=generic; else PREP[$s/$v/plan]=custom; fi
        PREP[$s/$v/parts]="$(echo "$out" | sed -n '/^@plan/,$p' | grep -c 'Scan .* on items_' || true) scanned"
        removed=$(echo "$out" | sed -n '/^@plan/,$p' | awk '/Subplans Removed:/ { print $3 }')
        if [ -n "$removed" ]; then PREP[$s/$v/parts]+=", $removed pruned at executor start-up"; fi
    done
}

declare -A BEST RUNS FIRST FIXED
# One pgbench session: writes "mean_ms first_ms n" of its log.
one_session() { # q v c mode prefix [transactions]
    local q=$1 v=$2 c=$3 mode=$4 prefix=$5 length
    if [ -n "${6:-}" ]; then length="-t $6"; else length="-T $SECONDS_PER_RUN"; fi
    # shellcheck disable=SC2086
    if ! PGOPTIONS="$(opts_of "$v" "$c")" pgbench -n -M "$mode" -c 1 -j 1 $length \
            -U "$(user_of "$v")" -d "$DB" -f "$WORK/$q.$v.$c.sql" -l --log-prefix="$prefix" >"$prefix.out" 2>&1; then
        echo "bench: pgbench failed ($q $v client $c $mode):" >&2
        tail -n 20 "$prefix.out" >&2
        return 1
    fi
    if grep -qiE 'warning|error' "$prefix.out"; then
        echo "bench: pgbench logged warnings or errors ($q $v client $c $mode):" >&2
        grep -iE 'warning|error' "$prefix.out" | sort | uniq -c | head >&2
        return 1
    fi
}
# Sessions slower than BENCH_SECONDS allows (stock planning over 10,000
# partitions) run again for a fixed count: the warm-up plus 3 transactions.
MIN_MEASURED=3
run_cell() { # scale q mode clients variant round
    local s=$1 q=$2 mode=$3 n=$4 v=$5 round=$6 c pids key stats count="" measured
    local warmup=1
    [ "$mode" = prepared ] && warmup=6
    key=$s/$q/$mode/$n/$v
    while :; do
        rm -f "$WORK"/log.*
        pids=()
        for (( c = 0; c < n; c++ )); do
            one_session "$q" "$v" "$c" "$mode" "$WORK/log.$c" $count &
            pids+=($!)
        done
        for p in "${pids[@]}"; do wait "$p" || exit 1; done
        measured=$(awk -v w="$warmup" -v sessions="$n" '$2 > w { k[FILENAME]++ }
            END { m = -1; for (f in k) { seen++; if (m < 0 || k[f] < m) m = k[f] }
                  print (m < 0 || seen < sessions ? 0 : m) }' "$WORK"/log.[0-9].[0-9]*)
        if (( measured >= MIN_MEASURED )) || [ -n "$count" ]; then break; fi
        count=$((warmup + MIN_MEASURED))
    done
    # client_id transaction_no time_us ...; per session: transactions
    # from after the warm-up on.
    stats=$(cat "$WORK"/log.[0-9].[0-9]* | awk -v w="$warmup" '
        $2 == 1 { first += $3; nf++ }
        $2 == 6 { sixth += $3; ns++ }
        $2 > w { sum += $3; cnt++ }
        END { if (cnt == 0) { print "- - - 0"; exit }
              printf "%.4f %s %s %d\n", sum / cnt / 1000, (nf ? sprintf("%.3f", first / nf / 1000) : "-"),
                     (ns ? sprintf("%.3f", sixth / ns / 1000) : "-"), cnt }')
    read -r mean first sixth cnt <<< "$stats"
    if [ "$mean" = - ]; then
        echo "bench: $key: no transactions after the first $warmup; raise BENCH_SECONDS" >&2
        exit 1
    fi
    RUNS[$key]="${RUNS[$key]:-}${RUNS[$key]:+/}$(printf '%.3f' "$mean")"
    FIRST[$key]="$first/$sixth"
    if [ -z "${BEST[$key]:-}" ] || awk -v a="$mean" -v b="${BEST[$key]}" 'BEGIN { exit !(a < b) }'; then
        BEST[$key]=$mean
    fi
    [ -n "$count" ] && FIXED[$key]=1
    printf 'bench: scale %-5d round %d  %-5s %-8s -c %d  %-7s %9.3f ms  (%d transactions%s; 1st %s ms, 6th %s ms)\n' \
        "$s" "$round" "$q" "$mode" "$n" "$v" "$mean" "$cnt" "${count:+ after the warm-up, -t $count}" "$first" "$sixth"
}

run_scale() { # scale
    local s=$1 round q mode n i vs
    prepare_queries
    check_answers "$s"
    planning_times "$s"
    for round in $(seq 1 "$ROUNDS"); do
        for q in "${QUERIES[@]}"; do
            for mode in "${MODES[@]}"; do
                for n in "${CLIENT_COUNTS[@]}"; do
                    vs=("${VARIANTS[@]}")
                    if (( round % 2 == 0 )); then
                        for (( i = ${#vs[@]} - 1; i >= 0; i-- )); do run_cell "$s" "$q" "$mode" "$n" "${vs[$i]}" "$round"; done
                    else
                        for v in "${vs[@]}"; do run_cell "$s" "$q" "$mode" "$n" "$v" "$round"; done
                    fi
                done
            done
        done
    done
}

# create_tenant with partitions made ahead (tenancy.premake_partitions,
# when the installed extension has it): SPARES spare ids at the largest
# scale, then SPARES tenants created without an id, which take them.
SPARES=${BENCH_SPARES:-100}
SPARE_STATS=""
spares_at_top() {
    local t0 ms
    if [ "$(admin -d "$DB" -Atc "SELECT to_regprocedure('tenancy.premake_partitions(int)') IS NOT NULL")" != t ] ||
       (( SPARES == 0 )); then
        SPARES=0
        return 0
    fi
    t0=$(date +%s%N)
    admin -d "$DB" -Atc "SELECT tenancy.premake_partitions($SPARES)" >/dev/null
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    seq 1 "$SPARES" | awk '{ printf "SELECT tenancy.create_tenant(%s);\n", "'"'"'s" sprintf("%05d", $1) "'"'"'" }' > "$WORK/spares.sql"
    { echo '\timing on'; cat "$WORK/spares.sql"; } |
        admin -d "$DB" -o /dev/null | awk '/^Time: / { print $2 }' > "$WORK/spares.out"
    left=$(admin -d "$DB" -Atc "SELECT count(*) FROM tenancy.spare_tenant_ids")
    SPARE_STATS="premake_partitions($SPARES): $ms ms ($((ms / SPARES)) ms per spare id, 3 partitions each); then $SPARES create_tenant calls
without an id (taking the spares; $left spares left): median $(median < "$WORK/spares.out") ms, p90 $(pct 90 < "$WORK/spares.out") ms, max $(sort -g "$WORK/spares.out" | tail -n 1) ms"
    echo "bench: with spares at $MAX_SCALE tenants: $SPARE_STATS"
}

PERF_REPORT=""
PERF_SELF=""
perf_profile() {
    local pid
    [ "$BENCH_PERF" = 1 ] || return 0
    {
        echo "SELECT pg_backend_pid();"
        echo "SELECT pg_sleep(1);"
        for r in $(seq 1 20); do echo "BEGIN; SELECT tenancy.create_tenant('perf-$r'); ROLLBACK;"; done
    } > "$WORK/perf.sql"
    admin -d "$DB" -At -f "$WORK/perf.sql" > "$WORK/perf.out" 2>&1 &
    local psql_pid=$!
    for _ in $(seq 1 50); do
        pid=$(head -n 1 "$WORK/perf.out" 2>/dev/null || true)
        [ -n "$pid" ] && break
        sleep 0.1
    done
    if [ -z "$pid" ]; then
        wait "$psql_pid" || true
        return 0
    fi
    perf record -g -p "$pid" -o "$WORK/perf.data" -- sleep 300 >/dev/null 2>&1 &
    local perf_pid=$!
    wait "$psql_pid" || true
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" 2>/dev/null || true
    PERF_REPORT=$(perf report -i "$WORK/perf.data" --children --stdio -g none --percent-limit 2 2>/dev/null |
        grep -E ' (EventTriggerDDLCommandEnd|plpgsql_exec_event_trigger|fmgr_sql|MultiExecHash|ExecHashTableInsert|heap_getnextslot|DefineRelation|RelationGetPartitionDesc|RelationBuildPartitionDesc|stringToNode|CloneForeignKeyConstraints|DefineIndex|AlterTable|CreatePolicy|ExecuteTruncate|standard_planner|pg_plan_query|systable_getnext|index_getnext_slot|RelationCacheInvalidate|LocalExecuteInvalidationMessage|AcceptInvalidationMessages|ExecInitNode|fmgr_security_definer|standard_ProcessUtility|SPI_execute_plan_with_paramlist)$' |
        awk '{ printf "  %7s  %s\n", $1, $NF }' | awk '!seen[$2]++' || true)
    PERF_SELF=$(perf report -i "$WORK/perf.data" --no-children --stdio -g none --percent-limit 1.5 2>/dev/null |
        awk '/%/ && !/^#/ { printf "  %7s  %s %s\n", $1, $NF, ($3 == "postgres" ? "" : "(" $3 ")") }' | head -n 15 || true)
}

# --- the run ----------------------------------------------------------------------

for s in "${SCALES[@]}"; do
    create_up_to "$s"
    time_pieces "$s"
    echo "bench: $s tenants: create_tenant ${PIECE[$s/create_tenant]} ms (3 x CREATE TABLE PARTITION OF: ${PIECE[$s/ddl]} ms alone, ${PIECE[$s/ddltrig]} ms with auto_register)"
    run_scale "$s"
done
perf_profile
partitions=$(admin -d "$DB" -Atc "SELECT count(*) FROM tenancy.partitions WHERE kind = 'tenant'")
if [ "$partitions" != $((MAX_SCALE * ${#TABLES[@]})) ]; then
    echo "bench: $partitions tenant partitions, expected $((MAX_SCALE * ${#TABLES[@]}))" >&2
    exit 1
fi
spares_at_top

# --- report -------------------------------------------------------------------------

ms3() { if [ "$1" = - ]; then echo -; else printf '%.3f' "$1"; fi; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0 || a == "-" || b == "-") print "-"; else printf "%.2f", a / b }'; }
WINDOW=$(( MAX_SCALE >= 10000 ? 1000 : (MAX_SCALE >= 10 ? MAX_SCALE / 10 : 1) ))

mkdir -p "$RESULTS_DIR"
{
    echo "tenancy benchmark: partitions per tenant (issue #5, items 5 and 6)"
    echo "date:     $(date -u '+%Y-%m-%d %H:%M UTC'), $(( ($(date +%s) - started_all) / 60 )) min in all"
    echo "commit:   $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src sql 2>/dev/null || echo ' (src/sql modified in the work tree; the installed build is what ran)')"
    echo "server:   $(psql -X -Atc 'SHOW server_version' -d postgres), shared_buffers $(psql -X -Atc 'SHOW shared_buffers' -d postgres), max_locks_per_transaction $LOCKS_USED$( (( LOCKS_CHANGED )) && echo " (raised from $LOCKS_BEFORE for this run: ALTER SYSTEM + restart)")"
    echo "machine:  $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo); load average $LOAD_AT_START at start, $(cut -d' ' -f1-3 /proc/loadavg) at end"
    echo "tables:   items, orders, events: PARTITION BY LIST (tenant_id), PRIMARY KEY (tenant_id, id), under tenancy.partition_table()"
    echo "          (list mode, no default partition); every tenant has a partition in each ($MAX_SCALE tenants: $partitions partitions)"
    echo
    echo "1. create_tenant, one autocommitted call at a time from one psql session (\\timing: round trip and commit included)"
    printf '%-15s %9s %9s %9s\n' tenants "median ms" "p90 ms" "max ms"
    awk -v w="$WINDOW" '{ print int(($1 - 1) / w), $2 }' "$CT_TIMES" | sort -k1,1n -k2,2g |
        awk -v w="$WINDOW" '
            function flush() { if (n) printf "%6d-%-8d %9.1f %9.1f %9.1f\n", k * w + 1, (k + 1) * w, a[int((n + 1) / 2)], a[int(n * 0.9 + 0.999999)], a[n] }
            $1 != k && NR > 1 { flush(); n = 0 }
            { k = $1; a[++n] = $2 }
            END { flush() }'
    last=$(tail -n 100 "$CT_TIMES" | cut -d' ' -f2)
    m=$(echo "$last" | median)
    echo "median of tenants $(( MAX_SCALE > 100 ? MAX_SCALE - 99 : 1 ))-$MAX_SCALE: $m ms (p90 $(echo "$last" | pct 90) ms); goal < 50 ms at 10,000: $(awk -v m="$m" -v s="$MAX_SCALE" 'BEGIN { if (s < 10000) print "(scale below 10,000)"; else print (m < 50 ? "met" : "NOT met") }')"
    echo "total: $(awk '{ s += $2 } END { printf "%.0f", s / 1000 }' "$CT_TIMES") s for $MAX_SCALE tenants"
    if [ -n "$SPARE_STATS" ]; then
        echo
        echo "with partitions made ahead, at $MAX_SCALE tenants: $SPARE_STATS"
    fi
    echo
    echo "where the time goes (median of $PIECE_REPS, ms, each in a transaction rolled back; 'alone' = the event trigger kept"
    echo "out as for the extension's own DDL ($QUIET_TRIGGER); the trigger pieces run on the existing partition of t00001 in items):"
    printf '%-8s %13s %17s %17s %15s %12s %10s %15s\n' tenants create_tenant "3xCREATE alone" "3xCREATE+trigger" _registered_root _unprotected _protect _partition_name
    for s in "${SCALES[@]}"; do
        printf '%-8s %13s %17s %17s %15s %12s %10s %15s\n' "$s" "${PIECE[$s/create_tenant]}" "${PIECE[$s/ddl]}" \
            "${PIECE[$s/ddltrig]}" "${PIECE[$s/registered_root]}" "${PIECE[$s/unprotected]}" "${PIECE[$s/protect]}" "${PIECE[$s/partition_name]}"
    done
    if [ -n "$PERF_REPORT" ]; then
        echo
        echo "perf at $MAX_SCALE tenants, 20 create_tenant calls (rolled back), share of samples including callees:"
        echo "$PERF_REPORT"
        echo "  top functions by own samples:"
        echo "$PERF_SELF"
    fi
    echo
    echo "2. tenant-scoped queries through the parent items ($ROWS rows in each queried tenant, other partitions empty)"
    echo "   point  $(query_sql point on 0)"
    echo "   range  $(query_sql range on 0)"
    echo "   on      role $ROLE (RLS, member of t00001 and t00002), tenancy.tenant set per connection, fold_current_tenant = on"
    echo "   off     the same with tenancy.fold_current_tenant = off (stock planning, run-time pruning)"
    echo "   literal role $LIT (BYPASSRLS, no context), 'tenant_id = '<uuid>' AND' in the query text (plan-time pruning, no RLS)"
    echo "   pgbench -n -T $SECONDS_PER_RUN, one client per pgbench (-c 2: two at once, tenants t00001 and t00002);"
    echo "   mean latency per transaction from the transaction log, leaving out each session's warm-up (-M simple: its 1st"
    echo "   transaction, which loads the partitions into the relation cache; -M prepared: its first 6, the 6th building"
    echo "   the generic plan; both shown below); best of $ROUNDS"
    echo
    printf '%-6s %-5s %-8s %3s %9s %9s %9s %7s %7s  %s\n' scale query protocol -c "on ms" "off ms" "lit ms" lit/on lit/off "goal: on within 1.5x of literal"
    for s in "${SCALES[@]}"; do
        for q in "${QUERIES[@]}"; do
            for mode in "${MODES[@]}"; do
                for n in "${CLIENT_COUNTS[@]}"; do
                    o=${BEST[$s/$q/$mode/$n/on]:--}; f=${BEST[$s/$q/$mode/$n/off]:--}; l=${BEST[$s/$q/$mode/$n/literal]:--}
                    rl=$(ratio "$l" "$o")
                    printf '%-6s %-5s %-8s %3d %9s %9s %9s %7s %7s  %s\n' "$s" "$q" "$mode" "$n" "$(ms3 "$o")" "$(ms3 "$f")" "$(ms3 "$l")" "$rl" "$(ratio "$l" "$f")" \
                        "$(awk -v r="$rl" 'BEGIN { print (r == "-" ? "" : (r >= 1 / 1.5 ? "met" : "NOT met")) }')"
                done
            done
        done
    done
    echo
    echo "every run (mean ms, round 1/round 2/...), and [the 1st / the 6th transaction of a session, ms, last round];"
    echo "* = too slow for -T $SECONDS_PER_RUN, run again with -t (warm-up + $MIN_MEASURED transactions per session):"
    for s in "${SCALES[@]}"; do
        for q in "${QUERIES[@]}"; do
            for mode in "${MODES[@]}"; do
                for n in "${CLIENT_COUNTS[@]}"; do
                    line=$(printf '%-6s %-5s %-8s -c %d' "$s" "$q" "$mode" "$n")
                    for v in "${VARIANTS[@]}"; do line+=$(printf '  %s %s%s [%s]' "$v" "${RUNS[$s/$q/$mode/$n/$v]}" "${FIXED[$s/$q/$mode/$n/$v]:+*}" "${FIRST[$s/$q/$mode/$n/$v]}"); done
                    echo "  $line"
                done
            done
        done
    done
    echo
    echo "planning time alone, EXPLAIN (SUMMARY ON) in tenant t00001, ms: median of 6 in a warm session (first of a fresh session)"
    printf '%-6s %-5s' scale query; printf ' %22s' "${VARIANTS[@]}"; echo
    for s in "${SCALES[@]}"; do
        for q in "${QUERIES[@]}"; do
            printf '%-6s %-5s' "$s" "$q"
            for v in "${VARIANTS[@]}"; do printf ' %22s' "${PLAN_WARM[$s/$q/$v]} (${PLAN_COLD[$s/$q/$v]})"; done
            echo
        done
    done
    echo
    echo "a prepared point lookup from psql (PREPARE, then EXECUTE 10 times in a fresh session; \\timing, ms):"
    printf '%-6s %-8s %9s %9s %9s %9s  %s\n' scale variant 1st "2nd-5th" 6th "7th-10th" "plan after 10 (partitions in it)"
    for s in "${SCALES[@]}"; do
        for v in "${VARIANTS[@]}"; do
            printf '%-6s %-8s %9s %9s %9s %9s  %s\n' "$s" "$v" "${PREP[$s/$v/1]}" "${PREP[$s/$v/2-5]}" "${PREP[$s/$v/6]}" \
                "${PREP[$s/$v/7-10]}" "${PREP[$s/$v/plan]} (${PREP[$s/$v/parts]})"
        done
    done
} | tee "$RESULTS"
echo "bench: results saved to $RESULTS ($(( $(date +%s) - started_all ))s in all)"
