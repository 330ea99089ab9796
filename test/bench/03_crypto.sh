#!/usr/bin/env bash
# Benchmark: per-tenant encryption (issue "Per-tenant keys and encryption in
# C", item 8).
#
# 100,000 random values of 16 B and of 1 KiB, in tables of their own, run
# through one function per row in one SQL statement, in one backend, as a
# non-superuser member role with the tenant set:
#
#   tenancy.encrypt(v)             vs  pgcrypto encrypt_iv(v, key, iv, 'aes-cbc')
#   tenancy.decrypt(c)             vs  pgcrypto decrypt_iv(c, key, iv, 'aes-cbc')
#   tenancy.encrypt / decrypt      vs  pgp_sym_encrypt_bytea / pgp_sym_decrypt_bytea
#                                      (on 1,000 values: it is slow; per value)
#   tenancy.blind_index(s, p)      vs  pgcrypto hmac(s, key, 'sha256')
#
# encrypt_iv with a 32-byte key is AES-256-CBC without authentication;
# tenancy is AES-256-GCM with a random nonce, the tenant and the context
# authenticated.  Each statement is SELECT sum(length(f(col))) FROM tbl; the
# same statement without the function (SELECT sum(length(col)) FROM tbl)
# is the scan's own cost, subtracted to give the net cost per value.  Best
# of BENCH_ROUNDS interleaved runs.  `openssl speed -evp aes-256-gcm` on the
# same machine is the ceiling (a reused context, no per-value set-up).
#
# Goals (the issue): tenancy.encrypt at least as fast as encrypt_iv at both
# sizes (>= 1.0x), >= 100x pgp_sym_encrypt, and >= 0.5 of the OpenSSL
# ceiling at 1 KiB.  Figures, not assertions: the script fails only if
# something is broken (a round trip that does not hold).
#
# Needs PGHOST/PGPORT/PGUSER of a superuser (run.sh sets them), a server with
# tenancy preloaded and a master key, and pgcrypto (postgresql-15 contrib).
# Knobs: BENCH_ROWS (100000), BENCH_PGP_ROWS (1000), BENCH_ROUNDS (5),
# BENCH_OPENSSL_SECONDS (3).
set -euo pipefail
cd "$(dirname "$0")/../.."

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PATH="$("$PG_CONFIG" --bindir):$PATH"
export PATH

ROWS=${BENCH_ROWS:-100000}
PGP_ROWS=${BENCH_PGP_ROWS:-1000}
ROUNDS=${BENCH_ROUNDS:-5}
OSSL_SECONDS=${BENCH_OPENSSL_SECONDS:-3}
DB=tenancy_bench_crypto
ROLE=bench_crypto
TENANT=bench
RESULTS_DIR=test/bench/results
RESULTS=$RESULTS_DIR/crypto.txt
# pgcrypto's key (32 bytes: AES-256) and IV; the HMAC key as text.
KEY="'\\x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f'::bytea"
IV="'\\xa0a1a2a3a4a5a6a7a8a9aaabacadaeaf'::bytea"
HMAC_KEY="'bench-hmac-key-0123456789abcdef'::text"
PGP_PW="'bench passphrase'::text"

admin() { PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 "$@"; }

cleanup() {
    local rc=$?
    admin -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" \
        -c "DROP ROLE IF EXISTS $ROLE" >/dev/null 2>&1 || true
    exit "$rc"
}
trap cleanup EXIT

LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench: crypto (rows=$ROWS pgp rows=$PGP_ROWS rounds=$ROUNDS)"

if ! admin -d postgres -Atc "SELECT 1 FROM pg_available_extensions WHERE name = 'pgcrypto'" | grep -q 1; then
    echo "bench: pgcrypto is not available (it ships with postgresql-15 contrib)" >&2
    exit 1
fi

# --- set-up -----------------------------------------------------------------

admin -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "DROP ROLE IF EXISTS $ROLE"
admin -d postgres -c "CREATE DATABASE $DB" -c "CREATE ROLE $ROLE LOGIN"

