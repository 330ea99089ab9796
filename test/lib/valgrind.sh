#!/usr/bin/env bash
# Run the pg_regress suites that exercise the C code, and the isolation
# suites, against a postmaster under
# valgrind memcheck (every backend traced), then report every error whose
# stack passes through tenancy's code.  Errors wholly inside PostgreSQL
# (Debian's build is not valgrind-instrumented) are counted but not fatal.
# Called by `make valgrind` (test/lib/run.sh valgrind): deps already there,
# extension built and installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib/cluster.sh

CLUSTER_PORT=${CLUSTER_PORT:-5496}
VG_DIR=$(mktemp -d /tmp/tenancy-valgrind.XXXXXX)
[ "$(id -u)" -eq 0 ] && chown postgres "$VG_DIR"

# Reuse cluster_start for initdb and configuration, then restart the
# postmaster under valgrind.
cluster_start >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$CLUSTER_DIR/data" -m fast -w stop >/dev/null
as_pg bash -c "exec valgrind --quiet --tool=memcheck --trace-children=yes \
    --num-callers=30 --read-var-info=no \
    --log-file='$VG_DIR/vg.%p.log' \
    '$PGBIN/postgres' -D '$CLUSTER_DIR/data' >'$CLUSTER_DIR/server.log' 2>&1" &
for _ in $(seq 120); do
    "$PGBIN/pg_isready" -q -h "$PGHOST" -p "$PGPORT" && break
    sleep 1
done

rc=0
# The C code's paths are all in these suites; rls.sql is PL/pgSQL-heavy and
# takes minutes under valgrind without reaching more of our C code.
rm -rf results output_iso regression.diffs
make -s installcheck REGRESS="setup catalog context crypto partition audit" || rc=$?
for d in regression.diffs output_iso/regression.diffs; do
    [ -f "$d" ] && head -n 200 "$d"
done


as_pg "$PGBIN/pg_ctl" -D "$CLUSTER_DIR/data" -m fast -w -t 120 stop >/dev/null || true

ours=0; theirs=0
for f in "$VG_DIR"/vg.*.log; do
    [ -s "$f" ] || continue
    # Split into error records (blank-line separated) and classify them.
    while IFS= read -r -d '' rec; do
        if grep -q 'tenancy\.so\|src/[a-z_]*\.c' <<<"$rec"; then
            ours=$((ours + 1)); echo "$rec"
        elif grep -q '^==[0-9]*== [A-Z]' <<<"$rec"; then
            theirs=$((theirs + 1))
            grep -m1 '^==[0-9]*== [A-Z]' <<<"$rec" | sed 's/^==[0-9]*== /  elsewhere: /' >>"$VG_DIR/kinds"
        fi
    done < <(awk 'BEGIN{RS=""; ORS="\0"} {print}' "$f")
done
[ -f "$VG_DIR/kinds" ] && sort "$VG_DIR/kinds" | uniq -c
echo "valgrind: $ours error(s) through tenancy code, $theirs elsewhere in PostgreSQL"
rm -rf "$VG_DIR"
[ "$rc" -eq 0 ] && [ "$ours" -eq 0 ]
