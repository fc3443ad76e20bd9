#!/usr/bin/env python3
"""Peer ANN engines (hnswlib, faiss-cpu HNSW) on the same data and parameters as
our `ann` bench binary; prints one JSON line per (engine, ef) in the same format.

    python benches/peers.py --base B --queries Q --gt G --k 10 --m 16 \
        --ef-construction 200 --ef 16,32,64,128,256 --metric cosine --threads 2 \
        --engines hnswlib,faiss

Build uses --threads threads (wall time of add_items / add); search is always one
query at a time on one thread, timed with time.perf_counter over all queries.
Fields beyond the shared format: "search_threads" (always 1 here), "k", "n",
"engine_version".
"""

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np


def read_fvecs(path):
    raw = np.fromfile(path, dtype=np.int32)
    if raw.size == 0:
        raise SystemExit(f"{path}: empty file")
    d = int(raw[0])
    if d <= 0 or raw.size % (d + 1) != 0:
        raise SystemExit(f"{path}: not a valid .fvecs file (dim {d}, {raw.size} words)")
    rows = raw.reshape(-1, d + 1)
    if not np.all(rows[:, 0] == d):
        raise SystemExit(f"{path}: rows with differing dimensions")
    return np.ascontiguousarray(rows[:, 1:].view(np.float32))


def read_ivecs(path):
    raw = np.fromfile(path, dtype=np.int32)
    if raw.size == 0:
        raise SystemExit(f"{path}: empty file")
    d = int(raw[0])
    if d <= 0 or raw.size % (d + 1) != 0:
        raise SystemExit(f"{path}: not a valid .ivecs file (dim {d}, {raw.size} words)")
    rows = raw.reshape(-1, d + 1)
    return np.ascontiguousarray(rows[:, 1:])


def dist_version(name):
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:
        return None


def normalize(x):
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray((x / norms).astype(np.float32))


def recall_at_k(found, gt, k):
    """found: list of id arrays (one per query); gt: (nq, >=k) int array."""
    hits = 0
    for ids, truth in zip(found, gt):
        hits += len(set(int(i) for i in ids[:k] if i >= 0) & set(int(t) for t in truth[:k]))
    return hits / (len(found) * k)


def run_hnswlib(args, base, queries, gt, efs):
    import hnswlib

    space = {"cosine": "cosine", "euclidean": "l2", "dot": "ip"}[args.metric]
    n, d = base.shape
    index = hnswlib.Index(space=space, dim=d)
    index.init_index(max_elements=n, ef_construction=args.ef_construction, M=args.m)
    t0 = time.perf_counter()
    index.add_items(base, np.arange(n), num_threads=args.threads)
    build_s = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "hnswlib.bin")
        index.save_index(path)
        bytes_per_vector = os.path.getsize(path) / n

    index.set_num_threads(1)
    version = getattr(hnswlib, "__version__", None) or dist_version("hnswlib")
    out = []
    for ef in efs:
        index.set_ef(max(ef, args.k))
        for q in queries[: min(50, len(queries))]:  # warm-up
            index.knn_query(q, k=args.k)
        found = [None] * len(queries)
        t0 = time.perf_counter()
        for i, q in enumerate(queries):
            labels, _ = index.knn_query(q, k=args.k)
            found[i] = labels[0]
        secs = time.perf_counter() - t0
        out.append(row(args, "hnswlib", version, ef, build_s, recall_at_k(found, gt, args.k),
                       len(queries) / secs, bytes_per_vector, n))
    return out


def run_faiss(args, base, queries, gt, efs):
    import faiss

    if args.metric == "euclidean":
        metric = faiss.METRIC_L2
    else:
        metric = faiss.METRIC_INNER_PRODUCT
        if args.metric == "cosine":
            base = normalize(base)
            queries = normalize(queries)
    n, d = base.shape
    index = faiss.IndexHNSWFlat(d, args.m, metric)
    index.hnsw.efConstruction = args.ef_construction
    faiss.omp_set_num_threads(args.threads)
    t0 = time.perf_counter()
    index.add(base)
    build_s = time.perf_counter() - t0

    bytes_per_vector = faiss.serialize_index(index).size / n

    faiss.omp_set_num_threads(1)
    version = getattr(faiss, "__version__", None) or dist_version("faiss-cpu")
    out = []
    for ef in efs:
        index.hnsw.efSearch = max(ef, args.k)
        for i in range(min(50, len(queries))):  # warm-up
            index.search(queries[i][None, :], args.k)
        found = [None] * len(queries)
        t0 = time.perf_counter()
        for i in range(len(queries)):
            _, labels = index.search(queries[i][None, :], args.k)
            found[i] = labels[0]
        secs = time.perf_counter() - t0
        out.append(row(args, "faiss", version, ef, build_s, recall_at_k(found, gt, args.k),
                       len(queries) / secs, bytes_per_vector, n))
    return out


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


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", required=True)
    p.add_argument("--queries", required=True)
    p.add_argument("--gt", required=True)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--m", type=int, default=16)
    p.add_argument("--ef-construction", type=int, default=200)
    p.add_argument("--ef", default="16,32,64,128,256", help="comma-separated list")
    p.add_argument("--metric", choices=["cosine", "euclidean", "dot"], default="cosine")
    p.add_argument("--threads", type=int, default=2, help="threads for building (search is 1 thread)")
    p.add_argument("--engines", default="hnswlib,faiss", help="comma-separated: hnswlib,faiss")
    # Accepted for command-line compatibility with the `ann` binary; peers are f32, unsharded.
    p.add_argument("--precision", default="f32")
    p.add_argument("--shards", type=int, default=1)
    args = p.parse_args()

    if args.precision != "f32":
        print(f"peers.py: --precision {args.precision} ignored, peers run f32", file=sys.stderr)
    efs = [int(x) for x in args.ef.split(",") if x.strip()]
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    runners = {"hnswlib": run_hnswlib, "faiss": run_faiss}
    unknown = [e for e in engines if e not in runners]
    if unknown:
        raise SystemExit(f"unknown engine(s): {', '.join(unknown)} (known: hnswlib, faiss)")

    base = read_fvecs(args.base)
    queries = read_fvecs(args.queries)
    gt = read_ivecs(args.gt)
    if base.shape[1] != queries.shape[1]:
        raise SystemExit(f"dimension mismatch: base {base.shape[1]}, queries {queries.shape[1]}")
    if gt.shape[0] != queries.shape[0] or gt.shape[1] < args.k:
        raise SystemExit(f"gt shape {gt.shape} does not fit {queries.shape[0]} queries and k={args.k}")
    print(f"peers.py: base {base.shape}, queries {queries.shape}, gt {gt.shape}, "
          f"metric {args.metric}, M {args.m}, efC {args.ef_construction}, build threads {args.threads}",
          file=sys.stderr)

    failed = []
    for name in engines:
        try:
            rows = runners[name](args, base, queries, gt, efs)
        except ImportError as e:
            print(f"peers.py: {name} not available: {e}", file=sys.stderr)
            failed.append(name)
            continue
        for r in rows:
            print(json.dumps(r), flush=True)
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