started=$(date +%s)
# Tables: p<size> plaintexts, s<size> text plaintexts (blind_index and hmac
# take text), et/ec/ep<size> tenancy, CBC and PGP ciphertexts of p<size>;
# the PGP ones and pp<size> (their plaintexts) have PGP_ROWS rows.  STORAGE
# PLAIN keeps the 1 KiB values inline, so no detoasting is timed.
admin -d "$DB" -o /dev/null <<SQL
CREATE EXTENSION tenancy;
CREATE EXTENSION pgcrypto;
SELECT tenancy.create_tenant('$TENANT');
SELECT tenancy.grant_tenant('$ROLE', '$TENANT');
SET tenancy.tenant = '$TENANT';

CREATE FUNCTION mk(name text, coldef text) RETURNS void LANGUAGE plpgsql AS \$\$
BEGIN
    EXECUTE format('CREATE TABLE %I (id int, %s)', name, coldef);
    EXECUTE format('ALTER TABLE %I ALTER COLUMN %s SET STORAGE PLAIN', name, split_part(coldef, ' ', 1));
END \$\$;
SELECT mk('p16', 'v bytea'), mk('p1k', 'v bytea'), mk('s16', 's text'), mk('s1k', 's text'),
       mk('et16', 'c bytea'), mk('et1k', 'c bytea'), mk('ec16', 'c bytea'), mk('ec1k', 'c bytea'),
       mk('pp16', 'v bytea'), mk('pp1k', 'v bytea'), mk('ep16', 'c bytea'), mk('ep1k', 'c bytea');

INSERT INTO p16 SELECT i, gen_random_bytes(16) FROM generate_series(1, $ROWS) i;
INSERT INTO p1k SELECT i, gen_random_bytes(1024) FROM generate_series(1, $ROWS) i;
INSERT INTO s16 SELECT i, encode(gen_random_bytes(8), 'hex') FROM generate_series(1, $ROWS) i;
INSERT INTO s1k SELECT i, encode(gen_random_bytes(512), 'hex') FROM generate_series(1, $ROWS) i;
INSERT INTO et16 SELECT id, tenancy.encrypt(v) FROM p16;
INSERT INTO et1k SELECT id, tenancy.encrypt(v) FROM p1k;
INSERT INTO ec16 SELECT id, encrypt_iv(v, $KEY, $IV, 'aes-cbc') FROM p16;
INSERT INTO ec1k SELECT id, encrypt_iv(v, $KEY, $IV, 'aes-cbc') FROM p1k;
INSERT INTO pp16 SELECT id, v FROM p16 WHERE id <= $PGP_ROWS;
INSERT INTO pp1k SELECT id, v FROM p1k WHERE id <= $PGP_ROWS;
INSERT INTO ep16 SELECT id, pgp_sym_encrypt_bytea(v, $PGP_PW) FROM pp16;
INSERT INTO ep1k SELECT id, pgp_sym_encrypt_bytea(v, $PGP_PW) FROM pp1k;
DROP FUNCTION mk(text, text);
GRANT SELECT ON ALL TABLES IN SCHEMA public TO $ROLE;

-- Best of "rounds" runs of each statement, interleaved, in microseconds.
CREATE TABLE bench_queries (ord int, name text, q text);
CREATE FUNCTION bench_run(rounds int) RETURNS TABLE (name text, best_us float8, runs text)
    LANGUAGE plpgsql AS \$\$
DECLARE
    r      record;
    t0     timestamptz;
    us     float8;
    dummy  bigint;
BEGIN
    CREATE TEMP TABLE bench_times (name text, us float8);
    FOR i IN 1 .. rounds LOOP
        FOR r IN SELECT * FROM bench_queries ORDER BY ord LOOP
            t0 := clock_timestamp();
            EXECUTE r.q INTO dummy;
            us := extract(epoch FROM clock_timestamp() - t0) * 1e6;
            INSERT INTO bench_times VALUES (r.name, us);
        END LOOP;
    END LOOP;
    RETURN QUERY
        SELECT t.name, min(t.us), string_agg(round(t.us / 1000)::text, ' ')
          FROM bench_times t JOIN bench_queries b USING (name)
         GROUP BY t.name, b.ord ORDER BY b.ord;
    DROP TABLE bench_times;
END \$\$;
GRANT SELECT ON bench_queries TO $ROLE;
VACUUM (ANALYZE);
SQL
echo "bench: loaded in $(( $(date +%s) - started ))s"

