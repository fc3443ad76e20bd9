"""Benchmark of the MCP memory server over stdio (python stdlib only; raw
JSON-RPC lines, so the numbers are the server's, not an SDK's).

1. Starts `kektordb --mcp` with a data directory (writes acknowledged after
   fsync) and the local embedder.
2. Saves N memories from real text: package descriptions (docs.jsonl: title +
   text), the text with its first sentence (the title) removed, so the title is
   not in the memory verbatim. Times each save_memory.
3. Asks for each memory with a question built from its title ("which package
   gives me <title>?", title words lower-cased, a few words swapped for
   synonyms) and counts whether recall_memory's top 3 hold it. Times each recall.
4. Times recall_memory for 20-word queries (the issue's latency goal), and a
   ping and get_memory (no embedding) for comparison.

Prints p50/p99 latencies and the hit rates.
"""

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time

SYNONYMS = {
    "library": "lib",
    "libraries": "libs",
    "utilities": "tools",
    "utility": "tool",
    "development": "dev",
    "files": "headers",
    "documentation": "docs",
    "program": "application",
    "tool": "utility",
    "tools": "utilities",
    "interface": "API",
    "fast": "quick",
    "simple": "easy",
    "module": "package",
    "support": "integration",
    "client": "frontend",
    "server": "daemon",
}


def question(title):
    words = [SYNONYMS.get(w.lower(), w.lower()) for w in re.findall(r"[\w+#.-]+", title)]
    return "which package gives me " + " ".join(words) + "?"


def load(path, n, seed):
    rows = [json.loads(line) for line in open(path)]
    random.Random(seed).shuffle(rows)
    out, titles = [], set()
    for r in rows:
        title, text = r.get("title", "").strip(), r.get("text", "").strip()
        if not title or title.lower() in titles or not text.startswith(title):
            continue
        body = text[len(title):].lstrip(" .").strip()
        if len(body) < 80:
            continue
        titles.add(title.lower())
        out.append((r["id"], title, body[:1500]))
        if len(out) == n:
            break
    return out


class Server:
    def __init__(self, cmd):
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(os.devnull, "w"))
        self.id = 0

    def request(self, method, params):
        self.id += 1
        msg = json.dumps({"jsonrpc": "2.0", "id": self.id, "method": method, "params": params})
        t = time.perf_counter()
        self.p.stdin.write(msg.encode() + b"\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        dt = time.perf_counter() - t
        a = json.loads(line)
        assert a.get("id") == self.id, a
        if "error" in a:
            raise RuntimeError(a["error"])
        return a["result"], dt

    def tool(self, name, args):
        r, dt = self.request("tools/call", {"name": name, "arguments": args})
        if r.get("isError"):
            raise RuntimeError(r["content"][0]["text"])
        return r["structuredContent"], dt

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=60)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--docs", required=True)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    data = tempfile.mkdtemp(prefix="kektor-mcp-bench-")
    docs = load(a.docs, a.n, a.seed)
    s = Server([a.bin, "--mcp", "-aof-path", data, "-models-dir", a.models, "-embedder", "local"])
    s.request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}})
    s.tool("save_memory", {"content": "warm-up"})
    save_t, ids = [], {}
    for pkg, title, body in docs:
        r, dt = s.tool("save_memory", {"content": body, "layer": "semantic", "tags": [pkg]})
        save_t.append(dt)
        ids[pkg] = r["memory_id"]
    recall_t, hit1, hit3 = [], 0, 0
    for pkg, title, body in docs:
        r, dt = s.tool("recall_memory", {"query": question(title), "limit": 3})
        recall_t.append(dt)
        got = [m["id"] for m in r["memories"]]
        hit1 += got[:1] == [ids[pkg]]
        hit3 += ids[pkg] in got
    long_t = []
    rng = random.Random(a.seed + 1)
    for pkg, title, body in rng.sample(docs, min(100, len(docs))):
        words = (title + " " + body).split()
        q = " ".join(words[:20])
        _, dt = s.tool("recall_memory", {"query": q, "limit": 5})
        long_t.append(dt)
    # What is not embedding: a ping (the stdio round trip) and get_memory (an
    # engine read), for comparison.
    ping_t, get_t = [], []
    for pkg, _, _ in docs[:100]:
        ping_t.append(s.request("ping", {})[1])
        get_t.append(s.tool("get_memory", {"memory_id": ids[pkg]})[1])
    s.close()
    n = len(docs)
    print(f"memories: {n} package descriptions from {os.path.basename(a.docs)} (title sentence removed), fsync on every write")
    print(f"save_memory:   p50 {pct(save_t, 50):7.2f} ms   p99 {pct(save_t, 99):7.2f} ms   (n={n}, embed + durable write)")
    print(f"recall_memory: p50 {pct(recall_t, 50):7.2f} ms   p99 {pct(recall_t, 99):7.2f} ms   (n={n}, title questions, limit 3)")
    print(f"recall_memory: p50 {pct(long_t, 50):7.2f} ms   p99 {pct(long_t, 99):7.2f} ms   (n={len(long_t)}, 20-word queries, limit 5)")
    print(f"ping:          p50 {pct(ping_t, 50):7.2f} ms   get_memory: p50 {pct(get_t, 50):7.2f} ms   (the round trip and an engine read, no embedding)")
    print(f"hit rate (question from the title -> its memory): top-1 {hit1 / n:.3f}, top-3 {hit3 / n:.3f}")
    print(f"example question: {question(docs[0][1])!r}")


if __name__ == "__main__":
    sys.exit(main())
