#!/usr/bin/env bash
# The built-in embedder against ONNX Runtime in the same run: our `embed` bench binary
# (release) and benches/onnx_embed.py (onnxruntime from PyPI, plain and fused graphs),
# same model, same texts, batch 32, 1 and $THREADS threads. Prints every JSON line, then
# the ratio of our best throughput to ORT's best at each thread count.
#
#   benches/embed.sh                 # N=1024 THREADS=2 DATA=../shared/data
set -euo pipefail
cd "$(dirname "$0")/.."
n=${N:-1024}
threads=${THREADS:-2}
data=${DATA:-../shared/data}
bash deploy/fetch-models.sh >&2
venv=benches/.venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import onnxruntime, onnx, numpy, tokenizers' 2>/dev/null \
  || "$venv/bin/pip" install -q --disable-pip-version-check onnxruntime onnx numpy tokenizers >&2
out=$(mktemp)
cargo run -q --release -p kektordb-benches --bin embed -- \
  --models models --data "$data" --n "$n" --batch 32 --threads "$threads" | tee -a "$out"
"$venv/bin/python" benches/onnx_embed.py --models models --data "$data" --n "$n" \
  --threads "$threads" | tee -a "$out"
"$venv/bin/python" - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
for t in sorted({r["threads"] for r in rows}):
    ours = [r for r in rows if r["threads"] == t and r["engine"].startswith("kektordb")]
    peer = [r for r in rows if r["threads"] == t and not r["engine"].startswith("kektordb")]
    if ours and peer:
        a = max(ours, key=lambda r: r["embeddings_per_s"])
        b = max(peer, key=lambda r: r["embeddings_per_s"])
        print(f"threads {t}: kektordb {a['embeddings_per_s']} emb/s (worst cos {a['worst_cosine']}) vs "
              f"ORT best {b['embeddings_per_s']} emb/s ({b['graph']}, {b['order']}; worst cos {b['worst_cosine']}): "
              f"{a['embeddings_per_s'] / b['embeddings_per_s']:.2f}x")
PY