# Each statement: name, then SQL.  "scan_*" are the bare scans.
add() { printf "INSERT INTO bench_queries VALUES (%d, '%s', \$q\$%s\$q\$);\n" "$((++ORD))" "$1" "$2"; }
ORD=0
{
    for sz in 16 1k; do
        add "scan_p$sz"   "SELECT sum(length(v)) FROM p$sz"
        add "enc_ten_$sz" "SELECT sum(length(tenancy.encrypt(v))) FROM p$sz"
        add "enc_cbc_$sz" "SELECT sum(length(encrypt_iv(v, $KEY, $IV, 'aes-cbc'))) FROM p$sz"
        add "scan_et$sz"  "SELECT sum(length(c)) FROM et$sz"
        add "dec_ten_$sz" "SELECT sum(length(tenancy.decrypt(c))) FROM et$sz"
        add "scan_ec$sz"  "SELECT sum(length(c)) FROM ec$sz"
        add "dec_cbc_$sz" "SELECT sum(length(decrypt_iv(c, $KEY, $IV, 'aes-cbc'))) FROM ec$sz"
        add "scan_s$sz"   "SELECT sum(octet_length(s)) FROM s$sz"
        add "bi_ten_$sz"  "SELECT sum(length(tenancy.blind_index(s, 'bench'))) FROM s$sz"
        add "hmac_$sz"    "SELECT sum(length(hmac(s, $HMAC_KEY, 'sha256'))) FROM s$sz"
        add "scan_pp$sz"  "SELECT sum(length(v)) FROM pp$sz"
        add "enc_pgp_$sz" "SELECT sum(length(pgp_sym_encrypt_bytea(v, $PGP_PW))) FROM pp$sz"
        add "scan_ep$sz"  "SELECT sum(length(c)) FROM ep$sz"
        add "dec_pgp_$sz" "SELECT sum(length(pgp_sym_decrypt_bytea(c, $PGP_PW))) FROM ep$sz"
    done
} | admin -d "$DB" -o /dev/null

# Round trips must hold before anything is timed (as the role, tenant set).
SESSION_OPTS='-c client_min_messages=warning -c jit=off -c max_parallel_workers_per_gather=0'
check=$(PGOPTIONS="$SESSION_OPTS" psql -X -q -At -v ON_ERROR_STOP=1 -U "$ROLE" -d "$DB" <<SQL
SET tenancy.tenant = '$TENANT';
SELECT (SELECT count(*) FROM p16 p JOIN et16 e USING (id) WHERE tenancy.decrypt(e.c) = p.v) = $ROWS
   AND (SELECT count(*) FROM p1k p JOIN et1k e USING (id) WHERE tenancy.decrypt(e.c) = p.v) = $ROWS
   AND (SELECT count(*) FROM p1k p JOIN ec1k e USING (id) WHERE decrypt_iv(e.c, $KEY, $IV, 'aes-cbc') = p.v) = $ROWS
   AND (SELECT count(*) FROM pp1k p JOIN ep1k e USING (id) WHERE pgp_sym_decrypt_bytea(e.c, $PGP_PW) = p.v) = $PGP_ROWS
   AND (SELECT count(DISTINCT tenancy.blind_index(s, 'bench')) FROM s1k) = $ROWS
   AND (SELECT bool_and(r.rolsuper IS FALSE) FROM pg_roles r WHERE r.rolname = current_user);
SQL
)
if [ "$check" != t ]; then
    echo "bench: round trips do not hold, or $ROLE is a superuser" >&2
    exit 1
fi
echo "bench: every value round-trips; timing as $ROLE (not superuser), tenant '$TENANT'"

# Warm the tables into shared buffers / the page cache.
if admin -d postgres -Atc "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_prewarm'" | grep -q 1; then
    admin -d "$DB" -Atc "CREATE EXTENSION IF NOT EXISTS pg_prewarm" \
        -c "SELECT sum(pg_prewarm(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind = 'r'" >/dev/null
fi

# --- runs ---------------------------------------------------------------------

declare -A BEST RUNS
while IFS='|' read -r name best runs; do
    BEST[$name]=$best
    RUNS[$name]=$runs
done < <(PGOPTIONS="$SESSION_OPTS" psql -X -q -At -v ON_ERROR_STOP=1 -U "$ROLE" -d "$DB" \
             -c "SET tenancy.tenant = '$TENANT'" -c "SELECT * FROM bench_run($ROUNDS)")
[ -n "${BEST[enc_ten_1k]:-}" ] || { echo "bench: no timings" >&2; exit 1; }

