#!/usr/bin/env bash
# Runs tests/mcp/client.py — the official MCP Python SDK (`mcp`, pinned by the first
# argument, e.g. 1.9.4 or 2.3.0) over stdio — against the real binary
# ($KEKTOR_TEST_BIN, models in $KEKTOR_MODELS_DIR). The SDK is installed on first
# use into ~/.cache/kektordb/venvs/mcp-<version> (outside the clone, so CI reruns skip it).
set -euo pipefail
ver="${1:?usage: tests/mcp/run.sh MCP_SDK_VERSION}"
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../deps.sh"
need_venv
venv="${KEKTOR_MCP_VENV_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kektordb/venvs}/mcp-$ver"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import mcp, jsonschema" 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  # mcp 1.x imports a pydantic internal that pydantic 2.12 removed: pin the
  # pydantic of its time for it.
  extra=()
  case "$ver" in 1.*) extra=("pydantic==2.11.7") ;; esac
  "$venv/bin/pip" install --quiet --disable-pip-version-check "mcp==$ver" "jsonschema==4.26.0" "${extra[@]}"
fi
exec "$venv/bin/python" "$here/client.py"
