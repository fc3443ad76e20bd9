#!/usr/bin/env bash
# The RAG pipeline over a real folder: $FILES Markdown files (package descriptions
# from ../shared/data/docs.jsonl, several per file so chunks split), the release
# server with the built-in embedder, one vectorizer. Reports the first ingestion
# (files/s, chunks/s, embedding share of the time) and, after a restart, the
# re-ingestion of the unchanged folder (goal: under 2 s for 1,000 files).
#
#   benches/rag.sh                  # FILES=1000 DATA=../shared/data
set -euo pipefail
cd "$(dirname "$0")/.."
files=${FILES:-1000}
data=${DATA:-../shared/data}
bash deploy/fetch-models.sh >&2
cargo build -q --release --bin kektordb
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
python3 - "$data/docs.jsonl" "$work/folder" "$files" <<'PY'
import json, os, sys
src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(out, exist_ok=True)
docs = [json.loads(l) for l in open(src)]
per = 4
for i in range(n):
    part = docs[(i * per) % len(docs):(i * per) % len(docs) + per]
    body = "\n\n".join(f"## {d['title']}\n\n{d['text']}" for d in part)
    sub = os.path.join(out, f"s{i % 10}")
    os.makedirs(sub, exist_ok=True)
    open(os.path.join(sub, f"doc{i:05}.md"), "w").write(f"# File {i}\n\n{body}\n")
PY
cat > "$work/v.yaml" <<YAML
vectorizers:
  - name: bench
    kektor_index: bench
    schedule: 1h
    source: {type: filesystem, path: $work/folder}
    document_processor: {chunking_strategy: markdown, chunk_size: 500, chunk_overlap: 50}
YAML
run() {
  ./target/release/kektordb -http-addr 127.0.0.1:0 -no-pin -aof-path "$work/data" \
    -fsync everysec -vectorizers-config "$work/v.yaml" 2>"$work/log" &
  pid=$!
  for _ in $(seq 200); do
    addr=$(grep -o 'listening on http://[^ ]*' "$work/log" | sed 's|.*http://||' || true)
    [ -n "$addr" ] && break
    sleep 0.1
  done
  python3 - "$addr" "$1" <<'PY'
import json, sys, time, urllib.request
addr, label = sys.argv[1], sys.argv[2]
while True:
    s = json.load(urllib.request.urlopen(f"http://{addr}/system/vectorizers"))[0]
    if s["runs"] >= 1 and not s["is_running"]:
        break
    time.sleep(0.05)
ms = s["last_run_ms"]
row = {"run": label, "files": s["files_seen"], "ingested": s["files_ingested"],
       "unchanged": s["files_unchanged"], "failed": s["files_failed"], "chunks": s["chunks"],
       "seconds": ms / 1e3, "files_per_s": round(s["files_seen"] / max(ms, 1) * 1e3, 1),
       "chunks_embedded": s["chunks_embedded_total"],
       "chunks_per_s": round(s["chunks_embedded_total"] / max(ms, 1) * 1e3, 1),
       "embed_share": round(s["embed_ms_total"] / max(ms, 1), 3)}
print(json.dumps(row))
PY
  kill -TERM $pid; wait $pid || true
}
run first
run restart_unchanged
