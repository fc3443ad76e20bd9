#!/usr/bin/env bash
# Durability benchmarks: acknowledged writes/s per fsync policy (64 clients adding
# single 384-d vectors, 64 clients setting KV keys, one client sending add-batch of
# 1000 x 384), then restart (AOF replay) time after loading the shared data set.
set -euo pipefail
cd "$(dirname "$0")/.."
D=${DATA:-../shared/data}
PORT=${PORT:-19290}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
cargo build --release -p kektordb --bin kektordb
cargo build --release -p kektordb-benches
for policy in always everysec no; do
  rm -rf "$DIR/data"
  ./target/release/kektordb -http-addr 127.0.0.1:$PORT -aof-path "$DIR/data" -fsync $policy 2>/dev/null &
  pid=$!
  sleep 0.5
  echo "# fsync=$policy"
  ./target/release/http-load --addr 127.0.0.1:$PORT --route add --connections 64 --seconds 6
  ./target/release/http-load --addr 127.0.0.1:$PORT --route kv --connections 64 --seconds 4
  ./target/release/http-load --addr 127.0.0.1:$PORT --route add-batch --connections 1 --seconds 6
  kill $pid; wait $pid 2>/dev/null || true
done
if [ -f "$D/base.fvecs" ]; then
  rm -rf "$DIR/data"
  ./target/release/kektordb -http-addr 127.0.0.1:$PORT -aof-path "$DIR/data" 2>/dev/null &
  pid=$!
  sleep 0.5
  ./target/release/http-load --addr 127.0.0.1:$PORT --route search --base "$D/base.fvecs" \
    --queries "$D/queries.fvecs" --gt "$D/gt.ivecs" --connections 1 --seconds 1 >/dev/null
  kill -9 $pid; wait $pid 2>/dev/null || true
  start=$(date +%s.%N)
  ./target/release/kektordb -http-addr 127.0.0.1:$PORT -aof-path "$DIR/data" 2>"$DIR/log" &
  pid=$!
  until grep -q listening "$DIR/log"; do sleep 0.02; done
  end=$(date +%s.%N)
  echo "{\"restart_s\": $(echo "$end - $start" | bc), \"log\": \"$(grep -o 'replayed [0-9]* records' "$DIR/log")\"}"
  kill $pid; wait $pid 2>/dev/null || true
fi
