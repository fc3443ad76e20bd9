#!/usr/bin/env bash
# The MCP Inspector's CLI (npm @modelcontextprotocol/inspector, pinned) against the
# real binary over stdio: tools/list, then a tools/call of save_memory and of
# recall_memory (a new server process each, on one data directory). npx caches the package in ~/.npm on first use; later runs work
# with --offline. Prints the three answers (JSON) separated by lines "----".
set -euo pipefail
. "$(dirname "$0")/../deps.sh"
need npx nodejs npm
bin="${KEKTOR_TEST_BIN:?KEKTOR_TEST_BIN names the binary}"
models="${KEKTOR_MODELS_DIR:?KEKTOR_MODELS_DIR names the models directory}"
pkg="@modelcontextprotocol/inspector@2.12.0"
npx_flags=(--yes)
if npx --offline --yes "$pkg" --help >/dev/null 2>&1; then npx_flags=(--offline --yes); fi
data="$(mktemp -d)"
trap 'rm -rf "$data"' EXIT
# A data directory: each inspector call starts its own server process.
server=("$bin" --mcp -aof-path "$data" -shards 2 -no-pin -models-dir "$models" -embedder local)
insp() { npx "${npx_flags[@]}" "$pkg" --cli "$@" -- "${server[@]}" 2>/dev/null; }
insp --method tools/list
echo "----"
insp --method tools/call --tool-name save_memory --tool-arg "content=The inspector saved this note about otters"
echo "----"
insp --method tools/call --tool-name recall_memory --tool-arg "query=otters"
