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
#   p  bare, prepared       as a, extended protocol (-M prepared)
#   f  tenancy, pipeline    -M prepared, one pipeline (one round trip):
#                           BEGIN; SELECT set_config('tenancy.tenant', .., true);
#                           SELECT; END
#   g  placeholder, pipe.   the same with set_config('app.tenant_id', .., true)
#   h  tenancy, pipeline    as f without BEGIN/END: set_config + SELECT before
#      (implicit xact)      one Sync, which is one implicit transaction
#   i  placeholder, pipe.   as g without BEGIN/END
#
# Each variant runs as its own pgbench, interleaved (a b c ... a b c ...).
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

LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench: context (tenants=$TENANTS rows/tenant=$ROWS_PER_TENANT clients=$CLIENTS jobs=$JOBS seconds=$SECONDS_PER_RUN rounds=$ROUNDS)"

# --- set-up -----------------------------------------------------------------

admin -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "DROP ROLE IF EXISTS $ROLE"
admin -d postgres -c "CREATE DATABASE $DB" -c "CREATE ROLE $ROLE LOGIN"

# Tenant n has slug 't<n>' and uuid 00000000-0000-4000-8000-00000000<1000+n>,
# so pgbench can build both from :n without a lookup; bench_tenants is the
# map, and the checks below compare every script's result with it.
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

-- Per-call cost inside one backend, free of round trips and client noise:
-- microseconds per set_config(.., true) or per read of the context.
CREATE FUNCTION bench_per_call(kind text, loops int) RETURNS numeric
    LANGUAGE plpgsql AS \$\$
DECLARE
    t0 timestamptz;
    u  uuid;
BEGIN
    IF kind LIKE 'read%' THEN
        PERFORM set_config('tenancy.tenant', 't1', true);
        PERFORM set_config('app.tenant_id', '00000000-0000-4000-8000-000000001001', true);
    END IF;
    t0 := clock_timestamp();
    CASE kind
    WHEN 'set placeholder' THEN
        FOR i IN 1..loops LOOP
            PERFORM set_config('app.tenant_id', '00000000-0000-4000-8000-00000000' || (1001 + i % $TENANTS), true);
        END LOOP;
    WHEN 'set tenancy' THEN
        FOR i IN 1..loops LOOP
            PERFORM set_config('tenancy.tenant', 't' || (1 + i % $TENANTS), true);
        END LOOP;
    WHEN 'read placeholder' THEN
        FOR i IN 1..loops LOOP
            u := current_setting('app.tenant_id')::uuid;
        END LOOP;
    WHEN 'read tenancy' THEN
        FOR i IN 1..loops LOOP
            u := tenancy.current_tenant();
        END LOOP;
    END CASE;
    RETURN extract(epoch FROM clock_timestamp() - t0) * 1e6 / loops;
END
\$\$;
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
# In -M prepared, :k becomes a parameter, which cannot sit inside a literal.
UUID_EXPR="('00000000-0000-4000-8000-00000000' || :k)::uuid"
BY_UUID="SELECT payload FROM items WHERE tenant_id = '$UUID_OF_K' AND id = :id;"
BY_UUID_PREPARED="SELECT payload FROM items WHERE tenant_id = $UUID_EXPR AND id = :id;"
BY_PLACEHOLDER="SELECT payload FROM items WHERE tenant_id = current_setting('app.tenant_id')::uuid AND id = :id;"
BY_TENANCY="SELECT payload FROM items WHERE tenant_id = tenancy.current_tenant() AND id = :id;"
SET_TENANCY="SELECT set_config('tenancy.tenant', 't' || :n, true);"
SET_PLACEHOLDER="SELECT set_config('app.tenant_id', '00000000-0000-4000-8000-00000000' || :k, true);"

VARIANTS=(a b c d e p f g h i)
# DESC, protocol, round trips, bare baseline of the same protocol, and the
# placeholder variant a tenancy variant is compared with.
declare -A DESC MODE RT BARE REF SCRIPT

DESC[a]="bare lookup, uuid literal, no context"; MODE[a]=simple; RT[a]=1; BARE[a]=a; REF[a]=""
SCRIPT[a]="$PREAMBLE
$BY_UUID"

DESC[b]="placeholder: BEGIN; SET LOCAL; SELECT; END"; MODE[b]=simple; RT[b]=4; BARE[b]=a; REF[b]=""
SCRIPT[b]="$PREAMBLE
BEGIN;
SET LOCAL app.tenant_id = '$UUID_OF_K';
$BY_PLACEHOLDER
END;"

