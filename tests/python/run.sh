#!/usr/bin/env bash
# Runs the Python client tests (kektordb-client 0.6.2 from PyPI) against a running
# server at $KEKTOR_TEST_ADDR (host:port). Creates its own virtualenv on first use.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../deps.sh"
need_venv
venv="${KEKTOR_TEST_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/kektordb/venvs/client-0.6.2}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "kektordb-client==0.6.2" "pytest==8.*"
fi
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider "$here/test_client.py"
