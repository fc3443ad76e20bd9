#!/usr/bin/env python3
"""Peer ANN engines (hnswlib, faiss-cpu HNSWFlat, usearch, qdrant-edge) on the same
data and parameters as our `ann` bench binary; prints one JSON line per
(engine, filter, search threads, ef) in the same format.

    python benches/peers.py --base B --queries Q --gt G --k 10 --m 16 \\
        --ef-construction 200 --ef 16,32,64,128,256 --metric cosine --threads 2 \\
        --engines hnswlib,faiss,usearch,qdrant-edge --search-threads 1,2 \\
        [--limit N] [--filter-buckets [100]] [--filter-selectivities 0.01,0.1,0.5]

Each engine runs in a fresh subprocess of this script (`--engines X --child`), so
the resident-memory figures of one engine do not mix with another's.

Build: --threads threads, wall time. hnswlib add_items, faiss add, usearch add,
qdrant-edge: upsert of all points (batches of 256) + optimize() (blocks until the
HNSW index is built), both inside build_s. qdrant-edge is one shard configured for
one segment (default_segment_number=1, so one HNSW graph like the others), no WAL,
max_indexing_threads=--threads, max_search_threads=1, vectors/graph in Qdrant's
default memory placement (mmap'ed files in a temporary directory).

Search: per ef a warm-up pass over all queries, then the best (shortest wall time)
of --passes (3) timed passes; qps = queries / wall time of that pass; p50_us/p99_us
are per-query latencies (time.perf_counter around each call) of the best pass.
Queries always go one at a time (one library call per query). --search-threads N:
  * N = 1: one loop in this process.
  * N > 1, hnswlib and faiss: the query set split into N contiguous parts, one Python
    thread each (both release the GIL inside the search call; faiss is set to one
    OpenMP thread in every search thread). hnswlib's filtered search calls a Python
    callable per candidate, which needs the GIL, so it barely scales with threads.
  * N > 1, usearch and qdrant-edge: N worker processes (multiprocessing spawn), each
    opening the saved index (usearch Index.restore, an in-memory copy; qdrant-edge
    EdgeShard.load of the same shard directory) and searching its part one query at
    a time; the pass's wall time runs from the earliest start to the latest end (the
    workers start together on a barrier). Why not threads: qdrant_edge holds the GIL
    while it searches, and usearch's single-query search always uses search context 0,
    so two Python threads would either serialize or share it. Worker memory is not
    counted in the RSS figures.
Library batch search (num_threads=N) is not used: it would hide the per-query call
overhead that the 1-thread figure includes, and gives no per-query latency.

Recall@k: against --gt, or, with --limit N (the base truncated to its first N rows)
or without --gt, against an exact top-k by brute force in numpy (cosine: dot
product of normalized vectors; euclidean: squared L2; dot: inner product).

Filters (--filter-buckets [B], default B=100 when given without a value): each point
i gets the payload {"bucket": i % B}; for each selectivity s in
--filter-selectivities the filter is bucket < round(s * B). Engines with a filter
here: qdrant-edge (an Integer payload index on "bucket", created before the upsert,
and a range filter; Qdrant's planner may pick an exact scan over the payload index
for small matches, see --qdrant-full-scan-kb) and hnswlib (knn_query's filter
callable on the label). faiss and usearch run unfiltered only. Filtered recall is
against the exact top-k over the filtered subset (brute force in numpy). Rows carry
"filter": the selectivity, or null for unfiltered search.

Memory: rss_bytes_per_vector = (VmRSS after the build - VmRSS just before it, with
the data loaded, the library imported and the queries prepared) / n;
rss_search_bytes_per_vector the same after the row's searches (cumulative: it adds
search buffers and, for qdrant-edge, mmap'ed pages first touched by searching). bytes_per_vector is the serialized
index size (hnswlib save_index, faiss serialize_index, usearch save, qdrant-edge:
disk space of the shard directory after flush, as du counts it) / n. Both RSS
readings come after gc.collect() and malloc_trim(0), so memory freed earlier is
not silently reused by the build.

Fields beyond the shared format: "search_threads", "search_mode" (loop / threads /
processes), "filter", "k", "n", "passes", "p50_us", "p99_us", "rss_bytes_per_vector",
"rss_search_bytes_per_vector", "engine_version"; qdrant-edge also
"qdrant_full_scan_kb".

--write-gt PATH: only write the brute-force ground truth (k columns, .ivecs) of the
(--limit'ed) base for the queries, and exit (peers.sh uses it for our binary).
Exit status: 0 if every engine ran; 1 if any failed or was unavailable (reported on
stderr as "peers.py: X not available: ..."), the others still print their rows.
"""

