#!/usr/bin/env bash
# The MCP memory server over stdio: p50/p99 latency of save_memory and
# recall_memory with the local embedder (release build), and the top-3 hit rate of
# recall_memory on real text (package descriptions from docs.jsonl, asked for by
# questions built from their titles). Driver: benches/mcp_bench.py.
#   benches/mcp.sh [N]     (N memories, default 300)
# DOCS=path/to/docs.jsonl overrides the data (default ../shared/data/docs.jsonl).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
cargo build --release --bin kektordb
models="${KEKTOR_MODELS_DIR:-$root/models}"
KEKTOR_MODELS_DIR="$models" bash deploy/fetch-models.sh >/dev/null
docs="${DOCS:-$root/../shared/data/docs.jsonl}"
nproc_line="$(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "machine: $nproc_line"
python3 benches/mcp_bench.py --bin target/release/kektordb --models "$models" --docs "$docs" --n "${1:-300}"
