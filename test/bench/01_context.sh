#!/usr/bin/env bash
# Benchmark: the cost of the validated tenant context (issue #2, item 6).
#
# One transaction = set the tenant + one point lookup by primary key, over
# 100 tenants x 10,000 rows, run by pgbench as a non-superuser member of
# every tenant (so validation takes the membership path, not the superuser
# shortcut).  Each tenancy variant is compared with the same transaction
# shape using an unvalidated placeholder variable (SET LOCAL app.tenant_id +
# current_setting()), and everything with the bare lookup (no context).
#
#   a  bare                 SELECT with the tenant's uuid literal, no context
#   b  placeholder, 4 RT    BEGIN; SET LOCAL app.tenant_id; SELECT; END
#   c  tenancy, 4 RT        BEGIN; SET LOCAL tenancy.tenant; SELECT; END
#   d  tenancy, 1 RT        SET LOCAL tenancy.tenant \; SELECT  (one query string)
#   e  placeholder, 1 RT    SET LOCAL app.tenant_id \; SELECT   (one query string)
#   f  tenancy, pipeline    -M prepared: BEGIN; set_config(.., true); SELECT; END
#                           sent as one pipeline (one round trip)
#   g  placeholder, pipe.   the same with set_config('app.tenant_id', .., true)
#
# Goal: tenancy / placeholder >= 0.90 for each transaction shape.
# Figures, not assertions: the script fails only if something is broken.
#
# Needs PGHOST/PGPORT/PGUSER of a superuser (run.sh sets them) and a server
# with tenancy installed.  Knobs: BENCH_SECONDS (15), BENCH_CLIENTS (8),
# BENCH_JOBS (2), BENCH_ROUNDS (2: each variant runs that many times,
# interleaved, and the best tps counts).
set -euo pipefail
cd "$(dirname "$0")/../.."

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PATH="$("$PG_CONFIG" --bindir):$PATH"
export PATH

SECONDS_PER_RUN=${BENCH_SECONDS:-15}
CLIENTS=${BENCH_CLIENTS:-8}
JOBS=${BENCH_JOBS:-2}
ROUNDS=${BENCH_ROUNDS:-2}
DB=tenancy_bench
ROLE=bench_app
TENANTS=100
ROWS_PER_TENANT=10000
RESULTS_DIR=test/bench/results
RESULTS=$RESULTS_DIR/context.txt

WORK=$(mktemp -d /tmp/tenancy-bench.XXXXXX)
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

echo "bench: context (tenants=$TENANTS rows/tenant=$ROWS_PER_TENANT clients=$CLIENTS jobs=$JOBS seconds=$SECONDS_PER_RUN rounds=$ROUNDS)"

# --- set-up -----------------------------------------------------------------

admin -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "DROP ROLE IF EXISTS $ROLE"
admin -d postgres -c "CREATE DATABASE $DB" -c "CREATE ROLE $ROLE LOGIN"

# Tenant n has slug 't<n>' and uuid 00000000-0000-4000-8000-00000000<1000+n>,
# so pgbench can build both from :n without a lookup; bench_tenants is the
# map, and the checks below compare every script's result with it.
started=$(date +%s)
admin -d "$DB" <<SQL
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
-- A tenant bench_app is not a member of, to prove validation is enforced.
SELECT tenancy.create_tenant('not-granted');

CREATE TABLE items (
    tenant_id uuid,
    id        bigint,
    payload   text,
    PRIMARY KEY (tenant_id, id)
);
INSERT INTO items (tenant_id, id, payload)
SELECT t.id, i, 'item ' || i || ' of ' || t.slug
  FROM bench_tenants t, generate_series(1, $ROWS_PER_TENANT) i;
GRANT SELECT ON items, bench_tenants TO $ROLE;
VACUUM (ANALYZE) items;
SQL
echo "bench: loaded $(admin -d "$DB" -Atc "SELECT count(*) FROM items") rows in $(( $(date +%s) - started ))s"

# Warm shared buffers so the first variant does not pay for cold reads.
if admin -d postgres -Atc "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_prewarm'" | grep -q 1; then
    admin -d "$DB" -Atc "CREATE EXTENSION pg_prewarm" \
        -c "SELECT pg_prewarm('items') + pg_prewarm('items_pkey')" >/dev/null
else
    admin -d "$DB" -Atc "SELECT count(*) FROM items" >/dev/null
fi

