#!/usr/bin/env bash
# The AI proxy's added latency against a fast local upstream, proxy vs direct in
# the same run (benches/src/proxy_bench.rs): passthrough p50/p99 and req/s at 1
# and 64 connections, time to the first streamed byte, exact cache hits, and the
# firewall + cache pipeline with the built-in embedder (reported apart). The load
# generator, the upstream and the server share this machine's cores.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_CASE=${SECONDS_PER_CASE:-4}
cargo build --release -p kektordb --bin kektordb
cargo build --release -p kektordb-benches --bin proxy-bench
KEKTOR_MODELS_DIR="${KEKTOR_MODELS_DIR:-$PWD/models}" bash deploy/fetch-models.sh >/dev/null
./target/release/proxy-bench --bin ./target/release/kektordb --seconds "$SECONDS_PER_CASE" \
  --models "${KEKTOR_MODELS_DIR:-$PWD/models}"