# openssl speed: bytes per second at 16 B and 1 KiB (the "k" figures are
# 1000s of bytes per second).
declare -A OSSL
for b in 16 1024; do
    out=$(openssl speed -evp aes-256-gcm -bytes "$b" -seconds "$OSSL_SECONDS" 2>/dev/null)
    k=$(printf '%s\n' "$out" | awk 'tolower($1) == "aes-256-gcm" { v = $NF } END { sub(/k$/, "", v); print v }')
    [ -n "$k" ] || { echo "bench: could not parse openssl speed output:" >&2; printf '%s\n' "$out" >&2; exit 1; }
    OSSL[$b]=$(awk -v k="$k" 'BEGIN { printf "%.0f", k * 1000 }')
done

# --- report -------------------------------------------------------------------

# us per value: gross (whole statement) and net (less the bare scan).
per() { awk -v t="${BEST[$1]}" -v n="$2" 'BEGIN { printf "%.3f", t / n }'; }
net() { awk -v t="${BEST[$1]}" -v s="${BEST[$2]}" -v n="$3" 'BEGIN { d = (t - s) / n; if (d < 0.001) d = 0.001; printf "%.3f", d }'; }
mbs() { awk -v us="$1" -v b="$2" 'BEGIN { printf "%.0f", b / us }'; }   # bytes/us = MB/s
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict() { awk -v r="$1" -v g="$2" 'BEGIN { print (r >= g ? "met" : "NOT met") }'; }

declare -A NET GROSS
# name scan rows bytes-per-value
ROWSPEC=(
    "enc_ten_16 scan_p16 $ROWS 16" "enc_cbc_16 scan_p16 $ROWS 16" "enc_pgp_16 scan_pp16 $PGP_ROWS 16"
    "dec_ten_16 scan_et16 $ROWS 16" "dec_cbc_16 scan_ec16 $ROWS 16" "dec_pgp_16 scan_ep16 $PGP_ROWS 16"
    "bi_ten_16 scan_s16 $ROWS 16" "hmac_16 scan_s16 $ROWS 16"
    "enc_ten_1k scan_p1k $ROWS 1024" "enc_cbc_1k scan_p1k $ROWS 1024" "enc_pgp_1k scan_pp1k $PGP_ROWS 1024"
    "dec_ten_1k scan_et1k $ROWS 1024" "dec_cbc_1k scan_ec1k $ROWS 1024" "dec_pgp_1k scan_ep1k $PGP_ROWS 1024"
    "bi_ten_1k scan_s1k $ROWS 1024" "hmac_1k scan_s1k $ROWS 1024"
)
declare -A LABEL=(
    [enc_ten]="tenancy.encrypt (AES-256-GCM)" [enc_cbc]="pgcrypto encrypt_iv aes-cbc" [enc_pgp]="pgcrypto pgp_sym_encrypt"
    [dec_ten]="tenancy.decrypt" [dec_cbc]="pgcrypto decrypt_iv aes-cbc" [dec_pgp]="pgcrypto pgp_sym_decrypt"
    [bi_ten]="tenancy.blind_index" [hmac]="pgcrypto hmac sha256"
)