DESC[c]="tenancy: BEGIN; SET LOCAL; SELECT; END"; MODE[c]=simple; RT[c]=4; BARE[c]=a; REF[c]=b
SCRIPT[c]="$PREAMBLE
BEGIN;
SET LOCAL tenancy.tenant = 't:n';
$BY_TENANCY
END;"

DESC[d]="tenancy: SET LOCAL \\; SELECT (one string)"; MODE[d]=simple; RT[d]=1; BARE[d]=a; REF[d]=e
SCRIPT[d]="$PREAMBLE
SET LOCAL tenancy.tenant = 't:n' \\; $BY_TENANCY"

DESC[e]="placeholder: SET LOCAL \\; SELECT (one string)"; MODE[e]=simple; RT[e]=1; BARE[e]=a; REF[e]=""
SCRIPT[e]="$PREAMBLE
SET LOCAL app.tenant_id = '$UUID_OF_K' \\; $BY_PLACEHOLDER"

DESC[p]="bare lookup, prepared, no context"; MODE[p]=prepared; RT[p]=1; BARE[p]=p; REF[p]=""
SCRIPT[p]="$PREAMBLE
$BY_UUID_PREPARED"

DESC[f]="tenancy: pipeline BEGIN; set_config; SELECT; END"; MODE[f]=prepared; RT[f]=1; BARE[f]=p; REF[f]=g
SCRIPT[f]="$PREAMBLE
\\startpipeline
BEGIN;
$SET_TENANCY
$BY_TENANCY
END;
\\endpipeline"

DESC[g]="placeholder: pipeline BEGIN; set_config; SELECT; END"; MODE[g]=prepared; RT[g]=1; BARE[g]=p; REF[g]=""
SCRIPT[g]="$PREAMBLE
\\startpipeline
BEGIN;
$SET_PLACEHOLDER
$BY_PLACEHOLDER
END;
\\endpipeline"

DESC[h]="tenancy: pipeline set_config; SELECT (one Sync)"; MODE[h]=prepared; RT[h]=1; BARE[h]=p; REF[h]=i
SCRIPT[h]="$PREAMBLE
\\startpipeline
$SET_TENANCY
$BY_TENANCY
\\endpipeline"

DESC[i]="placeholder: pipeline set_config; SELECT"; MODE[i]=prepared; RT[i]=1; BARE[i]=p; REF[i]=""
SCRIPT[i]="$PREAMBLE
\\startpipeline
$SET_PLACEHOLDER
$BY_PLACEHOLDER
\\endpipeline"

for v in "${VARIANTS[@]}"; do
    printf '%s\n' "${SCRIPT[$v]}" > "$WORK/$v.sql"
done

# Before timing anything, each script runs as an assertion, through pgbench
# itself (same protocol, same pipelining): the lookup must return exactly
# the expected row, no context may survive the transaction (SET LOCAL and
# set_config(.., true) end with it), and nothing may warn.  A failed
# assertion is a division by zero, which makes pgbench fail.
ASSERT_ROW="SELECT 1 / (count(*) = 1 AND min(payload) = 'item ' || :id || ' of t' || :n)::int FROM items WHERE "
ASSERT_NONE_LEFT="SELECT 1 / (current_setting('tenancy.tenant') = '' AND coalesce(current_setting('app.tenant_id', true), '') = '')::int;"
shopt -u patsub_replacement 2>/dev/null || true
check_variant() {
    local v=$1 log=$WORK/$1.check.log line
    { while IFS= read -r line; do
          printf '%s\n' "${line/SELECT payload FROM items WHERE /$ASSERT_ROW}"
      done < "$WORK/$v.sql"
      printf '%s\n' "$ASSERT_NONE_LEFT"; } > "$WORK/$v.check.sql"
    grep -q '1 / (count' "$WORK/$v.check.sql"
    if ! pgbench -n -M "${MODE[$v]}" -c 2 -j 1 -t 200 -U "$ROLE" -d "$DB" \
            -f "$WORK/$v.check.sql" >"$log" 2>&1 || grep -qiE 'warning|error' "$log"; then
        echo "bench: variant $v does not behave:" >&2
        cat "$WORK/$v.check.sql" >&2
        grep -iE 'warning|error|abort' "$log" | sort | uniq -c | head >&2
        exit 1
    fi
}
for v in "${VARIANTS[@]}"; do
    check_variant "$v"
