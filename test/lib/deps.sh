#!/usr/bin/env bash
# Install what `make demo` and `make test` need, from Debian's archive only.
# As root it installs what is missing; otherwise it says what to install.
set -euo pipefail

PKGS=(make gcc openssl
      postgresql-15 postgresql-server-dev-15 libssl-dev
      postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl pgbouncer
      valgrind clang-14 libclang-rt-14-dev)
# Extra packages a target asks for (e.g. valgrind for `make valgrind`).
PKGS+=(${TENANCY_EXTRA_PKGS:-})

missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "tenancy: these Debian packages are missing: ${missing[*]}" >&2
    echo "tenancy: install them with:  sudo apt-get install ${missing[*]}" >&2
    exit 1
fi

echo "tenancy: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
