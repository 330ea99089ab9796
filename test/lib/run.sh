#!/usr/bin/env bash
# The driver behind `make demo`, `make test`, `make bench` and
# `make valgrind`: install what is missing, build and install the
# extension, start a throwaway cluster, run, and always stop the cluster.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
MODE=${1:?usage: run.sh demo|test|bench|valgrind|fuzz}

# make bench compares against pgaudit (test/bench/05_audit.sh).
if [ "$MODE" = bench ]; then
    export TENANCY_EXTRA_PKGS="${TENANCY_EXTRA_PKGS:-} postgresql-15-pgaudit"
fi
test/lib/deps.sh

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
export PG_CONFIG

echo "tenancy: building"
make -s PG_CONFIG="$PG_CONFIG" >/dev/null
if ! make -s PG_CONFIG="$PG_CONFIG" install >/dev/null; then
    echo "tenancy: 'make install' failed; run it as root (sudo make install), then retry" >&2
    exit 1
fi

. test/lib/cluster.sh

case "$MODE" in
demo)
    cluster_start
    psql -X -q -v ON_ERROR_STOP=1 -f test/demo/demo.sql
    ;;
test)
    cluster_start
    exec 3>&1
    passed=0; failed=0; failures=()
    suite() {
        local name=$1; shift
        echo
        echo "=== $name"
        if "$@"; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1)); failures+=("$name")
        fi
    }
    regress() {
        rm -rf results output_iso regression.diffs
        if make -s PG_CONFIG="$PG_CONFIG" installcheck; then return 0; fi
        for d in regression.diffs output_iso/regression.diffs; do
            [ -f "$d" ] && head -n 200 "$d"
        done
        return 1
    }
    pgtap() {
        psql -X -q -c "DROP DATABASE IF EXISTS tenancy_tap" \
             -c "CREATE DATABASE tenancy_tap"
        psql -X -q -d tenancy_tap -v ON_ERROR_STOP=1 \
             -c "CREATE EXTENSION pgtap" -c "CREATE EXTENSION tenancy"
        pg_prove --ext .sql -d tenancy_tap -U postgres test/pgtap/
    }
    suite "META.json matches tenancy.control" test/lib/check-meta.sh
    suite "pg_regress and isolation (make installcheck)" regress
    suite "pgTAP (pg_prove test/pgtap)" pgtap
    suite "valgrind memcheck over pg_regress and isolation" bash test/lib/valgrind.sh
    suite "libFuzzer: envelope parser and decrypt path (${FUZZ_SECONDS:=60}s)" \
        env FUZZ_SECONDS="$FUZZ_SECONDS" bash test/fuzz/run.sh
    for t in test/dump/*.sh test/config/*.sh test/concurrency/*.sh; do
        [ -e "$t" ] || continue
        suite "$t" bash "$t"
    done
    echo
    if ((failed)); then
        echo "tenancy: failed suites: ${failures[*]}"
    fi
    echo "suites: $passed passed, $failed failed"
    ((failed == 0))
    ;;
bench)
    cluster_start
    for b in test/bench/*.sh; do
        bash "$b"
    done
    ;;
valgrind)
    test/lib/valgrind.sh
    ;;
fuzz)
    test/fuzz/run.sh
    ;;
*)
    echo "usage: run.sh demo|test|bench|valgrind|fuzz" >&2
    exit 2
    ;;
esac
