#!/usr/bin/env bash
# Runs the upstream client's own test suite (kektordb-client 0.6.2 sdist,
# tests/test_all_endpoints.py) against a running server at $KEKTOR_TEST_ADDR
# (host:port). The sdist and the virtualenv are cached outside the clone.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../deps.sh"
need_venv
cache="${XDG_CACHE_HOME:-$HOME/.cache}/kektordb"
venv="${KEKTOR_TEST_VENV:-$cache/venvs/client-0.6.2}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "kektordb-client==0.6.2" "pytest==8.*"
fi
src="$cache/sdist/kektordb_client-0.6.2"
if [ ! -f "$src/tests/test_all_endpoints.py" ]; then
  mkdir -p "$cache/sdist"
  "$venv/bin/pip" download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
    "kektordb-client==0.6.2" -d "$cache/sdist"
  tar -xzf "$cache/sdist/kektordb_client-0.6.2.tar.gz" -C "$cache/sdist"
fi
port="${KEKTOR_TEST_ADDR##*:}"
cd "$src/tests"
KEKTOR_TEST_PORT="$port" exec "$venv/bin/python" -m pytest -q -rf -p no:cacheprovider test_all_endpoints.py