import argparse
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

ENGINES = ("hnswlib", "faiss", "usearch", "qdrant-edge")
EXIT_UNAVAILABLE = 3


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_data import allowed_mask, compute_truths, dir_size, dist_version, exact_topk, filter_buckets, load_data, load_truths, normalize, read_fvecs, read_ivecs, recall_at_k, rss_bytes, save_truths, settled_rss, write_ivecs  # noqa: E402,F401
from peer_engines import ENGINE_CLASSES, Faiss, Hnswlib, QdrantEdge, Usearch  # noqa: E402,F401


# ---------------------------------------------------------------- timed passes

def pass_in_threads(eng, nq, nthreads, sel):
    """One pass over all queries on `nthreads` threads (1 = this thread).
    Returns (wall seconds, found ids per query, latency seconds per query)."""
    found = [None] * nq
    lat = np.empty(nq)
    parts = np.array_split(np.arange(nq), nthreads)
    perf = time.perf_counter
    search = eng.search

    def work(ix, barrier=None):
        if barrier is not None:
            eng.thread_init()
            barrier.wait()
        for i in ix:
            t = perf()
            found[i] = search(i, sel)
            lat[i] = perf() - t

    if nthreads == 1:
        t0 = perf()
        work(parts[0])
        return perf() - t0, found, lat
    barrier = threading.Barrier(nthreads + 1)
    threads = [threading.Thread(target=work, args=(ix, barrier)) for ix in parts]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = perf()
    for t in threads:
        t.join()
    return perf() - t0, found, lat


def _worker_main(engine, path, args, queries, conn, barrier):
    """Search worker process (processes mode): open the saved index, then answer
    ("pass", ef, sel, query ids) with (t_start, t_end, ids, latencies)."""
    try:
        eng = ENGINE_CLASSES[engine].open_worker(path, args, queries)
    except Exception as e:  # report, then let the parent fail the run
        conn.send(("error", repr(e)))
        return
    conn.send(("ready", None))
    perf = time.perf_counter
    while True:
        cmd = conn.recv()
        if cmd is None:
            break
        ef, sel, ix = cmd
        eng.set_ef(ef)
        found, lat = [], []
        barrier.wait()
        t0 = perf()
        for i in ix:
            t = perf()
            found.append(list(eng.search(int(i), sel)))
            lat.append(perf() - t)
        t1 = perf()
        conn.send((t0, t1, found, lat))
    if hasattr(eng, "shard") and eng.shard is not None:
        eng.shard.close()


class WorkerPool:
    def __init__(self, eng, path, args, nworkers):
        import multiprocessing as mp
        ctx = mp.get_context("spawn")
        self.barrier = ctx.Barrier(nworkers)
        self.conns, self.procs = [], []
        for _ in range(nworkers):
            parent, child = ctx.Pipe()
            p = ctx.Process(target=_worker_main,
                            args=(eng.name, path, args, eng.queries, child, self.barrier), daemon=True)
            p.start()
            self.conns.append(parent)
            self.procs.append(p)
        for c in self.conns:
            kind, msg = c.recv()
            if kind != "ready":
                self.close()
                raise RuntimeError(f"search worker failed to open the index: {msg}")

    def run_pass(self, nq, ef, sel):
        parts = np.array_split(np.arange(nq), len(self.conns))
        for c, ix in zip(self.conns, parts):
            c.send((ef, sel, ix))
        found = [None] * nq
        lat = np.empty(nq)
        starts, ends = [], []
        for c, ix in zip(self.conns, parts):
            t0, t1, f, l = c.recv()
            starts.append(t0)
            ends.append(t1)
            for j, i in enumerate(ix):
                found[i] = f[j]
                lat[i] = l[j]
        return max(ends) - min(starts), found, lat

    def close(self):
        for c in self.conns:
            try:
                c.send(None)
            except OSError:
                pass
        for p in self.procs:
            p.join(timeout=30)
            if p.is_alive():
                p.terminate()


