#!/usr/bin/env bash
# HTTP benchmarks against the release server on this machine: trivial route with wrk
# (if installed) and with http-load, then search over HTTP on the shared data with 64
# connections, for 1 and 2 shards, next to the in-process `ann` figure at the same ef.
# Prints JSON lines; the load generator shares the machine's cores with the server.
# When the shards leave CPUs free, the server runs HTTP on executors of its own
# there (`-http-executors`), and the load generator is pinned to the last CPU, beside
# them, so it does not take time from a shard; otherwise it runs one event-loop thread
# per CPU, so what it takes is taken evenly from the shards (every search needs every
# shard, so the shard with the least CPU sets the pace). `client_cpu_cores` says what
# it used.
set -euo pipefail
cd "$(dirname "$0")/.."
D=${DATA:-../shared/data}
EF=${EF:-64}
PORT=${PORT:-19190}
cargo build --release -p kektordb --bin kektordb
cargo build --release -p kektordb-benches
CPUS=$(nproc)
for shards in 1 2; do
  pin=()
  client=(--client-threads "$CPUS")
  if [ "$shards" -lt "$CPUS" ] && command -v taskset >/dev/null; then
    pin=(taskset -c $((CPUS - 1)))
    client=(--client-threads 1)
  fi
  ./target/release/kektordb -http-addr 127.0.0.1:$PORT -shards "$shards" -in-memory 2>/dev/null &
  pid=$!
  trap 'kill $pid 2>/dev/null' EXIT
  # Wait until it answers (loading the built-in embedder takes a moment).
  for _ in $(seq 200); do
    curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  echo "# shards=$shards trivial route"
  if command -v wrk >/dev/null; then wrk -t1 -c64 -d8s "http://127.0.0.1:$PORT/healthz" | grep -E "Requests/sec|Latency"; fi
  "${pin[@]}" ./target/release/http-load --addr 127.0.0.1:$PORT --route healthz --connections 64 --seconds 5
  if [ -f "$D/base.fvecs" ]; then
    echo "# shards=$shards search over HTTP (64 connections, ef $EF)"
    "${pin[@]}" ./target/release/http-load --addr 127.0.0.1:$PORT --route search --base "$D/base.fvecs" \
      --queries "$D/queries.fvecs" --gt "$D/gt.ivecs" --ef "$EF" --connections 64 --seconds 10 "${client[@]}"
    echo "# shards=$shards in-process (ann, $shards threads)"
    ./target/release/ann --base "$D/base.fvecs" --queries "$D/queries.fvecs" --gt "$D/gt.ivecs" \
      --ef "$EF" --shards "$shards" --threads "$shards"
  else
    echo "# search skipped: $D/base.fvecs is absent"
  fi
  kill $pid; wait $pid 2>/dev/null || true
  trap - EXIT
done
