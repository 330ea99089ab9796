#!/usr/bin/env bash
# The master key file: hex or base64, reloaded on SIGHUP, refused when group
# or others may read it, never shown to non-superusers nor written to the
# server log.  Runs its own throwaway cluster.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CLUSTER_PORT=5493
. test/lib/cluster.sh
cluster_start >/dev/null
KEYFILE="$CLUSTER_DIR/master.key"
KEY_A=$(cat "$KEYFILE")

n=0; fail=0
expect() {  # expect "description" expected actual
    n=$((n + 1))
    if [ "$2" = "$3" ]; then echo "ok $n - $1"
    else echo "not ok $n - $1"; echo "#   expected: $2"; echo "#   got:      $3"; fail=1; fi
}
q() { psql -X -q -At -d tenancy_mk "$@" 2>&1 | grep -v '^HINT\|^DETAIL' | tail -n 1; }
write_key() {  # write_key content mode
    printf '%s\n' "$1" > "$KEYFILE"
    chmod "$2" "$KEYFILE"
    [ "$(id -u)" -eq 0 ] && chown postgres "$KEYFILE"
    as_pg "$PGBIN/pg_ctl" -D "$CLUSTER_DIR/data" reload >/dev/null
    sleep 0.5
}

createdb tenancy_mk
psql -X -q -o /dev/null -v ON_ERROR_STOP=1 -d tenancy_mk <<'SQL'
CREATE EXTENSION tenancy;
CREATE ROLE regress_mk_app LOGIN;
SELECT tenancy.create_tenant('acme');
SELECT tenancy.grant_tenant('regress_mk_app', 'acme');
CREATE TABLE vault (c bytea);
GRANT SELECT, INSERT ON vault TO regress_mk_app;
SQL
psql -X -q -d tenancy_mk -c "SET tenancy.tenant = 'acme'" \
     -c "INSERT INTO vault SELECT tenancy.encrypt('under key A', 'v')"

expect "decrypts with the hex key" "under key A" \
       "$(q -c "SET tenancy.tenant = 'acme'" -c "SELECT tenancy.decrypt_text(c, 'v') FROM vault")"

# The same 32 bytes in base64 are the same key.
write_key "$(perl -e 'print pack("H*", $ARGV[0])' "$KEY_A" | base64)" 600
expect "the same key in base64 decrypts too" "under key A" \
       "$(q -c "SET tenancy.tenant = 'acme'" -c "SELECT tenancy.decrypt_text(c, 'v') FROM vault")"

# Another key after a reload: old values no longer decrypt.
write_key "$(openssl rand -hex 32)" 600
expect "after reload with another key, old values fail the tag check" \
       "ERROR:  ciphertext does not decrypt for tenant \"acme\" in this context" \
       "$(q -c "SET tenancy.tenant = 'acme'" -c "SELECT tenancy.decrypt_text(c, 'v') FROM vault")"

write_key "$KEY_A" 644
expect "a key file readable by others is refused" \
       "ERROR:  master key file \"$KEYFILE\" is accessible by group or others" \
       "$(q -c "SET tenancy.tenant = 'acme'" -c "SELECT tenancy.decrypt_text(c, 'v') FROM vault")"

write_key "not a key" 600
expect "a malformed key file is refused" \
       "ERROR:  master key file \"$KEYFILE\" does not hold a 32-byte key" \
       "$(q -c "SET tenancy.tenant = 'acme'" -c "SELECT tenancy.decrypt_text(c, 'v') FROM vault")"

write_key "$KEY_A" 600
expect "back to key A after a reload" "under key A" \
       "$(q -c "SET tenancy.tenant = 'acme'" -c "SELECT tenancy.decrypt_text(c, 'v') FROM vault")"

expect "non-superusers cannot see the setting" \
       "ERROR:  must be superuser or have privileges of pg_read_all_settings to examine \"tenancy.master_key_file\"" \
       "$(q -c "SET ROLE regress_mk_app" -c "SHOW tenancy.master_key_file")"
expect "pg_settings hides it from non-superusers" "0" \
       "$(q -c "SET ROLE regress_mk_app" -c "SELECT count(*) FROM pg_settings WHERE name = 'tenancy.master_key_file'")"

sed -i "s|^tenancy.master_key_file = .*|tenancy.master_key_file = ''|" "$CLUSTER_DIR/data/postgresql.conf"
as_pg "$PGBIN/pg_ctl" -D "$CLUSTER_DIR/data" reload >/dev/null; sleep 0.5
expect "without a master key every crypto function says so" \
       "ERROR:  no master key is configured" \
       "$(q -c "SET tenancy.tenant = 'acme'" -c "SELECT tenancy.encrypt('x')")"

if grep -qi -- "$KEY_A" "$CLUSTER_DIR/server.log"; then
    expect "the key never reaches the server log" "absent" "present"
else
    expect "the key never reaches the server log" "absent" "absent"
fi
echo "1..$n"
psql -X -q -c "DROP DATABASE tenancy_mk" -c "DROP ROLE regress_mk_app" >/dev/null
exit $fail