def measure(eng, pool, nq, ef, sel, nthreads, passes):
    """Warm-up pass, then the best of `passes`: (secs, found, lat)."""
    if pool is None:
        eng.set_ef(ef)
        run = lambda: pass_in_threads(eng, nq, nthreads, sel)
    else:
        run = lambda: pool.run_pass(nq, ef, sel)
    run()  # warm-up
    best = None
    for _ in range(passes):
        r = run()
        if best is None or r[0] < best[0]:
            best = r
    return best


# ---------------------------------------------------------------- child: one engine

def run_engine(args, name):
    base, queries = load_data(args)
    truths = load_truths(args.gt_cache) if args.gt_cache else compute_truths(args, base, queries)
    n, nq = len(base), len(queries)
    try:
        eng = ENGINE_CLASSES[name](args, queries)
    except ImportError as e:
        print(f"peers.py: {name} not available: {e}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    if hasattr(eng, "prepare_base"):
        base = eng.prepare_base(base)
    if hasattr(eng, "prepare_filters"):
        eng.prepare_filters(n)
    if args.filter_buckets and not eng.filters:
        print(f"peers.py: {name}: no filtered search in this bench, unfiltered rows only", file=sys.stderr)

    rss0 = settled_rss()
    t0 = time.perf_counter()
    eng.build(base)
    build_s = time.perf_counter() - t0
    rss1 = settled_rss()
    print(f"peers.py: {name} {eng.version}: built {n} vectors in {build_s:.2f}s, "
          f"RSS +{(rss1 - rss0) / 2**20:.1f} MiB", file=sys.stderr)
    bytes_per_vector = eng.bytes_per_vector()

    sels = [None] + (list(args.selectivities) if args.filter_buckets and eng.filters else [])
    tmpdir = tempfile.mkdtemp(prefix=f"peers-{name}-")
    try:
        for nthreads in args.search_thread_list:
            pool = None
            mode = "loop"
            if nthreads > 1:
                mode = eng.parallel
                if eng.parallel == "processes":
                    pool = WorkerPool(eng, eng.save(tmpdir), args, nthreads)
            try:
                for sel in sels:
                    for ef in args.efs:
                        secs, found, lat = measure(eng, pool, nq, ef, sel, nthreads, args.passes)
                        r = row(args, name, eng.version, ef, build_s, recall_at_k(found, truths[sel], args.k),
                                nq / secs, bytes_per_vector, n)
                        r.update({
                            "search_threads": nthreads,
                            "search_mode": mode,
                            "filter": sel,
                            "p50_us": round(float(np.percentile(lat, 50)) * 1e6, 1),
                            "p99_us": round(float(np.percentile(lat, 99)) * 1e6, 1),
                            "rss_bytes_per_vector": round((rss1 - rss0) / n, 1),
                            "passes": args.passes,
                        })
                        r["rss_search_bytes_per_vector"] = round((settled_rss() - rss0) / n, 1)
                        if name == "qdrant-edge":
                            r["qdrant_full_scan_kb"] = eng.full_scan_kb
                        print(json.dumps(r), flush=True)
                        print(f"peers.py: {name} thr={nthreads} filter={sel} ef={ef}: recall "
                              f"{r['recall']:.4f} qps {r['qps']:,.0f} p50 {r['p50_us']:,.0f} us",
                              file=sys.stderr)
            finally:
                if pool is not None:
                    pool.close()
        if getattr(eng, "short_results", 0):
            print(f"peers.py: {name}: {eng.short_results} searches returned fewer than k results "
                  f"(scored as misses)", file=sys.stderr)
    finally:
        if hasattr(eng, "close"):
            eng.close()
        shutil.rmtree(tmpdir, ignore_errors=True)
    return 0


def row(args, engine, version, ef, build_s, recall, qps, bytes_per_vector, n):
    return {
        "engine": engine,
        "precision": "f32",
        "metric": args.metric,
        "m": args.m,
        "ef_construction": args.ef_construction,
        "ef": ef,
        "shards": 1,
        "threads": args.threads,
        "build_s": round(build_s, 4),
        "recall": round(recall, 5),
        "qps": round(qps, 1),
        "bytes_per_vector": round(bytes_per_vector, 1),
        "search_threads": 1,
        "k": args.k,
        "n": n,
        "engine_version": version,
    }


# ---------------------------------------------------------------- parent

def run_parent(args, engines):
    base, queries = load_data(args)
    print(f"peers.py: base {base.shape}, queries {queries.shape}, metric {args.metric}, M {args.m}, "
          f"efC {args.ef_construction}, build threads {args.threads}, search threads "
          f"{args.search_threads}, filters "
          f"{args.selectivities if args.filter_buckets else 'off'}", file=sys.stderr)
    truths = compute_truths(args, base, queries)
    del base, queries
    failed = []
    with tempfile.TemporaryDirectory(prefix="peers-gt-") as tmp:
        cache = os.path.join(tmp, "truths.npz")
        save_truths(cache, truths)
        script = os.path.abspath(__file__)
        for name in engines:
            cmd = [sys.executable, script, *sys.argv[1:], "--engines", name, "--child", "--gt-cache", cache]
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
            for line in proc.stdout:
                sys.stdout.write(line)
                sys.stdout.flush()
            rc = proc.wait()
            if rc == EXIT_UNAVAILABLE:
                failed.append(f"{name} (not available)")
            elif rc != 0:
                print(f"peers.py: {name} failed (exit {rc})", file=sys.stderr)
                failed.append(name)
    if failed:
        print(f"peers.py: not run: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def parse_list(s, conv):
    return [conv(x) for x in s.split(",") if x.strip()]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", required=True)
    p.add_argument("--queries", required=True)
    p.add_argument("--gt", help="ground truth .ivecs for the full base (brute force if absent or --limit)")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--m", type=int, default=16)
    p.add_argument("--ef-construction", type=int, default=200)
    p.add_argument("--ef", default="16,32,64,128,256", help="comma-separated list")
    p.add_argument("--metric", choices=["cosine", "euclidean", "dot"], default="cosine")
    p.add_argument("--threads", type=int, default=2, help="threads for building")
    p.add_argument("--search-threads", default="1,2", help="comma-separated list")
    p.add_argument("--passes", type=int, default=3, help="timed passes per ef (best is kept)")
    p.add_argument("--engines", default="hnswlib,faiss,usearch,qdrant-edge",
                   help=f"comma-separated: {','.join(ENGINES)}")
    p.add_argument("--limit", type=int, default=0, help="use only the first N base vectors")
    p.add_argument("--filter-buckets", type=int, nargs="?", const=100, default=0,
                   help="payload bucket = i %% B for every point (B=100 if no value); enables filtered rows")
    p.add_argument("--filter-selectivities", default="0.01,0.1,0.5",
                   help="filters bucket < round(s*B), one per s")
    p.add_argument("--qdrant-full-scan-kb", type=int, default=10000,
                   help="qdrant-edge HNSW full_scan_threshold in KB (Qdrant's default 10000)")
    p.add_argument("--write-gt", help="write the brute-force ground truth (.ivecs) and exit")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--gt-cache", help=argparse.SUPPRESS)
    # Accepted for command-line compatibility with the `ann` binary; peers are f32, unsharded.
    p.add_argument("--precision", default="f32")
    p.add_argument("--shards", type=int, default=1)
    args = p.parse_args()

    args.efs = parse_list(args.ef, int)
    args.search_thread_list = parse_list(args.search_threads, int)
    args.selectivities = parse_list(args.filter_selectivities, float)
    if not args.efs or not args.search_thread_list or min(args.search_thread_list) < 1:
        raise SystemExit("--ef and --search-threads need positive values")
    if args.filter_buckets < 0 or any(not 0 < s <= 1 for s in args.selectivities):
        raise SystemExit("--filter-buckets must be > 0 and selectivities in (0, 1]")
    if args.filter_buckets:
        for s in args.selectivities:
            if filter_buckets(args, s) < 1:
                raise SystemExit(f"selectivity {s} selects no bucket of {args.filter_buckets}")

    if args.write_gt:
        base, queries = load_data(args)
        write_ivecs(args.write_gt, exact_topk(base, queries, args.k, args.metric))
        print(f"peers.py: wrote ground truth {args.write_gt} ({len(queries)} x {args.k}, base {len(base)})",
              file=sys.stderr)
        return

    if args.precision != "f32" and not args.child:
        print(f"peers.py: --precision {args.precision} ignored, peers run f32", file=sys.stderr)
    engines = parse_list(args.engines, str.strip)
    unknown = [e for e in engines if e not in ENGINE_CLASSES]
    if unknown:
        raise SystemExit(f"unknown engine(s): {', '.join(unknown)} (known: {', '.join(ENGINES)})")

    if args.child:
        if len(engines) != 1:
            raise SystemExit("--child takes exactly one engine")
        sys.exit(run_engine(args, engines[0]))
    sys.exit(run_parent(args, engines))


if __name__ == "__main__":
    main()
