#!/usr/bin/env bash
# Searches under a write load: search QPS and latency (16 connections, ef 64) alone,
# then while 32 more connections set KV keys (each acknowledged after its fsync,
# -fsync always), on the shared data set; then write throughput alone (64 clients
# and 1 client). Measured for the default log mode and for -log-direct in the same
# run. BIN_B, if set, is another server binary measured the same way (an older
# build, for a ratio).
set -euo pipefail
cd "$(dirname "$0")/.."
D=${DATA:-../shared/data}
PORT=${PORT:-19291}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
cargo build --release -p kektordb --bin kektordb
cargo build --release -p kektordb-benches --bin http-load
L=./target/release/http-load
run() {
  local bin=$1; shift
  rm -rf "$DIR/data"
  "$bin" "$@" -http-addr 127.0.0.1:$PORT -aof-path "$DIR/data" 2>/dev/null &
  local pid=$!
  sleep 0.5
  $L --addr 127.0.0.1:$PORT --route search --base "$D/base.fvecs" --queries "$D/queries.fvecs" \
    --gt "$D/gt.ivecs" --connections 1 --seconds 1 >/dev/null
  echo "# $bin $*: search alone"
  $L --addr 127.0.0.1:$PORT --route search --no-load --base "$D/base.fvecs" --queries "$D/queries.fvecs" \
    --gt "$D/gt.ivecs" --connections 16 --seconds 5
  echo "# $bin $*: search while 32 connections set KV keys"
  $L --addr 127.0.0.1:$PORT --route kv --connections 32 --seconds 7 > "$DIR/kv.json" &
  local kv=$!
  sleep 0.5
  $L --addr 127.0.0.1:$PORT --route search --no-load --base "$D/base.fvecs" --queries "$D/queries.fvecs" \
    --gt "$D/gt.ivecs" --connections 16 --seconds 5
  wait $kv
  cat "$DIR/kv.json"
  echo "# $bin $*: KV sets alone, 64 clients then 1"
  $L --addr 127.0.0.1:$PORT --route kv --connections 64 --seconds 4
  $L --addr 127.0.0.1:$PORT --route kv --connections 1 --seconds 3
  kill $pid; wait $pid 2>/dev/null || true
}
run ./target/release/kektordb
run ./target/release/kektordb -log-direct
if [ -n "${BIN_B:-}" ]; then run "$BIN_B"; fi
