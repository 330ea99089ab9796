# Sourced by run.sh: a throwaway PostgreSQL 15 cluster in a temporary folder,
# run as the `postgres` OS user (when we are root), reachable only through a
# unix socket in that folder (listen_addresses = ''), with tenancy preloaded
# and a freshly generated master key.  cluster_stop runs on every exit.

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PGBIN=$("$PG_CONFIG" --bindir)
CLUSTER_PORT=${CLUSTER_PORT:-5499}

as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

cluster_start() {
    CLUSTER_DIR=$(mktemp -d /tmp/tenancy-cluster.XXXXXX)
    mkdir -p "$CLUSTER_DIR/sock"
    openssl rand -hex 32 > "$CLUSTER_DIR/master.key"
    chmod 600 "$CLUSTER_DIR/master.key"
    if [ "$(id -u)" -eq 0 ]; then
        chown -R postgres:postgres "$CLUSTER_DIR"
    fi
    chmod 700 "$CLUSTER_DIR"
    # Root (running the client tools) must still reach the socket.
    as_pg "$PGBIN/initdb" -D "$CLUSTER_DIR/data" -U postgres --auth=trust \
        -E UTF8 --locale=C.UTF-8 --no-instructions >"$CLUSTER_DIR/initdb.log" 2>&1 \
        || { cat "$CLUSTER_DIR/initdb.log"; return 1; }
    cat >>"$CLUSTER_DIR/data/postgresql.conf" <<CONF
# --- tenancy throwaway cluster ---
listen_addresses = ''
unix_socket_directories = '$CLUSTER_DIR/sock'
unix_socket_permissions = 0700
port = $CLUSTER_PORT
shared_preload_libraries = '${TENANCY_PRELOAD-tenancy}'
tenancy.master_key_file = '$CLUSTER_DIR/master.key'
max_connections = 60
fsync = off
synchronous_commit = off
full_page_writes = off
max_worker_processes = 8
max_parallel_workers = 4
max_parallel_workers_per_gather = 2
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
CONF
    trap cluster_stop EXIT
    as_pg "$PGBIN/pg_ctl" -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/server.log" \
        -w -t 60 start >/dev/null || { cat "$CLUSTER_DIR/server.log"; return 1; }
    export PGHOST="$CLUSTER_DIR/sock" PGPORT="$CLUSTER_PORT" PGUSER=postgres
    export PGDATABASE=postgres
    unset PGPASSWORD PGSERVICE PGHOSTADDR
    echo "tenancy: cluster running in $CLUSTER_DIR (socket only, port $CLUSTER_PORT)"
}

cluster_stop() {
    local rc=$?
    if [ -n "${CLUSTER_DIR:-}" ] && [ -d "$CLUSTER_DIR/data" ]; then
        as_pg "$PGBIN/pg_ctl" -D "$CLUSTER_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
        if [ "$rc" -ne 0 ] && [ -f "$CLUSTER_DIR/server.log" ]; then
            echo "tenancy: last lines of the server log:" >&2
            tail -n 30 "$CLUSTER_DIR/server.log" >&2 || true
        fi
        rm -rf "$CLUSTER_DIR"
        echo "tenancy: cluster stopped"
    fi
    CLUSTER_DIR=
    exit "$rc"
}