mkdir -p "$RESULTS_DIR"
{
    echo "tenancy benchmark: per-tenant encryption"
    echo "date:     $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "commit:   $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src sql 2>/dev/null || echo ' (src/sql modified)')"
    echo "server:   $(psql -X -Atc 'SHOW server_version' -d postgres)"
    echo "openssl:  $(openssl version)"
    echo "machine:  $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "data:     $ROWS random values of 16 B and of 1 KiB (pgp: $PGP_ROWS), one table per column, STORAGE PLAIN"
    echo "method:   SELECT sum(length(f(col))) FROM tbl, one backend, role $ROLE (member, not superuser),"
    echo "          jit off, no parallel workers; best of $ROUNDS interleaved runs;"
    echo "          net = statement less the bare scan SELECT sum(length(col)) FROM tbl, per value"
    echo
    printf '%-32s %5s %10s %10s %9s  %s\n' "operation" "size" "gross us" "net us" "net MB/s" "runs (ms)"
    for spec in "${ROWSPEC[@]}"; do
        set -- $spec
        g=$(per "$1" "$3"); n=$(net "$1" "$2" "$3")
        GROSS[$1]=$g; NET[$1]=$n
        printf '%-32s %5s %10s %10s %9s  %s\n' "${LABEL[${1%_*}]}" "${1##*_}" "$g" "$n" "$(mbs "$n" "$4")" "${RUNS[$1]}"
    done
    for s in p16 p1k et16 et1k ec16 ec1k s16 s1k; do
        printf '%-32s %5s %10s\n' "bare scan of $s" "" "$(per "scan_$s" "$ROWS")"
    done
    echo
    printf 'openssl speed -evp aes-256-gcm (ceiling): 16 B %s MB/s (%.3f us/value), 1 KiB %s MB/s (%.3f us/value)\n' \
        "$(awk -v b="${OSSL[16]}" 'BEGIN { printf "%.0f", b / 1e6 }')" "$(awk -v b="${OSSL[16]}" 'BEGIN { print 16e6 / b }')" \
        "$(awk -v b="${OSSL[1024]}" 'BEGIN { printf "%.0f", b / 1e6 }')" "$(awk -v b="${OSSL[1024]}" 'BEGIN { print 1024e6 / b }')"
    echo
    echo "goals (net per-value cost; gross in brackets):"
    for sz in 16 1k; do
        r=$(ratio "${NET[enc_cbc_$sz]}" "${NET[enc_ten_$sz]}"); rg=$(ratio "${GROSS[enc_cbc_$sz]}" "${GROSS[enc_ten_$sz]}")
        printf '  %-58s %7sx [%sx]  goal >= 1.0: %s\n' "encrypt $sz: encrypt_iv time / tenancy.encrypt time" "$r" "$rg" "$(verdict "$r" 1.0)"
    done
    for sz in 16 1k; do
        r=$(ratio "${NET[enc_pgp_$sz]}" "${NET[enc_ten_$sz]}"); rg=$(ratio "${GROSS[enc_pgp_$sz]}" "${GROSS[enc_ten_$sz]}")
        printf '  %-58s %7sx [%sx]  goal >= 100: %s\n' "encrypt $sz: pgp_sym_encrypt time / tenancy.encrypt time" "$r" "$rg" "$(verdict "$r" 100)"
    done
    r=$(ratio "$(mbs "${NET[enc_ten_1k]}" 1024)" "$(awk -v b="${OSSL[1024]}" 'BEGIN { print b / 1e6 }')")
    rg=$(ratio "$(mbs "${GROSS[enc_ten_1k]}" 1024)" "$(awk -v b="${OSSL[1024]}" 'BEGIN { print b / 1e6 }')")
    printf '  %-58s %7s  [%s]   goal >= 0.5: %s\n' "encrypt 1k: tenancy.encrypt MB/s / openssl speed MB/s" "$r" "$rg" "$(verdict "$r" 0.5)"
    echo "other ratios (no goal set):"
    for sz in 16 1k; do
        printf '  %-58s %7sx [%sx]\n' "decrypt $sz: decrypt_iv time / tenancy.decrypt time" \
            "$(ratio "${NET[dec_cbc_$sz]}" "${NET[dec_ten_$sz]}")" "$(ratio "${GROSS[dec_cbc_$sz]}" "${GROSS[dec_ten_$sz]}")"
        printf '  %-58s %7sx [%sx]\n' "decrypt $sz: pgp_sym_decrypt time / tenancy.decrypt time" \
            "$(ratio "${NET[dec_pgp_$sz]}" "${NET[dec_ten_$sz]}")" "$(ratio "${GROSS[dec_pgp_$sz]}" "${GROSS[dec_ten_$sz]}")"
        printf '  %-58s %7sx [%sx]\n' "blind index $sz: hmac time / tenancy.blind_index time" \
            "$(ratio "${NET[hmac_$sz]}" "${NET[bi_ten_$sz]}")" "$(ratio "${GROSS[hmac_$sz]}" "${GROSS[bi_ten_$sz]}")"
    done
    printf '  %-58s %7s\n' "decrypt 1k: tenancy.decrypt MB/s / openssl speed MB/s" \
        "$(ratio "$(mbs "${NET[dec_ten_1k]}" 1024)" "$(awk -v b="${OSSL[1024]}" 'BEGIN { print b / 1e6 }')")"
    echo "load average at start: $LOAD_AT_START; at end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$RESULTS"
echo "bench: results saved to $RESULTS"