# The role must take the membership path of validation.
check=$(admin -d "$DB" -Atc "SELECT r.rolsuper OR pg_has_role(r.oid, 'tenancy_admin', 'USAGE')
                               FROM pg_roles r WHERE r.rolname = '$ROLE'")
if [ "$check" != f ]; then
    echo "bench: $ROLE must be neither superuser nor tenancy_admin" >&2
    exit 1
fi
if psql -X -q -U "$ROLE" -d "$DB" -c "BEGIN" -c "SET LOCAL tenancy.tenant = 'not-granted'" \
        >/dev/null 2>&1; then
    echo "bench: $ROLE entered a tenant it is not a member of" >&2
    exit 1
fi

# --- the pgbench scripts ------------------------------------------------------

PREAMBLE='\set n random(1, '$TENANTS')
\set k 1000 + :n
\set id random(1, '$ROWS_PER_TENANT')'
UUID_OF_K="00000000-0000-4000-8000-00000000:k"
BY_UUID="SELECT payload FROM items WHERE tenant_id = '$UUID_OF_K' AND id = :id;"
BY_PLACEHOLDER="SELECT payload FROM items WHERE tenant_id = current_setting('app.tenant_id')::uuid AND id = :id;"
BY_TENANCY="SELECT payload FROM items WHERE tenant_id = tenancy.current_tenant() AND id = :id;"

VARIANTS=(a b c d e f g)
declare -A DESC MODE RT REF SCRIPT

DESC[a]="bare lookup, uuid literal, no context"; MODE[a]=simple; RT[a]=1; REF[a]=""
SCRIPT[a]="$PREAMBLE
$BY_UUID"

DESC[b]="placeholder: BEGIN; SET LOCAL; SELECT; END"; MODE[b]=simple; RT[b]=4; REF[b]=""
SCRIPT[b]="$PREAMBLE
BEGIN;
SET LOCAL app.tenant_id = '$UUID_OF_K';
$BY_PLACEHOLDER
END;"

DESC[c]="tenancy: BEGIN; SET LOCAL; SELECT; END"; MODE[c]=simple; RT[c]=4; REF[c]=b
SCRIPT[c]="$PREAMBLE
BEGIN;
SET LOCAL tenancy.tenant = 't:n';
$BY_TENANCY
END;"

DESC[d]="tenancy: SET LOCAL \\; SELECT, one string"; MODE[d]=simple; RT[d]=1; REF[d]=e
SCRIPT[d]="$PREAMBLE
SET LOCAL tenancy.tenant = 't:n' \\; $BY_TENANCY"

DESC[e]="placeholder: SET LOCAL \\; SELECT, one string"; MODE[e]=simple; RT[e]=1; REF[e]=""
SCRIPT[e]="$PREAMBLE
SET LOCAL app.tenant_id = '$UUID_OF_K' \\; $BY_PLACEHOLDER"

DESC[f]="tenancy: prepared, pipelined set_config(,true)"; MODE[f]=prepared; RT[f]=1; REF[f]=g
SCRIPT[f]="$PREAMBLE
\\startpipeline
BEGIN;
SELECT set_config('tenancy.tenant', 't' || :n, true);
$BY_TENANCY
END;
\\endpipeline"

DESC[g]="placeholder: prepared, pipelined set_config"; MODE[g]=prepared; RT[g]=1; REF[g]=""
SCRIPT[g]="$PREAMBLE
\\startpipeline
BEGIN;
SELECT set_config('app.tenant_id', '00000000-0000-4000-8000-00000000' || :k, true);
$BY_PLACEHOLDER
END;
\\endpipeline"

for v in "${VARIANTS[@]}"; do
    printf '%s\n' "${SCRIPT[$v]}" > "$WORK/$v.sql"
done

# Each script, with fixed values, through psql as the role: it must return
# exactly the expected row, raise no warning, and leave no context behind
# (SET LOCAL / set_config(.., true) end with the transaction).
check_script() {
    local v=$1 n=37 id=4242 out err
    sed -e '/^\\set /d' -e '/^\\startpipeline/d' -e '/^\\endpipeline/d' \
        -e "s/:n\b/$n/g" -e "s/:k\b/$((1000 + n))/g" -e "s/:id\b/$id/g" \
        "$WORK/$v.sql" > "$WORK/$v.check.sql"
    printf '%s\n' "SELECT 'left: ' || coalesce(nullif(current_setting('tenancy.tenant'), ''), '-')
                       || ' ' || coalesce(nullif(current_setting('app.tenant_id', true), ''), '-');" \
        >> "$WORK/$v.check.sql"
    if ! out=$(psql -X -q -At -v ON_ERROR_STOP=1 -U "$ROLE" -d "$DB" \
                   -f "$WORK/$v.check.sql" 2>"$WORK/$v.check.err"); then
        echo "bench: variant $v fails:" >&2
        cat "$WORK/$v.check.sql" "$WORK/$v.check.err" >&2
        exit 1
    fi
    err=$(cat "$WORK/$v.check.err")
    if [ "$(grep -cx "item $id of t$n" <<<"$out")" != 1 ] || ! grep -qx 'left: - -' <<<"$out" \
        || [ -n "$err" ]; then
        echo "bench: variant $v returns something unexpected:" >&2
        echo "$out" "$err" >&2
        exit 1
    fi
}
for v in "${VARIANTS[@]}"; do
    check_script "$v"
done
echo "bench: every variant returns the expected row, without warnings or leftover context"

# --- runs ---------------------------------------------------------------------

declare -A BEST RUNS
run_variant() {
    local v=$1 round=$2 log=$WORK/$1.$2.log tps
    if ! pgbench -n -M "${MODE[$v]}" -c "$CLIENTS" -j "$JOBS" -T "$SECONDS_PER_RUN" \
            -U "$ROLE" -d "$DB" -f "$WORK/$v.sql" >"$log" 2>&1; then
        echo "bench: pgbench failed for variant $v:" >&2
        tail -n 30 "$log" >&2
        exit 1
    fi
    if grep -qiE 'warning|error' "$log"; then
        echo "bench: variant $v logged warnings or errors:" >&2
        grep -iE 'warning|error' "$log" | sort | uniq -c | head >&2
        exit 1
    fi
    tps=$(awk '/^tps = / { print $3; exit }' "$log")
    [ -n "$tps" ] || { echo "bench: no tps for variant $v" >&2; cat "$log" >&2; exit 1; }
    RUNS[$v]="${RUNS[$v]:-}${RUNS[$v]:+ }$(printf '%.0f' "$tps")"
    if [ -z "${BEST[$v]:-}" ] || awk -v a="$tps" -v b="${BEST[$v]}" 'BEGIN { exit !(a > b) }'; then
        BEST[$v]=$tps
    fi
    printf 'bench: round %d  %s  %-48s %10.0f tps\n' "$round" "$v" "${DESC[$v]}" "$tps"
}

for round in $(seq 1 "$ROUNDS"); do
    for v in "${VARIANTS[@]}"; do
        run_variant "$v" "$round"
    done
done

# --- report -------------------------------------------------------------------

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict() { awk -v r="$1" 'BEGIN { print (r >= 0.90 ? "met" : "NOT met") }'; }

mkdir -p "$RESULTS_DIR"
{
    echo "tenancy benchmark: tenant context (issue #2)"
    echo "date:     $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "commit:   $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src sql 2>/dev/null || echo ' (src/sql modified)')"
    echo "server:   $(psql -X -Atc 'SHOW server_version' -d postgres)"
    echo "machine:  $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "pgbench:  -n -c $CLIENTS -j $JOBS -T $SECONDS_PER_RUN, role $ROLE (member of all $TENANTS tenants, not superuser)"
    echo "data:     $TENANTS tenants x $ROWS_PER_TENANT rows, items(tenant_id uuid, id bigint, payload text, PRIMARY KEY (tenant_id, id))"
    echo "method:   best of $ROUNDS interleaved runs per variant; RT = client round trips per transaction"
    echo
    printf '%-2s %-48s %-8s %2s %10s  %-15s %7s %7s\n' \
        "" "variant" "protocol" "RT" "tps (best)" "runs" "vs a" "vs ref"
    for v in "${VARIANTS[@]}"; do
        vs_ref="-"
        [ -n "${REF[$v]}" ] && vs_ref="$(ratio "${BEST[$v]}" "${BEST[${REF[$v]}]}") (${REF[$v]})"
        printf '%-2s %-48s %-8s %2s %10.0f  %-15s %7s %7s\n' \
            "$v" "${DESC[$v]}" "${MODE[$v]}" "${RT[$v]}" "${BEST[$v]}" "${RUNS[$v]}" \
            "$(ratio "${BEST[$v]}" "${BEST[a]}")" "$vs_ref"
    done
    echo
    r=$(ratio "${BEST[c]}" "${BEST[b]}")
    echo "ratio tenancy/placeholder (4 round trips, c/b):          $r (goal >= 0.90: $(verdict "$r"))"
    r=$(ratio "${BEST[d]}" "${BEST[e]}")
    echo "ratio tenancy/placeholder (1 round trip, d/e):           $r (goal >= 0.90: $(verdict "$r"))"
    r=$(ratio "${BEST[f]}" "${BEST[g]}")
    echo "ratio tenancy/placeholder (prepared, pipelined, f/g):    $r (goal >= 0.90: $(verdict "$r"))"
    for v in b c d e f g; do
        printf 'ratio %s/bare (%s, %s RT):%*s %s\n' "$v" "${MODE[$v]}" "${RT[$v]}" \
            $((26 - ${#MODE[$v]})) "" "$(ratio "${BEST[$v]}" "${BEST[a]}")"
    done
} | tee "$RESULTS"
echo "bench: results saved to $RESULTS"
