#!/usr/bin/env bash
# Without shared_preload_libraries the library loads on the first call of
# one of its functions, and a tenant SET before that is validated then:
# by the session's own role, even when the first call happens inside a
# SECURITY DEFINER function.  Runs its own throwaway cluster.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CLUSTER_PORT=5497 TENANCY_PRELOAD=''
. test/lib/cluster.sh
cluster_start >/dev/null

n=0; fail=0
check() {  # check "description" expected-output psql-args...
    local desc=$1 expected=$2; shift 2
    local out
    out=$(psql -X -q -At -d tenancy_np "$@" 2>&1 | grep -v '^WARNING\|^DETAIL\|^HINT\|^CONTEXT\|^$' | tail -n 1 || true)
    n=$((n + 1))
    if [ "$out" = "$expected" ]; then
        echo "ok $n - $desc"
    else
        echo "not ok $n - $desc"; echo "#   expected: $expected"; echo "#   got:      $out"
        fail=1
    fi
}

createdb tenancy_np
psql -X -q -o /dev/null -v ON_ERROR_STOP=1 -d tenancy_np <<'SQL'
CREATE EXTENSION tenancy;
CREATE ROLE regress_np_app LOGIN;
SELECT tenancy.create_tenant('acme', id => '11111111-1111-4111-8111-111111111111');
SELECT tenancy.create_tenant('globex');
SELECT tenancy.grant_tenant('regress_np_app', 'acme');
CREATE FUNCTION public.definer_slug() RETURNS text LANGUAGE sql SECURITY DEFINER
    AS $$ SELECT coalesce(tenancy.current_tenant_slug(), '(none)') $$;
SQL

check "library is not preloaded" "" -c "SHOW shared_preload_libraries"
check "member: SET before load, validated at first use" \
      "11111111-1111-4111-8111-111111111111" \
      -c "SET ROLE regress_np_app" -c "SET tenancy.tenant = 'acme'" \
      -c "SELECT tenancy.current_tenant()"
check "non-member: SET before load is dropped at first use" \
      "ERROR:  tenancy: no tenant is set" \
      -c "SET ROLE regress_np_app" -c "SET tenancy.tenant = 'globex'" \
      -c "SELECT tenancy.current_tenant()"
check "non-member: first use inside a SECURITY DEFINER function does not validate as its owner" \
      "(none)" \
      -c "SET ROLE regress_np_app" -c "SET tenancy.tenant = 'globex'" \
      -c "SELECT public.definer_slug()"
check "once loaded, SET is validated at once" \
      "ERROR:  permission denied for tenant \"globex\"" \
      -c "SET ROLE regress_np_app" -c "SELECT tenancy.current_tenant_slug()" \
      -c "SET tenancy.tenant = 'globex'"
check "suspension reaches a non-preloaded session" \
      "ERROR:  tenant \"acme\" is suspended" \
      -c "SET ROLE regress_np_app" -c "SET tenancy.tenant = 'acme'" \
      -c "SELECT tenancy.current_tenant_slug()" \
      -c "RESET ROLE" -c "SELECT tenancy.suspend_tenant('acme')" -c "SET ROLE regress_np_app" \
      -c "SELECT tenancy.current_tenant_slug()"
echo "1..$n"
psql -X -q -c "DROP DATABASE tenancy_np" -c "DROP ROLE regress_np_app" >/dev/null
exit $fail
