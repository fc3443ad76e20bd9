#!/usr/bin/env bash
# Regenerates the dashboard's screenshots (docs/ui-*.png) and prints the explorer's
# 2,000-node measurement (a Markdown table for README.md). Starts its own server
# on loopback (the debug build, built first; KEKTOR_BIN picks another) with the built-in embedder, a token and a vectorizer over a
# temporary folder, and stops it at the end.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
node_cache="$(bash "$root/tests/ui/setup.sh" | tail -1)"
models="${KEKTOR_MODELS_DIR:-$root/models}"
KEKTOR_MODELS_DIR="$models" bash "$root/deploy/fetch-models.sh" >/dev/null
bin="${KEKTOR_BIN:-}"
if [ -z "$bin" ]; then
  (cd "$root" && cargo build --bin kektordb -q)
  bin="$root/target/debug/kektordb"
fi
work="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/notes"
printf '# Tea\n\nGreen tea is steeped at 80 degrees for two minutes.\n' >"$work/notes/tea.md"
printf '# Bikes\n\nOil the chain of the bicycle every month.\n' >"$work/notes/bikes.md"
printf '# Stars\n\nThe pole star stays still in the night sky.\n' >"$work/notes/stars.md"
printf '%%PDF-1.4 not really a pdf' >"$work/notes/broken.pdf"
printf 'vectorizers:\n  - name: notes\n    kektor_index: notes\n    schedule: 1h\n    source: {path: %s}\n' "$work/notes" >"$work/v.yaml"
token="shots-$$"
"$bin" -http-addr 127.0.0.1:0 -shards 2 -no-pin -in-memory -embedder local -models-dir "$models" \
  -auth-token "$token" -vectorizers-config "$work/v.yaml" 2>"$work/log" &
pid=$!
for _ in $(seq 100); do grep -q "listening on" "$work/log" && break; sleep 0.1; done
addr="$(grep -o 'listening on http://[0-9.:]*' "$work/log" | sed 's/listening on //')"
[ -n "$addr" ] || { cat "$work/log" >&2; exit 1; }
KEKTOR_UI_NODE="$node_cache" KEKTOR_UI_URL="$addr" KEKTOR_UI_TOKEN="$token" node "$root/tests/ui/shots.js"
# Smaller files when pngquant is there (Debian's package of that name).
if command -v pngquant >/dev/null; then
  for f in "$root"/docs/ui-*.png; do pngquant --quality 60-90 --speed 1 --force --output "$f" "$f"; done
fi
ls -l "$root"/docs/ui-*.png >&2