done
echo "bench: every variant returns the expected row, leaves no context and raises no warning"

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
    printf 'bench: round %d  %s  %-52s %10.0f tps\n' "$round" "$v" "${DESC[$v]}" "$tps"
}

for round in $(seq 1 "$ROUNDS"); do
    for v in "${VARIANTS[@]}"; do
        run_variant "$v" "$round"
    done
done

# Per-call costs, in one session as the role: best of 3 interleaved loops.
MICRO_KINDS=("set placeholder" "set tenancy" "read placeholder" "read tenancy")
declare -A MICRO
for _ in 1 2 3; do
    for kind in "${MICRO_KINDS[@]}"; do
        us=$(psql -X -q -At -v ON_ERROR_STOP=1 -U "$ROLE" -d "$DB" \
                 -c "SELECT bench_per_call('$kind', 200000)")
        if [ -z "${MICRO[$kind]:-}" ] || awk -v a="$us" -v b="${MICRO[$kind]}" 'BEGIN { exit !(a < b) }'; then
            MICRO[$kind]=$us
        fi
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
    printf '%-2s %-52s %-8s %2s %10s  %-13s %6s %10s\n' \
        "" "variant" "protocol" "RT" "tps (best)" "runs" "/bare" "/ref"
    for v in "${VARIANTS[@]}"; do
        vs_ref="-"
        [ -n "${REF[$v]}" ] && vs_ref="$(ratio "${BEST[$v]}" "${BEST[${REF[$v]}]}") (${REF[$v]})"
        printf '%-2s %-52s %-8s %2s %10.0f  %-13s %6s %10s\n' \
            "$v" "${DESC[$v]}" "${MODE[$v]}" "${RT[$v]}" "${BEST[$v]}" "${RUNS[$v]}" \
            "$(ratio "${BEST[$v]}" "${BEST[${BARE[$v]}]}")" "$vs_ref"
    done
    echo "(/bare: against a for simple-protocol variants, p for prepared ones;"
    echo " /ref: tenancy against the placeholder variant of the same shape)"
    # Noise: how far apart the runs of one variant are.
    spread=$(for v in "${VARIANTS[@]}"; do echo "$v ${RUNS[$v]}"; done |
        awk '{ lo = $2; hi = $2
               for (i = 3; i <= NF; i++) { if ($i < lo) lo = $i; if ($i > hi) hi = $i }
               s = (hi - lo) / hi; if (s > worst) { worst = s; at = $1 } }
             END { printf "%d %s", worst * 100 + 0.5, at }')
    echo "load average at start: $LOAD_AT_START; at end: $(cut -d' ' -f1-3 /proc/loadavg)"
    if [ "$ROUNDS" -gt 1 ]; then
        echo "largest spread between runs of one variant: ${spread% *}% (${spread#* })"
        if [ "${spread% *}" -gt 15 ]; then
            echo "NOTE: the machine was busy (runs of one variant differ by more than 15%);"
            echo "      ratios are unreliable: rerun on a quiet machine or raise BENCH_ROUNDS."
        fi
    fi
    echo
    for pair in "c b 4 round trips" "d e 1 round trip, one query string" \
                "f g prepared, pipelined, BEGIN/END" "h i prepared, pipelined, one Sync"; do
        set -- $pair
        t=$1 ph=$2; shift 2
        label="($*, $t/$ph):"
        r=$(ratio "${BEST[$t]}" "${BEST[$ph]}")
        printf 'ratio tenancy/placeholder %-45s %s (goal >= 0.90: %s)\n' "$label" "$r" "$(verdict "$r")"
    done
    echo
    echo "per call, in one backend (PL/pgSQL loop of 200,000, best of 3; includes the loop's own cost):"
    printf '  %-55s %6.2f us\n' \
        "set_config('app.tenant_id', <uuid>, true)" "${MICRO[set placeholder]}" \
        "set_config('tenancy.tenant', <slug>, true) (validated)" "${MICRO[set tenancy]}" \
        "current_setting('app.tenant_id')::uuid" "${MICRO[read placeholder]}" \
        "tenancy.current_tenant()" "${MICRO[read tenancy]}"
    echo
    for v in b c d e f g h i; do
        label="($v/${BARE[$v]}, ${MODE[$v]}, ${RT[$v]} RT):"
        printf 'ratio %-11s to bare %-32s %s\n' "${DESC[$v]%%:*}" "$label" \
            "$(ratio "${BEST[$v]}" "${BEST[${BARE[$v]}]}")"
    done
} | tee "$RESULTS"
echo "bench: results saved to $RESULTS"
