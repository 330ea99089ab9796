#!/usr/bin/env bash
# A real transaction-mode pooler (pgbouncer, one server connection) between
# two clients.  Client A makes the classic mistake of a session-level SET;
# client B is handed the same server connection next.  Without
# tenancy.require_local B inherits A's tenant (the leak this setting exists
# for); with it, B has no tenant and current_tenant() fails loudly.
# Needs PGHOST/PGPORT/PGUSER of a superuser (run.sh sets them).
set -euo pipefail
cd "$(dirname "$0")/../.."

BOUNCER_DIR=$(mktemp -d /tmp/tenancy-bouncer.XXXXXX)
BOUNCER_PORT=6499
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
    [ -f "$BOUNCER_DIR/pgbouncer.pid" ] && kill "$(cat "$BOUNCER_DIR/pgbouncer.pid")" 2>/dev/null || true
    sleep 0.2
    rm -rf "$BOUNCER_DIR"
    PGOPTIONS='-c client_min_messages=warning' psql -X -q -d postgres \
        -c "DROP DATABASE IF EXISTS tenancy_pool" \
        -c "DROP ROLE IF EXISTS regress_pool_strict" -c "DROP ROLE IF EXISTS regress_pool_loose" >/dev/null 2>&1 || true
}
trap cleanup EXIT

psql -X -q -d postgres -c "CREATE DATABASE tenancy_pool" >/dev/null
psql -X -q -o /dev/null -v ON_ERROR_STOP=1 -d tenancy_pool <<'SQL'
CREATE EXTENSION tenancy;
CREATE ROLE regress_pool_strict LOGIN;
CREATE ROLE regress_pool_loose LOGIN;
ALTER ROLE regress_pool_strict SET tenancy.require_local = on;
SELECT tenancy.create_tenant('acme');
SELECT tenancy.grant_tenant('regress_pool_strict', 'acme');
SELECT tenancy.grant_tenant('regress_pool_loose', 'acme');
SQL

cat > "$BOUNCER_DIR/users.txt" <<USERS
"regress_pool_strict" ""
"regress_pool_loose" ""
USERS
cat > "$BOUNCER_DIR/pgbouncer.ini" <<INI
[databases]
tenancy_pool = host=$PGHOST port=$PGPORT dbname=tenancy_pool
[pgbouncer]
listen_addr =
unix_socket_dir = $BOUNCER_DIR
listen_port = $BOUNCER_PORT
auth_type = trust
auth_file = $BOUNCER_DIR/users.txt
pool_mode = transaction
default_pool_size = 1
max_client_conn = 20
server_reset_query =
logfile = $BOUNCER_DIR/pgbouncer.log
pidfile = $BOUNCER_DIR/pgbouncer.pid
INI
[ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$BOUNCER_DIR"
as_pg pgbouncer -d "$BOUNCER_DIR/pgbouncer.ini"
for _ in $(seq 50); do [ -S "$BOUNCER_DIR/.s.PGSQL.$BOUNCER_PORT" ] && break; sleep 0.1; done

via_pool() {  # via_pool role sql...
    local role=$1; shift
    local args=()
    for s in "$@"; do args+=(-c "$s"); done
    psql -X -q -At -h "$BOUNCER_DIR" -p $BOUNCER_PORT -U "$role" -d tenancy_pool "${args[@]}" 2>&1
}

n=0; fail=0
expect() {  # expect "description" expected actual
    n=$((n + 1))
    if [ "$2" = "$3" ]; then echo "ok $n - $1"
    else echo "not ok $n - $1"; echo "#   expected: $2"; echo "#   got:      $3"; fail=1; fi
}

for role in regress_pool_loose regress_pool_strict; do
    # Client A: a correct transaction, then the mistake.
    a=$(via_pool $role "BEGIN" "SET LOCAL tenancy.tenant = 'acme'" \
        "SELECT pg_backend_pid() || ' ' || tenancy.current_tenant_slug()" "COMMIT" \
        "SET tenancy.tenant = 'acme'")
    pid_a=${a%% *}
    expect "$role: client A works in its transaction" "acme" "${a#* }"
    # Client B: a new client, handed the same server connection.
    b=$(via_pool $role "SELECT pg_backend_pid() || ' ' || coalesce(tenancy.current_tenant_slug(), '(none)')")
    expect "$role: client B is served by A's server connection" "$pid_a" "${b%% *}"
    if [ $role = regress_pool_loose ]; then
        expect "$role: without require_local B inherits A's tenant (the leak)" "acme" "${b#* }"
    else
        expect "$role: with require_local B has no tenant" "(none)" "${b#* }"
        expect "$role: with require_local SHOW reveals nothing" "" \
               "$(via_pool $role "SHOW tenancy.tenant")"
        err=$(via_pool $role "SELECT tenancy.current_tenant()" || true)
        expect "$role: with require_local current_tenant() fails loudly" \
               "ERROR:  tenancy: no tenant is set" "$(echo "$err" | head -n 1)"
    fi
    via_pool $role "RESET tenancy.tenant" >/dev/null
done
echo "1..$n"
exit $fail
