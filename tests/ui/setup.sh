#!/usr/bin/env bash
# Installs what the dashboard's browser tests need, when it is missing: Debian's
# chromium (apt-get) and playwright-core (npm, pinned, into a cache outside the
# repository; it drives the system chromium, it downloads no browser of its own).
# Prints the cache directory holding node_modules on its last line.
set -euo pipefail
cache="${KEKTOR_UI_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kektordb/ui-node}"
version="1.65.1"
. "$(dirname "$0")/../deps.sh"
need chromium chromium
need npm nodejs npm
have=""
if [ -f "$cache/node_modules/playwright-core/package.json" ]; then
  have=$(node -p "require('$cache/node_modules/playwright-core/package.json').version")
fi
if [ "$have" != "$version" ]; then
  mkdir -p "$cache"
  [ -f "$cache/package.json" ] || echo '{"name":"kektordb-ui-tests","private":true}' >"$cache/package.json"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$cache" --no-audit --no-fund \
    --loglevel=error "playwright-core@$version" >&2
fi
echo "$cache"
