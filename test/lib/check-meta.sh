#!/usr/bin/env bash
# Check META.json against the PGXN Meta Spec 1.0.0 essentials and keep its
# versions equal to default_version in tenancy.control: the file parses as
# JSON, has every required key, and both "version" and
# provides.tenancy.version equal the control file's.  `make check-meta`.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -f META.json ]; then
    echo "check-meta: META.json is missing" >&2
    exit 1
fi
control_version=$(sed -n "s/^default_version = '\(.*\)'/\1/p" tenancy.control)
if [ -z "$control_version" ]; then
    echo "check-meta: no default_version = '...' line in tenancy.control" >&2
    exit 1
fi

python3 -c '
import json, os, sys

control_version = sys.argv[1]
problems = []
try:
    with open("META.json", encoding="utf-8") as f:
        meta = json.load(f)
except ValueError as e:
    sys.exit("check-meta: META.json is not valid JSON: %s" % e)
if not isinstance(meta, dict):
    sys.exit("check-meta: META.json must hold a JSON object")

for key in ("name", "abstract", "version", "maintainer", "license",
            "provides", "meta-spec"):
    if meta.get(key) in (None, "", [], {}):
        problems.append("required key \"%s\" is missing or empty" % key)

spec = meta.get("meta-spec")
if isinstance(spec, dict):
    if spec.get("version") != "1.0.0":
        problems.append("meta-spec.version is %r, expected \"1.0.0\"" % spec.get("version"))
elif spec is not None:
    problems.append("meta-spec must be an object")

if meta.get("version") != control_version:
    problems.append("version is %r but tenancy.control has default_version %r"
                    % (meta.get("version"), control_version))

provides = meta.get("provides")
ext = provides.get("tenancy") if isinstance(provides, dict) else None
if not isinstance(ext, dict):
    problems.append("provides.tenancy is missing")
else:
    if ext.get("version") != control_version:
        problems.append("provides.tenancy.version is %r but tenancy.control has default_version %r"
                        % (ext.get("version"), control_version))
    for key in ("file", "docfile"):
        path = ext.get(key)
        if path is not None and not os.path.isfile(path):
            problems.append("provides.tenancy.%s names %r, which does not exist" % (key, path))

if problems:
    for p in problems:
        print("check-meta: META.json: " + p, file=sys.stderr)
    sys.exit(1)
print("check-meta: META.json is valid; version %s matches tenancy.control" % control_version)
' "$control_version"
